// A consumer group member: reads its share of a topic's partitions, applies each
// event, and keeps its progress in the group's committed offsets, in one of three
// ways (Settings::consumer): commit the offset before processing (C1), after
// processing (C2), or record the event in an inbox in the same database
// transaction as its effect (C3, exactly-once effect). Its isolation decides whether
// it reads records of open and aborted broker transactions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/models/db.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// One application of an event by a consumer: the consumer's observable effect.
struct AppliedEffect {
  std::string group;
  Event event;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  sim::Instant applied_at;  // when it was applied (for an inbox effect: its database commit)
};

// One record a consumer instance received and handed to its apply step, whether the
// step then applied it or an inbox dropped it as already seen.
struct Delivery {
  std::string group;
  std::string consumer;  // the consumer node's name
  std::uint32_t incarnation = 0;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
  std::string message_id;
  // The event the record announces (see Event): the checkers' identity for it.
  std::int64_t command = 0;
  std::uint32_t index_in_change = 1;
  std::uint32_t events_in_change = 1;
  sim::Instant delivered_at;
};

// An offset commit whose acknowledgement the consumer received: the broker had made it
// durable by then.
struct AcknowledgedOffsetCommit {
  std::string group;
  std::string consumer;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;  // the next offset to read
  sim::Instant acknowledged_at;
};

// A step a consumer could not finish (a call to the broker or its database failed or
// ended unknown): the consumer's own record that its progress may not be durable, which
// explains a redelivery even when no planned fault made the call late (a slow message
// can outlast a timeout).
struct UnfinishedStep {
  std::string consumer;
  std::uint32_t partition = 0;
  sim::Instant at;
};

// Where consumers report what they received, for the checkers. The world owns it,
// outside every node: it survives crashes, and writing to it neither draws from a
// random stream nor touches the trace, so observing never changes a run.
struct DeliverySink {
  std::vector<Delivery> deliveries;               // in delivery order
  std::vector<AcknowledgedOffsetCommit> commits;  // in acknowledgement order
  std::vector<UnfinishedStep> unfinished;         // in time order
};

struct ConsumerSettings {
  std::string group = "projection";
  std::string topic = "orders";
  std::uint32_t partitions = 4;
  std::uint32_t instance = 0;   // this member's index in the group
  std::uint32_t instances = 1;  // members in the group; partition p belongs to member p % instances
  ConsumerMode mode = ConsumerMode::commit_after_processing;
  OffsetReset offset_reset = OffsetReset::earliest;
  ConsumerIsolation isolation = ConsumerIsolation::read_committed;  // which records of broker transactions it reads
  InboxKeeping inbox = InboxKeeping::forever;
  sim::Duration inbox_retention = sim::Duration::millis(20);
  std::uint32_t batch = 32;
  sim::Duration poll_interval = sim::Duration::millis(5);
  sim::Duration timeout = sim::Duration::millis(50);
};

namespace consumer_tables {
inline constexpr const char* inbox = "inbox";
inline constexpr const char* effects = "effects";
}  // namespace consumer_tables

class Consumer {
 public:
  static constexpr std::string_view effects_name = "consumer.effects";

  // `database` is the consumer's own database (used by the inbox mode); `sink`, if
  // given, observes every delivery and acknowledged offset commit.
  Consumer(sim::Context& context, sim::NodeId broker, sim::NodeId database, ConsumerSettings settings,
           DeliverySink* sink = nullptr);
  // With a replicated broker: records are fetched from each partition's leader; the
  // group's offsets are kept by the first replica ("broker"), the group coordinator.
  Consumer(sim::Context& context, BrokerEndpoints broker, sim::NodeId database, ConsumerSettings settings,
           DeliverySink* sink = nullptr);
  void start();

  // The effects that survived, from the consumer's local store and from its
  // database's effects table: ground truth for the checkers.
  static std::vector<AppliedEffect> durable_effects(const sim::Disk& disk);
  static std::vector<AppliedEffect> durable_effects_in_database(const sim::Disk& database_disk,
                                                                const std::string& group);

 private:
  sim::Task<void> run();
  sim::Task<bool> poll_partition(std::uint32_t partition, std::int64_t& position);
  // Applies one record; false if it could not be applied (try again later).
  sim::Task<bool> apply(const StoredRecord& record, std::uint32_t partition);
  sim::Task<bool> commit_offset(std::uint32_t partition, std::int64_t position);
  sim::Task<void> expire_inbox();

  sim::Context& context_;
  LeaderCache broker_;
  sim::NodeId coordinator_;  // where the group's offsets live
  DbClient database_;
  ConsumerSettings settings_;
  sim::DurableLog<AppliedEffect>& effects_;
  DeliverySink* sink_;
};

}  // namespace faultline::models
