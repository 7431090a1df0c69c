// The database model: see db.h for the semantics.
#include "faultline/models/db.h"

#include <algorithm>
#include <cassert>

namespace faultline::models {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::failed: return "failed";
    case Outcome::unknown: return "unknown";
  }
  return "?";
}

Database::Database(sim::Context& context, DbSettings settings)
    : context_(context),
      settings_(settings),
      wal_(context.disk().get<sim::DurableLog<WalRecord>>(wal_name)),
      // Transactions live on a connection, and connections die with the server: a
      // transaction id of an earlier incarnation must never name a new transaction.
      next_tx_((std::uint64_t{context.incarnation()} + 1) << 40) {
  recover();
}

void Database::apply(std::map<std::string, Table>& tables, const Write& write) {
  Table& table = tables[write.table];
  const auto existing = table.rows.find(write.row.id);
  if (existing != table.rows.end()) table.by_state[existing->second.state].erase(write.row.id);
  table.rows[write.row.id] = write.row;
  table.by_state[write.row.state].insert(write.row.id);
  table.next_id = std::max(table.next_id, write.row.id + 1);
}

void Database::recover() {
  // Everything in the log survived the crash (the disk dropped what was not synced).
  for (const WalRecord& record : wal_.written()) {
    if (!record.sequence_table.empty()) {
      Table& table = tables_[record.sequence_table];
      table.next_id = std::max(table.next_id, record.sequence_high + 1);
      table.logged_high = std::max(table.logged_high, record.sequence_high);
      continue;
    }
    last_lsn_ = std::max(last_lsn_, record.lsn);
    for (const Write& write : record.writes) apply(tables_, write);
  }
  for (auto& [name, table] : tables_) table.logged_high = std::max(table.logged_high, table.next_id - 1);
}

std::map<std::string, std::map<std::int64_t, Row>> Database::durable_tables(const sim::Disk& disk) {
  std::map<std::string, std::map<std::int64_t, Row>> tables;
  const auto* wal = disk.find<sim::DurableLog<WalRecord>>(wal_name);
  if (wal == nullptr) return tables;
  for (const WalRecord& record : wal->durable())
    for (const Write& write : record.writes) tables[write.table][write.row.id] = write.row;
  return tables;
}

void Database::serve() {
  context_.serve<DbBegin>([this](DbBegin request) { return begin(std::move(request)); });
  context_.serve<DbInsert>([this](DbInsert request) { return insert(std::move(request)); });
  context_.serve<DbSelect>([this](DbSelect request) { return select(std::move(request)); });
  context_.serve<DbUpdate>([this](DbUpdate request) { return update(std::move(request)); });
  context_.serve<DbCommit>([this](DbCommit request) { return commit(std::move(request)); });
  context_.serve<DbAbort>([this](DbAbort request) { return abort(std::move(request)); });
  context_.spawn(reap_idle_transactions());
}

Database::Transaction* Database::find(std::uint64_t tx) {
  const auto found = transactions_.find(tx);
  if (found == transactions_.end()) return nullptr;
  found->second.last_activity = context_.now();
  return &found->second;
}

