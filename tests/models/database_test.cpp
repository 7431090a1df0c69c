// Checks the database model's semantics as a client sees them over RPC: ids come
// from a per-table sequence at insert time and are never given back (holes, commit
// order != id order), READ COMMITTED visibility, durability before the commit's ack,
// the three outcomes of a commit (ok, unknown with the row durable, lost with the
// crash), transaction ids that die with the server's incarnation, conditional
// updates, and the idle-transaction reaper.
//
// Method: a world of fixed 1 ms latencies (model_test_support.h) where a script on
// the client node runs statements and records what it saw; the test then compares
// that record with the durable state read from the database's disk, as recovery
// would rebuild it.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/db.h"
#include "faultline/sim/simulation.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::begin_transaction;
using test_support::client_timeout;
using test_support::commit_order;
using test_support::ids_of;
using test_support::insert_order;
using test_support::ModelWorld;
using test_support::read_back;
using test_support::ReadBack;
using test_support::visible_orders;
using test_support::WorldOptions;

// ---- Ids from the sequence ----

struct SequenceRecord {
  std::vector<std::int64_t> order_ids;
  std::int64_t outbox_id = 0;
  std::uint64_t tx = 0;
  bool committed = false;
};

sim::Task<void> insert_into_two_tables(sim::Context& context, sim::NodeId database, SequenceRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  record.tx = tx.id();
  record.order_ids.push_back(co_await insert_order(tx, 1));
  record.order_ids.push_back(co_await insert_order(tx, 2));
  Row outbox_row{.key = "k", .command = 1, .message_id = "e1"};
  const auto outbox = co_await tx.insert("outbox", std::move(outbox_row));
  record.outbox_id = outbox.value;
  record.committed = (co_await tx.commit()).ok();
}

