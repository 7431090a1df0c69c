// Measuring a run's delivery figures: see delivery_figures.h.
#include "faultline/properties/delivery_figures.h"

#include <algorithm>
#include <string>

#include "by_key.h"

namespace faultline::properties {

DeliveryFigures measure_deliveries(const History& history) {
  DeliveryFigures figures;
  // The first durable application of each event per group, in (group, announced event) order.
  // An effect's time is when it was applied (an inbox effect: when its database
  // transaction committed); its command is the first effect's.
  const std::vector<std::string> announced_effects = detail::announced_ids(history.effects);
  const std::vector<detail::RankedName> applications = detail::group_and_event_of(history.effects, announced_effects);
  detail::for_each_run(applications, detail::positions_by(applications), [&](auto first, auto last) {
    sim::Instant applied_at = history.effects[*first].applied_at;
    for (auto position = first + 1; position != last; ++position)
      applied_at = std::min(applied_at, history.effects[*position].applied_at);
    const auto committed = history.commit_time.find(history.effects[*first].event.command);
    if (committed == history.commit_time.end()) return;  // a phantom: no commit to measure from
    // An event applied before its change committed (publish-first designs) counts as
    // no lag: the lag measures how late delivery is, and it was not late.
    figures.lags_us.push_back(std::max<std::int64_t>(0, (applied_at - committed->second).ticks));
  });
  // Deliveries per (group, announced event).
  const std::vector<std::string> announced_deliveries = detail::announced_ids(history.deliveries);
  const std::vector<detail::RankedName> receipts = detail::group_and_event_of(history.deliveries, announced_deliveries);
  detail::for_each_run(receipts, detail::positions_by(receipts),
                       [&](auto first, auto last) { ++figures.deliveries[static_cast<std::uint64_t>(last - first)]; });
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, times] : events)
      if (times > 1) ++figures.applied_more_than_once;
  return figures;
}

}  // namespace faultline::properties
