// The database: a node reached over RPC, with transactions (begin, insert, select,
// conditional update, delete, commit, abort), ids from a per-table sequence
// allocated at insert time and never given back, and a write-ahead log on the
// node's disk.
//
// Isolation: READ COMMITTED with a snapshot per statement (the default), READ
// UNCOMMITTED (sees other transactions' uncommitted writes), SNAPSHOT (one snapshot
// for the whole transaction, first committer wins). Row locks are taken by updates,
// deletes and SELECT ... FOR UPDATE [SKIP LOCKED], and held to commit or abort. A row
// may carry a unique key; a second committed row with the same key fails the commit
// (unique violation).
//
// A commit appends one log record (all the transaction's writes share its log
// sequence number). Synchronous commit syncs the log, then makes the writes visible
// and acknowledges: durable before the ack. Asynchronous commit makes them visible
// and acknowledges at once, and a background writer syncs later: a crash drops the
// unsynced suffix of acknowledged commits. A crash loses the volatile tables and open
// transactions; the restarted database replays its durable log. A commit whose reply
// is lost ends unknown for the client, although it is durable.
//
// The durable log in commit order is readable (change data capture), with durable
// replication-slot positions; and every query reports the oldest transaction still
// in flight (an xmin horizon), so a gap-safe poller can be written.
//
// Optionally (DbCluster) a standby node receives the primary's durable log in commit
// order, asynchronously or synchronously (the commit's ack waits for the standby's
// durable receipt), may keep copies of the logical slots (slot sync), and is promoted
// by a failover manager (db_failover.h) when the primary is unreachable. Without a
// cluster the database is the single node it always was, at the same cost.
#pragma once

#include <boost/container/small_vector.hpp>
#include <coroutine>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "faultline/sim/simulation.h"

