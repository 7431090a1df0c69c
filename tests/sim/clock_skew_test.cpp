// Checks per-node clock skew: a node's local clock reads simulated time plus its skew,
// the skew of one node leaves every other node's clock alone, a skew fault in a plan
// strikes at its time (ahead or behind), the skew survives a crash and restart (it is
// the host's clock, not the process's), and the liveness phase resynchronises every
// clock. Simulated time itself (`now()`) never moves with a skew.
#include <gtest/gtest.h>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;
using test_support::fixed_latency_config;

Fault skew_fault(std::string node, Instant at, Duration skew) {
  Fault fault{.kind = FaultKind::clock_skew, .at = at, .node = std::move(node)};
  fault.skew = skew;
  return fault;
}

TEST(ClockSkew, ALocalClockReadsSimulatedTimeUntilASkewStrikes) {
  Simulation simulation(fixed_latency_config());
  const NodeId node = simulation.add_node("node", [](Context&) {});
  simulation.start();
  simulation.run_until(at_millis(7));
  ASSERT_NE(simulation.context(node), nullptr);
  EXPECT_EQ(simulation.context(node)->local_now(), at_millis(7));
}

TEST(ClockSkew, APlannedSkewMovesOnlyThatNodesLocalClock) {
  Simulation simulation(fixed_latency_config());
  const NodeId skewed = simulation.add_node("skewed", [](Context&) {});
  const NodeId other = simulation.add_node("other", [](Context&) {});
  FaultPlan plan;
  plan.faults.push_back(skew_fault("skewed", at_millis(10), Duration::millis(-30)));
  simulation.apply_plan(plan);
  simulation.start();

  simulation.run_until(at_millis(9));
  EXPECT_EQ(simulation.context(skewed)->local_now(), at_millis(9)) << "the skew struck before its time";
  simulation.run_until(at_millis(50));
  EXPECT_EQ(simulation.context(skewed)->now(), at_millis(50)) << "simulated time must not move with a skew";
  EXPECT_EQ(simulation.context(skewed)->local_now(), at_millis(20)) << "the skewed clock runs 30 ms behind";
  EXPECT_EQ(simulation.context(other)->local_now(), at_millis(50)) << "another node's clock moved";
  ASSERT_EQ(simulation.fault_log().size(), 1U);
  EXPECT_EQ(simulation.fault_log().front().kind, FaultKind::clock_skew);
  EXPECT_EQ(simulation.fault_log().front().node, "skewed");
}

TEST(ClockSkew, ALaterSkewReplacesTheEarlierOneRatherThanAddingToIt) {
  Simulation simulation(fixed_latency_config());
  const NodeId node = simulation.add_node("node", [](Context&) {});
  FaultPlan plan;
  plan.faults.push_back(skew_fault("node", at_millis(1), Duration::millis(40)));
  plan.faults.push_back(skew_fault("node", at_millis(2), Duration::millis(5)));
  simulation.apply_plan(plan);
  simulation.start();
  simulation.run_until(at_millis(10));
  EXPECT_EQ(simulation.context(node)->local_now(), at_millis(15));
}

TEST(ClockSkew, TheSkewSurvivesACrashAndRestartOfTheNode) {
  Simulation simulation(fixed_latency_config());
  const NodeId node = simulation.add_node("node", [](Context&) {});
  simulation.start();
  simulation.set_clock_skew(node, Duration::millis(25));
  simulation.crash(node, "test");
  simulation.run_until(at_millis(4));
  simulation.restart(node);
  ASSERT_NE(simulation.context(node), nullptr);
  EXPECT_EQ(simulation.context(node)->local_now(), at_millis(29))
      << "a restarted process reads the same (skewed) host clock";
}

TEST(ClockSkew, TheLivenessPhaseResynchronisesEveryClock) {
  Simulation simulation(fixed_latency_config());
  const NodeId node = simulation.add_node("node", [](Context&) {});
  simulation.start();
  simulation.set_clock_skew(node, Duration::millis(-25));
  simulation.run_until(at_millis(30));
  simulation.begin_liveness();
  EXPECT_EQ(simulation.clock_skew(node), Duration{});
  EXPECT_EQ(simulation.context(node)->local_now(), at_millis(30));
}

TEST(ClockSkew, ASkewFaultIsDescribedWithItsDirection) {
  EXPECT_EQ(describe(skew_fault("relay-1", at_millis(3), Duration::millis(-12))),
            "clock-skew relay-1: local clock behind by 12 ms");
  EXPECT_EQ(describe(skew_fault("relay-2", at_millis(3), Duration::micros(1'500))),
            "clock-skew relay-2: local clock ahead by 1.5 ms");
}

}  // namespace
}  // namespace faultline::sim
