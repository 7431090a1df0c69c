// The broker: a Kafka-like keyed, append-only log per topic partition on the broker
// node's disk. A produce is acknowledged after the append is synced; consumer-group
// offsets are committed durably in the broker, and a consumer that restarts resumes
// from its group's last committed offset.
//
// With replication (Settings::broker, broker_replication.h) the same requests go to a
// partition's leader replica; the clients below find it through a LeaderCache.
//
// Transactions (Kafka's): a transactional producer registers a transactional id
// (InitTransactions, which fences the id's older session and aborts its open
// transaction), produces records within the transaction, and ends it (EndTransaction):
// the broker durably records the decision, then appends a commit or abort marker to
// every partition the transaction touched. A transaction left open longer than the
// transaction timeout (its producer crashed) is aborted and its session fenced. Per
// partition the last stable offset (LSO) is the first offset of a still-open
// transaction: read_committed consumers read below it only, and never see records of
// aborted transactions. Transactions are served by the single broker only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faultline/models/db.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// An event as it travels through the broker. What it announces (the change of one
// client command, and which of that change's events it is) is its identity for the
// checkers; its message id is the design's own choice (an outbox row's id, a random id
// drawn at write time, ...), which a consumer's inbox deduplicates by, as a real inbox
// does. One announced event may travel under several message ids (a design that
// republishes a change under a new id), and the checkers still see one event.
struct Event {
  std::string message_id;    // the design's id for this message, e.g. stored with the outbox row
  std::string key;           // aggregate key: decides the partition
  std::int64_t command = 0;  // the client command whose change this event announces
  std::int64_t order_id = 0;
  std::uint32_t index_in_change = 1;   // which of its change's events this is, from 1
  std::uint32_t events_in_change = 1;  // how many events its change announces
  // Who appended it, for attributing duplicates: the publishing node, its incarnation
  // and which attempt of one publish this was (set by the Producer).
  sim::NodeId publisher = 0;
  std::uint32_t publisher_incarnation = 0;
  std::uint32_t attempt = 1;
  bool operator==(const Event&) const = default;
};

// What a log entry is: a record, or a transaction's commit or abort marker (markers
// take an offset but are never delivered to consumers).
enum class RecordKind : std::uint8_t { data, commit_marker, abort_marker };

struct StoredRecord {
  std::int64_t offset = 0;
  Event event;
  // Idempotent producers: the producer session and its per-partition sequence number
  // (0 and -1 for a producer without idempotence).
  std::uint64_t producer_id = 0;
  std::int64_t sequence = -1;
  sim::Instant appended_at;  // when the broker appended it (simulated time)
  // The leader epoch it was appended in (replication: how a follower finds where its
  // log diverges from a new leader's). 0 on a single broker.
  std::uint32_t leader_epoch = 0;
  // Transactions: the transactional session that appended it (0: not transactional),
  // and whether it is a record or that session's marker.
  std::uint64_t transaction = 0;
  RecordKind kind = RecordKind::data;
  // The records of its produce batch after this one: a batch is appended whole and
  // replicated whole, so its records survive or vanish together.
  std::uint32_t batch_remaining = 0;
};

// Why a broker refused a request (Kafka's error codes), in ProduceReply::error and
// FetchReply::error.
namespace broker_errors {
inline constexpr const char* not_leader = "NOT_LEADER_OR_FOLLOWER";
inline constexpr const char* not_enough_replicas = "NOT_ENOUGH_REPLICAS";
// The record was appended but could not be confirmed: it may survive or not.
inline constexpr const char* not_enough_replicas_after_append = "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
inline constexpr const char* request_timed_out = "REQUEST_TIMED_OUT";
inline constexpr const char* lost_leadership_after_append = "NOT_LEADER_AFTER_APPEND";
inline constexpr const char* unknown_topic = "UNKNOWN_TOPIC_OR_PARTITION";
// Transactions: a session replaced by a newer one with the same transactional id, or
// whose transaction timed out; and a produce while its transaction is being ended.
inline constexpr const char* producer_fenced = "PRODUCER_FENCED";
inline constexpr const char* concurrent_transactions = "CONCURRENT_TRANSACTIONS";
}  // namespace broker_errors

