// Checks the database's standby, failover and replication-slot sync: asynchronous
// replication loses a commit acknowledged just before the primary fails, synchronous
// replication loses none; the old primary never accepts a write after the failover;
// with slot sync the change-data-capture slot exists on the new primary at or before
// the position confirmed on the old one (never beyond what the standby holds), and
// without slot sync it is gone.
//
// Method: a hand-built world of a primary "db", a standby "db-standby", a failover
// manager and a client, with fixed latencies; fault plans cut the replication stream
// or isolate the primary at chosen instants, and scripts on the client record what
// they were told. The test compares that with the disks of both database nodes.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/db.h"
#include "faultline/models/db_failover.h"
#include "faultline/sim/simulation.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::at_millis;
using test_support::client_timeout;
using test_support::fixed_latency_config;
using test_support::ids_of;
using test_support::sleep_until;

constexpr const char* slot = "outbox";

struct ClusterOptions {
  Replication replication = Replication::asynchronous;
  SlotSync slot_sync = SlotSync::off;
  sim::FaultPlan plan;
};

// Nodes "db" (the primary), "db-standby", "db-failover" and "client".
class ClusterWorld {
 public:
  explicit ClusterWorld(ClusterOptions options) : simulation(fixed_latency_config()) {
    cluster.replication = options.replication;
    cluster.slot_sync = options.slot_sync;
    cluster.slots = {slot};
    const DbSettings settings{.cluster = &cluster};
    primary = simulation.add_node(
        "db", [settings](sim::Context& context) { context.make<Database>(context, settings).serve(); });
    standby = simulation.add_node(
        "db-standby", [settings](sim::Context& context) { context.make<Database>(context, settings).serve(); });
    simulation.add_node("db-failover", [this](sim::Context& context) {
      context.make<FailoverManager>(context, cluster, FailoverSettings{}).start();
    });
    client = simulation.add_node("client", {});
    cluster.primary = cluster.original_primary = primary;
    cluster.standby = standby;
    simulation.apply_plan(options.plan);
    simulation.start();
  }

  void spawn(sim::Task<void> script) { simulation.context(client)->spawn(std::move(script)); }
  sim::Context& client_context() { return *simulation.context(client); }
  void run_until(sim::Instant instant) { simulation.run_until(instant); }

  std::vector<std::int64_t> durable_orders(sim::NodeId node) {
    auto tables = Database::durable_tables(simulation.disk(node));
    return ids_of(tables["orders"]);
  }
  std::size_t durable_log_length(sim::NodeId node) {
    const auto* wal = simulation.disk(node).find<sim::DurableLog<WalRecord>>(Database::wal_name);
    return wal == nullptr ? 0 : wal->durable().size();
  }
  std::uint64_t durable_last_lsn(sim::NodeId node) {
    std::uint64_t last = 0;
    if (const auto* wal = simulation.disk(node).find<sim::DurableLog<WalRecord>>(Database::wal_name))
      for (const WalRecord& record : wal->durable()) last = std::max(last, record.lsn);
    return last;
  }

  DbCluster cluster;
  sim::Simulation simulation;
  sim::NodeId primary = 0;
  sim::NodeId standby = 0;
  sim::NodeId client = 0;
};

// Replication from the primary to the standby is cut from `from` on, for a long time.
sim::Fault replication_cut(sim::Instant from) {
  return sim::Fault{.kind = sim::FaultKind::one_way,
                    .at = from,
                    .node = "db",
                    .peer = "db-standby",
                    .duration = sim::Duration::seconds(10)};
}

// One order committed in its own transaction; what the client was told.
sim::Task<Outcome> commit_order(DbClient& db, std::int64_t command) {
  auto tx = co_await db.begin();
  if (!tx.ok()) co_return tx.outcome;
  Row row{.key = "k", .command = command};
  const auto inserted = co_await tx.value.insert("orders", std::move(row));
  if (!inserted.ok()) co_return inserted.outcome;
  const auto committed = co_await tx.value.commit();
  co_return committed.outcome;
}

struct Commits {
  std::vector<Outcome> outcomes;
  std::vector<std::int64_t> standby_orders_at_second_ack;
  bool done = false;
};

