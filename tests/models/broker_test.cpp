// Checks the broker model and its producer client: a produce is acknowledged only
// once its append is synced, and acknowledged records survive a broker crash while
// an unsynced append dies with it; a produce whose reply is lost is still appended
// (unknown outcome), so the Producer's retry appends the same event id twice
// (at-least-once); keyed appends land in their key's partition in order; and
// partition_for is a fixed, platform-independent hash that spreads keys.
//
// Method: a world of fixed 1 ms latencies and 1 ms syncs (model_test_support.h). A
// script on the client node produces and records the outcome it saw; the test
// compares it with the broker's disk, read as recovery would see it.
#include "faultline/models/broker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faultline/sim/simulation.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::at_millis;
using test_support::client_timeout;
using test_support::ModelWorld;
using test_support::WorldOptions;

Event event_for(std::int64_t command, std::string key = "k") {
  return Event{.message_id = event_id_for(command), .key = std::move(key), .command = command, .order_id = command};
}

std::vector<std::string> event_ids(const std::vector<StoredRecord>& records) {
  std::vector<std::string> ids;
  for (const StoredRecord& record : records) ids.push_back(record.event.message_id);
  return ids;
}

struct ProduceRecord {
  std::optional<sim::RpcStatus> status;
  std::optional<ProduceReply> reply;
  sim::Instant acked_at;
  std::vector<StoredRecord> durable_at_ack;
};

// One raw produce of event `command`, recording what the client saw.
sim::Task<void> produce_once(sim::Context& context, sim::NodeId broker, std::int64_t command, ProduceRecord& record) {
  Produce request{.topic = "orders", .event = event_for(command)};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  record.status = result.status;
  if (result.ok()) record.reply = *result;
  record.acked_at = context.now();
  const auto logs = Broker::durable_logs(context.simulation().disk(broker));
  const auto log = logs.find(Broker::log_name("orders", 0));
  if (log != logs.end()) record.durable_at_ack = log->second;
}

struct FetchRecord {
  bool done = false;
  std::vector<StoredRecord> records;
};

sim::Task<void> fetch_all(sim::Context& context, sim::NodeId broker, FetchRecord& record) {
  Fetch request{.topic = "orders", .partition = 0, .offset = 0};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  EXPECT_TRUE(result.ok()) << "fetch: " << to_string(result.status);
  if (result.ok()) record.records = result->records;
  record.done = true;
}

TEST(Broker, AcknowledgesAProduceOnlyAfterItsAppendIsSyncedAndAckedRecordsSurviveACrash) {
  ProduceRecord record;
  FetchRecord after_restart;
  ModelWorld world;
  world.spawn(produce_once(world.client_context(), world.broker, 1, record));

  // The request arrives at 1 ms and is appended; its sync completes at 2 ms.
  world.simulation.run_until(sim::Instant{} + sim::Duration::micros(1'500));
  const auto* log =
      world.simulation.disk(world.broker).find<sim::DurableLog<StoredRecord>>(Broker::log_name("orders", 0));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->written().size(), 1u) << "appended";
  EXPECT_TRUE(world.durable_partition("orders", 0).empty()) << "but not yet synced";
  EXPECT_FALSE(record.status.has_value()) << "so not yet acknowledged";

  world.run_for(sim::Duration::millis(50));
  ASSERT_EQ(record.status, sim::RpcStatus::ok);
  ASSERT_TRUE(record.reply->ok);
  EXPECT_EQ(record.acked_at, at_millis(3)) << "1 ms there, 1 ms sync, 1 ms back";
  EXPECT_EQ(record.reply->offset, 0);
  EXPECT_EQ(event_ids(record.durable_at_ack), std::vector<std::string>{"e1"}) << "durable when the ack arrived";

  world.simulation.crash(world.broker, "the test");
  world.simulation.restart(world.broker);
  world.spawn(fetch_all(world.client_context(), world.broker, after_restart));
  world.run_for(sim::Duration::millis(50));
  ASSERT_TRUE(after_restart.done);
  EXPECT_EQ(event_ids(after_restart.records), std::vector<std::string>{"e1"}) << "the acked record survived the crash";
}

TEST(Broker, CrashBeforeTheSyncLosesTheUnacknowledgedAppend) {
  ProduceRecord lost;
  ProduceRecord next;
  WorldOptions options;
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "broker.produce.before_sync",
                                           .hit = 1,
                                           .duration = sim::Duration::millis(10)});
  ModelWorld world(options);
  world.spawn(produce_once(world.client_context(), world.broker, 1, lost));
  world.run_for(sim::Duration::millis(100));

  ASSERT_EQ(world.simulation.incarnation(world.broker), 1u) << "the planned crash struck";
  EXPECT_EQ(lost.status, sim::RpcStatus::unknown);
  EXPECT_TRUE(world.durable_partition("orders", 0).empty()) << "the unsynced append died with the broker";

  world.spawn(produce_once(world.client_context(), world.broker, 2, next));
  world.run_for(sim::Duration::millis(50));
  ASSERT_EQ(next.status, sim::RpcStatus::ok);
  EXPECT_EQ(next.reply->offset, 0) << "the lost append left no trace in the log";
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), std::vector<std::string>{"e2"});
}

// Loses the broker's next reply, then produces.
sim::Task<void> produce_with_lost_reply(sim::Context& context, sim::NodeId broker, ProduceRecord& record) {
  context.simulation().network().lose_responses(broker, 1);
  co_await produce_once(context, broker, 1, record);
}

TEST(Broker, ProduceWhoseReplyIsLostIsStillAppended) {
  ProduceRecord record;
  ModelWorld world;
  world.spawn(produce_with_lost_reply(world.client_context(), world.broker, record));
  world.run_for(sim::Duration::millis(100));

  EXPECT_EQ(record.status, sim::RpcStatus::unknown);
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), std::vector<std::string>{"e1"});
}