namespace faultline::models {

// A row. The columns are the few the designs need; a table uses the ones it wants.
struct Row {
  std::int64_t id = 0;          // primary key, from the table's sequence
  std::string key;              // aggregate key (the broker partition key)
  std::int64_t command = 0;     // the client command that produced the row
  std::string message_id;       // outbox: the event's message id, drawn at write time and reused on every attempt
  std::int64_t state = 0;       // outbox: 0 pending, 1 sent
  std::uint64_t writer_tx = 0;  // the transaction that wrote this version (set by the database)
  std::int64_t version = 0;     // event store: the event's version in its stream
  std::string unique_key;       // if set, unique in its table (checked at insert and at commit)
  std::int64_t order_id = 0;    // outbox: the id of the order row its event announces
  // Outbox, event store and inbox rows: which of its change's events the row's event is
  // (from 1) and how many the change announces (see Event).
  std::uint32_t index_in_change = 1;
  std::uint32_t events_in_change = 1;
  sim::Instant written_at;  // event store: the writer's clock when it inserted the event
  // Lease columns (a row used as a lease, see DbClaim): who holds it, until when by the
  // holder's own clock, and the fencing token of the holder's claim.
  std::string owner;
  sim::Instant lease_expiry;
  std::int64_t fencing_token = 0;
  bool operator==(const Row&) const = default;
};

enum class WriteKind { insert, update, erase };
enum class Isolation { read_committed, read_uncommitted, snapshot };
enum class CommitMode { synchronous, asynchronous };
enum class LockMode { none, for_update, for_update_skip_locked };

struct Write {
  WriteKind kind = WriteKind::insert;
  std::string table;
  Row row;
};

// One record of the write-ahead log: a committed transaction, or a sequence advance.
struct WalRecord {
  std::uint64_t lsn = 0;  // 0 for a sequence advance
  std::uint64_t tx = 0;
  std::vector<Write> writes;
  std::string sequence_table;  // sequence advance: ids up to `sequence_high` may have been handed out
  std::int64_t sequence_high = 0;
  sim::Instant committed_at;  // when the commit record was written (simulated time), for delivery lags
};

// ---- Requests ----

struct DbBeginReply {
  std::uint64_t tx = 0;
  std::string error;  // set when this node is not the primary
};
struct DbBegin {
  using Reply = DbBeginReply;
  static constexpr std::string_view rpc_name = "db.begin";
  Isolation isolation = Isolation::read_committed;
};

struct DbInsertReply {
  bool ok = false;
  std::int64_t id = 0;
  std::string error;
};
struct DbInsert {
  using Reply = DbInsertReply;
  static constexpr std::string_view rpc_name = "db.insert";
  std::uint64_t tx = 0;
  std::string table;
  Row row;
};

// SELECT ... WHERE state = ? AND key = ? AND id > ? ORDER BY id LIMIT ? [FOR UPDATE [SKIP LOCKED]]
struct DbFilter {
  std::optional<std::int64_t> state;
  std::int64_t id_after = 0;
  std::uint32_t limit = 1'000'000;
  LockMode lock = LockMode::none;
  std::optional<std::string> key;
  // ... AND partition_for(key, key_partitions) = key_partition (when key_partitions > 0)
  std::uint32_t key_partitions = 0;
  std::uint32_t key_partition = 0;
};

// A key's partition among `partitions`: a fixed hash (FNV-1a), the same everywhere.
std::uint32_t partition_for(std::string_view key, std::uint32_t partitions);
struct DbSelectReply {
  bool ok = false;
  std::vector<Row> rows;
  std::string error;
  // The oldest transaction still in flight when the statement ran (or the next
  // transaction id if none): rows written by transactions below it can no longer
  // be joined by an earlier-numbered row.
  std::uint64_t xmin = 0;
  // The lowest id of the table still held by a transaction in flight (INT64_MAX if
  // none): rows below it are final, so a reader by id never skips a slow commit.
  std::int64_t id_horizon = 0;
};
struct DbSelect {
  using Reply = DbSelectReply;
  static constexpr std::string_view rpc_name = "db.select";
  std::uint64_t tx = 0;
  std::string table;
  DbFilter filter;
};

// UPDATE table SET state = ? WHERE id = ? [AND state = ?]; replies with the affected-row count.
struct DbUpdateReply {
  bool ok = false;
  std::uint32_t affected = 0;
  std::string error;
};
struct DbUpdate {
  using Reply = DbUpdateReply;
  static constexpr std::string_view rpc_name = "db.update";
  std::uint64_t tx = 0;
  std::string table;
  std::int64_t id = 0;
  std::int64_t new_state = 0;
  std::optional<std::int64_t> expected_state;
};

// A row as a lease, with fencing. Two conditional updates of the lease columns:
//   take:  UPDATE table SET owner = ?, lease_expiry = ?, fencing_token = fencing_token + 1
//          WHERE id = ? AND (lease_expiry <= ? OR owner = ?)
//   renew: UPDATE table SET lease_expiry = ? WHERE id = ? AND owner = ? AND fencing_token = ?
// A take gives the new holder a token greater than every earlier one; a renew succeeds
// only for the current token, so a transaction that renews first is fenced: it cannot
// commit anything on behalf of a claim that was taken over meanwhile. The expiry and
// the "expired at or before" instant come from the caller's local clock: the database
// compares them, it does not read a clock of its own.
enum class ClaimKind { take, renew };
struct DbClaimReply {
  bool ok = false;
  std::uint32_t affected = 0;
  std::int64_t fencing_token = 0;  // the row's token after the statement
  std::string error;
};
struct DbClaim {
  using Reply = DbClaimReply;
  static constexpr std::string_view rpc_name = "db.claim";
  std::uint64_t tx = 0;
  std::string table;
  std::int64_t id = 0;
  ClaimKind kind = ClaimKind::take;
  std::string owner;
  sim::Instant lease_expiry;
  sim::Instant expired_at_or_before;        // take: the lease must have expired by this instant (or be ours)
  std::int64_t expected_fencing_token = 0;  // renew: the token the caller holds
};

struct DbDeleteReply {
  bool ok = false;
  std::uint32_t affected = 0;
  std::string error;
};
struct DbDelete {
  using Reply = DbDeleteReply;
  static constexpr std::string_view rpc_name = "db.delete";
  std::uint64_t tx = 0;
  std::string table;
  std::int64_t id = 0;
};

struct DbCommitReply {
  bool ok = false;
  std::string error;
  std::uint64_t lsn = 0;
};
struct DbCommit {
  using Reply = DbCommitReply;
  static constexpr std::string_view rpc_name = "db.commit";
  std::uint64_t tx = 0;
};

struct DbAbortReply {};
struct DbAbort {
  using Reply = DbAbortReply;
  static constexpr std::string_view rpc_name = "db.abort";
  std::uint64_t tx = 0;
};

// Change data capture: committed transactions from the durable log, in commit order.
struct LoggedTransaction {
  std::uint64_t lsn = 0;
  std::uint64_t tx = 0;
  std::vector<Write> writes;
};
struct DbReadLogReply {
  bool ok = false;
  std::vector<LoggedTransaction> transactions;
  // The primary's timeline: it changes at a failover, when positions read from the
  // earlier primary no longer name the same log.
  std::uint64_t timeline = 1;
};
struct DbReadLog {
  using Reply = DbReadLogReply;
  static constexpr std::string_view rpc_name = "db.read_log";
  std::uint64_t after_lsn = 0;
  std::uint32_t max_transactions = 64;
};

// A durable confirmation of a replication slot's position: by a change-data-capture
// reader (or its creation, or a standby's slot sync), and when. The history keeps them so
// that a story can say "the slot was confirmed past the change at t".
struct SlotConfirmation {
  std::string slot;
  std::uint64_t confirmed_lsn = 0;
  sim::Instant at;
};

// A replication slot: the durable position a change-data-capture reader confirmed.
struct DbSlotReply {
  bool ok = false;
  std::uint64_t confirmed_lsn = 0;
  bool found = true;  // false: the slot does not exist on this node (a promoted standby without slot sync)
  std::uint64_t timeline = 1;
};
struct DbSlotGet {
  using Reply = DbSlotReply;
  static constexpr std::string_view rpc_name = "db.slot_get";
  std::string slot;
};
struct DbSlotAdvance {
  using Reply = DbSlotReply;
  static constexpr std::string_view rpc_name = "db.slot_advance";
  std::string slot;
  std::uint64_t confirmed_lsn = 0;
};

// Creates a logical slot at the current end of the durable log (a reader that found
// no slot): changes committed before it are never decoded through it.
struct DbSlotCreate {
  using Reply = DbSlotReply;
  static constexpr std::string_view rpc_name = "db.slot_create";
  std::string slot;
};

// The failover manager's health check. A standby also says whether it is ready to be
// promoted: with slot sync, only once it holds a synced copy of every logical slot of
// the cluster (pg_failover_slots' and PostgreSQL's documented readiness check before a
// failover); promoted earlier, it would have no slot, and a reader that creates one
// anew skips what was committed in between.
struct DbPingReply {
  bool primary = false;
  bool ready_for_promotion = false;
};
struct DbPing {
  using Reply = DbPingReply;
  static constexpr std::string_view rpc_name = "db.ping";
};

// Streaming replication: the primary sends its durable log records from index
// `from_record` on (and, with slot sync, its slot positions); the standby appends
// the ones it lacks, syncs, and replies with how much it holds durably.
struct DbReplicateReply {
  bool ok = false;
  std::size_t records = 0;         // the standby's durable log length
  std::uint64_t received_lsn = 0;  // the last commit it holds durably
};
struct DbReplicate {
  using Reply = DbReplicateReply;
  static constexpr std::string_view rpc_name = "db.replicate";
  std::size_t from_record = 0;
  std::vector<WalRecord> records;
  std::map<std::string, std::uint64_t> slots;
};

// ---- Cluster ----

enum class Replication { none, asynchronous, synchronous };
enum class SlotSync { off, on };

// The cluster's configuration store, like Patroni's DCS (etcd): which node is the
// primary, which one follows it, and the timeline. It is assumed reliable and is not
// a fault target. A node consults it before every write, so an old primary is fenced
// the instant the failover manager promotes the standby (Patroni's guarantee that a
// primary demotes itself before its leader key expires, or a STONITH).
struct DbCluster {
  sim::NodeId primary = 0;
  sim::NodeId standby = 0;  // 0 once it has been promoted: a failover happens at most once per run
  sim::NodeId original_primary = 0;
  std::uint64_t timeline = 1;
  sim::Instant failed_over_at;  // when the standby was promoted (timeline 2)
  Replication replication = Replication::asynchronous;
  SlotSync slot_sync = SlotSync::off;
  // Logical slots created with the cluster on the original primary, before its first commit.
  std::vector<std::string> slots;
};

// ---- Server ----

struct DbSettings {
  sim::Duration idle_transaction_timeout = sim::Duration::millis(500);
  std::int64_t sequence_cache = 32;  // ids logged ahead, like PostgreSQL's sequence log_cnt
  CommitMode commit = CommitMode::synchronous;
  sim::Duration wal_writer_interval = sim::Duration::millis(10);  // asynchronous commit: how often the log is synced
  // A statement waits this long for a row lock (woken as soon as the holder ends).
  sim::Duration lock_timeout = sim::Duration::millis(100);
  // How often an insert waiting on another transaction's uncommitted unique key checks again.
  sim::Duration lock_poll = sim::Duration::millis(1);
  DbCluster* cluster = nullptr;                                   // null: a single database, no standby
  sim::Duration replication_interval = sim::Duration::millis(1);  // how often an idle primary looks for news
  sim::Duration replication_timeout = sim::Duration::millis(20);
};

class Database {
 public:
  static constexpr std::string_view wal_name = "db.wal";