// Commits order 1, then (replication having been cut at 20 ms) order 2 at 30 ms, and
// crashes the primary as soon as the second commit has its answer.
sim::Task<void> commit_then_lose_primary(ClusterWorld& world, Commits& record) {
  sim::Context& context = world.client_context();
  DbClient db(context, world.cluster, client_timeout);
  record.outcomes.push_back(co_await commit_order(db, 1));
  co_await sleep_until(context, at_millis(30));
  record.outcomes.push_back(co_await commit_order(db, 2));
  record.standby_orders_at_second_ack = world.durable_orders(world.standby);
  context.simulation().crash(world.primary, "the primary fails");
  record.done = true;
}

TEST(DatabaseStandby, AsynchronousReplicationAndFailoverLoseAnAcknowledgedCommit) {
  ClusterWorld world({.replication = Replication::asynchronous, .plan = {{replication_cut(at_millis(20))}}});
  Commits record;
  world.spawn(commit_then_lose_primary(world, record));
  world.run_until(at_millis(300));

  ASSERT_TRUE(record.done);
  ASSERT_EQ(record.outcomes, (std::vector<Outcome>{Outcome::ok, Outcome::ok})) << "both commits were acknowledged";
  EXPECT_EQ(record.standby_orders_at_second_ack, std::vector<std::int64_t>{1}) << "the standby lagged behind";
  ASSERT_EQ(world.cluster.primary, world.standby) << "the failover manager promoted the standby";
  EXPECT_EQ(world.cluster.timeline, 2u);
  EXPECT_EQ(world.durable_orders(world.standby), std::vector<std::int64_t>{1})
      << "the new primary never had the acknowledged second commit";
}

TEST(DatabaseStandby, SynchronousReplicationAndFailoverLoseNoAcknowledgedCommit) {
  ClusterWorld world({.replication = Replication::synchronous, .plan = {{replication_cut(at_millis(20))}}});
  Commits record;
  world.spawn(commit_then_lose_primary(world, record));
  world.run_until(at_millis(300));

  ASSERT_TRUE(record.done);
  ASSERT_EQ(record.outcomes.size(), 2u);
  EXPECT_EQ(record.outcomes[0], Outcome::ok);
  EXPECT_NE(record.outcomes[1], Outcome::ok) << "the second commit waited for a standby it could not reach";
  ASSERT_EQ(world.cluster.primary, world.standby);
  EXPECT_EQ(world.durable_orders(world.standby), std::vector<std::int64_t>{1}) << "every acknowledged commit survived";
}

struct AckedOnStandby {
  std::vector<bool> on_standby_at_ack;
};

// Under synchronous replication an acknowledged commit is already durable on the standby.
sim::Task<void> commit_three(ClusterWorld& world, AckedOnStandby& record) {
  DbClient db(world.client_context(), world.cluster, client_timeout);
  for (std::int64_t command = 1; command <= 3; ++command) {
    EXPECT_EQ(co_await commit_order(db, command), Outcome::ok);
    const auto orders = world.durable_orders(world.standby);
    record.on_standby_at_ack.push_back(static_cast<std::int64_t>(orders.size()) == command);
  }
}

TEST(DatabaseStandby, SynchronousReplicationAcknowledgesOnlyWhatTheStandbyHoldsDurably) {
  ClusterWorld world({.replication = Replication::synchronous});
  AckedOnStandby record;
  world.spawn(commit_three(world, record));
  world.run_until(at_millis(100));
  EXPECT_EQ(record.on_standby_at_ack, (std::vector<bool>{true, true, true}));
}

struct Fencing {
  Outcome commit_of_open_transaction = Outcome::ok;
  std::string commit_error;
  Outcome begin_on_old_primary = Outcome::ok;
  Outcome begin_after_restart = Outcome::ok;
  Outcome commit_through_cluster = Outcome::failed;
  std::size_t old_log_at_failover = 0;
};