struct KeyedRecord {
  std::vector<std::string> keys;
  std::map<std::string, std::vector<std::int64_t>> produced;  // key -> commands, in produce order
  std::vector<std::uint32_t> reply_partitions;
  bool all_ok = true;
};

// Produces three rounds over eight keys, one produce at a time.
sim::Task<void> produce_keyed(sim::Context& context, sim::NodeId broker, KeyedRecord& record) {
  std::int64_t command = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& key : record.keys) {
      ++command;
      Produce request{.topic = "orders", .event = event_for(command, key)};
      const auto result = co_await context.call(broker, std::move(request), client_timeout);
      record.all_ok = record.all_ok && result.ok() && result->ok;
      if (result.ok()) record.reply_partitions.push_back(result->partition);
      record.produced[key].push_back(command);
    }
  }
}

TEST(Broker, AppendsEachKeyToItsPartitionInProduceOrder) {
  constexpr std::uint32_t partitions = 4;
  KeyedRecord record{.keys = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}};
  WorldOptions options;
  options.broker.partitions = partitions;
  ModelWorld world(options);
  world.spawn(produce_keyed(world.client_context(), world.broker, record));
  world.run_for(sim::Duration::millis(200));

  ASSERT_TRUE(record.all_ok);
  std::map<std::string, std::vector<std::int64_t>> stored;  // key -> commands, in log order
  std::uint32_t used_partitions = 0;
  for (std::uint32_t partition = 0; partition < partitions; ++partition) {
    const auto records = world.durable_partition("orders", partition);
    if (!records.empty()) ++used_partitions;
    for (std::size_t index = 0; index < records.size(); ++index) {
      const StoredRecord& stored_record = records[index];
      EXPECT_EQ(stored_record.offset, static_cast<std::int64_t>(index)) << "offsets are dense from 0";
      EXPECT_EQ(partition_for(stored_record.event.key, partitions), partition)
          << "key " << stored_record.event.key << " in the wrong partition";
      stored[stored_record.event.key].push_back(stored_record.event.command);
    }
  }
  EXPECT_EQ(stored, record.produced) << "per key, the log keeps the produce order";
  EXPECT_GT(used_partitions, 1u) << "eight keys should not all hash to one partition";
}

// ---- The producer client ----

struct PublishRecord {
  std::optional<Outcome> outcome;
};

sim::Task<void> publish_once(sim::Context& context, sim::NodeId broker, PublishSettings settings,
                             std::uint32_t replies_to_lose, PublishRecord& record) {
  context.simulation().network().lose_responses(broker, replies_to_lose);
  Producer producer(context, broker, settings);
  Event event = event_for(1);
  record.outcome = co_await producer.publish("orders", std::move(event));
}

TEST(Producer, RetryAfterAnUnknownOutcomeAppendsTheSameEventIdTwice) {
  PublishRecord record;
  ModelWorld world;
  world.spawn(publish_once(world.client_context(), world.broker, PublishSettings{.attempts = 3}, 1, record));
  world.run_for(sim::Duration::millis(200));

  EXPECT_EQ(record.outcome, Outcome::ok) << "the retry was acknowledged";
  const auto records = world.durable_partition("orders", 0);
  EXPECT_EQ(event_ids(records), (std::vector<std::string>{"e1", "e1"}))
      << "the first attempt was applied although its reply was lost: at least once";
}

TEST(Producer, ReportsUnknownWhenNoAttemptIsAcknowledged) {
  PublishRecord record;
  ModelWorld world;
  world.spawn(publish_once(world.client_context(), world.broker, PublishSettings{.attempts = 2}, 2, record));
  world.run_for(sim::Duration::millis(200));

  EXPECT_EQ(record.outcome, Outcome::unknown);
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), (std::vector<std::string>{"e1", "e1"}));
}

TEST(Producer, ReportsFailedWhenTheBrokerIsDownForEveryAttempt) {
  PublishRecord record;
  ModelWorld world;
  world.simulation.crash(world.broker, "the test");
  world.spawn(publish_once(world.client_context(), world.broker, PublishSettings{.attempts = 3}, 0, record));
  world.run_for(sim::Duration::millis(200));

  EXPECT_EQ(record.outcome, Outcome::failed) << "every attempt was refused: certainly not appended";
  EXPECT_TRUE(world.durable_partition("orders", 0).empty());
}

// ---- Partitioning ----

TEST(PartitionFor, IsAFixedHashThatSpreadsKeysEvenly) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c on every platform; 895863001 is its
  // remainder modulo 2^32 - 1.
  EXPECT_EQ(partition_for("a", 0xffffffffU), 895'863'001u);
  EXPECT_EQ(partition_for("k1", 4), partition_for(std::string("k") + "1", 4)) << "a function of the bytes only";
  EXPECT_EQ(partition_for("anything", 1), 0u);

  for (const std::uint32_t partitions : {4u, 7u}) {
    std::vector<std::uint32_t> counts(partitions, 0);
    constexpr int keys = 7'000;
    for (int key = 0; key < keys; ++key) {
      const std::uint32_t partition = partition_for("key-" + std::to_string(key), partitions);
      ASSERT_LT(partition, partitions);
      ++counts[partition];
    }
    const double fair = static_cast<double>(keys) / partitions;
    for (std::uint32_t partition = 0; partition < partitions; ++partition) {
      EXPECT_GT(counts[partition], 0.85 * fair) << "partition " << partition << " of " << partitions;
      EXPECT_LT(counts[partition], 1.15 * fair) << "partition " << partition << " of " << partitions;
    }
  }
}

}  // namespace
}  // namespace faultline::models
