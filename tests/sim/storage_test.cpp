// Checks durable storage: a write survives a crash only if a sync that covers it
// completed before the crash. Each test writes to a DurableLog from a node's
// coroutine, syncs (or not), crashes the node at a chosen instant, and compares what
// the log holds, and what the next incarnation reads at boot, with what was synced.
// Sync latency is fixed at 1 ms so "in the middle of a sync" is an exact instant.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_micros;
using test_support::at_millis;
using test_support::fixed_latency_config;

using Wal = DurableLog<int>;

std::vector<int> contents(std::span<const int> records) {
  return {records.begin(), records.end()};
}

Task<void> write_sync_write(Context& context, std::vector<Instant>& synced_at) {
  Wal& wal = context.disk().get<Wal>("wal");
  wal.append(1);
  wal.append(2);
  co_await context.sync(wal);
  synced_at.push_back(context.now());
  wal.append(3);
  co_await context.sleep(Duration::seconds(1));
}

TEST(Storage, SyncedWritesSurviveACrashAndUnsyncedOnesAreLost) {
  Simulation simulation(fixed_latency_config());
  std::vector<Instant> synced_at;
  std::vector<std::vector<int>> read_at_boot;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    read_at_boot.push_back(contents(context.disk().get<Wal>("wal").durable()));
    if (context.incarnation() == 0) context.spawn(write_sync_write(context, synced_at));
  });
  simulation.start();
  simulation.run_until(at_millis(10));
  const Wal& wal = simulation.disk(node).get<Wal>("wal");
  EXPECT_EQ(synced_at, std::vector<Instant>{at_millis(1)});
  EXPECT_EQ(contents(wal.written()), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(contents(wal.durable()), (std::vector<int>{1, 2}));

  simulation.crash(node, "test");
  EXPECT_EQ(contents(wal.written()), (std::vector<int>{1, 2})) << "an unsynced write survived the crash";
  EXPECT_EQ(contents(wal.durable()), (std::vector<int>{1, 2})) << "a synced write was lost";

  simulation.restart(node);
  EXPECT_EQ(read_at_boot, (std::vector<std::vector<int>>{{}, {1, 2}}));
}

Task<void> write_and_sync(Context& context, std::optional<Instant>& synced_at) {
  Wal& wal = context.disk().get<Wal>("wal");
  wal.append(7);
  co_await context.sync(wal);
  synced_at = context.now();
}

TEST(Storage, ASyncMakesTheWriteDurableWhenItsLatencyHasElapsed) {
  Simulation simulation(fixed_latency_config());
  std::optional<Instant> synced_at;
  const NodeId node =
      simulation.add_node("node", [&](Context& context) { context.spawn(write_and_sync(context, synced_at)); });
  simulation.start();
  simulation.run_until(at_micros(999));
  const Wal& wal = simulation.disk(node).get<Wal>("wal");
  EXPECT_EQ(wal.synced_size(), 0U) << "the sync completed before its latency";
  simulation.run_until(at_millis(1));
  EXPECT_EQ(synced_at, at_millis(1));
  EXPECT_EQ(contents(wal.durable()), std::vector<int>{7});
  simulation.crash(node, "test");
  EXPECT_EQ(contents(wal.durable()), std::vector<int>{7});
}

TEST(Storage, ACrashBeforeASyncCompletesLosesTheWrite) {
  Simulation simulation(fixed_latency_config());
  std::optional<Instant> synced_at;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    if (context.incarnation() == 0) context.spawn(write_and_sync(context, synced_at));
  });
  simulation.start();
  simulation.run_until(at_micros(500));  // halfway through the 1 ms sync
  const Wal& wal = simulation.disk(node).get<Wal>("wal");
  ASSERT_EQ(contents(wal.written()), std::vector<int>{7});
  simulation.crash(node, "test");
  EXPECT_TRUE(wal.written().empty()) << "the write survived a crash that interrupted its sync";
  simulation.restart(node);
  simulation.run_until(at_millis(100));
  EXPECT_FALSE(synced_at.has_value()) << "the interrupted sync completed after the crash";
  EXPECT_EQ(wal.synced_size(), 0U);
  EXPECT_TRUE(wal.durable().empty());
}

TEST(Storage, ASyncCoversOnlyTheWritesIssuedBeforeIt) {
  Simulation simulation(fixed_latency_config());
  std::optional<Instant> synced_at;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    Wal& wal = context.disk().get<Wal>("wal");
    wal.append(1);
    context.sync(wal, [&synced_at, &context] { synced_at = context.now(); });
    wal.append(2);  // after the sync started: not covered by it
  });
  simulation.start();
  simulation.run_until(at_millis(10));
  const Wal& wal = simulation.disk(node).get<Wal>("wal");
  EXPECT_EQ(synced_at, at_millis(1));
  EXPECT_EQ(contents(wal.durable()), std::vector<int>{1});
  simulation.crash(node, "test");
  EXPECT_EQ(contents(wal.written()), std::vector<int>{1});
}

Task<void> write_two_synced(Context& context) {
  Wal& wal = context.disk().get<Wal>("wal");
  wal.append(1);
  wal.append(2);
  co_await context.sync(wal);
}

TEST(Storage, ADiskThatLiedAboutSyncLosesItsLastSyncedWritesOnACrash) {
  Simulation simulation(fixed_latency_config());
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    if (context.incarnation() == 0) context.spawn(write_two_synced(context));
  });
  simulation.start();
  simulation.run_until(at_millis(10));
  const Wal& wal = simulation.disk(node).get<Wal>("wal");
  ASSERT_EQ(contents(wal.durable()), (std::vector<int>{1, 2}));
  simulation.apply_fault(Fault{.kind = FaultKind::crash_with_disk_loss, .node = "node", .count = 1}, world_node);
  EXPECT_EQ(simulation.state(node), NodeState::down);
  EXPECT_EQ(contents(wal.durable()), std::vector<int>{1});
  EXPECT_EQ(contents(wal.written()), std::vector<int>{1});
}

}  // namespace
}  // namespace faultline::sim