// Opens a transaction on the primary before it is isolated (at 20 ms for 200 ms), and
// tries to commit it, and to write directly to the old primary, after the failover.
sim::Task<void> write_to_old_primary(ClusterWorld& world, Fencing& record) {
  sim::Context& context = world.client_context();
  DbClient direct(context, world.primary, client_timeout);
  auto open = co_await direct.begin();
  EXPECT_TRUE(open.ok());
  Row row{.key = "k", .command = 7};
  EXPECT_TRUE((co_await open.value.insert("orders", std::move(row))).ok());
  while (world.cluster.primary == world.primary) co_await context.sleep(sim::Duration::millis(1));
  record.old_log_at_failover = world.durable_log_length(world.primary);
  co_await sleep_until(context, at_millis(250));  // the isolation has healed
  const auto committed = co_await open.value.commit();
  record.commit_of_open_transaction = committed.outcome;
  record.commit_error = committed.error;
  record.begin_on_old_primary = (co_await direct.begin()).outcome;
  context.simulation().crash(world.primary, "the old primary restarts");
  context.simulation().restart(world.primary);
  record.begin_after_restart = (co_await direct.begin()).outcome;
  DbClient through_cluster(context, world.cluster, client_timeout);
  record.commit_through_cluster = co_await commit_order(through_cluster, 8);
}

TEST(DatabaseStandby, TheOldPrimaryNeverAcceptsAWriteAfterTheFailover) {
  sim::Fault isolation{
      .kind = sim::FaultKind::isolate, .at = at_millis(20), .node = "db", .duration = sim::Duration::millis(200)};
  ClusterWorld world({.replication = Replication::synchronous, .plan = {{isolation}}});
  Fencing record;
  world.spawn(write_to_old_primary(world, record));
  world.run_until(at_millis(400));

  ASSERT_EQ(world.cluster.primary, world.standby) << "the isolated primary was failed over";
  EXPECT_EQ(record.commit_of_open_transaction, Outcome::failed);
  EXPECT_EQ(record.commit_error, "not primary");
  EXPECT_EQ(record.begin_on_old_primary, Outcome::failed);
  EXPECT_EQ(record.begin_after_restart, Outcome::failed) << "fenced for the rest of the run, restarts included";
  EXPECT_EQ(world.durable_log_length(world.primary), record.old_log_at_failover)
      << "nothing was written to the old primary's log after the failover";
  EXPECT_EQ(record.commit_through_cluster, Outcome::ok) << "clients reach the new primary";
  EXPECT_EQ(world.durable_orders(world.standby), std::vector<std::int64_t>{1});
}

struct SlotFollow {
  std::uint64_t confirmed_on_old_primary = 0;
  std::uint64_t decoded_up_to = 0;
  std::optional<DbSlotReply> after_failover;
};

// Commits three orders, decodes what the log offers and confirms it on the slot,
// then isolates nothing itself: the plan isolates the primary at 60 ms.
sim::Task<void> confirm_then_look_up_after_failover(ClusterWorld& world, SlotFollow& record) {
  sim::Context& context = world.client_context();
  DbClient db(context, world.cluster, client_timeout);
  for (std::int64_t command = 1; command <= 3; ++command) EXPECT_EQ(co_await commit_order(db, command), Outcome::ok);
  const auto log = co_await db.read_log(0, 16);
  EXPECT_TRUE(log.ok());
  for (const LoggedTransaction& transaction : log.value.transactions) record.decoded_up_to = transaction.lsn;
  const auto confirmed = co_await db.slot_advance(slot, record.decoded_up_to);
  EXPECT_TRUE(confirmed.ok());
  record.confirmed_on_old_primary = confirmed.value;
  while (world.cluster.primary == world.primary) co_await context.sleep(sim::Duration::millis(1));
  const auto found = co_await db.slot_lookup(slot);
  EXPECT_TRUE(found.ok());
  record.after_failover = found.value;
}

sim::Fault primary_isolated_at(sim::Instant at) {
  return sim::Fault{.kind = sim::FaultKind::isolate, .at = at, .node = "db", .duration = sim::Duration::seconds(1)};
}

TEST(DatabaseStandby, WithSlotSyncTheSlotFollowsToTheNewPrimaryAtOrBeforeItsConfirmedPosition) {
  ClusterWorld world({.replication = Replication::asynchronous,
                      .slot_sync = SlotSync::on,
                      .plan = {{primary_isolated_at(at_millis(60))}}});
  SlotFollow record;
  world.spawn(confirm_then_look_up_after_failover(world, record));
  world.run_until(at_millis(300));

  ASSERT_TRUE(record.after_failover.has_value());
  EXPECT_GT(record.confirmed_on_old_primary, 0u);
  EXPECT_TRUE(record.after_failover->found) << "the standby kept a copy of the slot";
  EXPECT_EQ(record.after_failover->timeline, 2u);
  EXPECT_LE(record.after_failover->confirmed_lsn, record.confirmed_on_old_primary);
  EXPECT_LE(record.after_failover->confirmed_lsn, world.durable_last_lsn(world.standby));
}

