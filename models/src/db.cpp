// The database model: see db.h for the semantics.
#include "faultline/models/db.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace faultline::models {

namespace {

// Room for a transaction's writes at its first one: the designs write a handful per
// transaction, and growing the vector one by one moves every row each time.
constexpr std::size_t transaction_writes_expected = 8;

// A set of ids as an ascending vector: rows are mostly added in id order, at the end.
void insert_id(std::set<std::int64_t>& ids, std::int64_t id) {
  ids.emplace_hint(ids.end(), id);  // ids mostly come in ascending order: then the hint is right
}

void erase_id(std::set<std::int64_t>& ids, std::int64_t id) {
  ids.erase(id);
}

}  // namespace

std::uint32_t partition_for(std::string_view key, std::uint32_t partitions) {
  assert(partitions > 0);
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return static_cast<std::uint32_t>(hash % partitions);
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::failed:
      return "failed";
    case Outcome::unknown:
      return "unknown";
  }
  return "?";
}

Database::Database(sim::Context& context, DbSettings settings)
    : context_(context),
      settings_(settings),
      wal_(context.disk().get<sim::DurableLog<WalRecord>>(wal_name)),
      slots_log_(context.disk().get<sim::DurableLog<SlotRecord>>("db.slots")),
      // Transactions live on a connection, and connections die with the server: a
      // transaction id of an earlier incarnation must never name a new transaction.
      next_tx_((std::uint64_t{context.incarnation()} + 1) << 40) {
  recover();
}

Database::TableId Database::table_id(std::string_view name) {
  // Table names are short: compared here rather than by a call to memcmp per table.
  const auto same = [name](std::string_view table) {
    if (table.size() != name.size()) return false;
    for (std::size_t index = 0; index < name.size(); ++index)
      if (table[index] != name[index]) return false;
    return true;
  };
  for (TableId index = 0; index < tables_.size(); ++index)
    if (same(tables_[index]->name)) return index;
  tables_.push_back(std::make_unique<Table>(Table{.name = std::string(name)}));
  return static_cast<TableId>(tables_.size() - 1);
}

void Database::apply(TableId table_id, WriteKind kind, Row&& row, std::uint64_t commit_sequence) {
  Table& table = *tables_[table_id];
  auto& versions = table.rows[row.id];
  if (!versions.empty() && !versions.back().erased) {
    const Row& previous = versions.back().row;
    erase_id(table.by_state[previous.state], previous.id);
    const auto unique = table.by_unique_key.find(previous.unique_key);
    if (!previous.unique_key.empty() && unique != table.by_unique_key.end() && unique->second == previous.id)
      table.by_unique_key.erase(unique);
  }
  const bool erased = kind == WriteKind::erase;
  // Old versions are kept only while a snapshot transaction might still read them.
  if (snapshot_transactions_ == 0) versions.clear();
  const Row& latest = versions.emplace_back(commit_sequence, erased, std::move(row)).row;
  if (!erased) {
    insert_id(table.by_state[latest.state], latest.id);
    if (!latest.unique_key.empty()) table.by_unique_key[latest.unique_key] = latest.id;
  }
  table.next_id = std::max(table.next_id, latest.id + 1);
}

void Database::recover() {
  // Everything in the log survived the crash (the disk dropped what was not synced).
  for (const WalRecord& record : wal_.written()) replay(record);
  for (const auto& table : tables_) table->logged_high = std::max(table->logged_high, table->next_id - 1);
  for (const SlotRecord& record : slots_log_.written())
    slots_[record.slot] = std::max(slots_[record.slot], record.confirmed_lsn);
  const DbCluster* cluster = settings_.cluster;
  if (cluster != nullptr && cluster->original_primary == context_.node())
    for (const std::string& slot : cluster->slots) slots_.try_emplace(slot, 0);
}

void Database::replay(const WalRecord& record) {
  if (!record.sequence_table.empty()) {
    Table& table = *tables_[table_id(record.sequence_table)];
    table.next_id = std::max(table.next_id, record.sequence_high + 1);
    table.logged_high = std::max(table.logged_high, record.sequence_high);
    return;
  }
  last_lsn_ = std::max(last_lsn_, record.lsn);
  ++commit_sequence_;
  for (const Write& write : record.writes) {
    Row row = write.row;
    apply(table_id(write.table), write.kind, std::move(row), commit_sequence_);
  }
}