struct ProduceReply {
  bool ok = false;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  std::string error;
};
struct Produce {
  using Reply = ProduceReply;
  static constexpr std::string_view rpc_name = "broker.produce";
  std::string topic;
  Event event;
  std::uint64_t producer_id = 0;          // idempotence: the session's id, or 0
  std::int64_t sequence = -1;             // idempotence: the record's sequence in its partition, or -1
  ProducerAcks acks = ProducerAcks::all;  // replication: when the leader replies
  std::uint64_t transaction = 0;          // transactions: the session (from InitTransactions), or 0
  // A batch (Kafka's record batch): further records with the same key, appended right
  // after `event` in one atomic append, all or none. An idempotent producer's sequence
  // numbers the batch's first record; the rest follow it.
  std::vector<Event> more;
};

// Appends the records of `request` (its event, then its batch's others) to `log` as
// one batch, each a copy of `shape` with its offset, event, sequence and place in the
// batch filled in; the events are moved out of the request.
void append_batch(sim::DurableLog<StoredRecord>& log, Produce& request, const StoredRecord& shape);

struct FetchReply {
  bool ok = false;
  std::vector<StoredRecord> records;
  std::string error;  // replication: broker_errors::not_leader when asked of a non-leader
  // The offset after the last log entry examined (markers and aborted records are
  // examined but not returned), so a consumer can move past them. 0 when not known.
  std::int64_t next_offset = 0;
};
struct Fetch {
  using Reply = FetchReply;
  static constexpr std::string_view rpc_name = "broker.fetch";
  std::string topic;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  std::uint32_t max_records = 64;
  ConsumerIsolation isolation = ConsumerIsolation::read_committed;
};

// Transactions. InitTransactions: "I am the producer of this transactional id now".
struct InitTransactionsReply {
  bool ok = false;
  std::uint64_t producer_id = 0;  // the new session
};
struct InitTransactions {
  using Reply = InitTransactionsReply;
  static constexpr std::string_view rpc_name = "broker.init_transactions";
  std::string transactional_id;
};

enum class TransactionResult { commit, abort };
struct EndTransactionReply {
  bool ok = false;
  std::string error;  // broker_errors::producer_fenced when the session was fenced
};
struct EndTransaction {
  using Reply = EndTransactionReply;
  static constexpr std::string_view rpc_name = "broker.end_transaction";
  std::uint64_t producer_id = 0;
  TransactionResult result = TransactionResult::abort;
};

struct CommitOffsetReply {
  bool ok = false;
};
struct CommitOffset {
  using Reply = CommitOffsetReply;
  static constexpr std::string_view rpc_name = "broker.commit_offset";
  std::string group;
  std::string topic;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;  // the next offset to read
};

struct FetchOffsetReply {
  bool ok = false;
  std::int64_t offset = -1;  // -1: the group never committed on this partition
  std::int64_t log_end = 0;  // the partition's next offset (for an offset reset to latest)
};
struct FetchOffset {
  using Reply = FetchOffsetReply;
  static constexpr std::string_view rpc_name = "broker.fetch_offset";
  std::string group;
  std::string topic;
  std::uint32_t partition = 0;
};

struct BrokerSettings {
  std::uint32_t partitions = 4;
  // An open transaction older than this is aborted (its producer is presumed dead).
  sim::Duration transaction_timeout = sim::Duration::millis(100);
};

// Where a client finds the broker: one node, or the replicas and the controller
// that knows each partition's leader.
struct BrokerEndpoints {
  std::vector<sim::NodeId> replicas;  // in replica order; replicas[0] is "broker"
  std::optional<sim::NodeId> controller;
  std::uint32_t partitions = 4;
  bool replicated() const { return replicas.size() > 1; }
};

// Clients ask the controller which replica leads each partition.
struct MetadataReply {
  std::vector<std::optional<sim::NodeId>> leaders;  // per partition; none while it is offline
};
struct Metadata {
  using Reply = MetadataReply;
  static constexpr std::string_view rpc_name = "controller.metadata";
};

// A client's view of the partition leaders: asked of the controller when unknown,
// forgotten on NOT_LEADER or a failed call, so the next attempt asks again (Kafka's
// metadata refresh). With a single broker it is that broker, with no RPC at all.
class LeaderCache {
 public:
  explicit LeaderCache(BrokerEndpoints endpoints);
  const BrokerEndpoints& endpoints() const { return endpoints_; }
  // The single broker, or the cached leader of `partition` (none if unknown).
  std::optional<sim::NodeId> known(std::uint32_t partition) const;
  // The leader of `partition`, asking the controller when unknown; none while the
  // partition is offline or the controller cannot be reached.
  sim::Task<std::optional<sim::NodeId>> leader(sim::Context& context, std::uint32_t partition);
  void forget(std::uint32_t partition);

