// The broker: a Kafka-like keyed, append-only log per topic partition on the broker
// node's disk. A produce is acknowledged after the append is synced; consumer-group
// offsets are committed durably in the broker, and a consumer that restarts resumes
// from its group's last committed offset.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/db.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// An event as it travels through the broker.
struct Event {
  std::string event_id;      // stable: the same on every publish attempt of one change
  std::string key;           // aggregate key: decides the partition
  std::int64_t command = 0;  // the client command whose change this event announces
  std::int64_t order_id = 0;
  // Who appended it, for attributing duplicates: the publishing node, its incarnation
  // and which attempt of one publish this was (set by the Producer).
  sim::NodeId publisher = 0;
  std::uint32_t publisher_incarnation = 0;
  std::uint32_t attempt = 1;
  bool operator==(const Event&) const = default;
};

struct StoredRecord {
  std::int64_t offset = 0;
  Event event;
  // Idempotent producers: the producer session and its per-partition sequence number
  // (0 and -1 for a producer without idempotence).
  std::uint64_t producer_id = 0;
  std::int64_t sequence = -1;
  sim::Instant appended_at;  // when the broker appended it (simulated time)
};

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
  std::uint64_t producer_id = 0;  // idempotence: the session's id, or 0
  std::int64_t sequence = -1;     // idempotence: the record's sequence in its partition, or -1
};

struct FetchReply {
  bool ok = false;
  std::vector<StoredRecord> records;
};
struct Fetch {
  using Reply = FetchReply;
  static constexpr std::string_view rpc_name = "broker.fetch";
  std::string topic;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  std::uint32_t max_records = 64;
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
};

class Broker {
 public:
  Broker(sim::Context& context, BrokerSettings settings);
  void serve();

  static std::string log_name(std::string_view topic, std::uint32_t partition);
  // Every record durably in the broker, per partition: ground truth for the checkers.
  static std::map<std::string, std::vector<StoredRecord>> durable_logs(sim::Disk& disk);

 private:
  struct OffsetCommit {
    std::string group;
    std::string topic;
    std::uint32_t partition = 0;
    std::int64_t offset = 0;
  };

  sim::DurableLog<StoredRecord>& partition_log(std::string_view topic, std::uint32_t partition);

  sim::Task<ProduceReply> produce(Produce request);
  sim::Task<FetchReply> fetch(Fetch request);
  sim::Task<CommitOffsetReply> commit_offset(CommitOffset request);
  sim::Task<FetchOffsetReply> fetch_offset(FetchOffset request);

  sim::Context& context_;
  BrokerSettings settings_;
  sim::DurableLog<OffsetCommit>& offset_log_;
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
  sim::NodeId broker_;
  BufferedProducerSettings settings_;
  std::uint64_t producer_id_;
  std::map<std::string, std::int64_t> next_sequence_;  // per partition log
  std::deque<Queued> queued_;
  std::uint32_t in_flight_ = 0;
};

class Producer {
 public:
  Producer(sim::Context& context, sim::NodeId broker, PublishSettings settings)
      : context_(&context), broker_(broker), settings_(settings) {}
  sim::Task<Outcome> publish(std::string topic, Event event);

 private:
  sim::Context* context_;
  sim::NodeId broker_;
  PublishSettings settings_;
};

}  // namespace faultline::models
