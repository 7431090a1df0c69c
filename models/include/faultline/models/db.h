// The database: a node reached over RPC, with transactions (begin, insert, select,
// conditional update, commit, abort), ids from a per-table sequence allocated at
// insert time and never given back, and a write-ahead log on the node's disk.
//
// A commit appends one log record (all the transaction's writes share its log
// sequence number), syncs the log, then makes the writes visible and acknowledges:
// synchronous commit, durable before the ack. A crash loses the volatile tables and
// open transactions; the restarted database replays its durable log. A commit whose
// reply is lost ends unknown for the client, although it is durable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "faultline/sim/simulation.h"

namespace faultline::models {

// A row. The columns are the few the designs need; a table uses the ones it wants.
struct Row {
  std::int64_t id = 0;           // primary key, from the table's sequence
  std::string key;               // aggregate key (the broker partition key)
  std::int64_t command = 0;      // the client command that produced the row
  std::string event_id;          // outbox: the event's stable id, the same on every attempt
  std::int64_t state = 0;        // outbox: 0 pending, 1 sent
  std::uint64_t writer_tx = 0;   // the transaction that wrote this version (set by the database)
  bool operator==(const Row&) const = default;
};

enum class WriteKind { insert, update };

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
};

// ---- Requests ----

struct DbBeginReply {
  std::uint64_t tx = 0;
};
struct DbBegin {
  using Reply = DbBeginReply;
  static constexpr std::string_view rpc_name = "db.begin";
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

// SELECT ... WHERE state = ? AND id > ? ORDER BY id LIMIT ?
struct DbFilter {
  std::optional<std::int64_t> state;
  std::int64_t id_after = 0;
  std::uint32_t limit = 1'000'000;
};
struct DbSelectReply {
  bool ok = false;
  std::vector<Row> rows;
  std::string error;
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

struct DbCommitReply {
  bool ok = false;
  std::string error;
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

// ---- Server ----

struct DbSettings {
  sim::Duration idle_transaction_timeout = sim::Duration::millis(500);
  std::int64_t sequence_cache = 32;  // ids logged ahead, like PostgreSQL's sequence log_cnt
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

 private:
  struct Table {
    std::map<std::int64_t, Row> rows;
    std::map<std::int64_t, std::set<std::int64_t>> by_state;
    std::int64_t next_id = 1;
    std::int64_t logged_high = 0;
  };
  struct Transaction {
    std::vector<Write> writes;
    sim::Instant last_activity;
  };

  static void apply(std::map<std::string, Table>& tables, const Write& write);
  void recover();
  Transaction* find(std::uint64_t tx);
  sim::Task<void> reap_idle_transactions();

  sim::Task<DbBeginReply> begin(DbBegin request);
  sim::Task<DbInsertReply> insert(DbInsert request);
  sim::Task<DbSelectReply> select(DbSelect request);
  sim::Task<DbUpdateReply> update(DbUpdate request);
  sim::Task<DbCommitReply> commit(DbCommit request);
  sim::Task<DbAbortReply> abort(DbAbort request);

  sim::Context& context_;
  DbSettings settings_;
  sim::DurableLog<WalRecord>& wal_;
  std::map<std::string, Table> tables_;
  std::map<std::uint64_t, Transaction> transactions_;
  std::uint64_t next_tx_;
  std::uint64_t last_lsn_ = 0;
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
  sim::Task<DbResult<std::uint32_t>> update(std::string table, std::int64_t id, std::int64_t new_state,
                                            std::optional<std::int64_t> expected_state);
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
  sim::Task<DbResult<DbTransaction>> begin();

 private:
  sim::Context* context_;
  sim::NodeId database_;
  sim::Duration timeout_;
};

}  // namespace faultline::models