std::map<std::string, std::map<std::int64_t, Row>> Database::durable_tables(const sim::Disk& disk) {
  std::map<std::string, std::map<std::int64_t, Row>> tables;
  const auto* wal = disk.find<sim::DurableLog<WalRecord>>(wal_name);
  if (wal == nullptr) return tables;
  for (const WalRecord& record : wal->durable())
    for (const Write& write : record.writes) {
      if (write.kind == WriteKind::erase) {
        tables[write.table].erase(write.row.id);
      } else {
        tables[write.table][write.row.id] = write.row;
      }
    }
  return tables;
}

std::map<std::int64_t, Row> Database::durable_table(const sim::Disk& disk, std::string_view table) {
  std::map<std::int64_t, Row> rows;
  const auto* wal = disk.find<sim::DurableLog<WalRecord>>(wal_name);
  if (wal == nullptr) return rows;
  for (const WalRecord& record : wal->durable())
    for (const Write& write : record.writes) {
      if (write.table != table) continue;
      if (write.kind == WriteKind::erase) {
        rows.erase(write.row.id);
      } else {
        rows.insert_or_assign(rows.end(), write.row.id, write.row);
      }
    }
  return rows;
}

std::map<std::string, std::uint64_t> Database::durable_slots(const sim::Disk& disk) {
  std::map<std::string, std::uint64_t> slots;
  const auto* log = disk.find<sim::DurableLog<SlotRecord>>("db.slots");
  if (log == nullptr) return slots;
  for (const SlotRecord& record : log->durable())
    slots[record.slot] = std::max(slots[record.slot], record.confirmed_lsn);
  return slots;
}

std::vector<SlotConfirmation> Database::durable_slot_confirmations(const sim::Disk& disk) {
  std::vector<SlotConfirmation> confirmations;
  if (const auto* log = disk.find<sim::DurableLog<SlotRecord>>("db.slots"))
    for (const SlotRecord& record : log->durable())
      confirmations.push_back(SlotConfirmation{record.slot, record.confirmed_lsn, record.confirmed_at});
  return confirmations;
}

void Database::serve() {
  context_.serve<DbBegin>([this](DbBegin&& request) { return begin(request); });
  context_.serve<DbInsert>([this](DbInsert&& request) { return insert(request); });
  context_.serve<DbSelect>([this](DbSelect&& request) { return select(request); });
  context_.serve<DbUpdate>([this](DbUpdate&& request) { return update(request); });
  context_.serve<DbClaim>([this](DbClaim&& request) { return claim(request); });
  context_.serve<DbDelete>([this](DbDelete&& request) { return erase(request); });
  context_.serve<DbCommit>([this](DbCommit&& request) { return commit(request); });
  context_.serve<DbAbort>([this](DbAbort&& request) { return abort(request); });
  context_.serve<DbReadLog>([this](DbReadLog&& request) { return read_log(request); });
  context_.serve<DbSlotGet>([this](DbSlotGet&& request) { return slot_get(request); });
  context_.serve<DbSlotAdvance>([this](DbSlotAdvance&& request) { return slot_advance(request); });
  context_.serve<DbSlotCreate>([this](DbSlotCreate&& request) { return slot_create(request); });
  context_.spawn(reap_idle_transactions());
  if (settings_.commit == CommitMode::asynchronous) context_.spawn(write_wal_in_background());
  if (settings_.cluster != nullptr) {
    context_.serve<DbPing>([this](DbPing request) { return ping(request); });
    context_.serve<DbReplicate>([this](DbReplicate&& request) { return replicate(request); });
    if (settings_.cluster->replication != Replication::none) context_.spawn(stream_to_standby());
  }
}

Database::Transaction* Database::find(std::uint64_t tx) {
  const auto found = transactions_.find(tx);
  if (found == transactions_.end() || found->second.committing) return nullptr;
  found->second.last_activity = context_.now();
  return &found->second;
}

void Database::finish(std::uint64_t tx) {
  const auto found = transactions_.find(tx);
  if (found == transactions_.end()) return;
  for (const auto& [table, id] : found->second.locks) {
    auto& row_locks = tables_[table]->row_locks;
    const auto lock = row_locks.find(id);
    if (lock != row_locks.end() && lock->second == tx) {
      row_locks.erase(lock);
      wake_lock_waiters(table, id);
    }
  }
  if (found->second.isolation == Isolation::snapshot) --snapshot_transactions_;
  transactions_.erase(found);
}

std::uint64_t Database::xmin() const {
  return transactions_.empty() ? next_tx_ : transactions_.begin()->first;
}

