// Checks how the database model arbitrates between concurrent transactions: row
// locks held to commit (a conditional claim succeeds once), SELECT ... FOR UPDATE
// SKIP LOCKED (two claimers get disjoint rows), unique keys (a second committed row
// with the same key fails), SNAPSHOT isolation (one snapshot per transaction, first
// committer wins) and READ UNCOMMITTED (dirty reads).
//
// Method: several scripts on the client node, each driving its own transaction and
// meeting at fixed instants (sleep_until) so the interleaving is exact; the test
// compares what each saw with the rules and with the durable tables.
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
using test_support::sleep_until;
using test_support::visible_orders;
using test_support::WorldOptions;

// Commits `count` order rows (state 0), one transaction each.
sim::Task<void> commit_orders(sim::Context& context, sim::NodeId database, int count, std::vector<std::int64_t>& ids) {
  DbClient db(context, database, client_timeout);
  for (int command = 1; command <= count; ++command) ids.push_back(co_await commit_order(db, command));
}

// ---- Row locks ----

// Two transactions claim the same pending row with `UPDATE ... SET state = 1 WHERE
// id = ? AND state = 0`. The second UPDATE waits for the first transaction's lock,
// then re-checks its condition against the committed version and affects 0 rows.
struct ClaimRecord {
  std::vector<std::int64_t> ids;
  std::optional<DbResult<std::uint32_t>> first_claim;
  std::optional<DbResult<std::uint32_t>> second_claim;
  Outcome first_commit = Outcome::failed;
  Outcome second_commit = Outcome::failed;
  sim::Instant second_claim_answered;
};

sim::Task<void> first_claimer(sim::Context& context, sim::NodeId database, ClaimRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(20));
  DbTransaction tx = co_await begin_transaction(db);
  record.first_claim = co_await tx.update("orders", record.ids.front(), 1, 0);
  co_await sleep_until(context, at_millis(40));  // holds the claim while the other tries
  record.first_commit = (co_await tx.commit()).outcome;
}

sim::Task<void> second_claimer(sim::Context& context, sim::NodeId database, ClaimRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(30));  // after the first claim, before its commit
  DbTransaction tx = co_await begin_transaction(db);
  record.second_claim = co_await tx.update("orders", record.ids.front(), 1, 0);
  record.second_claim_answered = context.now();
  record.second_commit = (co_await tx.commit()).outcome;
}

TEST(DatabaseLocks, ConcurrentConditionalUpdatesOfOneRowLetOnlyOneClaimSucceed) {
  ClaimRecord record;
  ModelWorld world;
  world.spawn(commit_orders(world.client_context(), world.db, 1, record.ids));
  world.spawn(first_claimer(world.client_context(), world.db, record));
  world.spawn(second_claimer(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_TRUE(record.first_claim.has_value());
  ASSERT_TRUE(record.second_claim.has_value());
  EXPECT_TRUE(record.first_claim->ok());
  EXPECT_EQ(record.first_claim->value, 1u) << "the first claim, made alone, succeeds";
  EXPECT_EQ(record.first_commit, Outcome::ok);
  const bool second_won =
      record.second_claim->ok() && record.second_claim->value == 1 && record.second_commit == Outcome::ok;
  EXPECT_FALSE(second_won) << "the second claim succeeded although the first had claimed the row";
  EXPECT_GE(record.second_claim_answered, at_millis(40)) << "the second claim waited for the first's lock";
  EXPECT_EQ(world.durable_rows("orders").at(record.ids.front()).state, 1);
}

// A statement waiting for a row lock takes it the moment the holder ends (it is woken,
// it does not poll), and gives up at the lock timeout when the holder never ends.
struct LockWaitRecord {
  std::vector<std::int64_t> ids;
  std::optional<DbResult<std::uint32_t>> waiting_update;
  sim::Instant holder_commit_answered;
  sim::Instant waiting_update_sent;
  sim::Instant waiting_update_answered;
};

sim::Task<void> lock_holder(sim::Context& context, sim::NodeId database, LockWaitRecord& record,
                            sim::Instant commit_at) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(20));
  DbTransaction tx = co_await begin_transaction(db);
  co_await tx.update("orders", record.ids.front(), 1, std::nullopt);
  co_await sleep_until(context, commit_at);
  co_await tx.commit();
  record.holder_commit_answered = context.now();
}