TEST(DatabaseStandby, WithoutSlotSyncTheSlotIsGoneAfterTheFailover) {
  ClusterWorld world({.replication = Replication::asynchronous,
                      .slot_sync = SlotSync::off,
                      .plan = {{primary_isolated_at(at_millis(60))}}});
  SlotFollow record;
  world.spawn(confirm_then_look_up_after_failover(world, record));
  world.run_until(at_millis(300));

  ASSERT_TRUE(record.after_failover.has_value());
  EXPECT_GT(record.confirmed_on_old_primary, 0u);
  EXPECT_FALSE(record.after_failover->found) << "the new primary has no such slot";
}

// Replication is cut from the start, so the standby never receives a copy of the
// slot, and the primary is isolated at 20 ms: the failover manager would promote the
// standby after its timeout if nothing held it back.
ClusterWorld never_synced_standby_and_lost_primary(SlotSync slot_sync) {
  return ClusterWorld({.replication = Replication::synchronous,
                       .slot_sync = slot_sync,
                       .plan = {{replication_cut(at_millis(0)), primary_isolated_at(at_millis(20))}}});
}

TEST(DatabaseStandby, WithSlotSyncAStandbyWithoutACopyOfTheSlotIsNeverPromoted) {
  // Promoted, it would have no slot: the reader would create one at the end of the log
  // and skip every change committed on the new primary in between (a lost event).
  ClusterWorld world = never_synced_standby_and_lost_primary(SlotSync::on);
  world.run_until(at_millis(300));

  EXPECT_EQ(world.cluster.primary, world.primary) << "the standby is not ready for failover";
  EXPECT_EQ(world.cluster.timeline, 1u);
  EXPECT_TRUE(Database::durable_slots(world.simulation.disk(world.standby)).empty())
      << "the standby never received the slot";
}

TEST(DatabaseStandby, WithoutSlotSyncTheSameStandbyIsPromoted) {
  // The control for the test above: the same plan does cause a failover when no slot
  // has to follow.
  ClusterWorld world = never_synced_standby_and_lost_primary(SlotSync::off);
  world.run_until(at_millis(300));

  EXPECT_EQ(world.cluster.primary, world.standby);
  EXPECT_EQ(world.cluster.timeline, 2u);
}

struct Clamp {
  std::optional<DbSlotReply> slot;
  std::uint64_t received_lsn = 0;
};

// Plays the primary towards the standby: one commit record, with a slot confirmed
// far beyond it.
sim::Task<void> replicate_with_slot_ahead(ClusterWorld& world, Clamp& record) {
  sim::Context& context = world.client_context();
  DbReplicate request;
  request.records.push_back(WalRecord{.lsn = 1, .tx = 1, .writes = {Write{WriteKind::insert, "orders", Row{.id = 1}}}});
  request.slots[slot] = 5;
  const auto replicated = co_await context.call(world.standby, std::move(request), client_timeout);
  EXPECT_TRUE(replicated.ok() && replicated->ok);
  if (replicated.ok()) record.received_lsn = replicated->received_lsn;
  // Promote it, as the failover manager would, and read its slot.
  world.cluster.primary = world.standby;
  world.cluster.standby = 0;
  DbClient db(context, world.cluster, client_timeout);
  const auto found = co_await db.slot_lookup(slot);
  if (found.ok()) record.slot = found.value;
}

TEST(DatabaseStandby, ASyncedSlotNeverPointsBeyondWhatTheStandbyHasReceived) {
  // The real primary's stream is cut from the start, so only the script feeds the standby.
  ClusterWorld world(
      {.replication = Replication::asynchronous, .slot_sync = SlotSync::on, .plan = {{replication_cut(at_millis(0))}}});
  Clamp record;
  world.spawn(replicate_with_slot_ahead(world, record));
  world.run_until(at_millis(50));

  ASSERT_TRUE(record.slot.has_value());
  EXPECT_EQ(record.received_lsn, 1u);
  EXPECT_TRUE(record.slot->found);
  EXPECT_EQ(record.slot->confirmed_lsn, 1u) << "the copy stops at the standby's own log end, not at 5";
}

}  // namespace
}  // namespace faultline::models
