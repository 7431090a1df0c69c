// Checks the simulated network: nothing crosses a partition, whichever way it was
// made (isolate one node, split a group from the rest, one-way), including a
// message already in flight when the partition starts (dropped on arrival); a heal
// lets messages through again; and a partition with a duration ends by itself.
// Each test sends many messages between three nodes with `Simulation::send` and
// counts deliveries per link; loss is off, so every unblocked message must arrive.
#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_micros;
using test_support::at_millis;
using test_support::fixed_latency_config;
using test_support::records_of;

constexpr int messages_per_link = 200;

// Three idle nodes and a delivery counter per (from, to) link.
class ThreeNodes {
 public:
  explicit ThreeNodes(SimulationConfig config = fixed_latency_config()) : simulation(config) {
    a = simulation.add_node("a", {});
    b = simulation.add_node("b", {});
    c = simulation.add_node("c", {});
    simulation.start();
  }

  void send_many(NodeId from, NodeId to, int count = messages_per_link) {
    for (int i = 0; i < count; ++i) {
      simulation.send(from, to, "test.ping", MessageRole::request, [this, from, to](Context& receiver) {
        EXPECT_EQ(receiver.node(), to);
        ++delivered[{from, to}];
      });
    }
  }
  // Sends on every link, then runs until everything has arrived or been dropped.
  void send_on_every_link() {
    for (const NodeId from : {a, b, c})
      for (const NodeId to : {a, b, c})
        if (from != to) send_many(from, to);
    simulation.run_until(simulation.now() + Duration::millis(100));
  }
  int delivered_on(NodeId from, NodeId to) {
    const auto found = delivered.find({from, to});
    return found == delivered.end() ? 0 : found->second;
  }
  void reset_counts() { delivered.clear(); }

  Simulation simulation;
  NodeId a = 0;
  NodeId b = 0;
  NodeId c = 0;
  std::map<std::pair<NodeId, NodeId>, int> delivered;
};

TEST(Network, DeliversEveryMessageWhenThereIsNoFault) {
  ThreeNodes nodes;
  nodes.send_on_every_link();
  for (const NodeId from : {nodes.a, nodes.b, nodes.c})
    for (const NodeId to : {nodes.a, nodes.b, nodes.c})
      if (from != to) {
        EXPECT_EQ(nodes.delivered_on(from, to), messages_per_link) << from << " -> " << to;
      }
}

TEST(Network, NothingCrossesTheLinksOfAnIsolatedNode) {
  ThreeNodes nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::isolate, .node = "b"}, world_node);
  EXPECT_TRUE(nodes.simulation.network().partitioned());
  nodes.send_on_every_link();
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.a), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.c, nodes.b), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.c), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.c), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.c, nodes.a), messages_per_link);
}

TEST(Network, APartitionCutsTheGroupFromTheRestButNotWithinIt) {
  ThreeNodes nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::partition, .group = {"a", "b"}}, world_node);
  nodes.send_on_every_link();
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.a), messages_per_link);
  for (const NodeId inside : {nodes.a, nodes.b}) {
    EXPECT_EQ(nodes.delivered_on(inside, nodes.c), 0);
    EXPECT_EQ(nodes.delivered_on(nodes.c, inside), 0);
  }
}

TEST(Network, OneWayBlocksOnlyOneDirection) {
  ThreeNodes nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::one_way, .node = "a", .peer = "b"}, world_node);
  nodes.send_on_every_link();
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.a), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.c), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.c, nodes.b), messages_per_link);
}

TEST(Network, AMessageInFlightWhenAPartitionStartsIsDroppedOnArrival) {
  SimulationConfig config = fixed_latency_config(Duration::millis(1));
  config.capture = TraceCapture::full;
  ThreeNodes nodes(config);
  nodes.send_many(nodes.a, nodes.b);  // sent at 0, due at 1 ms
  nodes.simulation.run_until(at_micros(500));
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::partition, .group = {"b"}}, world_node);
  nodes.simulation.run_until(at_millis(100));
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0) << "a message crossed a partition that started while in flight";
  EXPECT_EQ(records_of(nodes.simulation, "b", "drop").size(), static_cast<std::size_t>(messages_per_link));
}

TEST(Network, DeliveryResumesAfterAHeal) {
  ThreeNodes nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::isolate, .node = "b"}, world_node);
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::one_way, .node = "a", .peer = "c"}, world_node);
  nodes.send_on_every_link();
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.c), 0);
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::heal}, world_node);
  EXPECT_FALSE(nodes.simulation.network().partitioned());
  nodes.reset_counts();
  nodes.send_on_every_link();
  for (const NodeId from : {nodes.a, nodes.b, nodes.c})
    for (const NodeId to : {nodes.a, nodes.b, nodes.c})
      if (from != to) {
        EXPECT_EQ(nodes.delivered_on(from, to), messages_per_link) << from << " -> " << to;
      }
}

