// The checkers. Each states its goal in checkers.h; each walks the history in a
// fixed order (ordered maps), so its explanations are deterministic.
#include "faultline/properties/checkers.h"

#include <algorithm>

namespace faultline::properties {

bool CheckReport::violated(std::string_view invariant) const { return first(invariant) != nullptr; }

const Violation* CheckReport::first(std::string_view invariant) const {
  for (const auto& violation : violations)
    if (violation.invariant == invariant) return &violation;
  return nullptr;
}

void check_no_lost_event(const History& history, CheckReport& report) {
  for (const auto& [command, row] : history.committed_orders) {
    const std::string event_id = models::event_id_for(command);
    for (const auto& group : history.groups) {
      const auto applied = history.applied.find(group);
      const bool seen = applied != history.applied.end() && applied->second.count(event_id) > 0;
      if (seen) continue;
      ++report.lost_events;
      if (report.lost_events == 1) {
        const bool in_broker = history.appended.count(event_id) > 0;
        report.violations.push_back(Violation{
            "L", "order " + std::to_string(row.id) + " (command " + std::to_string(command) +
                     ") is durably committed but event " + event_id + " was never applied by group " + group +
                     (in_broker ? " (it is in the broker)" : " (it never reached the broker)")});
      }
    }
  }
}

void check_no_phantom_event(const History& history, CheckReport& report) {
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) {
      const auto command = history.command_of_event.find(event_id);
      if (command != history.command_of_event.end() && history.committed_orders.count(command->second) > 0) continue;
      ++report.phantom_events;
      if (report.phantom_events == 1) {
        report.violations.push_back(Violation{
            "P", "event " + event_id + " was applied by group " + group + " but its change (command " +
                     (command == history.command_of_event.end() ? std::string("?") : std::to_string(command->second)) +
                     ") was never durably committed"});
      }
    }
}

void check_ack_implies_durable(const History& history, CheckReport& report) {
  for (const auto& [command, record] : history.commands) {
    if (record.outcome != models::Outcome::ok) continue;
    if (history.committed_orders.count(command) > 0) continue;
    ++report.unacknowledged_durable;
    if (report.unacknowledged_durable == 1) {
      report.violations.push_back(Violation{"A", "command " + std::to_string(command) +
                                                     " was acknowledged to the client but its order is not durable"});
    }
  }
}

void count_duplicates(const History& history, CheckReport& report) {
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) report.duplicate_deliveries += count > 1 ? count - 1 : 0;
}

CheckReport check_all(const History& history) {
  CheckReport report;
  check_no_lost_event(history, report);
  check_no_phantom_event(history, report);
  check_ack_implies_durable(history, report);
  count_duplicates(history, report);
  return report;
}

}  // namespace faultline::properties