TEST(Database, AllocatesIdsFromEachTablesOwnSequenceAtInsertTime) {
  SequenceRecord record;
  ModelWorld world;
  world.spawn(insert_into_two_tables(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  // The insert's reply carries the id, before any commit; each table counts on its own.
  EXPECT_EQ(record.order_ids, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(record.outbox_id, 1);
  ASSERT_TRUE(record.committed);
  const auto tables = world.durable_tables();
  ASSERT_EQ(tables.count("orders"), 1u);
  EXPECT_EQ(ids_of(tables.at("orders")), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(tables.at("orders").at(2).command, 2);
  EXPECT_EQ(tables.at("orders").at(2).writer_tx, record.tx) << "the database stamps the writer's transaction id";
  ASSERT_EQ(tables.count("outbox"), 1u);
  EXPECT_EQ(tables.at("outbox").at(1).message_id, "e1");
}

struct HoleRecord {
  std::int64_t aborted_id = 0;
  std::int64_t committed_id = 0;
  std::vector<std::int64_t> visible_afterwards;
};

sim::Task<void> abort_then_commit(sim::Context& context, sim::NodeId database, HoleRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction rolled_back = co_await begin_transaction(db);
  record.aborted_id = co_await insert_order(rolled_back, 1);
  co_await rolled_back.abort();
  record.committed_id = co_await commit_order(db, 2);
  DbTransaction reader = co_await begin_transaction(db);
  record.visible_afterwards = co_await visible_orders(reader);
  co_await reader.abort();
}

TEST(Database, RolledBackInsertLeavesAHoleInTheIds) {
  HoleRecord record;
  ModelWorld world;
  world.spawn(abort_then_commit(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_GT(record.aborted_id, 0);
  EXPECT_GT(record.committed_id, record.aborted_id) << "an aborted insert does not give its id back";
  EXPECT_EQ(record.visible_afterwards, std::vector<std::int64_t>{record.committed_id});
  const auto orders = world.durable_rows("orders");
  EXPECT_EQ(ids_of(orders), std::vector<std::int64_t>{record.committed_id});
  EXPECT_EQ(orders.count(record.aborted_id), 0u) << "the rolled-back id never appears";
}

// ---- Commit order is not id order ----

struct CommitOrderRecord {
  std::int64_t first_insert_id = 0;
  std::int64_t second_insert_id = 0;
  std::uint64_t first_tx = 0;
  std::uint64_t second_tx = 0;
  bool both_committed = false;
  std::vector<std::int64_t> visible_between_commits;
  std::vector<std::int64_t> visible_after_both;
};

// T1 inserts first and commits second; a reader looks in between.
sim::Task<void> interleave_two_transactions(sim::Context& context, sim::NodeId database, CommitOrderRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction first = co_await begin_transaction(db);
  DbTransaction second = co_await begin_transaction(db);
  record.first_tx = first.id();
  record.second_tx = second.id();
  record.first_insert_id = co_await insert_order(first, 1);
  record.second_insert_id = co_await insert_order(second, 2);
  const auto second_committed = co_await second.commit();
  DbTransaction reader = co_await begin_transaction(db);
  record.visible_between_commits = co_await visible_orders(reader);
  const auto first_committed = co_await first.commit();
  record.visible_after_both = co_await visible_orders(reader);
  co_await reader.abort();
  record.both_committed = first_committed.ok() && second_committed.ok();
}

TEST(Database, ConcurrentTransactionsCanCommitOutOfIdOrder) {
  CommitOrderRecord record;
  ModelWorld world;
  world.spawn(interleave_two_transactions(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_TRUE(record.both_committed);
  ASSERT_LT(record.first_insert_id, record.second_insert_id);
  // A reader between the commits sees the higher id without the lower one: the gap
  // a polling relay must not skip past.
  EXPECT_EQ(record.visible_between_commits, std::vector<std::int64_t>{record.second_insert_id});
  EXPECT_EQ(record.visible_after_both, (std::vector<std::int64_t>{record.first_insert_id, record.second_insert_id}));

  // The log holds the commits in commit order: the higher id first.
  const auto* wal = world.simulation.disk(world.db).find<sim::DurableLog<WalRecord>>(Database::wal_name);
  ASSERT_NE(wal, nullptr);
  std::vector<std::uint64_t> commit_order;
  for (const WalRecord& entry : wal->durable())
    if (entry.sequence_table.empty()) commit_order.push_back(entry.tx);
  EXPECT_EQ(commit_order, (std::vector<std::uint64_t>{record.second_tx, record.first_tx}));
  EXPECT_EQ(ids_of(world.durable_rows("orders")),
            (std::vector<std::int64_t>{record.first_insert_id, record.second_insert_id}));
}

// ---- Isolation ----

struct IsolationRecord {
  std::int64_t id = 0;
  std::vector<std::int64_t> writer_sees_own_insert;
  std::vector<std::int64_t> other_sees_before_commit;
  std::vector<std::int64_t> other_sees_after_commit;
  std::vector<std::int64_t> updater_sees_in_state_1;
  std::vector<std::int64_t> other_sees_in_state_1_before_update_commit;
  std::vector<std::int64_t> other_sees_in_state_0_before_update_commit;
  std::vector<std::int64_t> other_sees_in_state_1_after_update_commit;
};

sim::Task<void> observe_isolation(sim::Context& context, sim::NodeId database, IsolationRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction writer = co_await begin_transaction(db);
  DbTransaction other = co_await begin_transaction(db);
  record.id = co_await insert_order(writer, 1);
  record.writer_sees_own_insert = co_await visible_orders(writer);
  record.other_sees_before_commit = co_await visible_orders(other);
  const auto insert_committed = co_await writer.commit();
  EXPECT_TRUE(insert_committed.ok());
  // `other` is still open: under READ COMMITTED each statement sees the latest commits.
  record.other_sees_after_commit = co_await visible_orders(other);

  DbTransaction updater = co_await begin_transaction(db);
  const auto updated = co_await updater.update("orders", record.id, 1, std::nullopt);
  EXPECT_EQ(updated.value, 1u);
  record.updater_sees_in_state_1 = co_await visible_orders(updater, 1);
  record.other_sees_in_state_1_before_update_commit = co_await visible_orders(other, 1);
  record.other_sees_in_state_0_before_update_commit = co_await visible_orders(other, 0);
  const auto update_committed = co_await updater.commit();
  EXPECT_TRUE(update_committed.ok());
  record.other_sees_in_state_1_after_update_commit = co_await visible_orders(other, 1);
  co_await other.abort();
}

TEST(Database, TransactionSeesItsOwnWritesButOthersSeeThemOnlyAfterCommit) {
  IsolationRecord record;
  ModelWorld world;
  world.spawn(observe_isolation(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  const std::vector<std::int64_t> the_row{record.id};
  const std::vector<std::int64_t> nothing;
  ASSERT_GT(record.id, 0);
  EXPECT_EQ(record.writer_sees_own_insert, the_row);
  EXPECT_EQ(record.other_sees_before_commit, nothing) << "no dirty read of an uncommitted insert";
  EXPECT_EQ(record.other_sees_after_commit, the_row);
  EXPECT_EQ(record.updater_sees_in_state_1, the_row);
  EXPECT_EQ(record.other_sees_in_state_1_before_update_commit, nothing) << "no dirty read of an uncommitted update";
  EXPECT_EQ(record.other_sees_in_state_0_before_update_commit, the_row);
  EXPECT_EQ(record.other_sees_in_state_1_after_update_commit, the_row);
}

// ---- Durability and the outcomes of a commit ----

struct CommitRecord {
  std::int64_t id = 0;
  Outcome commit = Outcome::failed;
  std::map<std::int64_t, Row> durable_at_ack;
};

// Commits a row and crashes the database the instant the client holds the ack.
sim::Task<void> commit_then_crash_database(sim::Context& context, sim::NodeId database, CommitRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  record.id = co_await insert_order(tx, 1);
  record.commit = (co_await tx.commit()).outcome;
  record.durable_at_ack = Database::durable_tables(context.simulation().disk(database))["orders"];
  context.simulation().crash(database, "right after the client got the commit ack");
}

TEST(Database, AcknowledgedCommitIsDurableBeforeTheAck) {
  CommitRecord record;
  ReadBack after_restart;
  ModelWorld world;
  world.spawn(commit_then_crash_database(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_EQ(record.commit, Outcome::ok);
  ASSERT_EQ(world.simulation.state(world.db), sim::NodeState::down);
  EXPECT_EQ(record.durable_at_ack.count(record.id), 1u) << "the row was durable when the client got the ack";
  EXPECT_EQ(ids_of(world.durable_rows("orders")), std::vector<std::int64_t>{record.id}) << "and survived the crash";

  world.simulation.restart(world.db);
  world.spawn(read_back(world.client_context(), world.db, after_restart));
  world.run_for(sim::Duration::millis(100));
  ASSERT_TRUE(after_restart.done);
  EXPECT_EQ(after_restart.visible, std::vector<std::int64_t>{record.id}) << "recovery replays the committed row";
}

// Loses the database's next reply (the commit's) before committing.
sim::Task<void> commit_with_lost_reply(sim::Context& context, sim::NodeId database, CommitRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  record.id = co_await insert_order(tx, 1);
  context.simulation().network().lose_responses(database, 1);
  record.commit = (co_await tx.commit()).outcome;
}

TEST(Database, CommitWhoseReplyIsLostEndsUnknownAlthoughTheRowIsDurable) {
  CommitRecord record;
  ReadBack afterwards;
  ModelWorld world;
  world.spawn(commit_with_lost_reply(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  EXPECT_EQ(record.commit, Outcome::unknown) << "the client cannot tell a lost reply from a lost commit";
  EXPECT_EQ(ids_of(world.durable_rows("orders")), std::vector<std::int64_t>{record.id}) << "yet the commit happened";
  world.spawn(read_back(world.client_context(), world.db, afterwards));
  world.run_for(sim::Duration::millis(100));
  ASSERT_TRUE(afterwards.done);
  EXPECT_EQ(afterwards.visible, std::vector<std::int64_t>{record.id});
}

sim::Task<void> commit_once(sim::Context& context, sim::NodeId database, CommitRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  record.id = co_await insert_order(tx, 1);
  record.commit = (co_await tx.commit()).outcome;
}

TEST(Database, CrashBeforeTheCommitSyncCompletesLosesTheTransaction) {
  CommitRecord record;
  ReadBack after_restart;
  WorldOptions options;
  // The database crashes between appending the commit record and its sync, and
  // restarts 10 ms later.
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "db.commit.before_sync",
                                           .hit = 1,
                                           .duration = sim::Duration::millis(10)});
  ModelWorld world(options);
  world.spawn(commit_once(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_EQ(world.simulation.incarnation(world.db), 1u) << "the planned crash struck";
  ASSERT_EQ(world.simulation.state(world.db), sim::NodeState::up) << "and the database restarted";
  EXPECT_EQ(record.commit, Outcome::unknown);
  EXPECT_TRUE(world.durable_rows("orders").empty()) << "the unsynced commit record died with the process";
  world.spawn(read_back(world.client_context(), world.db, after_restart));
  world.run_for(sim::Duration::millis(100));
  ASSERT_TRUE(after_restart.done);
  EXPECT_TRUE(after_restart.visible.empty());
}

// ---- Transaction ids and incarnations ----

struct IncarnationRecord {
  DbTransaction old_tx;
  bool old_insert_ok = false;
  std::vector<std::uint64_t> new_tx_ids;
  DbResult<std::int64_t> old_insert_after_restart;
  DbResult<std::vector<Row>> old_select_after_restart;
  DbResult<std::uint32_t> old_update_after_restart;
  DbResult<void> old_commit_after_restart;
  std::int64_t new_row = 0;
};

sim::Task<void> open_transaction(sim::Context& context, sim::NodeId database, IncarnationRecord& record) {
  DbClient db(context, database, client_timeout);
  record.old_tx = co_await begin_transaction(db);
  record.old_insert_ok = co_await insert_order(record.old_tx, 1) > 0;
}

sim::Task<void> use_old_transaction(sim::Context& context, sim::NodeId database, IncarnationRecord& record) {
  DbClient db(context, database, client_timeout);
  // New transactions open first: if one of them reused the old id, the old handle
  // would silently act on it.
  std::vector<DbTransaction> fresh;
  for (int count = 0; count < 3; ++count) {
    fresh.push_back(co_await begin_transaction(db));
    record.new_tx_ids.push_back(fresh.back().id());
  }
  Row row{.key = "k", .command = 9};
  record.old_insert_after_restart = co_await record.old_tx.insert("orders", std::move(row));
  DbFilter everything;
  record.old_select_after_restart = co_await record.old_tx.select("orders", std::move(everything));
  record.old_update_after_restart = co_await record.old_tx.update("orders", 1, 1, std::nullopt);
  record.old_commit_after_restart = co_await record.old_tx.commit();
  record.new_row = co_await insert_order(fresh.front(), 2);
  const auto committed = co_await fresh.front().commit();
  EXPECT_TRUE(committed.ok());
}

TEST(Database, TransactionIdFromAnEarlierIncarnationIsRejectedAndNeverReused) {
  IncarnationRecord record;
  ModelWorld world;
  world.spawn(open_transaction(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(20));
  ASSERT_TRUE(record.old_insert_ok);
  world.simulation.crash(world.db, "the test");
  world.simulation.restart(world.db);
  world.spawn(use_old_transaction(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  for (const std::uint64_t id : record.new_tx_ids)
    EXPECT_NE(id, record.old_tx.id()) << "a new incarnation named a new transaction with an old id";
  EXPECT_EQ(record.old_insert_after_restart.outcome, Outcome::failed) << record.old_insert_after_restart.error;
  EXPECT_EQ(record.old_select_after_restart.outcome, Outcome::failed);
  EXPECT_EQ(record.old_update_after_restart.outcome, Outcome::failed);
  EXPECT_EQ(record.old_commit_after_restart.outcome, Outcome::failed);
  // Only the new transaction's row exists: nothing of the old one, before or after the crash.
  ASSERT_GT(record.new_row, 0);
  const auto orders = world.durable_rows("orders");
  EXPECT_EQ(ids_of(orders), std::vector<std::int64_t>{record.new_row});
  EXPECT_EQ(orders.at(record.new_row).command, 2);
}

// ---- Conditional update ----

struct UpdateRecord {
  std::int64_t id = 0;
  std::vector<std::uint32_t> affected;
  bool committed = false;
};

sim::Task<void> conditional_updates(sim::Context& context, sim::NodeId database, UpdateRecord& record) {
  DbClient db(context, database, client_timeout);
  record.id = co_await commit_order(db, 1);  // committed in state 0
  DbTransaction tx = co_await begin_transaction(db);
  const auto update = [&](std::int64_t id, std::int64_t new_state, std::optional<std::int64_t> expected) {
    return tx.update("orders", id, new_state, expected);
  };
  record.affected.push_back((co_await update(record.id, 1, 1)).value);        // expects 1, is 0: no
  record.affected.push_back((co_await update(record.id, 1, 0)).value);        // expects 0, is 0: yes
  record.affected.push_back((co_await update(record.id, 2, 0)).value);        // its own write made it 1: no
  record.affected.push_back((co_await update(record.id + 100, 1, 0)).value);  // no such row
  record.affected.push_back((co_await update(record.id, 2, 1)).value);        // expects 1, is 1: yes
  record.committed = (co_await tx.commit()).ok();
}

TEST(Database, ConditionalUpdateAffectsTheRowOnlyWhenTheExpectedStateMatches) {
  UpdateRecord record;
  ModelWorld world;
  world.spawn(conditional_updates(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  EXPECT_EQ(record.affected, (std::vector<std::uint32_t>{0, 1, 0, 0, 1}));
  ASSERT_TRUE(record.committed);
  const auto orders = world.durable_rows("orders");
  ASSERT_EQ(orders.count(record.id), 1u);
  EXPECT_EQ(orders.at(record.id).state, 2);
  EXPECT_EQ(orders.size(), 1u) << "an update of a missing row creates nothing";
}

// ---- Idle transactions ----

struct IdleRecord {
  bool idle_insert_before = false;
  DbResult<std::int64_t> idle_insert_after;
  DbResult<void> idle_commit;
  std::vector<bool> busy_statements;
  bool busy_committed = false;
  std::int64_t busy_row = 0;
};

sim::Task<void> go_idle(sim::Context& context, sim::NodeId database, IdleRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  record.idle_insert_before = co_await insert_order(tx, 1) > 0;
  co_await context.sleep(sim::Duration::millis(250));  // more than twice the 100 ms idle timeout
  Row row{.key = "k", .command = 2};
  record.idle_insert_after = co_await tx.insert("orders", std::move(row));
  record.idle_commit = co_await tx.commit();
}

sim::Task<void> stay_busy(sim::Context& context, sim::NodeId database, IdleRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction tx = co_await begin_transaction(db);
  for (int statement = 0; statement < 8; ++statement) {
    co_await context.sleep(sim::Duration::millis(50));  // half the idle timeout between statements
    DbFilter everything;
    const auto rows = co_await tx.select("orders", std::move(everything));
    record.busy_statements.push_back(rows.ok());
  }
  record.busy_row = co_await insert_order(tx, 3);
  record.busy_committed = (co_await tx.commit()).ok();
}

TEST(Database, IdleTransactionIsAbortedAfterTheIdleTimeoutButABusyOneIsNot) {
  IdleRecord record;
  WorldOptions options;
  options.db.idle_transaction_timeout = sim::Duration::millis(100);
  ModelWorld world(options);
  world.spawn(go_idle(world.client_context(), world.db, record));
  world.spawn(stay_busy(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(600));

  ASSERT_TRUE(record.idle_insert_before);
  EXPECT_EQ(record.idle_insert_after.outcome, Outcome::failed) << "the reaper aborted the idle transaction";
  EXPECT_EQ(record.idle_commit.outcome, Outcome::failed);
  EXPECT_EQ(record.busy_statements, std::vector<bool>(8, true)) << "a transaction in use is never reaped";
  EXPECT_TRUE(record.busy_committed);
  EXPECT_EQ(ids_of(world.durable_rows("orders")), std::vector<std::int64_t>{record.busy_row})
      << "nothing of the reaped transaction was committed";
}

}  // namespace
}  // namespace faultline::models
