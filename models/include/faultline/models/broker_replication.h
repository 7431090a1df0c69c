// A replicated broker, with Kafka's semantics: each partition has a leader replica
// and followers that pull from it; the leader keeps the in-sync set (ISR) and the
// high watermark (the smallest log end over the ISR: what consumers may read and
// what acks=all waits for); a controller elects leaders and bumps a leader epoch; a
// follower of a new leader truncates the suffix its log does not share with the
// leader's (leader-epoch truncation), so records only an old leader had disappear.
// Weak settings (acks=1, unclean election, periodic fsync) make acknowledged records
// disappear that way; acks=all with min ISR 2 and no unclean election keeps them.
//
// Kafka's controller is a quorum (KRaft) replicated apart from the brokers. It is
// modelled as one node that no fault plan names, and its metadata lives outside every
// fault domain (ClusterMetadata, owned by the world): the metadata quorum is assumed
// reliable. It still talks to the replicas only by RPC, so partitions, pauses and
// crashes of replicas reach it the way they reach a real controller: by missed
// heartbeats.
//
// One topic is replicated (ReplicaSettings::topic); its partitions' logs have the
// names of the single broker's (Broker::log_name), so the same readers apply.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// The controller's record of one partition (KRaft's PartitionRecord).
struct PartitionMetadata {
  std::optional<std::uint32_t> leader;  // replica index; none while the partition is offline
  std::uint32_t leader_epoch = 0;       // bumped at every change of leader
  std::uint64_t version = 0;            // bumped at every change (leader or ISR): replicas keep the newest
  std::vector<std::uint32_t> in_sync;   // replica indexes, ascending; never empty
};

// The metadata quorum's state, outside every fault domain. `high_watermarks` is an
// observation probe, not metadata: each replica writes its current high watermark
// there (per replica, per partition) so the world can read the final leader's after
// the run; no model reads it.
struct ClusterMetadata {
  std::vector<PartitionMetadata> partitions;
  std::vector<std::vector<std::int64_t>> high_watermarks;  // [replica][partition]
};

// A fresh cluster: partition p led by replica p % replicas (leaders spread over the
// replicas, as Kafka's preferred leaders are), every replica in sync, epoch 1.
ClusterMetadata initial_cluster_metadata(std::uint32_t replicas, std::uint32_t partitions);

// Controller -> replica: "are you alive?", carrying the current metadata, so every
// replica learns its role from the heartbeats.
struct ReplicaHeartbeatReply {
  std::uint32_t incarnation = 0;  // a new incarnation is a replica that restarted
};
struct ReplicaHeartbeat {
  using Reply = ReplicaHeartbeatReply;
  static constexpr std::string_view rpc_name = "broker.heartbeat";
  std::vector<PartitionMetadata> partitions;
};

// Leader -> controller: change the in-sync set (Kafka's AlterPartition). Accepted only
// from the current leader at the current epoch, and never adds a fenced replica.
struct AlterInSyncReply {
  bool accepted = false;
  PartitionMetadata partition;  // the controller's record after the request
};
struct AlterInSync {
  using Reply = AlterInSyncReply;
  static constexpr std::string_view rpc_name = "controller.alter_isr";
  std::uint32_t partition = 0;
  std::uint32_t replica = 0;
  std::uint32_t leader_epoch = 0;
  std::vector<std::uint32_t> in_sync;
};

// Follower -> leader: records from `fetch_offset`. `last_fetched_epoch` is the epoch
// of the follower's last record; if the leader's log does not hold that epoch up to
// `fetch_offset`, the reply names where the logs diverge instead of sending records.
// `log_end` is the follower's end that counts for the high watermark (its synced end
// when fsync is per write).
struct ReplicaFetchReply {
  std::string error;  // broker_errors::not_leader when the callee does not lead at that epoch
  std::vector<StoredRecord> records;
  std::int64_t high_watermark = 0;
  // Divergence: the leader's largest epoch not above last_fetched_epoch, and where it ends.
  bool diverging = false;
  std::uint32_t diverging_epoch = 0;
  std::int64_t diverging_end_offset = 0;
};
struct ReplicaFetch {
  using Reply = ReplicaFetchReply;
  static constexpr std::string_view rpc_name = "broker.replica_fetch";
  std::uint32_t partition = 0;
  std::uint32_t replica = 0;
  std::uint32_t leader_epoch = 0;
  std::int64_t fetch_offset = 0;
  std::uint32_t last_fetched_epoch = 0;
  std::int64_t log_end = 0;
  std::uint32_t max_records = 64;
};

// What replicas did that their durable logs no longer show, for the checkers' stories:
// appends acknowledged to a producer, and suffixes a follower of a new leader dropped.
// The world owns it, outside every node (like DeliverySink): writing to it neither
// draws from a random stream nor touches the trace, so observing never changes a run.
struct AcknowledgedAppend {
  std::string replica;  // the leader that acknowledged it
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  Event event;
  sim::Instant acknowledged_at;
};
struct Truncation {
  std::string replica;  // the replica that dropped the suffix
  std::uint32_t partition = 0;
  std::int64_t from_offset = 0;  // the first offset dropped
  std::int64_t dropped = 0;
  std::string leader;  // the partition's leader then, as the replica knew it
  sim::Instant at;
};
struct ReplicaSink {
  std::vector<AcknowledgedAppend> acknowledged;  // in acknowledgement order
  std::vector<Truncation> truncations;           // in time order
};

