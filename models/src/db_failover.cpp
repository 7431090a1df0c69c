// The failover manager: see db_failover.h.
#include "faultline/models/db_failover.h"

#include <string>

namespace faultline::models {

void FailoverManager::start() {
  context_.spawn(watch());
}

sim::Task<bool> FailoverManager::answers(sim::NodeId node) {
  DbPing request;
  const auto result = co_await context_.call(node, std::move(request), settings_.ping_timeout);
  co_return result.ok();
}

sim::Task<bool> FailoverManager::ready_for_promotion(sim::NodeId node) {
  DbPing request;
  const auto result = co_await context_.call(node, std::move(request), settings_.ping_timeout);
  co_return result.ok() && result->ready_for_promotion;
}

sim::Task<void> FailoverManager::watch() {
  sim::Instant primary_last_seen = context_.now();
  while (cluster_.standby != 0) {
    co_await context_.sleep(settings_.check_interval);
    if (co_await answers(cluster_.primary)) {
      primary_last_seen = context_.now();
      continue;
    }
    if (context_.now() - primary_last_seen < settings_.failover_timeout) continue;
    // Promote only a standby that answers (a dead one would leave no primary at all)
    // and, with slot sync, holds every logical slot: one promoted before its first
    // slot copy arrived would make the reader start over at the end of the log.
    if (!co_await ready_for_promotion(cluster_.standby)) continue;
    const sim::NodeId old_primary = cluster_.primary;
    cluster_.primary = cluster_.standby;
    cluster_.standby = 0;
    ++cluster_.timeline;
    cluster_.failed_over_at = context_.now();
    context_.note("db.failover", "promoted " + context_.simulation().node_name(cluster_.primary) + " over " +
                                     context_.simulation().node_name(old_primary) + ", timeline " +
                                     std::to_string(cluster_.timeline));
  }
}

}  // namespace faultline::models