  Database(sim::Context& context, DbSettings settings);
  // Registers the request handlers and starts the idle-transaction reaper.
  void serve();

  // The durable committed state, as recovery would rebuild it from `disk`: the
  // ground truth the checkers read. Pure: reads the disk, changes nothing.
  static std::map<std::string, std::map<std::int64_t, Row>> durable_tables(const sim::Disk& disk);
  // One table of durable_tables (empty if it never had a row).
  static std::map<std::int64_t, Row> durable_table(const sim::Disk& disk, std::string_view table);
  // The durable slot positions: ground truth for change-data-capture checks.
  static std::map<std::string, std::uint64_t> durable_slots(const sim::Disk& disk);
  // Every durable confirmation of a slot on `disk`, in the order they were made.
  static std::vector<SlotConfirmation> durable_slot_confirmations(const sim::Disk& disk);

 private:
  // Tables are named by strings in requests and log records, and by a small index
  // inside: a name is looked up once per request, never per row.
  using TableId = std::uint32_t;
  // One committed version of a row; `commit_sequence` orders commits for snapshots.
  struct Version {
    // Built in place in the row's version list: the row is moved once.
    Version(std::uint64_t commit_sequence, bool erased, Row&& row)
        : commit_sequence(commit_sequence), erased(erased), row(std::move(row)) {}
    std::uint64_t commit_sequence = 0;
    bool erased = false;
    Row row;
  };
  struct Table {
    std::string name;
    // Oldest version first; a row has one version unless a snapshot transaction is open.
    std::map<std::int64_t, boost::container::small_vector<Version, 1>> rows;
    // Ids by state, latest committed versions only. A set, not a sorted vector: a relay
    // behind a long backlog marks the oldest pending row sent, and erasing from the front
    // of a vector of thousands of ids made each commit cost as much as the backlog.
    std::map<std::int64_t, std::set<std::int64_t>> by_state;
    std::map<std::string, std::int64_t> by_unique_key;          // latest committed versions only
    std::unordered_map<std::int64_t, std::uint64_t> row_locks;  // row -> holding transaction (lookup only)
    std::int64_t next_id = 1;
    std::int64_t logged_high = 0;
  };
  // A statement's write, with the index of its table.
  struct PendingWrite {
    // Built in place in the transaction's list: the row is moved once.
    PendingWrite(TableId table, WriteKind kind, std::string&& table_name, Row&& row)
        : table(table), write{kind, std::move(table_name), std::move(row)} {}
    TableId table = 0;
    Write write;
  };
  struct Transaction {
    Isolation isolation = Isolation::read_committed;
    std::uint64_t snapshot = 0;  // commit sequence the snapshot sees (SNAPSHOT isolation)
    std::vector<PendingWrite> writes;
    std::vector<std::pair<TableId, std::int64_t>> locks;
    sim::Instant last_activity;
    bool committing = false;  // its commit record is written; it becomes visible when synced
  };
  struct SlotRecord {
    std::string slot;
    std::uint64_t confirmed_lsn = 0;
    sim::Instant confirmed_at;
  };

