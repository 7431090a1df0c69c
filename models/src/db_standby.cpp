// The database's standby side and the primary's side of streaming replication: see
// db.h (DbCluster) for the semantics. Only a database that belongs to a cluster runs
// any of this; a single database never does.
#include <algorithm>
#include <limits>

#include "faultline/models/db.h"

namespace faultline::models {

namespace {

// How many log records one replication message carries at most.
constexpr std::size_t replication_batch = 64;

}  // namespace

bool Database::is_primary() const {
  return settings_.cluster == nullptr || settings_.cluster->primary == context_.node();
}

std::uint64_t Database::timeline() const {
  return settings_.cluster == nullptr ? 1 : settings_.cluster->timeline;
}

std::uint64_t Database::decodable_lsn() const {
  const DbCluster* cluster = settings_.cluster;
  if (cluster == nullptr || cluster->slot_sync == SlotSync::off || cluster->standby == 0)
    return std::numeric_limits<std::uint64_t>::max();
  return standby_lsn_;
}

sim::Task<bool> Database::wait_for_standby(std::uint64_t lsn) {
  for (;;) {
    if (!is_primary()) co_return false;
    // The standby was promoted away or never existed: nothing to wait for.
    if (settings_.cluster->standby == 0 || standby_lsn_ >= lsn) co_return true;
    co_await context_.sleep(settings_.replication_interval);
  }
}

sim::Task<void> Database::stream_to_standby() {
  DbCluster& cluster = *settings_.cluster;
  std::map<std::string, std::uint64_t> slots_sent;
  for (;;) {
    // Only the primary sends; and a failover happens at most once per run, so a
    // promoted standby has no one to send to.
    if (!is_primary() || cluster.standby == 0) co_return;
    // Like a WAL sender, only what is durable here is sent.
    const auto durable = wal_.durable();
    const bool slots_changed = cluster.slot_sync == SlotSync::on && slots_sent != slots_;
    if (standby_records_ >= durable.size() && !slots_changed) {
      co_await context_.sleep(settings_.replication_interval);
      continue;
    }
    DbReplicate request;
    request.from_record = std::min(standby_records_, durable.size());
    const std::size_t end = std::min(durable.size(), request.from_record + replication_batch);
    request.records.assign(durable.begin() + static_cast<std::ptrdiff_t>(request.from_record),
                           durable.begin() + static_cast<std::ptrdiff_t>(end));
    if (cluster.slot_sync == SlotSync::on) request.slots = slots_;
    std::map<std::string, std::uint64_t> slots_offered = request.slots;
    const auto result = co_await context_.call(cluster.standby, std::move(request), settings_.replication_timeout);
    if (!result.ok() || !result->ok) {
      co_await context_.sleep(settings_.replication_interval);
      continue;
    }
    standby_records_ = result->records;
    standby_lsn_ = result->received_lsn;
    // The standby keeps slot copies only up to what it holds: offered again until it
    // has every record the slots point at.
    if (standby_records_ >= end) slots_sent = std::move(slots_offered);
  }
}

sim::Task<DbPingReply> Database::ping(DbPing request) {
  (void)request;
  const DbCluster& cluster = *settings_.cluster;
  bool ready = cluster.standby == context_.node();
  if (cluster.slot_sync == SlotSync::on)
    for (const std::string& slot : cluster.slots) ready = ready && slots_.contains(slot);
  co_return DbPingReply{.primary = is_primary(), .ready_for_promotion = ready};
}

sim::Task<DbReplicateReply> Database::replicate(DbReplicate& request) {
  const DbCluster& cluster = *settings_.cluster;
  // A promoted standby follows no one; a node that is not the standby never did.
  if (is_primary() || cluster.standby != context_.node()) co_return DbReplicateReply{};
  // A gap (this node lost an unsynced suffix): the primary resends from our length.
  if (request.from_record <= wal_.size()) {
    for (std::size_t index = wal_.size() - request.from_record; index < request.records.size(); ++index) {
      wal_.append(request.records[index]);
      replay(request.records[index]);
    }
  }
  co_await context_.sync(wal_);
  const auto durable = wal_.durable();
  std::uint64_t received = 0;
  for (const WalRecord& record : durable) received = std::max(received, record.lsn);
  if (cluster.slot_sync == SlotSync::on) {
    // pg_failover_slots: a slot copy never points beyond what this node has received,
    // so after a promotion the reader resumes at or before its confirmed position.
    bool changed = false;
    for (const auto& [slot, confirmed] : request.slots) {
      const std::uint64_t position = std::min(confirmed, received);
      const auto found = slots_.find(slot);
      if (found != slots_.end() && found->second >= position) continue;
      slots_log_.append(SlotRecord{slot, position, context_.now()});
      slots_[slot] = position;
      changed = true;
    }
    if (changed) co_await context_.sync(slots_log_);
  }
  co_return DbReplicateReply{.ok = true, .records = durable.size(), .received_lsn = received};
}

}  // namespace faultline::models