sim::Task<void> lock_waiter(sim::Context& context, sim::NodeId database, LockWaitRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(30));
  DbTransaction tx = co_await begin_transaction(db);
  record.waiting_update_sent = context.now();
  record.waiting_update = co_await tx.update("orders", record.ids.front(), 2, std::nullopt);
  record.waiting_update_answered = context.now();
  co_await tx.commit();
}

// A sync latency off the millisecond grid, so a waiter that polled every millisecond
// would answer later than the holder's commit.
WorldOptions off_grid_sync() {
  return WorldOptions{.config =
                          test_support::fixed_latency_config(sim::Duration::millis(1), sim::Duration::micros(1'300))};
}

TEST(DatabaseLocks, AWaitingStatementTakesTheLockTheMomentItsHolderCommits) {
  LockWaitRecord record;
  ModelWorld world(off_grid_sync());
  world.spawn(commit_orders(world.client_context(), world.db, 1, record.ids));
  world.spawn(lock_holder(world.client_context(), world.db, record, at_millis(40)));
  world.spawn(lock_waiter(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_TRUE(record.waiting_update.has_value());
  EXPECT_TRUE(record.waiting_update->ok());
  EXPECT_EQ(record.waiting_update->value, 1u);
  // Both replies leave the database at the instant the commit releases the lock, and
  // the latency is fixed: they arrive together.
  EXPECT_GT(record.holder_commit_answered, at_millis(40));
  EXPECT_EQ(record.waiting_update_answered, record.holder_commit_answered);
  EXPECT_EQ(world.durable_rows("orders").at(record.ids.front()).state, 2);
}

TEST(DatabaseLocks, AWaitingStatementGivesUpAtTheLockTimeout) {
  LockWaitRecord record;
  WorldOptions options = off_grid_sync();
  options.db.lock_timeout = sim::Duration::millis(20);  // shorter than the clients' call timeout
  ModelWorld world(options);
  world.spawn(commit_orders(world.client_context(), world.db, 1, record.ids));
  world.spawn(lock_holder(world.client_context(), world.db, record, at_millis(300)));
  world.spawn(lock_waiter(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(400));

  ASSERT_TRUE(record.waiting_update.has_value());
  EXPECT_EQ(record.waiting_update->outcome, Outcome::failed) << "the lock was held past the timeout";
  // It reaches the database 1 ms after it is sent, waits 20 ms, and is answered 1 ms later.
  EXPECT_EQ(record.waiting_update_answered - record.waiting_update_sent, sim::Duration::millis(1 + 20 + 1));
  EXPECT_EQ(world.durable_rows("orders").at(record.ids.front()).state, 1) << "the holder's update commits";
}

struct SkipLockedRecord {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> first_batch;
  std::vector<std::int64_t> second_batch;
  std::vector<std::int64_t> after_first_commit;
};

sim::Task<void> claim_batch(sim::Context& context, sim::NodeId database, sim::Instant start, sim::Instant commit_at,
                            std::vector<std::int64_t>& claimed) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, start);
  DbTransaction tx = co_await begin_transaction(db);
  DbFilter filter{.state = 0, .limit = 2, .lock = LockMode::for_update_skip_locked};
  const auto rows = co_await tx.select("orders", std::move(filter));
  EXPECT_TRUE(rows.ok()) << rows.error;
  claimed = ids_of(rows.value);
  for (const std::int64_t id : claimed) {
    const auto marked = co_await tx.update("orders", id, 1, 0);
    EXPECT_EQ(marked.value, 1u);
  }
  co_await sleep_until(context, commit_at);
  const auto committed = co_await tx.commit();
  EXPECT_TRUE(committed.ok());
}

TEST(DatabaseLocks, SelectForUpdateSkipLockedGivesConcurrentClaimersDisjointRows) {
  SkipLockedRecord record;
  ModelWorld world;
  world.spawn(commit_orders(world.client_context(), world.db, 5, record.ids));
  world.spawn(claim_batch(world.client_context(), world.db, at_millis(40), at_millis(80), record.first_batch));
  world.spawn(claim_batch(world.client_context(), world.db, at_millis(50), at_millis(60), record.second_batch));
  world.spawn(claim_batch(world.client_context(), world.db, at_millis(100), at_millis(110), record.after_first_commit));
  world.run_for(sim::Duration::millis(200));

  ASSERT_EQ(record.ids.size(), 5u);
  EXPECT_EQ(record.first_batch, (std::vector<std::int64_t>{record.ids[0], record.ids[1]}));
  EXPECT_EQ(record.second_batch, (std::vector<std::int64_t>{record.ids[2], record.ids[3]}))
      << "the second claimer skips the rows the first one holds";
  EXPECT_EQ(record.after_first_commit, std::vector<std::int64_t>{record.ids[4]})
      << "claimed rows are no longer pending";
  for (const auto& [id, row] : world.durable_rows("orders")) EXPECT_EQ(row.state, 1) << "row " << id;
}

// ---- Unique keys ----

struct UniqueRecord {
  std::optional<DbResult<std::int64_t>> insert;
  std::optional<DbResult<void>> commit;
};

Row unique_row(std::int64_t command) {
  Row row{.key = "k", .command = command};
  row.unique_key = "projection/e1";
  return row;
}

sim::Task<void> insert_unique(sim::Context& context, sim::NodeId database, std::int64_t command, sim::Instant insert_at,
                              sim::Instant commit_at, UniqueRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, insert_at);
  DbTransaction tx = co_await begin_transaction(db);
  Row row = unique_row(command);
  record.insert = co_await tx.insert("inbox", std::move(row));
  if (!record.insert->ok()) {
    co_await tx.abort();
    co_return;
  }
  co_await sleep_until(context, commit_at);
  record.commit = co_await tx.commit();
}

// Like PostgreSQL, an insert of a key another open transaction wrote waits for it;
// the loser fails with a unique violation at its insert (it waited) or at its commit.
bool lost_on_unique_key(const UniqueRecord& record) {
  if (record.insert && !record.insert->ok()) return record.insert->error == "unique violation";
  return record.commit && !record.commit->ok() && record.commit->error == "unique violation";
}
bool won(const UniqueRecord& record) {
  return record.commit && record.commit->ok();
}

TEST(DatabaseUniqueKeys, InsertOfACommittedUniqueKeyFailsWithAUniqueViolation) {
  UniqueRecord first;
  UniqueRecord second;
  ModelWorld world;
  world.spawn(insert_unique(world.client_context(), world.db, 1, at_millis(0), at_millis(0), first));
  world.spawn(insert_unique(world.client_context(), world.db, 2, at_millis(20), at_millis(20), second));
  world.run_for(sim::Duration::millis(100));

  ASSERT_TRUE(first.commit.has_value());
  EXPECT_TRUE(first.commit->ok());
  ASSERT_TRUE(second.insert.has_value());
  EXPECT_EQ(second.insert->outcome, Outcome::failed);
  EXPECT_EQ(second.insert->error, "unique violation");
  EXPECT_EQ(world.durable_rows("inbox").size(), 1u);
}

TEST(DatabaseUniqueKeys, SecondCommitOfAUniqueKeyFailsWithAUniqueViolation) {
  UniqueRecord first;
  UniqueRecord second;
  ModelWorld world;
  // Both insert before either commits; the second commits well after the first.
  world.spawn(insert_unique(world.client_context(), world.db, 1, at_millis(0), at_millis(10), first));
  world.spawn(insert_unique(world.client_context(), world.db, 2, at_millis(1), at_millis(30), second));
  world.run_for(sim::Duration::millis(100));

  EXPECT_TRUE(won(first));
  EXPECT_TRUE(lost_on_unique_key(second));
  EXPECT_EQ(world.durable_rows("inbox").size(), 1u);
}

TEST(DatabaseUniqueKeys, CommitsOfOneUniqueKeyAtTheSameInstantLetOnlyOneSucceed) {
  UniqueRecord first;
  UniqueRecord second;
  ModelWorld world;
  // Both insert before either commits, and both commits reach the database while the
  // first one's log sync (1 ms) is still in progress: the first is not applied yet, so
  // a check against applied commits alone would let the second through.
  world.spawn(insert_unique(world.client_context(), world.db, 1, at_millis(0), at_millis(10), first));
  world.spawn(insert_unique(world.client_context(), world.db, 2, at_millis(1), at_millis(10), second));
  world.run_for(sim::Duration::millis(100));

  const auto rows = world.durable_rows("inbox");
  EXPECT_NE(won(first), won(second)) << "exactly one of the two transactions commits";
  EXPECT_TRUE(lost_on_unique_key(won(first) ? second : first));
  EXPECT_EQ(rows.size(), 1u) << "one row per unique key";
}

// ---- SNAPSHOT isolation ----

struct SnapshotRecord {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> snapshot_sees_before;
  std::vector<std::int64_t> snapshot_sees_after_other_commit;
  std::vector<std::int64_t> snapshot_sees_state_0_after_other_commit;
  std::vector<std::int64_t> read_committed_sees_after_other_commit;
  std::optional<DbResult<std::uint32_t>> snapshot_update;
  std::optional<DbResult<void>> snapshot_commit;
};

sim::Task<void> snapshot_reader(sim::Context& context, sim::NodeId database, SnapshotRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(20));
  DbTransaction snapshot = co_await begin_transaction(db, Isolation::snapshot);
  DbTransaction read_committed = co_await begin_transaction(db);
  record.snapshot_sees_before = co_await visible_orders(snapshot);
  co_await sleep_until(context, at_millis(60));  // another transaction commits meanwhile
  record.snapshot_sees_after_other_commit = co_await visible_orders(snapshot);
  record.snapshot_sees_state_0_after_other_commit = co_await visible_orders(snapshot, 0);
  record.read_committed_sees_after_other_commit = co_await visible_orders(read_committed);
  co_await read_committed.abort();
  record.snapshot_update = co_await snapshot.update("orders", record.ids.front(), 2, std::nullopt);
  record.snapshot_commit = co_await snapshot.commit();
}

// At 40 ms: inserts a new row and updates the first one to state 1, and commits.
sim::Task<void> concurrent_writer(sim::Context& context, sim::NodeId database, SnapshotRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(40));
  DbTransaction tx = co_await begin_transaction(db);
  record.ids.push_back(co_await insert_order(tx, 9));
  const auto updated = co_await tx.update("orders", record.ids.front(), 1, 0);
  EXPECT_EQ(updated.value, 1u);
  const auto committed = co_await tx.commit();
  EXPECT_TRUE(committed.ok());
}

TEST(DatabaseIsolation, SnapshotTransactionReadsOneSnapshotAndTheFirstCommitterWins) {
  SnapshotRecord record;
  ModelWorld world;
  world.spawn(commit_orders(world.client_context(), world.db, 1, record.ids));
  world.spawn(snapshot_reader(world.client_context(), world.db, record));
  world.spawn(concurrent_writer(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_EQ(record.ids.size(), 2u);
  const std::int64_t old_row = record.ids[0];
  const std::int64_t new_row = record.ids[1];
  EXPECT_EQ(record.snapshot_sees_before, std::vector<std::int64_t>{old_row});
  EXPECT_EQ(record.snapshot_sees_after_other_commit, std::vector<std::int64_t>{old_row})
      << "a row committed after the snapshot is invisible to it";
  EXPECT_EQ(record.snapshot_sees_state_0_after_other_commit, std::vector<std::int64_t>{old_row})
      << "the snapshot still sees the row's old state";
  EXPECT_EQ(record.read_committed_sees_after_other_commit, (std::vector<std::int64_t>{old_row, new_row}))
      << "a READ COMMITTED statement sees the latest commits";
  ASSERT_TRUE(record.snapshot_commit.has_value());
  EXPECT_EQ(record.snapshot_commit->outcome, Outcome::failed);
  EXPECT_EQ(record.snapshot_commit->error, "serialization failure");
  EXPECT_EQ(world.durable_rows("orders").at(old_row).state, 1) << "the first committer's update stands";
}

// ---- READ UNCOMMITTED ----

struct DirtyRecord {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> dirty_sees_all;
  std::vector<std::int64_t> dirty_sees_in_state_1;
  std::vector<std::int64_t> dirty_sees_first_pending;
  std::vector<std::int64_t> clean_sees_in_state_1;
};

// At 40 ms: inserts a row and moves the first two committed rows to state 1, and
// keeps the transaction open until 100 ms, then aborts.
sim::Task<void> uncommitted_writer(sim::Context& context, sim::NodeId database, DirtyRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(40));
  DbTransaction tx = co_await begin_transaction(db);
  record.ids.push_back(co_await insert_order(tx, 9));
  for (int index = 0; index < 2; ++index) {
    const auto updated = co_await tx.update("orders", record.ids[index], 1, 0);
    EXPECT_EQ(updated.value, 1u);
  }
  co_await sleep_until(context, at_millis(100));
  co_await tx.abort();
}

sim::Task<void> dirty_reader(sim::Context& context, sim::NodeId database, DirtyRecord& record) {
  DbClient db(context, database, client_timeout);
  co_await sleep_until(context, at_millis(60));
  DbTransaction dirty = co_await begin_transaction(db, Isolation::read_uncommitted);
  DbTransaction clean = co_await begin_transaction(db);
  record.dirty_sees_all = co_await visible_orders(dirty);
  record.dirty_sees_in_state_1 = co_await visible_orders(dirty, 1);
  record.clean_sees_in_state_1 = co_await visible_orders(clean, 1);
  DbFilter first_pending{.state = 0, .limit = 1};
  const auto first_pending_rows = co_await dirty.select("orders", std::move(first_pending));
  record.dirty_sees_first_pending = ids_of(first_pending_rows.value);
  co_await dirty.abort();
  co_await clean.abort();
}

TEST(DatabaseIsolation, ReadUncommittedSeesAnotherTransactionsUncommittedWrites) {
  DirtyRecord record;
  ModelWorld world;
  world.spawn(commit_orders(world.client_context(), world.db, 3, record.ids));
  world.spawn(uncommitted_writer(world.client_context(), world.db, record));
  world.spawn(dirty_reader(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_EQ(record.ids.size(), 4u);
  EXPECT_EQ(record.dirty_sees_all, record.ids) << "including the uncommitted insert";
  EXPECT_EQ(record.dirty_sees_in_state_1, (std::vector<std::int64_t>{record.ids[0], record.ids[1]}));
  EXPECT_TRUE(record.clean_sees_in_state_1.empty()) << "READ COMMITTED does not";
  EXPECT_EQ(ids_of(world.durable_rows("orders")),
            (std::vector<std::int64_t>{record.ids[0], record.ids[1], record.ids[2]}))
      << "the aborted writer left nothing durable";
}

TEST(DatabaseIsolation, ReadUncommittedSelectWithALimitStillFindsAMatchingRow) {
  DirtyRecord record;
  ModelWorld world;
  world.spawn(commit_orders(world.client_context(), world.db, 3, record.ids));
  world.spawn(uncommitted_writer(world.client_context(), world.db, record));
  world.spawn(dirty_reader(world.client_context(), world.db, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_EQ(record.ids.size(), 4u);
  // Rows 1 and 2 are dirty-updated to state 1; rows 3 and 4 (uncommitted insert) are in state 0.
  const std::vector<std::int64_t> expected{record.ids[2]};
  // Under READ UNCOMMITTED other transactions' writes can disqualify committed rows
  // (rows 1 and 2 here): the select must look past them, not answer with row 4 or nothing.
  EXPECT_EQ(record.dirty_sees_first_pending, expected)
      << "READ UNCOMMITTED `state = 0 ORDER BY id LIMIT 1` must find the committed row 3";
}

}  // namespace
}  // namespace faultline::models
