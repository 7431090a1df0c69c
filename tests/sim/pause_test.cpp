// Checks stop-the-world pauses: the events of a paused node that come due during the
// pause (its timers, the messages sent to it) do not run until the pause ends, then
// run at the resume instant in the order they came due; events due after the pause
// are untouched; and a crash during a pause discards what the pause had deferred.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_micros;
using test_support::at_millis;
using test_support::fixed_latency_config;

using Wakeups = std::vector<std::pair<int, Instant>>;

Task<void> sleep_and_record(Context& context, Duration length, int index, Wakeups& wakeups) {
  co_await context.sleep(length);
  wakeups.emplace_back(index, context.now());
}

TEST(Pause, EventsDueDuringAPauseRunWhenItEndsInTheOrderTheyCameDue) {
  Simulation simulation({.seed = 1});
  Wakeups wakeups;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    // Started out of due order: index 0 is due last among the deferred ones.
    context.spawn(sleep_and_record(context, Duration::millis(3), 0, wakeups));
    context.spawn(sleep_and_record(context, Duration::millis(1), 1, wakeups));
    context.spawn(sleep_and_record(context, Duration::millis(2), 2, wakeups));
    context.spawn(sleep_and_record(context, Duration::millis(20), 3, wakeups));
  });
  simulation.start();
  simulation.run_until(at_micros(500));
  simulation.pause(node, Duration::millis(10));
  EXPECT_EQ(simulation.state(node), NodeState::paused);
  simulation.run_until(at_millis(10));
  EXPECT_TRUE(wakeups.empty()) << "a paused node ran";
  simulation.run_until(at_millis(100));
  EXPECT_EQ(simulation.state(node), NodeState::up);
  EXPECT_EQ(wakeups,
            (Wakeups{{1, at_micros(10'500)}, {2, at_micros(10'500)}, {0, at_micros(10'500)}, {3, at_millis(20)}}));
}

TEST(Pause, AMessageToAPausedNodeIsDeliveredWhenThePauseEnds) {
  Simulation simulation(fixed_latency_config(Duration::millis(1)));
  std::vector<Instant> delivered_at;
  const NodeId sender = simulation.add_node("sender", {});
  const NodeId receiver = simulation.add_node("receiver", {});
  simulation.start();
  simulation.pause(receiver, Duration::millis(30));
  simulation.send(sender, receiver, "test.ping", MessageRole::request,
                  [&delivered_at](Context& context) { delivered_at.push_back(context.now()); });
  simulation.run_until(at_millis(100));
  EXPECT_EQ(delivered_at, std::vector<Instant>{at_millis(30)});
}

TEST(Pause, ACrashDuringAPauseDiscardsTheDeferredEvents) {
  Simulation simulation({.seed = 1});
  Wakeups wakeups;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    if (context.incarnation() == 0) context.spawn(sleep_and_record(context, Duration::millis(1), 0, wakeups));
  });
  simulation.start();
  simulation.pause(node, Duration::millis(10));
  simulation.run_until(at_millis(5));  // the sleep came due and was deferred
  simulation.crash(node, "test");
  simulation.run_until(at_millis(6));
  simulation.restart(node);
  simulation.run_until(at_millis(100));
  EXPECT_TRUE(wakeups.empty()) << "a deferred event of the crashed incarnation ran";
  EXPECT_EQ(simulation.state(node), NodeState::up) << "the end of the old pause must not disturb the new incarnation";
}

TEST(Pause, ANodeCanBePausedAgainAfterAPauseEnds) {
  Simulation simulation({.seed = 1});
  Wakeups wakeups;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    context.spawn(sleep_and_record(context, Duration::millis(1), 0, wakeups));
    context.spawn(sleep_and_record(context, Duration::millis(15), 1, wakeups));
  });
  simulation.start();
  simulation.run_until(at_micros(100));  // both sleeps have started
  simulation.pause(node, Duration::millis(5));
  simulation.run_until(at_millis(12));
  EXPECT_EQ(simulation.state(node), NodeState::up);
  simulation.pause(node, Duration::millis(10));
  simulation.run_until(at_millis(100));
  EXPECT_EQ(wakeups, (Wakeups{{0, at_micros(5'100)}, {1, at_millis(22)}}));
}

TEST(Pause, ANodePausedBeforeItsRootsStartStartsThemWhenThePauseEnds) {
  Simulation simulation({.seed = 1});
  Wakeups wakeups;
  const NodeId node = simulation.add_node(
      "node", [&](Context& context) { context.spawn(sleep_and_record(context, Duration::millis(1), 0, wakeups)); });
  simulation.start();
  simulation.pause(node, Duration::millis(5));  // the root's first resumption is still queued
  simulation.run_until(at_millis(100));
  EXPECT_EQ(wakeups, (Wakeups{{0, at_millis(6)}}));
}

}  // namespace
}  // namespace faultline::sim