TEST(Network, APartitionWithADurationEndsByItself) {
  ThreeNodes nodes;
  FaultPlan plan;
  plan.faults.push_back(
      Fault{.kind = FaultKind::isolate, .at = at_millis(10), .node = "b", .duration = Duration::millis(50)});
  plan.faults.push_back(Fault{
      .kind = FaultKind::one_way, .at = at_millis(10), .node = "a", .peer = "c", .duration = Duration::millis(50)});
  nodes.simulation.apply_plan(plan);
  nodes.simulation.run_until(at_millis(20));
  nodes.send_on_every_link();  // at 20 ms, arriving before 60 ms
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.c), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.c), 0);
  EXPECT_EQ(nodes.delivered_on(nodes.c, nodes.a), messages_per_link);
  nodes.simulation.run_until(at_millis(200));
  EXPECT_FALSE(nodes.simulation.network().partitioned());
  nodes.reset_counts();
  nodes.send_on_every_link();
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.b, nodes.c), messages_per_link);
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.c), messages_per_link);
}

TEST(Network, OverlappingPartitionsBlockUntilTheLastOneEnds) {
  ThreeNodes nodes;
  FaultPlan plan;
  plan.faults.push_back(
      Fault{.kind = FaultKind::isolate, .at = at_millis(0), .node = "b", .duration = Duration::millis(100)});
  plan.faults.push_back(
      Fault{.kind = FaultKind::partition, .at = at_millis(50), .group = {"b"}, .duration = Duration::millis(200)});
  nodes.simulation.apply_plan(plan);
  nodes.simulation.run_until(at_millis(150));  // the isolation ended; the partition lasts until 250 ms
  nodes.send_many(nodes.a, nodes.b);
  nodes.simulation.run_until(at_millis(200));
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
  nodes.simulation.run_until(at_millis(260));
  nodes.send_many(nodes.a, nodes.b);
  nodes.simulation.run_until(at_millis(400));
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), messages_per_link);
}

// A heal ends every partition; a partition that starts after the heal must still
// last its full duration, whatever the partitions before the heal had scheduled.
TEST(Network, APartitionStartedAfterAHealLastsItsFullDuration) {
  ThreeNodes nodes;
  FaultPlan plan;
  plan.faults.push_back(
      Fault{.kind = FaultKind::isolate, .at = at_millis(0), .node = "b", .duration = Duration::millis(100)});
  plan.faults.push_back(Fault{.kind = FaultKind::heal, .at = at_millis(10)});
  plan.faults.push_back(
      Fault{.kind = FaultKind::isolate, .at = at_millis(20), .node = "b", .duration = Duration::millis(1000)});
  nodes.simulation.apply_plan(plan);
  nodes.simulation.run_until(at_millis(15));
  EXPECT_FALSE(nodes.simulation.network().partitioned()) << "the heal did not end the first isolation";
  nodes.simulation.run_until(at_millis(150));  // the second isolation lasts until 1020 ms
  EXPECT_TRUE(nodes.simulation.network().blocked(nodes.a, nodes.b))
      << "the first isolation's scheduled end cut the second isolation short";
  nodes.send_many(nodes.a, nodes.b);
  nodes.simulation.run_until(at_millis(300));
  EXPECT_EQ(nodes.delivered_on(nodes.a, nodes.b), 0);
}

TEST(Network, LossAndDuplicationFollowTheirRates) {
  SimulationConfig lossy = fixed_latency_config();
  lossy.network.loss_per_million = 1'000'000;
  ThreeNodes lost(lossy);
  lost.send_on_every_link();
  EXPECT_EQ(lost.delivered.size(), 0U) << "a message got through a network that loses everything";

  SimulationConfig duplicating = fixed_latency_config();
  duplicating.network.duplicate_per_million = 1'000'000;
  ThreeNodes doubled(duplicating);
  doubled.send_many(doubled.a, doubled.b);
  doubled.simulation.run_until(at_millis(100));
  EXPECT_EQ(doubled.delivered_on(doubled.a, doubled.b), 2 * messages_per_link);

  SimulationConfig half = fixed_latency_config();
  half.network.loss_per_million = 500'000;
  ThreeNodes some(half);
  some.send_many(some.a, some.b, 2000);
  some.simulation.run_until(at_millis(100));
  EXPECT_GT(some.delivered_on(some.a, some.b), 800);
  EXPECT_LT(some.delivered_on(some.a, some.b), 1200);
}

}  // namespace
}  // namespace faultline::sim
