// Checks named points and fault plans applied to a running simulation: a planned
// crash at the n-th hit of a point strikes exactly there (counting hits over every
// node) and the code after the point never runs for that incarnation; a planned
// pause at a point delays the code after it; coverage counts every hit; timed
// crashes restart after their duration (or stay down); and begin_liveness() ends
// every fault: crashed nodes restart, partitions heal, paused nodes resume, and
// faults planned for later no longer strike.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;
using test_support::fixed_latency_config;

// (incarnation, step index) of each step whose code after the point ran.
using Steps = std::vector<std::pair<std::uint32_t, int>>;

Task<void> step_five_times(Context& context, Steps& steps, std::vector<Instant>* after_at = nullptr) {
  for (int step = 0; step < 5; ++step) {
    co_await context.sleep(Duration::millis(1));
    co_await context.point("x.step");
    steps.emplace_back(context.incarnation(), step);
    if (after_at != nullptr) after_at->push_back(context.now());
  }
}

std::uint64_t hits_of(const Simulation& simulation, const std::string& point) {
  const auto found = simulation.coverage().hits.find(point);
  return found == simulation.coverage().hits.end() ? 0 : found->second;
}

TEST(NamedPoints, APlannedCrashStrikesAtTheExactHitAndTheCodeAfterThePointNeverRuns) {
  Simulation simulation({.seed = 1});
  Steps steps;
  const NodeId node =
      simulation.add_node("node", [&](Context& context) { context.spawn(step_five_times(context, steps)); });
  simulation.apply_plan(FaultPlan{.faults = {Fault{.kind = FaultKind::crash, .point = "x.step", .hit = 2}}});
  simulation.start();
  simulation.run_until(at_millis(2));  // the second hit is at 2 ms
  EXPECT_EQ(simulation.state(node), NodeState::down);
  simulation.run_until(at_millis(1000));
  EXPECT_EQ(steps, (Steps{{0, 0}})) << "the code after the crashing hit ran";
  EXPECT_EQ(hits_of(simulation, "x.step"), 2U);
  EXPECT_EQ(simulation.state(node), NodeState::down) << "a crash without a duration stays down until liveness";
  EXPECT_EQ(simulation.incarnation(node), 1U);
}

TEST(NamedPoints, APointCrashWithADurationRestartsTheNodeAfterIt) {
  Simulation simulation({.seed = 1});
  Steps steps;
  std::vector<Instant> boots;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    boots.push_back(context.now());
    context.spawn(step_five_times(context, steps));
  });
  simulation.apply_plan(FaultPlan{
      .faults = {Fault{.kind = FaultKind::crash, .point = "x.step", .hit = 2, .duration = Duration::millis(5)}}});
  simulation.start();
  simulation.run_until(at_millis(1000));
  EXPECT_EQ(boots, (std::vector<Instant>{at_millis(0), at_millis(7)}));
  EXPECT_EQ(steps, (Steps{{0, 0}, {1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}}));
  EXPECT_EQ(hits_of(simulation, "x.step"), 7U) << "2 hits before the crash, 5 after the restart";
  EXPECT_EQ(simulation.state(node), NodeState::up);
}

TEST(NamedPoints, HitsAreCountedOverEveryNodeAndTheCrashStrikesTheNodeThatReachedIt) {
  Simulation simulation({.seed = 1});
  Steps steps_of_a;
  Steps steps_of_b;
  const NodeId a =
      simulation.add_node("a", [&](Context& context) { context.spawn(step_five_times(context, steps_of_a)); });
  const NodeId b =
      simulation.add_node("b", [&](Context& context) { context.spawn(step_five_times(context, steps_of_b)); });
  // Hits at 1 ms: a (1), b (2); at 2 ms: a (3): the crash strikes a.
  simulation.apply_plan(FaultPlan{.faults = {Fault{.kind = FaultKind::crash, .point = "x.step", .hit = 3}}});
  simulation.start();
  simulation.run_until(at_millis(1000));
  EXPECT_EQ(simulation.state(a), NodeState::down);
  EXPECT_EQ(simulation.state(b), NodeState::up);
  EXPECT_EQ(steps_of_a, (Steps{{0, 0}}));
  EXPECT_EQ(steps_of_b.size(), 5U);
  EXPECT_EQ(hits_of(simulation, "x.step"), 7U);
}

TEST(NamedPoints, APlannedPauseAtAPointDelaysTheCodeAfterIt) {
  Simulation simulation({.seed = 1});
  Steps steps;
  std::vector<Instant> after_at;
  simulation.add_node("node", [&](Context& context) { context.spawn(step_five_times(context, steps, &after_at)); });
  simulation.apply_plan(FaultPlan{
      .faults = {Fault{.kind = FaultKind::pause, .point = "x.step", .hit = 1, .duration = Duration::millis(10)}}});
  simulation.start();
  simulation.run_until(at_millis(1000));
  EXPECT_EQ(after_at,
            (std::vector<Instant>{at_millis(11), at_millis(12), at_millis(13), at_millis(14), at_millis(15)}));
}

