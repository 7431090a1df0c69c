// The replicated broker and its controller: see broker_replication.h.
#include "faultline/models/broker_replication.h"

#include <algorithm>
#include <cassert>

namespace faultline::models {
namespace {

bool contains(const std::vector<std::uint32_t>& replicas, std::uint32_t replica) {
  return std::find(replicas.begin(), replicas.end(), replica) != replicas.end();
}

// The end of the last run of records whose epoch is at most `epoch`: where a log
// that holds `epoch` stops agreeing with one that went on to a later epoch.
std::int64_t end_of_epoch(const sim::DurableLog<StoredRecord>& log, std::uint32_t epoch) {
  std::size_t end = log.size();
  while (end > 0 && log[end - 1].leader_epoch > epoch) --end;
  return static_cast<std::int64_t>(end);
}

}  // namespace

std::string replica_node_name(std::uint32_t index) {
  return index == 0 ? std::string(node_names::broker)
                    : std::string(node_names::broker) + "-" + std::to_string(index + 1);
}

ClusterMetadata initial_cluster_metadata(std::uint32_t replicas, std::uint32_t partitions) {
  assert(replicas > 0);
  ClusterMetadata metadata;
  std::vector<std::uint32_t> everyone;
  for (std::uint32_t replica = 0; replica < replicas; ++replica) everyone.push_back(replica);
  for (std::uint32_t partition = 0; partition < partitions; ++partition)
    metadata.partitions.push_back(
        PartitionMetadata{.leader = partition % replicas, .leader_epoch = 1, .version = 1, .in_sync = everyone});
  metadata.high_watermarks.assign(replicas, std::vector<std::int64_t>(partitions, 0));
  return metadata;
}

// ---------------------------------------------------------------------------
// The replica.

BrokerReplica::BrokerReplica(sim::Context& context, ClusterMetadata& metadata, ReplicaSettings settings)
    : context_(context),
      metadata_(metadata),
      settings_(std::move(settings)),
      partitions_(settings_.partitions),
      offset_log_(context.disk().get<sim::DurableLog<OffsetCommit>>("offsets")) {
  assert(settings_.index < settings_.replica_nodes.size());
  assert(metadata_.high_watermarks.size() == settings_.replica_nodes.size());
  const std::size_t replicas = settings_.replica_nodes.size();
  for (std::uint32_t partition = 0; partition < settings_.partitions; ++partition) {
    partitions_[partition].log_ends.assign(replicas, -1);
    partitions_[partition].caught_up_at.assign(replicas, context.now());
    // A new incarnation knows no high watermark until its leader tells it (or it leads).
    set_high_watermark(partition, 0);
  }
  for (const OffsetCommit& commit : offset_log_.written())
    committed_offsets_[commit.group + "/" + commit.topic + "/" + std::to_string(commit.partition)] = commit.offset;
}

void BrokerReplica::start() {
  context_.serve<ReplicaHeartbeat>(
      [this](ReplicaHeartbeat request) -> sim::Task<ReplicaHeartbeatReply> { co_return heartbeat(request); });
  context_.serve<Produce>([this](Produce&& request) { return produce(request); });
  context_.serve<Fetch>([this](Fetch&& request) { return fetch(request); });
  context_.serve<ReplicaFetch>([this](ReplicaFetch&& request) { return replica_fetch(request); });
  context_.serve<CommitOffset>([this](CommitOffset&& request) { return commit_offset(request); });
  context_.serve<FetchOffset>([this](FetchOffset&& request) { return fetch_offset(request); });
  for (std::uint32_t partition = 0; partition < partitions_.size(); ++partition) context_.spawn(follow(partition));
  context_.spawn(keep_in_sync_set());
  if (settings_.replication.fsync == BrokerFsync::periodic) context_.spawn(flush_periodically());
}

bool BrokerReplica::leads(std::uint32_t partition) const {
  return partitions_[partition].metadata.leader == settings_.index;
}

sim::DurableLog<StoredRecord>& BrokerReplica::log(std::uint32_t partition) {
  return context_.disk().get<sim::DurableLog<StoredRecord>>(Broker::log_name(settings_.topic, partition));
}

std::int64_t BrokerReplica::counted_end(std::uint32_t partition) {
  const auto& records = log(partition);
  return static_cast<std::int64_t>(settings_.replication.fsync == BrokerFsync::per_write ? records.synced_size()
                                                                                         : records.size());
}

void BrokerReplica::set_high_watermark(std::uint32_t partition, std::int64_t high_watermark) {
  partitions_[partition].high_watermark = high_watermark;
  metadata_.high_watermarks[settings_.index][partition] = high_watermark;
}

void BrokerReplica::advance_high_watermark(std::uint32_t partition) {
  if (!leads(partition)) return;
  PartitionState& state = partitions_[partition];
  std::int64_t covered = counted_end(partition);
  const auto include = [&](std::uint32_t replica) {
    if (replica != settings_.index) covered = std::min(covered, std::max<std::int64_t>(0, state.log_ends[replica]));
  };
  for (const std::uint32_t replica : state.metadata.in_sync) include(replica);
  for (const std::uint32_t replica : state.joining) include(replica);
  // The leader's high watermark never moves back.
  if (covered > state.high_watermark) set_high_watermark(partition, covered);
}

void BrokerReplica::apply_metadata(std::uint32_t partition, const PartitionMetadata& metadata) {
  PartitionState& state = partitions_[partition];
  if (metadata.version <= state.metadata.version) return;  // a stale message overtaken by a newer one
  const bool led = leads(partition);
  const std::uint32_t previous_epoch = state.metadata.leader_epoch;
  state.metadata = metadata;
  if (!leads(partition)) {
    state.joining.clear();
    return;
  }
  if (!led || previous_epoch != metadata.leader_epoch) {
    // A new leadership: nothing is known of the followers at this epoch yet; the
    // high watermark starts from what this replica learned as a follower.
    context_.note("lead", "partition " + std::to_string(partition) + " epoch " + std::to_string(metadata.leader_epoch));
    state.log_ends.assign(state.log_ends.size(), -1);
    state.caught_up_at.assign(state.caught_up_at.size(), context_.now());
    state.joining.clear();
    state.altering = false;
    auto& records = log(partition);
    set_high_watermark(partition,
                       std::min<std::int64_t>(state.high_watermark, static_cast<std::int64_t>(records.size())));
    // Idempotence: the producer sequences this leader holds, rebuilt from its log (as
    // Kafka rebuilds producer state from the log on becoming leader).
    for (auto entry = last_sequence_.begin(); entry != last_sequence_.end();)
      entry = entry->first.second == partition ? last_sequence_.erase(entry) : std::next(entry);
    for (const StoredRecord& record : records.written())
      if (record.producer_id != 0) {
        auto& last = last_sequence_[{record.producer_id, partition}];
        last = std::max(last, record.sequence);
      }
  } else {
    // The same leadership with a new in-sync set: joiners now in it are confirmed.
    std::erase_if(state.joining, [&](std::uint32_t replica) { return contains(state.metadata.in_sync, replica); });
  }
  advance_high_watermark(partition);
}

void BrokerReplica::truncate(std::uint32_t partition, std::int64_t size) {
  auto& records = log(partition);
  const auto target = static_cast<std::size_t>(std::max<std::int64_t>(0, size));
  if (target >= records.size()) return;
  context_.note("truncate", "partition " + std::to_string(partition) + " to offset " + std::to_string(target) +
                                " (dropping " + std::to_string(records.size() - target) + ")");
  if (settings_.sink != nullptr) {
    const std::optional<std::uint32_t> leader = partitions_[partition].metadata.leader;
    settings_.sink->truncations.push_back(Truncation{context_.name(), partition, static_cast<std::int64_t>(target),
                                                     static_cast<std::int64_t>(records.size() - target),
                                                     leader ? replica_node_name(*leader) : std::string("none"),
                                                     context_.now()});
  }
  // The storage drops a suffix only down to a synced point: drop to there, then put
  // back the unsynced records below the target (still unsynced).
  const std::size_t synced = records.synced_size();
  std::vector<StoredRecord> kept;
  for (std::size_t offset = synced; offset < target; ++offset) kept.push_back(records[offset]);
  records.lose_synced_suffix(synced > target ? synced - target : 0);
  for (auto& record : kept) records.append(std::move(record));
  assert(records.size() == target);
  PartitionState& state = partitions_[partition];
  if (state.high_watermark > size) set_high_watermark(partition, size);
}

ReplicaHeartbeatReply BrokerReplica::heartbeat(const ReplicaHeartbeat& request) {
  assert(request.partitions.size() == partitions_.size());
  for (std::uint32_t partition = 0; partition < partitions_.size(); ++partition)
    apply_metadata(partition, request.partitions[partition]);
  return ReplicaHeartbeatReply{.incarnation = context_.incarnation()};
}

sim::Task<ProduceReply> BrokerReplica::produce(Produce& request) {
  const std::uint32_t partition = partition_for(request.event.key, settings_.partitions);
  ProduceReply reply{.ok = false, .partition = partition};
  if (request.topic != settings_.topic) {
    reply.error = broker_errors::unknown_topic;
    co_return reply;
  }
  if (!leads(partition)) {
    reply.error = broker_errors::not_leader;
    co_return reply;
  }
  const BrokerReplication& replication = settings_.replication;
  const std::uint32_t epoch = partitions_[partition].metadata.leader_epoch;
  if (request.acks == ProducerAcks::all && partitions_[partition].metadata.in_sync.size() < replication.min_in_sync) {
    reply.error = broker_errors::not_enough_replicas;
    co_return reply;
  }
  if (request.producer_id != 0) {
    // An idempotent producer's retry of a record already appended is acknowledged, not appended.
    const auto last = last_sequence_.find({request.producer_id, partition});
    if (last != last_sequence_.end() && request.sequence <= last->second)
      co_return ProduceReply{.ok = true, .partition = partition, .offset = -1};
    last_sequence_[{request.producer_id, partition}] =
        request.sequence + static_cast<std::int64_t>(request.more.size());
  }
  auto& records = log(partition);
  const auto offset = static_cast<std::int64_t>(records.size());
  append_batch(records, request,
               StoredRecord{.producer_id = request.producer_id,
                            .sequence = request.sequence,
                            .appended_at = context_.now(),
                            .leader_epoch = epoch});
  const auto last_offset = static_cast<std::int64_t>(records.size()) - 1;
  co_await context_.point("broker.produce.before_sync");
  if (replication.fsync == BrokerFsync::per_write) co_await context_.sync(records);
  co_await context_.point("broker.produce.after_sync");
  const auto still_leading = [&] { return leads(partition) && partitions_[partition].metadata.leader_epoch == epoch; };
  if (still_leading()) advance_high_watermark(partition);
  // acks=1 (and acks=0, whose reply nobody waits for): the local append is enough.
  const auto acknowledged = [&] {
    if (settings_.sink != nullptr)
      for (std::int64_t appended = offset; appended <= last_offset; ++appended)
        settings_.sink->acknowledged.push_back(
            AcknowledgedAppend{context_.name(), partition, appended,
                               log(partition)[static_cast<std::size_t>(appended)].event, context_.now()});
    return ProduceReply{.ok = true, .partition = partition, .offset = offset};
  };
  if (request.acks != ProducerAcks::all) co_return acknowledged();
  // acks=all: wait until the high watermark covers the record, i.e. every in-sync
  // replica has it.
  const sim::Instant deadline = context_.now() + settings_.produce_wait_max;
  for (;;) {
    if (!still_leading()) {
      reply.error = broker_errors::lost_leadership_after_append;
      co_return reply;
    }
    if (partitions_[partition].high_watermark > last_offset) break;
    if (context_.now() >= deadline) {
      reply.error = broker_errors::request_timed_out;
      co_return reply;
    }
    co_await context_.sleep(sim::Duration::millis(1));
  }
  if (partitions_[partition].metadata.in_sync.size() < replication.min_in_sync) {
    reply.error = broker_errors::not_enough_replicas_after_append;
    co_return reply;
  }
  co_return acknowledged();
}

sim::Task<FetchReply> BrokerReplica::fetch(Fetch& request) {
  // Consumers read from the leader, and only below its high watermark: a record
  // above it may still vanish in a failover.
  FetchReply reply;
  if (request.topic != settings_.topic || request.partition >= partitions_.size()) {
    reply.error = broker_errors::unknown_topic;
    co_return reply;
  }
  if (!leads(request.partition)) {
    reply.error = broker_errors::not_leader;
    co_return reply;
  }
  reply.ok = true;
  const auto& records = log(request.partition);
  const std::int64_t end =
      std::min<std::int64_t>(partitions_[request.partition].high_watermark, static_cast<std::int64_t>(records.size()));
  for (std::int64_t offset = std::max<std::int64_t>(0, request.offset);
       offset < end && reply.records.size() < request.max_records; ++offset)
    reply.records.push_back(records[static_cast<std::size_t>(offset)]);
  co_return reply;
}

sim::Task<ReplicaFetchReply> BrokerReplica::replica_fetch(ReplicaFetch& request) {
  ReplicaFetchReply reply;
  assert(request.partition < partitions_.size());
  PartitionState& state = partitions_[request.partition];
  if (!leads(request.partition) || request.leader_epoch != state.metadata.leader_epoch) {
    reply.error = broker_errors::not_leader;
    co_return reply;
  }
  const auto& records = log(request.partition);
  if (request.fetch_offset > 0) {
    const std::int64_t end = end_of_epoch(records, request.last_fetched_epoch);
    const std::uint32_t epoch_here = end > 0 ? records[static_cast<std::size_t>(end - 1)].leader_epoch : 0;
    if (epoch_here != request.last_fetched_epoch || end < request.fetch_offset) {
      reply.diverging = true;
      reply.diverging_epoch = epoch_here;
      reply.diverging_end_offset = end;
      reply.high_watermark = state.high_watermark;
      co_return reply;
    }
  }
  state.log_ends[request.replica] = request.log_end;
  if (request.fetch_offset >= static_cast<std::int64_t>(records.size()))
    state.caught_up_at[request.replica] = context_.now();
  // Whole batches only: a follower never holds part of one.
  for (auto offset = static_cast<std::size_t>(request.fetch_offset);
       offset < records.size() &&
       (reply.records.size() < request.max_records || reply.records.back().batch_remaining > 0);
       ++offset)
    reply.records.push_back(records[offset]);
  advance_high_watermark(request.partition);
  reply.high_watermark = state.high_watermark;
  co_return reply;
}

sim::Task<void> BrokerReplica::follow(std::uint32_t partition) {
  // One fetcher per partition, so a slow fetch of one partition does not hold back
  // the others (and push their followers out of the in-sync set).
  for (;;) {
    bool fetched = false;
    if (!leads(partition) && partitions_[partition].metadata.leader.has_value())
      fetched = co_await follow_partition(partition);
    if (!fetched) co_await context_.sleep(settings_.fetch_idle_interval);
  }
}

sim::Task<bool> BrokerReplica::follow_partition(std::uint32_t partition) {
  const PartitionMetadata metadata = partitions_[partition].metadata;
  auto& records = log(partition);
  const auto fetch_offset = static_cast<std::int64_t>(records.size());
  ReplicaFetch request{.partition = partition,
                       .replica = settings_.index,
                       .leader_epoch = metadata.leader_epoch,
                       .fetch_offset = fetch_offset,
                       .last_fetched_epoch = records.size() > 0 ? records[records.size() - 1].leader_epoch : 0,
                       .log_end = counted_end(partition)};
  const auto result =
      co_await context_.call(settings_.replica_nodes[*metadata.leader], std::move(request), settings_.timeout);
  if (!result.ok() || !result->error.empty()) co_return false;
  // Leadership changed while the fetch was out: its answer is about an old epoch.
  if (partitions_[partition].metadata.leader_epoch != metadata.leader_epoch || leads(partition)) co_return false;
  if (result->diverging) {
    // Leader-epoch truncation: keep only what both logs agree on, i.e. up to the end
    // of the leader's last epoch not above ours, or our own end of it if shorter.
    truncate(partition, std::min(result->diverging_end_offset, end_of_epoch(records, result->diverging_epoch)));
    co_return true;
  }
  // Our log moved meanwhile (a truncation): this answer no longer lines up with it.
  if (static_cast<std::int64_t>(records.size()) != fetch_offset) co_return false;
  for (const StoredRecord& record : result->records) {
    assert(record.offset == static_cast<std::int64_t>(records.size()));
    records.append(record);
  }
  if (!result->records.empty() && settings_.replication.fsync == BrokerFsync::per_write)
    co_await context_.sync(records);
  PartitionState& state = partitions_[partition];
  if (state.metadata.leader_epoch == metadata.leader_epoch && !leads(partition))
    set_high_watermark(partition, std::min(result->high_watermark, static_cast<std::int64_t>(records.size())));
  co_return !result->records.empty();
}

sim::Task<void> BrokerReplica::keep_in_sync_set() {
  const BrokerReplication& replication = settings_.replication;
  for (;;) {
    co_await context_.sleep(settings_.in_sync_check_interval);
    for (std::uint32_t partition = 0; partition < partitions_.size(); ++partition) {
      PartitionState& state = partitions_[partition];
      if (!leads(partition) || state.altering) continue;
      // A follower stays in sync while it caught up with the leader's log within the
      // lag bound; one outside joins once its log reaches the high watermark.
      std::vector<std::uint32_t> wanted;
      for (std::uint32_t replica = 0; replica < settings_.replica_nodes.size(); ++replica) {
        if (replica == settings_.index) {
          wanted.push_back(replica);
        } else if (contains(state.metadata.in_sync, replica)) {
          if (context_.now() - state.caught_up_at[replica] <= replication.replica_lag_max) wanted.push_back(replica);
        } else if (state.log_ends[replica] >= 0 && state.log_ends[replica] >= state.high_watermark) {
          wanted.push_back(replica);
        }
      }
      if (wanted == state.metadata.in_sync) continue;
      for (const std::uint32_t replica : wanted)
        if (!contains(state.metadata.in_sync, replica) && !contains(state.joining, replica))
          state.joining.push_back(replica);
      state.altering = true;
      const std::uint32_t epoch = state.metadata.leader_epoch;
      AlterInSync request{.partition = partition, .replica = settings_.index, .leader_epoch = epoch, .in_sync = wanted};
      const auto result = co_await context_.call(settings_.controller, std::move(request), settings_.timeout);
      PartitionState& after = partitions_[partition];
      after.altering = false;
      // An unanswered request may still have been applied: the joiners stay counted
      // until the controller's answer, or a heartbeat, settles it.
      if (!result.ok()) continue;
      if (after.metadata.leader_epoch == epoch) after.joining.clear();
      apply_metadata(partition, result->partition);
      advance_high_watermark(partition);
    }
  }
}

sim::Task<void> BrokerReplica::flush_periodically() {
  for (;;) {
    co_await context_.sleep(settings_.replication.fsync_interval);
    for (std::uint32_t partition = 0; partition < partitions_.size(); ++partition) {
      auto& records = log(partition);
      if (records.synced_size() < records.size()) co_await context_.sync(records);
    }
  }
}

sim::Task<CommitOffsetReply> BrokerReplica::commit_offset(CommitOffset& request) {
  offset_log_.append(OffsetCommit{request.group, request.topic, request.partition, request.offset});
  co_await context_.sync(offset_log_);
  committed_offsets_[request.group + "/" + request.topic + "/" + std::to_string(request.partition)] = request.offset;
  co_return CommitOffsetReply{.ok = true};
}

sim::Task<FetchOffsetReply> BrokerReplica::fetch_offset(FetchOffset& request) {
  const auto found =
      committed_offsets_.find(request.group + "/" + request.topic + "/" + std::to_string(request.partition));
  // The log end for an offset reset to "latest": this replica's high watermark, the
  // end it knows consumers may read up to.
  const std::int64_t log_end =
      request.partition < partitions_.size() ? partitions_[request.partition].high_watermark : 0;
  co_return FetchOffsetReply{
      .ok = true, .offset = found == committed_offsets_.end() ? -1 : found->second, .log_end = log_end};
}

// ---------------------------------------------------------------------------
// The controller.

Controller::Controller(sim::Context& context, ClusterMetadata& metadata, ControllerSettings settings)
    : context_(context),
      metadata_(metadata),
      settings_(std::move(settings)),
      alive_(settings_.replica_nodes.size(), true),
      heartbeat_in_flight_(settings_.replica_nodes.size(), false),
      answered_at_(settings_.replica_nodes.size(), context.now()),
      incarnations_(settings_.replica_nodes.size(), 0) {
  assert(metadata_.partitions.size() == settings_.partitions);
}

void Controller::start() {
  context_.serve<Metadata>([this](Metadata) -> sim::Task<MetadataReply> {
    MetadataReply reply;
    for (const PartitionMetadata& partition : metadata_.partitions)
      reply.leaders.push_back(partition.leader ? std::optional(settings_.replica_nodes[*partition.leader])
                                               : std::nullopt);
    co_return reply;
  });
  context_.serve<AlterInSync>(
      [this](AlterInSync request) -> sim::Task<AlterInSyncReply> { co_return alter_in_sync(request); });
  context_.spawn(watch());
}

sim::Task<void> Controller::watch() {
  for (;;) {
    for (std::uint32_t replica = 0; replica < settings_.replica_nodes.size(); ++replica)
      if (!heartbeat_in_flight_[replica]) context_.spawn(heartbeat(replica));
    co_await context_.sleep(settings_.heartbeat_interval);
    for (std::uint32_t replica = 0; replica < settings_.replica_nodes.size(); ++replica)
      if (alive_[replica] && context_.now() - answered_at_[replica] > settings_.session_timeout) fence(replica);
  }
}

sim::Task<void> Controller::heartbeat(std::uint32_t replica) {
  heartbeat_in_flight_[replica] = true;
  ReplicaHeartbeat request{.partitions = metadata_.partitions};
  const auto result = co_await context_.call(settings_.replica_nodes[replica], std::move(request),
                                             settings_.heartbeat_interval + settings_.heartbeat_interval);
  heartbeat_in_flight_[replica] = false;
  if (!result.ok()) co_return;
  answered_at_[replica] = context_.now();
  // A replica that restarted lost its volatile state (and, with periodic fsync, its
  // unsynced records) while the controller was not looking: fence it first, as
  // Kafka does with a broker that re-registers with a new broker epoch.
  if (incarnations_[replica] != 0 && incarnations_[replica] != result->incarnation && alive_[replica]) fence(replica);
  incarnations_[replica] = result->incarnation;
  if (!alive_[replica]) unfence(replica);
}

void Controller::changed(PartitionMetadata& partition) {
  ++partition.version;
}

void Controller::fence(std::uint32_t replica) {
  context_.note("fence", replica_node_name(replica));
  alive_[replica] = false;
  for (std::uint32_t partition = 0; partition < metadata_.partitions.size(); ++partition) {
    PartitionMetadata& state = metadata_.partitions[partition];
    // The last in-sync replica stays in the set even when it is gone: only it is
    // known to hold every committed record (Kafka keeps it too).
    if (contains(state.in_sync, replica) && state.in_sync.size() > 1) {
      std::erase(state.in_sync, replica);
      changed(state);
    }
    if (state.leader == replica) elect(partition);
  }
}

void Controller::unfence(std::uint32_t replica) {
  context_.note("unfence", replica_node_name(replica));
  alive_[replica] = true;
  for (std::uint32_t partition = 0; partition < metadata_.partitions.size(); ++partition)
    if (!metadata_.partitions[partition].leader.has_value()) elect(partition);
}

void Controller::elect(std::uint32_t partition) {
  PartitionMetadata& state = metadata_.partitions[partition];
  std::optional<std::uint32_t> chosen;
  for (const std::uint32_t replica : state.in_sync)
    if (alive_[replica]) {
      chosen = replica;
      break;
    }
  if (!chosen && settings_.unclean_election == UncleanElection::on) {
    // Unclean election: any live replica, whatever it lacks; what it lacks is lost.
    for (std::uint32_t replica = 0; replica < alive_.size() && !chosen; ++replica)
      if (alive_[replica]) chosen = replica;
    if (chosen) state.in_sync = {*chosen};
  }
  if (!chosen && !state.leader.has_value()) return;  // still offline: nothing changes
  state.leader = chosen;
  ++state.leader_epoch;
  changed(state);
  context_.note("elect", "partition " + std::to_string(partition) + " leader " +
                             (chosen ? replica_node_name(*chosen) : std::string("none (offline)")) + " epoch " +
                             std::to_string(state.leader_epoch));
}

AlterInSyncReply Controller::alter_in_sync(const AlterInSync& request) {
  assert(request.partition < metadata_.partitions.size());
  PartitionMetadata& state = metadata_.partitions[request.partition];
  AlterInSyncReply reply{.accepted = false, .partition = state};
  if (state.leader != request.replica || state.leader_epoch != request.leader_epoch) return reply;
  if (!contains(request.in_sync, request.replica)) return reply;
  for (const std::uint32_t replica : request.in_sync)
    if (!contains(state.in_sync, replica) && !alive_[replica]) return reply;  // never add a fenced replica
  std::vector<std::uint32_t> in_sync = request.in_sync;
  std::sort(in_sync.begin(), in_sync.end());
  if (in_sync != state.in_sync) {
    state.in_sync = std::move(in_sync);
    changed(state);
  }
  reply.accepted = true;
  reply.partition = state;
  return reply;
}

std::map<std::string, std::vector<StoredRecord>> surviving_records(const ClusterMetadata& metadata,
                                                                   const std::vector<sim::Disk*>& replica_disks,
                                                                   const std::string& topic) {
  std::map<std::string, std::vector<StoredRecord>> logs;
  for (std::uint32_t partition = 0; partition < metadata.partitions.size(); ++partition) {
    const PartitionMetadata& state = metadata.partitions[partition];
    assert(!state.in_sync.empty());
    const std::uint32_t holder = state.leader.value_or(state.in_sync.front());
    const std::string name = Broker::log_name(topic, partition);
    const auto* records = replica_disks[holder]->find<sim::DurableLog<StoredRecord>>(name);
    if (records == nullptr) continue;
    const auto end =
        std::min<std::int64_t>(metadata.high_watermarks[holder][partition], static_cast<std::int64_t>(records->size()));
    logs[name].assign(records->written().begin(), records->written().begin() + end);
  }
  return logs;
}

}  // namespace faultline::models