const Row* Database::visible(const Transaction& tx, std::uint64_t tx_id, TableId table, std::int64_t id) const {
  // nullopt: `writer` did not write the row; null: it deleted it.
  const auto own_write = [&](const Transaction& writer) -> std::optional<const Row*> {
    for (auto pending = writer.writes.rbegin(); pending != writer.writes.rend(); ++pending)
      if (pending->table == table && pending->write.row.id == id)
        return pending->write.kind == WriteKind::erase ? nullptr : &pending->write.row;
    return std::nullopt;
  };
  if (auto mine = own_write(tx)) return *mine;
  if (tx.isolation == Isolation::read_uncommitted) {
    // Dirty reads: the newest uncommitted write of any other transaction wins.
    for (auto other = transactions_.rbegin(); other != transactions_.rend(); ++other) {
      if (other->first == tx_id) continue;
      if (auto theirs = own_write(other->second)) return *theirs;
    }
  }
  const Table& found_table = *tables_[table];
  const auto found_row = found_table.rows.find(id);
  if (found_row == found_table.rows.end()) return nullptr;
  for (auto version = found_row->second.rbegin(); version != found_row->second.rend(); ++version) {
    if (tx.isolation == Isolation::snapshot && version->commit_sequence > tx.snapshot) continue;
    return version->erased ? nullptr : &version->row;
  }
  return nullptr;
}

sim::Task<bool> Database::lock_row(std::uint64_t tx, TableId table, std::int64_t id, bool skip) {
  const sim::Instant deadline = context_.now() + settings_.lock_timeout;
  for (;;) {
    Transaction* holder = find(tx);
    if (holder == nullptr) co_return false;  // aborted or reaped while waiting
    auto& row_locks = tables_[table]->row_locks;
    const auto lock = row_locks.find(id);
    if (lock == row_locks.end()) {
      row_locks.emplace(id, tx);
      holder->locks.emplace_back(table, id);
      co_return true;
    }
    if (lock->second == tx) co_return true;
    if (skip || context_.now() >= deadline) co_return false;
    co_await wait_for_lock(table, id, deadline);
  }
}

void Database::LockWaitAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  wait.waiter = waiter;
  sim::Context& context = database.context_;
  wait.deadline_event = context.simulation().schedule(deadline, context.owner(), [this] {
    database.forget_lock_wait(wait);
    wait.waiter.resume();
  });
  database.lock_waits_.push_back(&wait);
}

void Database::forget_lock_wait(const LockWait& wait) {
  lock_waits_.erase(std::find(lock_waits_.begin(), lock_waits_.end(), &wait));
}

void Database::wake_lock_waiters(TableId table, std::int64_t id) {
  auto& simulation = context_.simulation();
  std::erase_if(lock_waits_, [&](LockWait* wait) {
    if (wait->table != table || wait->id != id) return false;
    // Each waiter looks again from an event of its own, in the order they began to wait.
    simulation.cancel(wait->deadline_event);
    simulation.schedule(context_.now(), context_.owner(), [waiter = wait->waiter] { waiter.resume(); });
    return true;
  });
}

sim::Task<void> Database::reap_idle_transactions() {
  // A client that crashed or gave up leaves its transaction open; like a server
  // noticing the dropped connection, the database aborts it after a while.
  for (;;) {
    co_await context_.sleep(settings_.idle_transaction_timeout);
    std::vector<std::uint64_t> idle;
    for (const auto& [tx, state] : transactions_)
      if (!state.committing && context_.now() - state.last_activity >= settings_.idle_transaction_timeout)
        idle.push_back(tx);
    for (const std::uint64_t tx : idle) {
      context_.note("db.abort-idle", "tx " + std::to_string(tx));
      finish(tx);
    }
  }
}

sim::Task<void> Database::write_wal_in_background() {
  for (;;) {
    co_await context_.sleep(settings_.wal_writer_interval);
    if (wal_.synced_size() == wal_.size()) continue;
    // Every commit since the last sync is visible and acknowledged, and not durable: a
    // crash here loses them all (a crash site for systematic exploration).
    co_await context_.point("db.wal_writer.before_sync");
    co_await context_.sync(wal_);
  }
}

sim::Task<DbBeginReply> Database::begin(DbBegin& request) {
  if (!is_primary()) co_return DbBeginReply{.error = "not primary"};
  const std::uint64_t tx = next_tx_++;
  const bool created = transactions_
                           .emplace(tx, Transaction{.isolation = request.isolation,
                                                    .snapshot = commit_sequence_,
                                                    .last_activity = context_.now()})
                           .second;
  assert(created);
  if (request.isolation == Isolation::snapshot) ++snapshot_transactions_;
  co_return DbBeginReply{tx};
}

