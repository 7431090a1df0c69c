// The failover manager of a database cluster (like Patroni with a reliable DCS): it
// checks the primary's health and, when the primary has been unreachable for
// `failover_timeout` while the standby answers and is ready (with slot sync: it holds a
// copy of every logical slot), promotes the standby by naming it primary in the
// cluster's store. The old primary is fenced from that instant (it
// consults the store before every write) and never accepts a write again in the run.
//
// The manager runs on its own node, which is not a fault target: the store it
// writes is assumed reliable (an etcd quorum), so the manager and the store are
// modelled as one infallible component. A failover happens at most once per run;
// the old primary does not rejoin as a standby.
#pragma once

#include "faultline/models/db.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

struct FailoverSettings {
  sim::Duration check_interval = sim::Duration::millis(5);
  sim::Duration ping_timeout = sim::Duration::millis(5);
  sim::Duration failover_timeout = sim::Duration::millis(30);
};

class FailoverManager {
 public:
  FailoverManager(sim::Context& context, DbCluster& cluster, FailoverSettings settings)
      : context_(context), cluster_(cluster), settings_(settings) {}
  void start();

 private:
  sim::Task<void> watch();
  sim::Task<bool> answers(sim::NodeId node);
  sim::Task<bool> ready_for_promotion(sim::NodeId node);

  sim::Context& context_;
  DbCluster& cluster_;
  FailoverSettings settings_;
};

}  // namespace faultline::models