sim::Task<void> Database::reap_idle_transactions() {
  // A client that crashed or gave up leaves its transaction open; like a server
  // noticing the dropped connection, the database aborts it after a while.
  for (;;) {
    co_await context_.sleep(settings_.idle_transaction_timeout);
    for (auto it = transactions_.begin(); it != transactions_.end();) {
      if (context_.now() - it->second.last_activity >= settings_.idle_transaction_timeout) {
        context_.note("db.abort-idle", "tx " + std::to_string(it->first));
        it = transactions_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

sim::Task<DbBeginReply> Database::begin(DbBegin) {
  const std::uint64_t tx = next_tx_++;
  transactions_.emplace(tx, Transaction{.last_activity = context_.now()});
  co_return DbBeginReply{tx};
}

sim::Task<DbInsertReply> Database::insert(DbInsert request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbInsertReply{.error = "no such transaction"};
  Table& table = tables_[request.table];
  // The id is taken now and never given back: a rolled-back insert leaves a hole.
  const std::int64_t id = table.next_id++;
  if (id > table.logged_high) {
    table.logged_high = id + settings_.sequence_cache;
    wal_.append(WalRecord{.sequence_table = request.table, .sequence_high = table.logged_high});
  }
  Row row = std::move(request.row);
  row.id = id;
  row.writer_tx = request.tx;
  tx->writes.push_back(Write{WriteKind::insert, request.table, std::move(row)});
  co_return DbInsertReply{.ok = true, .id = id};
}

sim::Task<DbSelectReply> Database::select(DbSelect request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbSelectReply{.error = "no such transaction"};
  // READ COMMITTED: the committed rows as of this statement, overlaid with the
  // transaction's own writes.
  std::map<std::int64_t, Row> view;
  const auto table = tables_.find(request.table);
  const DbFilter& filter = request.filter;
  if (table != tables_.end()) {
    const auto add = [&](const Row& row) {
      if (row.id > filter.id_after) view.emplace(row.id, row);
    };
    if (filter.state) {
      const auto bucket = table->second.by_state.find(*filter.state);
      if (bucket != table->second.by_state.end()) {
        for (auto id = bucket->second.upper_bound(filter.id_after);
             id != bucket->second.end() && view.size() < filter.limit + tx->writes.size(); ++id)
          add(table->second.rows.at(*id));
      }
    } else {
      for (auto row = table->second.rows.upper_bound(filter.id_after);
           row != table->second.rows.end() && view.size() < filter.limit + tx->writes.size(); ++row)
        add(row->second);
    }
  }
  for (const Write& write : tx->writes)
    if (write.table == request.table && write.row.id > filter.id_after) view[write.row.id] = write.row;
  DbSelectReply reply{.ok = true};
  for (const auto& [id, row] : view) {
    if (filter.state && row.state != *filter.state) continue;
    if (reply.rows.size() >= filter.limit) break;
    reply.rows.push_back(row);
  }
  co_return reply;
}

sim::Task<DbUpdateReply> Database::update(DbUpdate request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbUpdateReply{.error = "no such transaction"};
  // The row as this transaction sees it: its own latest write, else the committed version.
  std::optional<Row> current;
  for (auto write = tx->writes.rbegin(); write != tx->writes.rend(); ++write)
    if (write->table == request.table && write->row.id == request.id) {
      current = write->row;
      break;
    }
  if (!current) {
    const auto table = tables_.find(request.table);
    if (table != tables_.end()) {
      const auto row = table->second.rows.find(request.id);
      if (row != table->second.rows.end()) current = row->second;
    }
  }
  if (!current || (request.expected_state && current->state != *request.expected_state))
    co_return DbUpdateReply{.ok = true, .affected = 0};
  current->state = request.new_state;
  current->writer_tx = request.tx;
  tx->writes.push_back(Write{WriteKind::update, request.table, *current});
  co_return DbUpdateReply{.ok = true, .affected = 1};
}

sim::Task<DbCommitReply> Database::commit(DbCommit request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbCommitReply{.error = "no such transaction"};
  std::vector<Write> writes = std::move(tx->writes);
  transactions_.erase(request.tx);
  if (writes.empty()) co_return DbCommitReply{.ok = true};
  const std::uint64_t lsn = ++last_lsn_;
  wal_.append(WalRecord{.lsn = lsn, .tx = request.tx, .writes = writes});
  co_await context_.point("db.commit.before_sync");
  co_await context_.sync(wal_);
  co_await context_.point("db.commit.after_sync");
  for (const Write& write : writes) apply(tables_, write);
  co_return DbCommitReply{.ok = true};
}

sim::Task<DbAbortReply> Database::abort(DbAbort request) {
  transactions_.erase(request.tx);
  co_return DbAbortReply{};
}

// ---- Client ----

namespace {

template <typename T>
Outcome outcome_of(const sim::RpcResult<T>& result) {
  switch (result.status) {
    case sim::RpcStatus::ok: return Outcome::ok;
    case sim::RpcStatus::refused: return Outcome::failed;
    case sim::RpcStatus::unknown: return Outcome::unknown;
  }
  return Outcome::unknown;
}

}  // namespace

sim::Task<DbResult<DbTransaction>> DbClient::begin() {
  const auto result = co_await context_->call(database_, DbBegin{}, timeout_);
  if (!result.ok()) co_return DbResult<DbTransaction>{.outcome = outcome_of(result), .error = "begin did not complete"};
  co_return DbResult<DbTransaction>{.outcome = Outcome::ok,
                                    .value = DbTransaction(*context_, database_, timeout_, result->tx)};
}

sim::Task<DbResult<std::int64_t>> DbTransaction::insert(std::string table, Row row) {
  DbInsert request{tx_, std::move(table), std::move(row)};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok()) co_return DbResult<std::int64_t>{.outcome = outcome_of(result), .error = "insert did not complete"};
  if (!result->ok) co_return DbResult<std::int64_t>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::int64_t>{.outcome = Outcome::ok, .value = result->id};
}

sim::Task<DbResult<std::vector<Row>>> DbTransaction::select(std::string table, DbFilter filter) {
  DbSelect request{tx_, std::move(table), filter};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::vector<Row>>{.outcome = outcome_of(result), .error = "select did not complete"};
  if (!result->ok) co_return DbResult<std::vector<Row>>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::vector<Row>>{.outcome = Outcome::ok, .value = result->rows};
}

sim::Task<DbResult<std::uint32_t>> DbTransaction::update(std::string table, std::int64_t id, std::int64_t new_state,
                                                         std::optional<std::int64_t> expected_state) {
  DbUpdate request{tx_, std::move(table), id, new_state, expected_state};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok()) co_return DbResult<std::uint32_t>{.outcome = outcome_of(result), .error = "update did not complete"};
  if (!result->ok) co_return DbResult<std::uint32_t>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::uint32_t>{.outcome = Outcome::ok, .value = result->affected};
}

sim::Task<DbResult<void>> DbTransaction::commit() {
  const auto result = co_await context_->call(database_, DbCommit{tx_}, timeout_);
  if (!result.ok()) co_return DbResult<void>{.outcome = outcome_of(result), .error = "commit did not complete"};
  if (!result->ok) co_return DbResult<void>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<void>{.outcome = Outcome::ok};
}

sim::Task<void> DbTransaction::abort() {
  // Best effort: if it is lost, the database reaps the idle transaction.
  co_await context_->call(database_, DbAbort{tx_}, timeout_);
}

}  // namespace faultline::models