sim::Task<DbInsertReply> Database::insert(DbInsert& request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbInsertReply{.error = "no such transaction"};
  const TableId table_index = table_id(request.table);
  if (!request.row.unique_key.empty()) {
    // Like PostgreSQL, an insert of a unique key another transaction in flight has
    // written waits for that transaction to end, then checks again.
    const sim::Instant deadline = context_.now() + settings_.lock_timeout;
    const auto held_elsewhere = [&] {
      for (const auto& [id, other] : transactions_) {
        if (id == request.tx) continue;
        for (const PendingWrite& pending : other.writes)
          if (pending.table == table_index && pending.write.kind != WriteKind::erase &&
              pending.write.row.unique_key == request.row.unique_key)
            return true;
      }
      return false;
    };
    while (held_elsewhere()) {
      if (context_.now() >= deadline) co_return DbInsertReply{.error = "lock timeout"};
      co_await context_.sleep(settings_.lock_poll);
    }
    tx = find(request.tx);
    if (tx == nullptr) co_return DbInsertReply{.error = "transaction aborted while waiting for a lock"};
  }
  Table& table = *tables_[table_index];
  if (!request.row.unique_key.empty()) {
    const bool taken_by_commit = table.by_unique_key.count(request.row.unique_key) > 0;
    const bool taken_by_self = std::any_of(tx->writes.begin(), tx->writes.end(), [&](const PendingWrite& pending) {
      return pending.table == table_index && pending.write.kind != WriteKind::erase &&
             pending.write.row.unique_key == request.row.unique_key;
    });
    if (taken_by_commit || taken_by_self) co_return DbInsertReply{.error = "unique violation"};
  }
  // The id is taken now and never given back: a rolled-back insert leaves a hole.
  const std::int64_t id = table.next_id++;
  if (id > table.logged_high) {
    table.logged_high = id + settings_.sequence_cache;
    wal_.append(WalRecord{.sequence_table = request.table, .sequence_high = table.logged_high});
  }
  request.row.id = id;
  request.row.writer_tx = request.tx;
  if (tx->writes.empty()) tx->writes.reserve(transaction_writes_expected);
  tx->writes.emplace_back(table_index, WriteKind::insert, std::move(request.table), std::move(request.row));
  table.row_locks.emplace(id, request.tx);
  tx->locks.emplace_back(table_index, id);
  co_return DbInsertReply{.ok = true, .id = id};
}

sim::Task<DbSelectReply> Database::select(DbSelect& request) {
  if (find(request.tx) == nullptr) co_return DbSelectReply{.error = "no such transaction"};
  const TableId table_index = table_id(request.table);
  const DbFilter& filter = request.filter;
  DbSelectReply reply{.ok = true, .xmin = xmin(), .id_horizon = std::numeric_limits<std::int64_t>::max()};
  for (const auto& [id, other] : transactions_)
    for (const PendingWrite& pending : other.writes)
      if (pending.write.kind == WriteKind::insert && pending.table == table_index)
        reply.id_horizon = std::min(reply.id_horizon, pending.write.row.id);

  // Candidate ids, ascending: committed rows (through the state index when it is
  // exact for this isolation), the transaction's own writes, and, for dirty reads,
  // every other transaction's writes.
  std::vector<std::int64_t> candidates;
  {
    const Transaction& tx = transactions_.at(request.tx);
    const Table& table = *tables_[table_index];
    // Enough candidates to fill the limit after the rows that turn out invisible:
    // the transaction's own writes, and under dirty reads everyone's.
    std::size_t wanted = filter.limit + tx.writes.size() + 1;
    if (tx.isolation == Isolation::read_uncommitted)
      for (const auto& [id, other] : transactions_) wanted += other.writes.size();
    // Committed rows are screened by the filter's cheap columns as they are collected,
    // so a poll costs what it returns, not the size of the table. (Under SNAPSHOT the
    // latest version is not necessarily the visible one: no screening, no cap.)
    const bool screen = tx.isolation != Isolation::snapshot;
    const auto worth_a_look = [&](std::int64_t id) {
      const auto& versions = table.rows.at(id);
      const Row& latest = versions.back().row;
      if (versions.back().erased) return false;
      if (filter.key && latest.key != *filter.key) return false;
      if (filter.key_partitions > 0 && partition_for(latest.key, filter.key_partitions) != filter.key_partition)
        return false;
      if (filter.lock == LockMode::for_update_skip_locked) {
        const auto lock = table.row_locks.find(id);
        if (lock != table.row_locks.end() && lock->second != request.tx) return false;
      }
      return true;
    };
    // Collected in ascending order, each id once.
    if (filter.state && screen) {
      const auto bucket = table.by_state.find(*filter.state);
      if (bucket != table.by_state.end())
        for (auto id = bucket->second.upper_bound(filter.id_after);
             id != bucket->second.end() && candidates.size() < wanted; ++id)
          if (worth_a_look(*id)) candidates.push_back(*id);
    } else {
      for (auto row = table.rows.upper_bound(filter.id_after);
           row != table.rows.end() && (!screen || candidates.size() < wanted); ++row)
        if (!screen || worth_a_look(row->first)) candidates.push_back(row->first);
    }
    const std::size_t committed = candidates.size();
    for (const auto& [id, other] : transactions_) {
      if (id != request.tx && tx.isolation != Isolation::read_uncommitted) continue;
      for (const PendingWrite& pending : other.writes)
        if (pending.table == table_index && pending.write.row.id > filter.id_after)
          candidates.push_back(pending.write.row.id);
    }
    if (candidates.size() > committed) {
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    }
  }

  const auto matches = [&](const Row* row) {
    return row != nullptr && (!filter.state || row->state == *filter.state) &&
           (!filter.key || row->key == *filter.key) &&
           (filter.key_partitions == 0 || partition_for(row->key, filter.key_partitions) == filter.key_partition);
  };
  for (const std::int64_t id : candidates) {
    if (reply.rows.size() >= filter.limit) break;
    Transaction* tx = find(request.tx);
    if (tx == nullptr) co_return DbSelectReply{.error = "transaction aborted while waiting for a lock"};
    if (!matches(visible(*tx, request.tx, table_index, id))) continue;
    if (filter.lock != LockMode::none) {
      const bool skip = filter.lock == LockMode::for_update_skip_locked;
      if (!co_await lock_row(request.tx, table_index, id, skip)) {
        if (skip) continue;
        co_return DbSelectReply{.error = "lock timeout"};
      }
      tx = find(request.tx);
      if (tx == nullptr) co_return DbSelectReply{.error = "transaction aborted while waiting for a lock"};
    }
    // Re-read after a lock wait: the row may have changed meanwhile.
    const Row* row = visible(*tx, request.tx, table_index, id);
    if (matches(row)) reply.rows.push_back(*row);
  }
  co_return reply;
}

