// Checks what the database model exposes of its log and its horizon: asynchronous
// commit acknowledges before the log is durable (a crash loses acknowledged commits),
// the change log lists committed transactions in commit order with increasing log
// sequence numbers, replication-slot positions are durable and never move back, and
// every statement reports the oldest transaction in flight (the xmin horizon a
// gap-safe poller needs).
//
// Method: scripts on the client node of a fixed-latency world (model_test_support.h)
// record what the database answered; the test compares it with the log and slot
// records on the database's disk.
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

using test_support::at_millis;
using test_support::begin_transaction;
using test_support::client_timeout;
using test_support::commit_order;
using test_support::ids_of;
using test_support::insert_order;
using test_support::ModelWorld;
using test_support::read_back;
using test_support::ReadBack;
using test_support::sleep_until;
using test_support::visible_orders;
using test_support::WorldOptions;

// ---- Asynchronous commit ----

struct AsyncRecord {
  std::int64_t early_row = 0;
  std::int64_t late_row = 0;
  bool late_visible_before_crash = false;
  std::vector<std::int64_t> durable_at_late_ack;
};

// Commits one row, waits for the background log writer, commits another and crashes
// the database the instant the client holds the second ack.
sim::Task<void> commit_twice_then_crash(sim::Context& context, sim::NodeId database, AsyncRecord& record) {
  DbClient db(context, database, client_timeout);
  record.early_row = co_await commit_order(db, 1);
  co_await sleep_until(context, at_millis(70));  // the log writer synced at 50 ms
  record.late_row = co_await commit_order(db, 2);
  DbTransaction reader = co_await begin_transaction(db);
  const std::vector<std::int64_t> visible = co_await visible_orders(reader);
  record.late_visible_before_crash = visible.size() == 2;
  record.durable_at_late_ack = ids_of(Database::durable_tables(context.simulation().disk(database))["orders"]);
  context.simulation().crash(database, "right after the second commit's ack");
}