 private:
  BrokerEndpoints endpoints_;
  std::vector<std::optional<sim::NodeId>> leaders_;
};

class Broker {
 public:
  Broker(sim::Context& context, BrokerSettings settings);
  void serve();

  static std::string log_name(std::string_view topic, std::uint32_t partition);
  // Every record durably in the broker, per partition: ground truth for the checkers.
  // Only committed records: no markers, no record of an aborted or still-open transaction.
  static std::map<std::string, std::vector<StoredRecord>> durable_logs(sim::Disk& disk);
  // The last stable offset of a partition (its synced end when no transaction is open).
  std::int64_t last_stable_offset(std::string_view topic, std::uint32_t partition);

 private:
  struct OffsetCommit {
    std::string group;
    std::string topic;
    std::uint32_t partition = 0;
    std::int64_t offset = 0;
  };

  // Transactions: a session of a transactional id; the decision to end a transaction,
  // recorded before its markers (a restart finishes writing them); what the broker
  // tracks of an open transaction (volatile, rebuilt from the logs at a restart).
  struct TransactionSession {
    std::string transactional_id;
    std::uint64_t producer_id = 0;
  };
  struct TransactionDecision {
    std::uint64_t producer_id = 0;
    RecordKind marker = RecordKind::abort_marker;
    std::vector<std::pair<std::string, std::int64_t>> first_offsets;  // log name -> first offset
  };
  struct OpenTransaction {
    std::map<std::string, std::int64_t> first_offsets;  // log name -> first offset
    std::uint64_t serial = 0;                           // tells the timeout which transaction it watches
    bool ending = false;
  };

  sim::DurableLog<StoredRecord>& partition_log(std::string_view topic, std::uint32_t partition);
  // The partition logs this incarnation has opened (the disk outlives it): found by a
  // short scan instead of a name built and looked up per request.
  struct OpenLog {
    std::string topic;
    std::uint32_t partition = 0;
    sim::DurableLog<StoredRecord>* log = nullptr;
  };
  std::vector<OpenLog> open_logs_;
  bool current_session(std::uint64_t producer_id) const;
  // Records `marker` for the open transaction of `producer_id` and writes its markers.
  sim::Task<void> end_transaction(std::uint64_t producer_id, RecordKind marker);
  sim::Task<void> expire_transaction(std::uint64_t producer_id, std::uint64_t serial);
  sim::Task<std::uint64_t> new_session(std::string transactional_id);
  // Whether the transactional record at `offset` belongs to a committed transaction
  // (false while its transaction is open and once it is aborted).
  static bool committed_transaction(std::span<const StoredRecord> log, std::size_t offset);
  sim::Task<ProduceReply> produce_in_transaction(Produce request, std::uint32_t partition);

  // Request handlers take the request by reference: it lives in the serving coroutine
  // until the reply is sent (sim::Context::serve).
  sim::Task<ProduceReply> produce(Produce& request);
  sim::Task<FetchReply> fetch(Fetch& request);
  sim::Task<CommitOffsetReply> commit_offset(CommitOffset& request);
  sim::Task<FetchOffsetReply> fetch_offset(FetchOffset& request);
  sim::Task<InitTransactionsReply> init_transactions(InitTransactions& request);
  sim::Task<EndTransactionReply> end_transaction_request(EndTransaction& request);

  sim::Context& context_;
  BrokerSettings settings_;
  sim::DurableLog<OffsetCommit>& offset_log_;
  sim::DurableLog<TransactionSession>& session_log_;
  sim::DurableLog<TransactionDecision>& decision_log_;
  std::map<std::string, std::uint64_t> session_of_;             // transactional id -> current session
  std::map<std::uint64_t, std::string> transactional_id_of_;    // session -> transactional id
  std::map<std::uint64_t, OpenTransaction> open_transactions_;  // by session
  std::uint64_t next_serial_ = 1;
  // Idempotence: the highest sequence appended per (producer session, partition log).
  std::map<std::pair<std::uint64_t, std::string>, std::int64_t> last_sequence_;
  std::map<std::string, std::int64_t> committed_offsets_;  // "group/topic/partition" -> offset
};