sim::Task<DbUpdateReply> Database::update(DbUpdate& request) {
  if (find(request.tx) == nullptr) co_return DbUpdateReply{.error = "no such transaction"};
  const TableId table_index = table_id(request.table);
  const bool locked = co_await lock_row(request.tx, table_index, request.id, false);
  if (!locked) co_return DbUpdateReply{.error = "lock timeout"};
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbUpdateReply{.error = "transaction aborted while waiting for a lock"};
  const Row* current = visible(*tx, request.tx, table_index, request.id);
  if (current == nullptr || (request.expected_state && current->state != *request.expected_state))
    co_return DbUpdateReply{.ok = true, .affected = 0};
  if (tx->writes.empty()) tx->writes.reserve(transaction_writes_expected);
  PendingWrite& pending =
      tx->writes.emplace_back(table_index, WriteKind::update, std::move(request.table), Row(*current));
  pending.write.row.state = request.new_state;
  pending.write.row.writer_tx = request.tx;
  co_return DbUpdateReply{.ok = true, .affected = 1};
}

sim::Task<DbClaimReply> Database::claim(DbClaim& request) {
  if (find(request.tx) == nullptr) co_return DbClaimReply{.error = "no such transaction"};
  const TableId table_index = table_id(request.table);
  const bool locked = co_await lock_row(request.tx, table_index, request.id, false);
  if (!locked) co_return DbClaimReply{.error = "lock timeout"};
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbClaimReply{.error = "transaction aborted while waiting for a lock"};
  const Row* visible_row = visible(*tx, request.tx, table_index, request.id);
  if (visible_row == nullptr) co_return DbClaimReply{.ok = true, .affected = 0};
  Row current = *visible_row;
  const bool holds = request.kind == ClaimKind::take
                         ? current.lease_expiry <= request.expired_at_or_before || current.owner == request.owner
                         : current.owner == request.owner && current.fencing_token == request.expected_fencing_token;
  if (!holds) co_return DbClaimReply{.ok = true, .affected = 0, .fencing_token = current.fencing_token};
  if (request.kind == ClaimKind::take) {
    current.owner = request.owner;
    ++current.fencing_token;
  }
  current.lease_expiry = request.lease_expiry;
  current.writer_tx = request.tx;
  const std::int64_t fencing_token = current.fencing_token;
  tx->writes.emplace_back(table_index, WriteKind::update, std::move(request.table), std::move(current));
  co_return DbClaimReply{.ok = true, .affected = 1, .fencing_token = fencing_token};
}