  // The index of table `name`, created empty on first use (an empty table reads as a
  // missing one).
  TableId table_id(std::string_view name);
  void apply(TableId table_id, WriteKind kind, Row&& row, std::uint64_t commit_sequence);
  void recover();
  Transaction* find(std::uint64_t tx);
  void finish(std::uint64_t tx);
  std::uint64_t xmin() const;
  // The row as `tx` sees it (nullopt: absent or deleted).
  // The row as `tx` sees it (null: absent or deleted); valid until the next change of
  // the database's state.
  const Row* visible(const Transaction& tx, std::uint64_t tx_id, TableId table, std::int64_t id) const;
  // Waits for the row lock; false on timeout or when the row is locked and `skip` is set.
  sim::Task<bool> lock_row(std::uint64_t tx, TableId table, std::int64_t id, bool skip);
  // A statement waiting for a row lock: woken when the transaction holding it ends, or
  // at its deadline, whichever comes first (like a lock wait in PostgreSQL, which
  // sleeps on the holder's transaction instead of polling).
  struct LockWait {
    TableId table = 0;
    std::int64_t id = 0;
    std::coroutine_handle<> waiter;
    std::uint32_t deadline_event = 0;
  };
  struct LockWaitAwaiter {
    Database& database;
    LockWait wait;
    sim::Instant deadline;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter);
    void await_resume() const noexcept {}
  };
  LockWaitAwaiter wait_for_lock(TableId table, std::int64_t id, sim::Instant deadline) {
    return LockWaitAwaiter{*this, LockWait{.table = table, .id = id}, deadline};
  }
  void wake_lock_waiters(TableId table, std::int64_t id);
  void forget_lock_wait(const LockWait& wait);
  sim::Task<void> reap_idle_transactions();
  sim::Task<void> write_wal_in_background();

