// Measuring a run's workload figures: see workload_figures.h.
#include "faultline/properties/workload_figures.h"

namespace faultline::properties {

results::WorkloadFigures measure_workload(const History& history) {
  results::WorkloadFigures figures;
  for (const auto& [command, record] : history.commands) {
    ++figures.commands;
    switch (record.outcome) {
      case models::Outcome::ok:
        ++figures.acknowledged;
        break;
      case models::Outcome::failed:
        ++figures.failed;
        break;
      case models::Outcome::unknown:
        ++figures.unknown;
        break;
    }
  }
  figures.committed = history.committed_changes.size();
  figures.appended = history.appended.size();
  for (const auto& [group, events] : history.applied) figures.applied += events.size();
  return figures;
}

}  // namespace faultline::properties
