// The buffering producer. Goal: its acknowledgements arrive after send() returns,
// its buffer dies with the process, and idempotence turns retries after lost replies
// into exactly one append. Method: a client node sends through a BufferedProducer
// to a one-partition broker; the test crashes the client or loses broker replies and
// reads the broker's durable log.
#include <gtest/gtest.h>

#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::ModelWorld;

struct SendLog {
  std::vector<Outcome> acks;
  bool flushed = false;
};

Event numbered_event(std::int64_t command) {
  return Event{.message_id = event_id_for(command), .key = "k", .command = command};
}

sim::Task<void> send_all(sim::Context& context, sim::NodeId broker, BufferedProducerSettings settings,
                         std::int64_t count, SendLog& log) {
  auto& producer = context.make<BufferedProducer>(context, broker, settings);
  for (std::int64_t command = 1; command <= count; ++command)
    EXPECT_TRUE(
        producer.send("orders", numbered_event(command), [&log](Outcome outcome) { log.acks.push_back(outcome); }));
  EXPECT_TRUE(log.acks.empty()) << "send() returns before any ack";
  co_await producer.flush();
  log.flushed = true;
}

std::vector<std::string> ids(const std::vector<StoredRecord>& records) {
  std::vector<std::string> result;
  for (const auto& record : records) result.push_back(record.event.message_id);
  return result;
}

TEST(BufferedProducer, AcknowledgesEveryRecordAfterSendReturns) {
  SendLog log;
  ModelWorld world;
  world.spawn(send_all(world.client_context(), world.broker, BufferedProducerSettings{.partitions = 1}, 3, log));
  world.run_for(sim::Duration::millis(100));

  EXPECT_TRUE(log.flushed);
  EXPECT_EQ(log.acks, (std::vector<Outcome>{Outcome::ok, Outcome::ok, Outcome::ok}));
  EXPECT_EQ(ids(world.durable_partition("orders", 0)), (std::vector<std::string>{"e1", "e2", "e3"}));
}

TEST(BufferedProducer, ARestartedProducerLosesItsBuffer) {
  SendLog log;
  ModelWorld world;
  const BufferedProducerSettings lingering{.linger = sim::Duration::millis(50), .partitions = 1};
  world.spawn(send_all(world.client_context(), world.broker, lingering, 5, log));
  world.run_for(sim::Duration::millis(10));
  world.simulation.crash(world.client, "the test");
  world.simulation.restart(world.client);
  world.run_for(sim::Duration::millis(200));

  EXPECT_FALSE(log.flushed);
  EXPECT_TRUE(log.acks.empty());
  EXPECT_TRUE(world.durable_partition("orders", 0).empty()) << "the buffered records died with the process";
}

TEST(BufferedProducer, IdempotentRetriesAfterLostRepliesAppendOnce) {
  SendLog log;
  ModelWorld world;
  world.simulation.network().lose_responses(world.broker, 2);
  world.spawn(send_all(world.client_context(), world.broker, BufferedProducerSettings{.partitions = 1}, 1, log));
  world.run_for(sim::Duration::millis(300));

  EXPECT_EQ(log.acks, (std::vector<Outcome>{Outcome::ok}));
  EXPECT_EQ(ids(world.durable_partition("orders", 0)), (std::vector<std::string>{"e1"}))
      << "the broker recognised the retries by session and sequence";
}

TEST(BufferedProducer, WithoutIdempotenceRetriesAfterLostRepliesAppendAgain) {
  SendLog log;
  ModelWorld world;
  world.simulation.network().lose_responses(world.broker, 2);
  const BufferedProducerSettings plain{.idempotent = false, .partitions = 1};
  world.spawn(send_all(world.client_context(), world.broker, plain, 1, log));
  world.run_for(sim::Duration::millis(300));

  EXPECT_EQ(log.acks, (std::vector<Outcome>{Outcome::ok}));
  EXPECT_EQ(ids(world.durable_partition("orders", 0)), (std::vector<std::string>{"e1", "e1", "e1"}));
}

TEST(BufferedProducer, IdempotenceSurvivesABrokerRestart) {
  SendLog log;
  ModelWorld world;
  world.spawn(send_all(world.client_context(), world.broker, BufferedProducerSettings{.partitions = 1}, 2, log));
  world.run_for(sim::Duration::millis(100));
  world.simulation.crash(world.broker, "the test");
  world.simulation.restart(world.broker);
  // The same session retries its first record (as after a lost reply): still appended once.
  sim::Context& client = world.client_context();
  Produce retry{"orders", numbered_event(1)};
  retry.producer_id = (std::uint64_t{world.client} << 32 | client.incarnation()) + 1;
  retry.sequence = 0;
  std::optional<sim::RpcResult<ProduceReply>> reply;
  client.call(world.broker, std::move(retry), sim::Duration::millis(50),
              [&reply](sim::RpcResult<ProduceReply> result) { reply = std::move(result); });
  world.run_for(sim::Duration::millis(100));

  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->ok());
  EXPECT_EQ(ids(world.durable_partition("orders", 0)), (std::vector<std::string>{"e1", "e2"}));
}

}  // namespace
}  // namespace faultline::models