Task<void> reach_points(Context& context) {
  co_await context.point("a");
  co_await context.sleep(Duration::millis(1));
  co_await context.point("a");
  co_await context.point("b");
  co_await context.point("a");
}

TEST(NamedPoints, CoverageCountsEveryHitOfEveryPoint) {
  Simulation simulation({.seed = 1});
  simulation.add_node("one", [](Context& context) { context.spawn(reach_points(context)); });
  simulation.add_node("two", [](Context& context) { context.spawn(reach_points(context)); });
  simulation.start();
  simulation.run_until(at_millis(10));
  EXPECT_EQ(simulation.coverage().hits, (std::map<std::string, std::uint64_t, std::less<>>{{"a", 6}, {"b", 2}}));
}

TEST(TimedFaults, ACrashWithADurationRestartsTheNodeAfterThatDuration) {
  Simulation simulation({.seed = 1});
  std::vector<std::pair<std::uint32_t, Instant>> boots;
  const NodeId node =
      simulation.add_node("node", [&](Context& context) { boots.emplace_back(context.incarnation(), context.now()); });
  simulation.apply_plan(
      FaultPlan{.faults = {Fault{
                    .kind = FaultKind::crash, .at = at_millis(10), .node = "node", .duration = Duration::millis(5)}}});
  simulation.start();
  simulation.run_until(at_millis(9));
  EXPECT_EQ(simulation.state(node), NodeState::up);
  simulation.run_until(at_millis(12));
  EXPECT_EQ(simulation.state(node), NodeState::down);
  simulation.run_until(at_millis(100));
  EXPECT_EQ(simulation.state(node), NodeState::up);
  EXPECT_EQ(boots, (std::vector<std::pair<std::uint32_t, Instant>>{{0, at_millis(0)}, {1, at_millis(15)}}));
}

TEST(TimedFaults, ACrashWithoutADurationStaysDown) {
  Simulation simulation({.seed = 1});
  const NodeId node = simulation.add_node("node", {});
  simulation.apply_plan(FaultPlan{.faults = {Fault{.kind = FaultKind::crash, .at = at_millis(10), .node = "node"}}});
  simulation.start();
  simulation.run_until(at_millis(10'000));
  EXPECT_EQ(simulation.state(node), NodeState::down);
}

Task<void> reach_late_point(Context& context, std::vector<std::string>& log) {
  co_await context.point("late.point");
  log.push_back("after late.point in incarnation " + std::to_string(context.incarnation()));
}

TEST(Liveness, BeginLivenessRestartsCrashedNodesHealsPartitionsAndResumesPausedNodes) {
  Simulation simulation(fixed_latency_config());
  std::vector<std::string> log;
  const NodeId a = simulation.add_node("a", [&](Context& context) {
    if (context.incarnation() > 0) context.spawn(reach_late_point(context, log));
  });
  const NodeId b = simulation.add_node("b", {});
  const NodeId c = simulation.add_node("c", {});
  FaultPlan plan;
  plan.faults.push_back(Fault{.kind = FaultKind::crash, .at = at_millis(1), .node = "a"});
  plan.faults.push_back(Fault{.kind = FaultKind::isolate, .at = at_millis(1), .node = "b"});
  plan.faults.push_back(Fault{.kind = FaultKind::one_way, .at = at_millis(1), .node = "c", .peer = "a"});
  plan.faults.push_back(
      Fault{.kind = FaultKind::pause, .at = at_millis(1), .node = "c", .duration = Duration::seconds(60)});
  // Planned for after the liveness phase starts: must not strike.
  plan.faults.push_back(Fault{.kind = FaultKind::crash, .at = at_millis(500), .node = "b"});
  plan.faults.push_back(Fault{.kind = FaultKind::crash, .point = "late.point", .hit = 1});
  simulation.apply_plan(plan);
  simulation.start();
  simulation.run_until(at_millis(100));
  ASSERT_EQ(simulation.state(a), NodeState::down);
  ASSERT_EQ(simulation.state(c), NodeState::paused);
  ASSERT_TRUE(simulation.network().partitioned());

  simulation.begin_liveness();
  EXPECT_TRUE(simulation.in_liveness());
  EXPECT_EQ(simulation.state(a), NodeState::up);
  EXPECT_EQ(simulation.incarnation(a), 1U);
  EXPECT_EQ(simulation.state(c), NodeState::up);
  EXPECT_FALSE(simulation.network().partitioned());

  int delivered = 0;
  for (const NodeId from : {a, b, c})
    for (const NodeId to : {a, b, c})
      if (from != to)
        simulation.send(from, to, "test.ping", MessageRole::request, [&delivered](Context&) { ++delivered; });
  simulation.run_until(at_millis(1000));
  EXPECT_EQ(delivered, 6);
  EXPECT_EQ(simulation.state(b), NodeState::up) << "a crash planned for the liveness phase struck";
  EXPECT_EQ(simulation.incarnation(b), 0U);
  EXPECT_EQ(log, std::vector<std::string>{"after late.point in incarnation 1"})
      << "a point fault struck during liveness";
  EXPECT_EQ(simulation.state(a), NodeState::up);
}

}  // namespace
}  // namespace faultline::sim
