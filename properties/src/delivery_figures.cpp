// Measuring a run's delivery figures: see delivery_figures.h.
#include "faultline/properties/delivery_figures.h"

#include <algorithm>
#include <string>

namespace faultline::properties {

DeliveryFigures measure_deliveries(const History& history) {
  DeliveryFigures figures;
  // The first durable application of each event per group. An effect's time is when it
  // was applied (an inbox effect: when its database transaction committed).
  std::map<std::pair<std::string, std::string>, std::pair<sim::Instant, std::int64_t>> first_applied;
  for (const auto& effect : history.effects) {
    const auto key = std::make_pair(effect.group, effect.event.event_id);
    const auto found = first_applied.find(key);
    if (found == first_applied.end()) {
      first_applied.emplace(key, std::make_pair(effect.applied_at, effect.event.command));
    } else {
      found->second.first = std::min(found->second.first, effect.applied_at);
    }
  }
  for (const auto& [key, applied] : first_applied) {
    const auto committed = history.commit_time.find(applied.second);
    if (committed == history.commit_time.end()) continue;  // a phantom: no commit to measure from
    // An event applied before its change committed (publish-first designs) counts as
    // no lag: the lag measures how late delivery is, and it was not late.
    figures.lags_us.push_back(std::max<std::int64_t>(0, (applied.first - committed->second).ticks));
  }
  std::map<std::pair<std::string, std::string>, std::uint64_t> delivered;
  for (const auto& delivery : history.deliveries) ++delivered[{delivery.group, delivery.event_id}];
  for (const auto& [key, times] : delivered) ++figures.deliveries[times];
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, times] : events)
      if (times > 1) ++figures.applied_more_than_once;
  return figures;
}

}  // namespace faultline::properties