sim::Task<DbDeleteReply> Database::erase(DbDelete& request) {
  if (find(request.tx) == nullptr) co_return DbDeleteReply{.error = "no such transaction"};
  const TableId table_index = table_id(request.table);
  const bool locked = co_await lock_row(request.tx, table_index, request.id, false);
  if (!locked) co_return DbDeleteReply{.error = "lock timeout"};
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbDeleteReply{.error = "transaction aborted while waiting for a lock"};
  const Row* current = visible(*tx, request.tx, table_index, request.id);
  if (current == nullptr) co_return DbDeleteReply{.ok = true, .affected = 0};
  tx->writes.emplace_back(table_index, WriteKind::erase, std::move(request.table), Row(*current));
  co_return DbDeleteReply{.ok = true, .affected = 1};
}

sim::Task<DbCommitReply> Database::commit(DbCommit& request) {
  Transaction* tx = find(request.tx);
  if (tx == nullptr) co_return DbCommitReply{.error = "no such transaction"};
  if (!is_primary()) {
    // Fenced: a failover promoted the standby; this node never accepts a write again.
    finish(request.tx);
    co_return DbCommitReply{.error = "not primary"};
  }
  // Constraints are checked against what committed since the statements ran, and
  // against commits still syncing (their keys are reserved until they are visible).
  std::vector<std::pair<TableId, std::string>> reserved;
  for (const PendingWrite& pending : tx->writes) {
    const Write& write = pending.write;
    if (write.kind == WriteKind::erase || write.row.unique_key.empty()) continue;
    const Table& table = *tables_[pending.table];
    const auto owner = table.by_unique_key.find(write.row.unique_key);
    const bool committed_elsewhere = owner != table.by_unique_key.end() && owner->second != write.row.id;
    auto key = std::make_pair(pending.table, write.row.unique_key);
    if (committed_elsewhere || unique_in_commit_.count(key) > 0) {
      finish(request.tx);
      co_return DbCommitReply{.error = "unique violation"};
    }
    reserved.push_back(std::move(key));
  }
  if (tx->isolation == Isolation::snapshot) {
    for (const PendingWrite& pending : tx->writes) {
      if (pending.write.kind == WriteKind::insert) continue;
      const Table& table = *tables_[pending.table];
      const auto versions = table.rows.find(pending.write.row.id);
      if (versions != table.rows.end() && versions->second.back().commit_sequence > tx->snapshot) {
        finish(request.tx);
        co_return DbCommitReply{.error = "serialization failure"};
      }
    }
  }
  // The writes stay with the transaction until they are visible: until then it is
  // still in flight, and its ids still hold the id horizon back.
  tx->committing = true;
  if (tx->writes.empty()) {
    finish(request.tx);
    co_return DbCommitReply{.ok = true};
  }
  for (const auto& key : reserved) unique_in_commit_.insert(key);
  const std::uint64_t lsn = ++last_lsn_;
  std::vector<Write> logged;
  logged.reserve(tx->writes.size());
  for (const PendingWrite& pending : tx->writes) logged.push_back(pending.write);
  const std::size_t record_index = wal_.size();
  wal_.append(WalRecord{.lsn = lsn, .tx = request.tx, .writes = std::move(logged), .committed_at = context_.now()});
  if (settings_.commit == CommitMode::synchronous) {
    co_await context_.point("db.commit.before_sync");
    co_await context_.sync(wal_);
    co_await context_.point("db.commit.after_sync");
  }
  if (settings_.cluster != nullptr && settings_.cluster->replication == Replication::synchronous &&
      !co_await wait_for_standby(lsn)) {
    // Fenced while waiting: the commit may or may not have reached the new primary.
    // Like a connection cut by the failover, no answer: the client's call times out.
    co_await context_.sleep(sim::Duration::seconds(60));
    co_return DbCommitReply{.error = "not primary"};
  }
  // Visible now; under asynchronous commit, acknowledged before it is durable.
  ++commit_sequence_;
  const auto committing = transactions_.find(request.tx);
  if (committing != transactions_.end()) {
    for (PendingWrite& pending : committing->second.writes)
      apply(pending.table, pending.write.kind, std::move(pending.write.row), commit_sequence_);
  } else {
    // Aborted while its record was syncing (the client gave up waiting): the writes
    // are read back from the log, which holds them until a crash, and a crash would
    // have ended this commit.
    const WalRecord& record = wal_[record_index];
    assert(record.lsn == lsn);
    for (const Write& write : record.writes) {
      Row row = write.row;
      apply(table_id(write.table), write.kind, std::move(row), commit_sequence_);
    }
  }
  for (const auto& key : reserved) unique_in_commit_.erase(key);
  finish(request.tx);
  co_return DbCommitReply{.ok = true, .lsn = lsn};
}

sim::Task<DbAbortReply> Database::abort(DbAbort& request) {
  finish(request.tx);
  co_return DbAbortReply{};
}