// The producer side as a service uses it: publish with bounded retries. The same
// event (same id) is sent on every attempt; a retry after an unknown outcome may
// append it twice, which is at-least-once delivery, not a bug.
struct PublishSettings {
  sim::Duration timeout = sim::Duration::millis(50);
  std::uint32_t attempts = 3;
  sim::Duration backoff = sim::Duration::millis(5);
};

// A buffering producer, like Kafka's: send() queues a record in memory and returns
// at once; a background sender drains the buffer with at most `max_in_flight`
// requests, retrying failures; acks arrive later. The buffer is volatile: a crash
// loses every record not yet acknowledged. With idempotence, the session numbers
// its records per partition and the broker appends each (session, sequence) once,
// so retries after lost replies do not duplicate.
struct BufferedProducerSettings {
  std::uint32_t max_in_flight = 5;
  std::uint32_t attempts = 3;
  sim::Duration timeout = sim::Duration::millis(50);
  sim::Duration linger = sim::Duration::millis(1);  // how long a record waits before it is sent
  std::size_t buffer_max = 10'000;
  bool idempotent = true;
  std::uint32_t partitions = 4;
};

class BufferedProducer {
 public:
  BufferedProducer(sim::Context& context, sim::NodeId broker, BufferedProducerSettings settings);
  BufferedProducer(sim::Context& context, BrokerEndpoints broker, BufferedProducerSettings settings);
  // Queues the event; false when the buffer is full. `on_ack` hears the final outcome.
  bool send(std::string topic, Event event, std::function<void(Outcome)> on_ack = {});
  // Waits until everything queued so far has an outcome.
  sim::Task<void> flush();
  std::size_t pending() const { return queued_.size() + in_flight_; }

 private:
  struct Queued {
    Produce request;
    std::function<void(Outcome)> on_ack;
    sim::Instant ready;
  };
  sim::Task<void> sender();
  sim::Task<void> deliver(Queued record);

  sim::Context& context_;
  LeaderCache broker_;
  BufferedProducerSettings settings_;
  std::uint64_t producer_id_;
  std::map<std::string, std::int64_t> next_sequence_;  // per partition log
  std::deque<Queued> queued_;
  std::uint32_t in_flight_ = 0;
};

class Producer {
 public:
  Producer(sim::Context& context, sim::NodeId broker, PublishSettings settings)
      : context_(&context), broker_(BrokerEndpoints{.replicas = {broker}}), settings_(settings) {}
  // With acks=0 (ProducerAcks::none) a publish is "ok" as soon as it is sent.
  Producer(sim::Context& context, BrokerEndpoints broker, PublishSettings settings, ProducerAcks acks)
      : context_(&context), broker_(std::move(broker)), settings_(settings), acks_(acks) {}
  sim::Task<Outcome> publish(std::string topic, Event event);
  // Several events with one key (the events of one change) in one produce request: the
  // broker appends all of them or none.
  sim::Task<Outcome> publish_batch(std::string topic, std::vector<Event> events);

 private:
  static sim::Task<void> send_without_waiting(sim::Context& context, sim::NodeId broker, Produce request,
                                              sim::Duration timeout);

  sim::Context* context_;
  LeaderCache broker_;
  PublishSettings settings_;
  ProducerAcks acks_ = ProducerAcks::all;
};

// A transactional producer, as a service uses it (single broker): init() registers the
// transactional id (fencing older sessions, whose open transaction the broker
// aborts); send() produces a record in the current transaction; end() commits or
// aborts it. A send whose outcome is unknown is not retried: the caller aborts.
class TransactionalProducer {
 public:
  TransactionalProducer(sim::Context& context, sim::NodeId broker, std::string transactional_id,
                        PublishSettings settings = {});
  sim::Task<Outcome> init();
  sim::Task<Outcome> send(std::string topic, Event event);
  sim::Task<Outcome> end(TransactionResult result);
  std::uint64_t producer_id() const { return producer_id_; }

 private:
  sim::Context& context_;
  sim::NodeId broker_;
  std::string transactional_id_;
  PublishSettings settings_;
  std::uint64_t producer_id_ = 0;
};

// Whether a produce that failed with `error` may still have appended its record.
bool appended_despite(const std::string& error);

}  // namespace faultline::models