struct ReplicaSettings {
  std::uint32_t index = 0;                 // this replica's place in `replica_nodes`
  std::vector<sim::NodeId> replica_nodes;  // every replica, in order
  sim::NodeId controller = 0;
  std::uint32_t partitions = 4;
  std::string topic = "orders";
  BrokerReplication replication;
  sim::Duration fetch_idle_interval = sim::Duration::millis(2);  // a follower's wait after an empty fetch
  sim::Duration in_sync_check_interval = sim::Duration::millis(5);
  sim::Duration timeout = sim::Duration::millis(40);            // above the network's latency spikes
  sim::Duration produce_wait_max = sim::Duration::millis(100);  // acks=all: bound on waiting for replication
  ReplicaSink* sink = nullptr;                                  // observes acknowledgements and truncations
};

// One broker replica: leader of some partitions, follower of the others, and (the
// first replica) the consumer groups' coordinator, which keeps the committed offsets
// in its own synced log, as the single broker does.
class BrokerReplica {
 public:
  BrokerReplica(sim::Context& context, ClusterMetadata& metadata, ReplicaSettings settings);
  void start();

 private:
  struct OffsetCommit {
    std::string group;
    std::string topic;
    std::uint32_t partition = 0;
    std::int64_t offset = 0;
  };
  // What this incarnation knows and tracks of one partition (volatile).
  struct PartitionState {
    PartitionMetadata metadata;  // as last heard from the controller (or the AlterInSync reply)
    std::int64_t high_watermark = 0;
    // As leader: each replica's log end (from its fetches at this epoch; -1 before the
    // first), when it was last caught up with the leader's log, and the replicas an
    // in-flight AlterInSync adds (counted for the high watermark already, as Kafka's
    // "maximal ISR" does).
    std::vector<std::int64_t> log_ends;
    std::vector<sim::Instant> caught_up_at;
    std::vector<std::uint32_t> joining;
    bool altering = false;
  };

  bool leads(std::uint32_t partition) const;
  sim::DurableLog<StoredRecord>& log(std::uint32_t partition);
  // The log end that counts toward the high watermark: synced appends only when fsync is per write.
  std::int64_t counted_end(std::uint32_t partition);
  void set_high_watermark(std::uint32_t partition, std::int64_t high_watermark);
  void advance_high_watermark(std::uint32_t partition);
  void apply_metadata(std::uint32_t partition, const PartitionMetadata& metadata);
  void truncate(std::uint32_t partition, std::int64_t size);

  ReplicaHeartbeatReply heartbeat(const ReplicaHeartbeat& request);
  // Request handlers take the request by reference: it lives in the serving coroutine
  // until the reply is sent (sim::Context::serve).
  sim::Task<ProduceReply> produce(Produce& request);
  sim::Task<FetchReply> fetch(Fetch& request);
  sim::Task<ReplicaFetchReply> replica_fetch(ReplicaFetch& request);
  sim::Task<CommitOffsetReply> commit_offset(CommitOffset& request);
  sim::Task<FetchOffsetReply> fetch_offset(FetchOffset& request);
  sim::Task<void> follow(std::uint32_t partition);
  sim::Task<bool> follow_partition(std::uint32_t partition);
  sim::Task<void> keep_in_sync_set();
  sim::Task<void> flush_periodically();

  sim::Context& context_;
  ClusterMetadata& metadata_;
  ReplicaSettings settings_;
  std::vector<PartitionState> partitions_;
  sim::DurableLog<OffsetCommit>& offset_log_;
  std::map<std::string, std::int64_t> committed_offsets_;                          // "group/topic/partition" -> offset
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::int64_t> last_sequence_;  // idempotence
};

struct ControllerSettings {
  std::vector<sim::NodeId> replica_nodes;
  std::uint32_t partitions = 4;
  UncleanElection unclean_election = UncleanElection::off;
  sim::Duration heartbeat_interval = sim::Duration::millis(5);
  sim::Duration session_timeout = sim::Duration::millis(25);  // no heartbeat answered for this long: fenced
};

// The controller: watches the replicas by heartbeat, fences one that stops answering
// (or comes back as a new incarnation), and elects partition leaders: from the live
// in-sync replicas, or, with unclean election, from any live replica; otherwise the
// partition stays offline until an in-sync replica returns.
class Controller {
 public:
  Controller(sim::Context& context, ClusterMetadata& metadata, ControllerSettings settings);
  void start();

 private:
  sim::Task<void> watch();
  sim::Task<void> heartbeat(std::uint32_t replica);
  void fence(std::uint32_t replica);
  void unfence(std::uint32_t replica);
  void elect(std::uint32_t partition);
  void changed(PartitionMetadata& partition);
  AlterInSyncReply alter_in_sync(const AlterInSync& request);

  sim::Context& context_;
  ClusterMetadata& metadata_;
  ControllerSettings settings_;
  std::vector<bool> alive_;
  std::vector<bool> heartbeat_in_flight_;
  std::vector<sim::Instant> answered_at_;
  std::vector<std::uint32_t> incarnations_;  // 0: not heard from yet
};

// The records that survive, per partition log: the current leader's log below its
// high watermark (an offline partition's last in-sync replica's), ground truth for
// the checkers after the liveness phase.
std::map<std::string, std::vector<StoredRecord>> surviving_records(const ClusterMetadata& metadata,
                                                                   const std::vector<sim::Disk*>& replica_disks,
                                                                   const std::string& topic);

// The node name of replica `index`: "broker", "broker-2", "broker-3".
std::string replica_node_name(std::uint32_t index);

}  // namespace faultline::models