TEST(DatabaseLog, AsynchronousCommitIsAcknowledgedBeforeItIsDurableAndACrashLosesIt) {
  AsyncRecord record;
  ReadBack after_restart;
  WorldOptions options;
  options.db.commit = CommitMode::asynchronous;
  options.db.wal_writer_interval = sim::Duration::millis(50);
  ModelWorld world(options);
  world.spawn(commit_twice_then_crash(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(95));  // before the writer's next sync at 100 ms

  ASSERT_EQ(record.early_row, 1);
  ASSERT_EQ(record.late_row, 2) << "both commits were acknowledged";
  EXPECT_TRUE(record.late_visible_before_crash) << "and visible to other transactions";
  EXPECT_EQ(record.durable_at_late_ack, std::vector<std::int64_t>{1}) << "but the second was not yet durable";
  ASSERT_EQ(world.simulation.state(world.db), sim::NodeState::down);
  world.simulation.restart(world.db);
  world.spawn(read_back(world.client_context(), world.db, after_restart));
  world.run_for(sim::Duration::millis(50));
  ASSERT_TRUE(after_restart.done);
  EXPECT_EQ(after_restart.visible, std::vector<std::int64_t>{1}) << "the crash dropped the acknowledged second commit";
}

// ---- The change log ----

struct ChangeLogRecord {
  std::uint64_t first_tx = 0;
  std::uint64_t second_tx = 0;
  std::int64_t first_id = 0;
  std::int64_t second_id = 0;
  std::optional<DbResult<DbReadLogReply>> whole_log;
  std::optional<DbResult<DbReadLogReply>> after_first_lsn;
};

// T1 inserts first and commits second.
sim::Task<void> commit_out_of_order_then_read_log(sim::Context& context, sim::NodeId database,
                                                  ChangeLogRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction first = co_await begin_transaction(db);
  DbTransaction second = co_await begin_transaction(db);
  record.first_tx = first.id();
  record.second_tx = second.id();
  record.first_id = co_await insert_order(first, 1);
  record.second_id = co_await insert_order(second, 2);
  const auto second_committed = co_await second.commit();
  const auto first_committed = co_await first.commit();
  EXPECT_TRUE(second_committed.ok() && first_committed.ok());
  record.whole_log = co_await db.read_log(0, 64);
  const std::uint64_t first_lsn = record.whole_log->ok() && !record.whole_log->value.transactions.empty()
                                      ? record.whole_log->value.transactions.front().lsn
                                      : 0;
  record.after_first_lsn = co_await db.read_log(first_lsn, 64);
}

TEST(DatabaseLog, ChangeLogListsCommittedTransactionsInCommitOrderWithIncreasingLsns) {
  ChangeLogRecord record;
  ModelWorld world;
  world.spawn(commit_out_of_order_then_read_log(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_TRUE(record.whole_log.has_value());
  ASSERT_TRUE(record.whole_log->ok());
  const auto& transactions = record.whole_log->value.transactions;
  ASSERT_EQ(transactions.size(), 2u) << "one entry per committed transaction, none for sequence advances";
  EXPECT_EQ(transactions[0].tx, record.second_tx) << "commit order, not begin or id order";
  EXPECT_EQ(transactions[1].tx, record.first_tx);
  EXPECT_LT(transactions[0].lsn, transactions[1].lsn);
  ASSERT_EQ(transactions[0].writes.size(), 1u);
  EXPECT_EQ(transactions[0].writes[0].row.id, record.second_id);
  ASSERT_EQ(transactions[1].writes.size(), 1u);
  EXPECT_EQ(transactions[1].writes[0].row.id, record.first_id);

  ASSERT_TRUE(record.after_first_lsn.has_value());
  ASSERT_EQ(record.after_first_lsn->value.transactions.size(), 1u) << "reading after an lsn resumes past it";
  EXPECT_EQ(record.after_first_lsn->value.transactions[0].tx, record.first_tx);
}

struct SlotRecord {
  std::optional<DbResult<std::uint64_t>> advanced;
  std::optional<DbResult<std::uint64_t>> moved_back;
  std::optional<DbResult<std::uint64_t>> after_restart;
};

sim::Task<void> advance_slot(sim::Context& context, sim::NodeId database, SlotRecord& record) {
  DbClient db(context, database, client_timeout);
  record.advanced = co_await db.slot_advance("cdc", 7);
  record.moved_back = co_await db.slot_advance("cdc", 3);
}

sim::Task<void> read_slot(sim::Context& context, sim::NodeId database, SlotRecord& record) {
  DbClient db(context, database, client_timeout);
  record.after_restart = co_await db.slot_get("cdc");
}

TEST(DatabaseLog, ReplicationSlotPositionIsDurableAndNeverMovesBack) {
  SlotRecord record;
  ModelWorld world;
  world.spawn(advance_slot(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(50));
  world.simulation.crash(world.db, "the test");
  world.simulation.restart(world.db);
  world.spawn(read_slot(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(50));

  ASSERT_TRUE(record.advanced.has_value());
  EXPECT_EQ(record.advanced->value, 7u);
  ASSERT_TRUE(record.moved_back.has_value());
  EXPECT_EQ(record.moved_back->value, 7u) << "a slot never moves back";
  ASSERT_TRUE(record.after_restart.has_value());
  ASSERT_TRUE(record.after_restart->ok());
  EXPECT_EQ(record.after_restart->value, 7u) << "the confirmed position survived the crash";
  EXPECT_EQ(Database::durable_slots(world.simulation.disk(world.db)).at("cdc"), 7u);
}

// ---- The xmin horizon ----

struct HorizonRecord {
  std::uint64_t older_tx = 0;
  std::uint64_t newer_tx = 0;
  std::uint64_t xmin_with_both_open = 0;
  std::uint64_t xmin_after_older_committed = 0;
};

sim::Task<void> observe_horizon(sim::Context& context, sim::NodeId database, HorizonRecord& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction older = co_await begin_transaction(db);
  DbTransaction newer = co_await begin_transaction(db);
  record.older_tx = older.id();
  record.newer_tx = newer.id();
  co_await insert_order(older, 1);
  DbFilter everything;
  const auto with_both = co_await newer.scan("orders", std::move(everything));
  record.xmin_with_both_open = with_both.value.xmin;
  const auto committed = co_await older.commit();
  EXPECT_TRUE(committed.ok());
  DbFilter everything_again;
  const auto after_commit = co_await newer.scan("orders", std::move(everything_again));
  record.xmin_after_older_committed = after_commit.value.xmin;
  co_await newer.abort();
}

TEST(DatabaseLog, EveryStatementReportsTheOldestTransactionStillInFlight) {
  HorizonRecord record;
  ModelWorld world;
  world.spawn(observe_horizon(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(100));

  ASSERT_LT(record.older_tx, record.newer_tx);
  EXPECT_EQ(record.xmin_with_both_open, record.older_tx);
  EXPECT_EQ(record.xmin_after_older_committed, record.newer_tx) << "a committed transaction leaves the horizon";
}

}  // namespace
}  // namespace faultline::models