  // Request handlers take the request by reference: it lives in the serving coroutine
  // until the reply is sent (sim::Context::serve).
  sim::Task<DbBeginReply> begin(DbBegin& request);
  sim::Task<DbInsertReply> insert(DbInsert& request);
  sim::Task<DbSelectReply> select(DbSelect& request);
  sim::Task<DbUpdateReply> update(DbUpdate& request);
  sim::Task<DbClaimReply> claim(DbClaim& request);
  sim::Task<DbDeleteReply> erase(DbDelete& request);
  sim::Task<DbCommitReply> commit(DbCommit& request);
  sim::Task<DbAbortReply> abort(DbAbort& request);
  sim::Task<DbReadLogReply> read_log(DbReadLog& request);
  sim::Task<DbSlotReply> slot_get(DbSlotGet& request);
  sim::Task<DbSlotReply> slot_advance(DbSlotAdvance& request);
  sim::Task<DbSlotReply> slot_create(DbSlotCreate& request);
  sim::Task<DbReplicateReply> replicate(DbReplicate& request);
  sim::Task<DbPingReply> ping(DbPing request);

  // Replays one log record into the volatile state (recovery, and a standby receiving it).
  void replay(const WalRecord& record);
  bool is_primary() const;
  std::uint64_t timeline() const;
  // The primary's side of streaming replication (db_standby.cpp).
  sim::Task<void> stream_to_standby();
  // Synchronous replication: waits for the standby's durable receipt of `lsn`; false
  // if this node was fenced meanwhile.
  sim::Task<bool> wait_for_standby(std::uint64_t lsn);
  // The last commit a reader may decode: with slot sync, only what the standby holds
  // (pg_failover_slots' standby_slot_names), so a synced slot never lags behind it.
  std::uint64_t decodable_lsn() const;