sim::Task<DbReadLogReply> Database::read_log(DbReadLog& request) {
  // Logical decoding reads only what is durable, in commit order.
  if (!is_primary()) co_return DbReadLogReply{};
  DbReadLogReply reply{.ok = true, .timeline = timeline()};
  const std::uint64_t decodable = decodable_lsn();
  for (const WalRecord& record : wal_.durable()) {
    if (record.lsn == 0 || record.lsn <= request.after_lsn) continue;
    if (record.lsn > decodable) break;
    reply.transactions.push_back(LoggedTransaction{record.lsn, record.tx, record.writes});
    if (reply.transactions.size() >= request.max_transactions) break;
  }
  co_return reply;
}

sim::Task<DbSlotReply> Database::slot_get(DbSlotGet& request) {
  if (!is_primary()) co_return DbSlotReply{};
  const auto found = slots_.find(request.slot);
  // A single database treats a missing slot as created with it, before the first commit.
  co_return DbSlotReply{.ok = true,
                        .confirmed_lsn = found == slots_.end() ? 0 : found->second,
                        .found = found != slots_.end() || settings_.cluster == nullptr,
                        .timeline = timeline()};
}

sim::Task<DbSlotReply> Database::slot_advance(DbSlotAdvance& request) {
  if (!is_primary()) co_return DbSlotReply{};
  slots_log_.append(SlotRecord{request.slot, request.confirmed_lsn, context_.now()});
  co_await context_.sync(slots_log_);
  auto& position = slots_[request.slot];
  position = std::max(position, request.confirmed_lsn);
  co_return DbSlotReply{.ok = true, .confirmed_lsn = position, .timeline = timeline()};
}

sim::Task<DbSlotReply> Database::slot_create(DbSlotCreate& request) {
  if (!is_primary()) co_return DbSlotReply{};
  std::uint64_t end = 0;
  for (const WalRecord& record : wal_.durable()) end = std::max(end, record.lsn);
  const auto found = slots_.find(request.slot);
  if (found != slots_.end()) co_return DbSlotReply{.ok = true, .confirmed_lsn = found->second, .timeline = timeline()};
  slots_log_.append(SlotRecord{request.slot, end, context_.now()});
  co_await context_.sync(slots_log_);
  auto& position = slots_[request.slot];
  position = std::max(position, end);
  context_.note("db.slot-created", request.slot + " at lsn " + std::to_string(position));
  co_return DbSlotReply{.ok = true, .confirmed_lsn = position, .timeline = timeline()};
}

// ---- Client ----

namespace {

template <typename T>
Outcome outcome_of(const sim::RpcResult<T>& result) {
  switch (result.status) {
    case sim::RpcStatus::ok:
      return Outcome::ok;
    case sim::RpcStatus::refused:
      return Outcome::failed;
    case sim::RpcStatus::unknown:
      return Outcome::unknown;
  }
  return Outcome::unknown;
}

}  // namespace

sim::Task<DbResult<DbTransaction>> DbClient::begin(Isolation isolation) {
  DbBegin request{isolation};
  const sim::NodeId database = target();
  const auto result = co_await context_->call(database, std::move(request), timeout_);
  if (!result.ok()) co_return DbResult<DbTransaction>{.outcome = outcome_of(result), .error = "begin did not complete"};
  if (!result->error.empty()) co_return DbResult<DbTransaction>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<DbTransaction>{.outcome = Outcome::ok,
                                    .value = DbTransaction(*context_, database, timeout_, result->tx)};
}

sim::Task<DbResult<std::int64_t>> DbTransaction::insert(std::string table, Row row) {
  DbInsert request{tx_, std::move(table), std::move(row)};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok()) co_return DbResult<std::int64_t>{.outcome = outcome_of(result), .error = "insert did not complete"};
  if (!result->ok) co_return DbResult<std::int64_t>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::int64_t>{.outcome = Outcome::ok, .value = result->id};
}

sim::Task<DbResult<std::vector<Row>>> DbTransaction::select(std::string table, DbFilter filter) {
  DbSelect request{tx_, std::move(table), std::move(filter)};
  auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::vector<Row>>{.outcome = outcome_of(result), .error = "select did not complete"};
  if (!result->ok) co_return DbResult<std::vector<Row>>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::vector<Row>>{.outcome = Outcome::ok, .value = std::move(result.reply->rows)};
}

sim::Task<DbResult<DbSelectReply>> DbTransaction::scan(std::string table, DbFilter filter) {
  DbSelect request{tx_, std::move(table), std::move(filter)};
  auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<DbSelectReply>{.outcome = outcome_of(result), .error = "select did not complete"};
  if (!result->ok) co_return DbResult<DbSelectReply>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<DbSelectReply>{.outcome = Outcome::ok, .value = std::move(*result.reply)};
}

sim::Task<DbResult<std::uint32_t>> DbTransaction::erase(std::string table, std::int64_t id) {
  DbDelete request{tx_, std::move(table), id};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::uint32_t>{.outcome = outcome_of(result), .error = "delete did not complete"};
  if (!result->ok) co_return DbResult<std::uint32_t>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::uint32_t>{.outcome = Outcome::ok, .value = result->affected};
}

sim::Task<DbResult<DbReadLogReply>> DbClient::read_log(std::uint64_t after_lsn, std::uint32_t max_transactions) {
  DbReadLog request{after_lsn, max_transactions};
  auto result = co_await context_->call(target(), std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<DbReadLogReply>{.outcome = outcome_of(result), .error = "read_log did not complete"};
  if (!result->ok) co_return DbResult<DbReadLogReply>{.outcome = Outcome::failed, .error = "not primary"};
  co_return DbResult<DbReadLogReply>{.outcome = Outcome::ok, .value = std::move(*result.reply)};
}

sim::Task<DbResult<std::uint64_t>> DbClient::slot_get(std::string slot) {
  DbSlotGet request{std::move(slot)};
  const auto result = co_await context_->call(target(), std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::uint64_t>{.outcome = outcome_of(result), .error = "slot_get did not complete"};
  if (!result->ok) co_return DbResult<std::uint64_t>{.outcome = Outcome::failed, .error = "not primary"};
  co_return DbResult<std::uint64_t>{.outcome = Outcome::ok, .value = result->confirmed_lsn};
}

sim::Task<DbResult<std::uint64_t>> DbClient::slot_advance(std::string slot, std::uint64_t confirmed_lsn) {
  DbSlotAdvance request{std::move(slot), confirmed_lsn};
  const auto result = co_await context_->call(target(), std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::uint64_t>{.outcome = outcome_of(result), .error = "slot_advance did not complete"};
  if (!result->ok) co_return DbResult<std::uint64_t>{.outcome = Outcome::failed, .error = "not primary"};
  co_return DbResult<std::uint64_t>{.outcome = Outcome::ok, .value = result->confirmed_lsn};
}

sim::Task<DbResult<DbSlotReply>> DbClient::slot_lookup(std::string slot) {
  DbSlotGet request{std::move(slot)};
  const auto result = co_await context_->call(target(), std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<DbSlotReply>{.outcome = outcome_of(result), .error = "slot_get did not complete"};
  if (!result->ok) co_return DbResult<DbSlotReply>{.outcome = Outcome::failed, .error = "not primary"};
  co_return DbResult<DbSlotReply>{.outcome = Outcome::ok, .value = *result.reply};
}

sim::Task<DbResult<DbSlotReply>> DbClient::slot_create(std::string slot) {
  DbSlotCreate request{std::move(slot)};
  const auto result = co_await context_->call(target(), std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<DbSlotReply>{.outcome = outcome_of(result), .error = "slot_create did not complete"};
  if (!result->ok) co_return DbResult<DbSlotReply>{.outcome = Outcome::failed, .error = "not primary"};
  co_return DbResult<DbSlotReply>{.outcome = Outcome::ok, .value = *result.reply};
}

sim::Task<DbResult<std::uint32_t>> DbTransaction::update(std::string table, std::int64_t id, std::int64_t new_state,
                                                         std::optional<std::int64_t> expected_state) {
  DbUpdate request{tx_, std::move(table), id, new_state, expected_state};
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  if (!result.ok())
    co_return DbResult<std::uint32_t>{.outcome = outcome_of(result), .error = "update did not complete"};
  if (!result->ok) co_return DbResult<std::uint32_t>{.outcome = Outcome::failed, .error = result->error};
  co_return DbResult<std::uint32_t>{.outcome = Outcome::ok, .value = result->affected};
}

sim::Task<DbResult<DbClaimReply>> DbTransaction::claim(DbClaim request) {
  request.tx = tx_;
  const auto result = co_await context_->call(database_, std::move(request), timeout_);
  // Built in a named local: g++ 12 mis-tracks a braced temporary holding a string here.
  DbResult<DbClaimReply> claimed;
  if (!result.ok()) {
    claimed.outcome = outcome_of(result);
    claimed.error = "claim did not complete";
  } else if (!result->ok) {
    claimed.outcome = Outcome::failed;
    claimed.error = result->error;
  } else {
    claimed.outcome = Outcome::ok;
    claimed.value = *result.reply;
  }
  co_return claimed;
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