  sim::Context& context_;
  // The statements waiting for row locks, in the order they began to wait (each lives
  // in its waiting coroutine's frame).
  std::vector<LockWait*> lock_waits_;
  DbSettings settings_;
  sim::DurableLog<WalRecord>& wal_;
  sim::DurableLog<SlotRecord>& slots_log_;
  std::vector<std::unique_ptr<Table>> tables_;  // by TableId, in order of first use (references stay valid)
  std::map<std::uint64_t, Transaction> transactions_;
  std::size_t snapshot_transactions_ = 0;  // of transactions_, how many are SNAPSHOT
  std::map<std::string, std::uint64_t> slots_;
  std::set<std::pair<TableId, std::string>> unique_in_commit_;  // (table, unique key) of commits still syncing
  std::uint64_t next_tx_;
  std::uint64_t last_lsn_ = 0;
  std::uint64_t commit_sequence_ = 0;
  // Primary with a standby: how much of the log the standby holds durably (volatile).
  std::size_t standby_records_ = 0;
  std::uint64_t standby_lsn_ = 0;
};

// ---- Client ----

enum class Outcome { ok, failed, unknown };
std::string_view to_string(Outcome outcome);

template <typename T>
struct DbResult {
  Outcome outcome = Outcome::failed;
  T value{};
  std::string error;
  bool ok() const { return outcome == Outcome::ok; }
};
template <>
struct DbResult<void> {
  Outcome outcome = Outcome::failed;
  std::string error;
  bool ok() const { return outcome == Outcome::ok; }
};

// A transaction as the service sees it: each statement is an RPC that can fail or
// time out. After a failure the transaction is unusable; abort it (best effort).
class DbTransaction {
 public:
  DbTransaction() = default;
  DbTransaction(sim::Context& context, sim::NodeId database, sim::Duration timeout, std::uint64_t tx)
      : context_(&context), database_(database), timeout_(timeout), tx_(tx) {}

  std::uint64_t id() const { return tx_; }
  sim::Task<DbResult<std::int64_t>> insert(std::string table, Row row);
  sim::Task<DbResult<std::vector<Row>>> select(std::string table, DbFilter filter);
  // As select, with the xmin horizon the statement saw.
  sim::Task<DbResult<DbSelectReply>> scan(std::string table, DbFilter filter);
  sim::Task<DbResult<std::uint32_t>> erase(std::string table, std::int64_t id);
  sim::Task<DbResult<std::uint32_t>> update(std::string table, std::int64_t id, std::int64_t new_state,
                                            std::optional<std::int64_t> expected_state);
  // Takes or renews the lease held in row `id` of `table` (see DbClaim); the reply's
  // `affected` is 0 when the condition did not hold.
  sim::Task<DbResult<DbClaimReply>> claim(DbClaim request);
  sim::Task<DbResult<void>> commit();
  sim::Task<void> abort();

 private:
  sim::Context* context_ = nullptr;
  sim::NodeId database_ = 0;
  sim::Duration timeout_;
  std::uint64_t tx_ = 0;
};

class DbClient {
 public:
  DbClient(sim::Context& context, sim::NodeId database, sim::Duration timeout)
      : context_(&context), database_(database), timeout_(timeout) {}
  // A client of a cluster: every new transaction or request goes to the node the
  // cluster names primary at that moment (a DNS name or virtual IP following it).
  DbClient(sim::Context& context, const DbCluster& cluster, sim::Duration timeout)
      : context_(&context), cluster_(&cluster), timeout_(timeout) {}
  sim::Task<DbResult<DbTransaction>> begin(Isolation isolation = Isolation::read_committed);
  sim::Task<DbResult<DbReadLogReply>> read_log(std::uint64_t after_lsn, std::uint32_t max_transactions);
  sim::Task<DbResult<std::uint64_t>> slot_get(std::string slot);
  sim::Task<DbResult<std::uint64_t>> slot_advance(std::string slot, std::uint64_t confirmed_lsn);
  // As slot_get, telling whether the slot exists and on which timeline.
  sim::Task<DbResult<DbSlotReply>> slot_lookup(std::string slot);
  sim::Task<DbResult<DbSlotReply>> slot_create(std::string slot);

 private:
  sim::NodeId target() const { return cluster_ != nullptr ? cluster_->primary : database_; }

  sim::Context* context_;
  const DbCluster* cluster_ = nullptr;
  sim::NodeId database_ = 0;
  sim::Duration timeout_;
};

}  // namespace faultline::models
