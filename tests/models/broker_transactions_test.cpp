// Checks broker transactions (Kafka's): records of an aborted transaction are
// invisible to read_committed readers and visible to read_uncommitted ones; the last
// stable offset holds a read_committed consumer back while a transaction is open; a
// transaction whose producer crashed is aborted after the transaction timeout, and a
// late commit of it is refused; a new session of a transactional id fences the old
// one and aborts its open transaction; a transaction decided before a broker crash is
// completed by the restarted broker; the ground truth holds committed records only.
//
// Method: the fixed-latency world of model_test_support.h (1 ms per message, 1 ms
// per sync, one partition). Scripts on the client node drive TransactionalProducers
// and record the outcomes; the tests fetch with both isolations and read the disk.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/sim/simulation.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::client_timeout;
using test_support::ModelWorld;
using test_support::WorldOptions;

Event event_for(std::int64_t command) {
  return Event{.message_id = event_id_for(command), .key = "k", .command = command, .order_id = command};
}

std::vector<std::string> event_ids(const std::vector<StoredRecord>& records) {
  std::vector<std::string> ids;
  for (const StoredRecord& record : records) ids.push_back(record.event.message_id);
  return ids;
}

using Ids = std::vector<std::string>;

struct FetchRecord {
  bool done = false;
  std::vector<StoredRecord> records;
  std::int64_t next_offset = -1;
};

sim::Task<void> fetch_all(sim::Context& context, sim::NodeId broker, ConsumerIsolation isolation, FetchRecord& record) {
  Fetch request{.topic = "orders", .partition = 0, .offset = 0};
  request.isolation = isolation;
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  EXPECT_TRUE(result.ok()) << "fetch: " << to_string(result.status);
  if (result.ok()) {
    record.records = result->records;
    record.next_offset = result->next_offset;
  }
  record.done = true;
}

// Fetches the partition with `isolation` and returns what the broker sent.
FetchRecord fetch_now(ModelWorld& world, ConsumerIsolation isolation) {
  FetchRecord record;
  world.spawn(fetch_all(world.client_context(), world.broker, isolation, record));
  world.run_for(sim::Duration::millis(5));
  EXPECT_TRUE(record.done);
  return record;
}

// What one transactional producer's steps returned.
struct Steps {
  std::optional<Outcome> init;
  std::vector<Outcome> sends;
  std::optional<Outcome> end;
};

// init, send each command in `commands`, then end with `result` (or leave the transaction open).
sim::Task<void> transaction(sim::Context& context, sim::NodeId broker, std::string transactional_id,
                            std::vector<std::int64_t> commands, std::optional<TransactionResult> result, Steps& steps) {
  TransactionalProducer producer(context, broker, std::move(transactional_id));
  steps.init = co_await producer.init();
  for (const std::int64_t command : commands)
    steps.sends.push_back(co_await producer.send("orders", event_for(command)));
  if (result) steps.end = co_await producer.end(*result);
}

sim::Task<void> produce_plain(sim::Context& context, sim::NodeId broker, std::int64_t command) {
  Produce request{.topic = "orders", .event = event_for(command)};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  EXPECT_TRUE(result.ok() && result->ok) << "plain produce of " << command;
}

TEST(BrokerTransactions, AbortedRecordsAreInvisibleToReadCommittedAndVisibleToReadUncommitted) {
  ModelWorld world;
  Steps aborted, committed;
  world.spawn(transaction(world.client_context(), world.broker, "a", {1}, TransactionResult::abort, aborted));
  world.run_for(sim::Duration::millis(20));
  world.spawn(transaction(world.client_context(), world.broker, "b", {2}, TransactionResult::commit, committed));
  world.run_for(sim::Duration::millis(20));
  world.spawn(produce_plain(world.client_context(), world.broker, 3));
  world.run_for(sim::Duration::millis(20));
  ASSERT_EQ(aborted.end, Outcome::ok);
  ASSERT_EQ(committed.end, Outcome::ok);

  // The log: e1, abort marker, e2, commit marker, e3.
  const FetchRecord read_committed = fetch_now(world, ConsumerIsolation::read_committed);
  EXPECT_EQ(event_ids(read_committed.records), (Ids{"e2", "e3"})) << "no aborted record, no marker";
  EXPECT_EQ(read_committed.next_offset, 5) << "past every entry examined";
  const FetchRecord read_uncommitted = fetch_now(world, ConsumerIsolation::read_uncommitted);
  EXPECT_EQ(event_ids(read_uncommitted.records), (Ids{"e1", "e2", "e3"})) << "the aborted record too, no marker";
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), (Ids{"e2", "e3"}))
      << "the ground truth holds committed records only";
}

TEST(BrokerTransactions, TheLastStableOffsetHoldsBackAReadCommittedConsumerWhileATransactionIsOpen) {
  ModelWorld world;
  world.start_consumer();
  Steps open;
  world.spawn(transaction(world.client_context(), world.broker, "a", {1}, std::nullopt, open));
  world.run_for(sim::Duration::millis(10));
  world.spawn(produce_plain(world.client_context(), world.broker, 2));
  world.run_for(sim::Duration::millis(30));
  ASSERT_EQ(open.sends, std::vector<Outcome>{Outcome::ok});

  const FetchRecord held_back = fetch_now(world, ConsumerIsolation::read_committed);
  EXPECT_TRUE(held_back.records.empty()) << "e2 is behind the open transaction's first offset";
  EXPECT_EQ(held_back.next_offset, 0);
  EXPECT_EQ(event_ids(fetch_now(world, ConsumerIsolation::read_uncommitted).records), (Ids{"e1", "e2"}));
  EXPECT_TRUE(world.durable_effects().empty()) << "the read_committed consumer applied nothing yet";

  // Commit the open transaction with a new producer object of the same session.
  Steps commit;
  world.spawn([](sim::Context& context, sim::NodeId broker, Steps& steps) -> sim::Task<void> {
    EndTransaction request{.producer_id = 1, .result = TransactionResult::commit};
    const auto result = co_await context.call(broker, std::move(request), client_timeout);
    steps.end = result.ok() && result->ok ? Outcome::ok : Outcome::failed;
  }(world.client_context(), world.broker, commit));
  world.run_for(sim::Duration::millis(40));
  ASSERT_EQ(commit.end, Outcome::ok);
  std::vector<std::string> applied;
  for (const AppliedEffect& effect : world.durable_effects()) applied.push_back(effect.event.message_id);
  EXPECT_EQ(applied, (Ids{"e1", "e2"})) << "after the commit the consumer applies both, in log order";
}

TEST(BrokerTransactions, ACrashedProducersTransactionIsAbortedAfterTheTimeout) {
  WorldOptions options;
  options.broker.transaction_timeout = sim::Duration::millis(100);
  ModelWorld world(options);
  Steps crashed;
  world.spawn(transaction(world.client_context(), world.broker, "a", {1}, std::nullopt, crashed));
  world.run_for(sim::Duration::millis(10));
  ASSERT_EQ(crashed.sends, std::vector<Outcome>{Outcome::ok});
  world.simulation.crash(world.client, "the test");
  world.simulation.restart(world.client);

  world.run_for(sim::Duration::millis(50));
  EXPECT_TRUE(fetch_now(world, ConsumerIsolation::read_committed).records.empty()) << "still open: held back";
  EXPECT_EQ(event_ids(fetch_now(world, ConsumerIsolation::read_uncommitted).records), (Ids{"e1"}));

  world.run_for(sim::Duration::millis(60));
  const FetchRecord after_timeout = fetch_now(world, ConsumerIsolation::read_committed);
  EXPECT_TRUE(after_timeout.records.empty()) << "aborted: never visible to read_committed";
  EXPECT_EQ(after_timeout.next_offset, 2) << "the abort marker follows e1, and the LSO moved past both";
  EXPECT_TRUE(world.durable_partition("orders", 0).empty());
}

TEST(BrokerTransactions, ALateCommitOfATimedOutTransactionIsRefused) {
  WorldOptions options;
  options.broker.transaction_timeout = sim::Duration::millis(100);
  ModelWorld world(options);
  Steps slow;
  world.spawn([](sim::Context& context, sim::NodeId broker, Steps& steps) -> sim::Task<void> {
    TransactionalProducer producer(context, broker, "a");
    steps.init = co_await producer.init();
    steps.sends.push_back(co_await producer.send("orders", event_for(1)));
    co_await context.sleep(sim::Duration::millis(150));  // a producer stalled past the timeout
    steps.end = co_await producer.end(TransactionResult::commit);
  }(world.client_context(), world.broker, slow));
  world.run_for(sim::Duration::millis(200));
  ASSERT_EQ(slow.sends, std::vector<Outcome>{Outcome::ok});
  EXPECT_EQ(slow.end, Outcome::failed) << "the timeout fenced the session: its commit is refused";
  EXPECT_TRUE(world.durable_partition("orders", 0).empty());
  EXPECT_EQ(event_ids(fetch_now(world, ConsumerIsolation::read_uncommitted).records), (Ids{"e1"}));
}

TEST(BrokerTransactions, ANewSessionFencesTheOldAndAbortsItsOpenTransaction) {
  ModelWorld world;
  Steps newer;
  Outcome old_send = Outcome::unknown, old_commit = Outcome::unknown;
  world.spawn([](sim::Context& context, sim::NodeId broker, Steps& newer_steps, Outcome& send_after,
                 Outcome& commit_after) -> sim::Task<void> {
    TransactionalProducer old_session(context, broker, "service");
    co_await old_session.init();
    co_await old_session.send("orders", event_for(1));
    TransactionalProducer new_session(context, broker, "service");
    newer_steps.init = co_await new_session.init();
    send_after = co_await old_session.send("orders", event_for(2));
    commit_after = co_await old_session.end(TransactionResult::commit);
    newer_steps.sends.push_back(co_await new_session.send("orders", event_for(3)));
    newer_steps.end = co_await new_session.end(TransactionResult::commit);
  }(world.client_context(), world.broker, newer, old_send, old_commit));
  world.run_for(sim::Duration::millis(100));
  ASSERT_EQ(newer.init, Outcome::ok);
  EXPECT_EQ(old_send, Outcome::failed) << "the old session is fenced";
  EXPECT_EQ(old_commit, Outcome::failed) << "and cannot commit";
  EXPECT_EQ(newer.end, Outcome::ok);
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), (Ids{"e3"})) << "the old transaction was aborted";
  EXPECT_EQ(event_ids(fetch_now(world, ConsumerIsolation::read_committed).records), (Ids{"e3"}));
}

TEST(BrokerTransactions, ARestartedBrokerCompletesATransactionDecidedBeforeItsCrash) {
  WorldOptions options;
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "broker.transaction.after_decision",
                                           .hit = 1,
                                           .duration = sim::Duration::millis(10)});
  ModelWorld world(options);
  Steps steps;
  world.spawn(transaction(world.client_context(), world.broker, "a", {1}, TransactionResult::commit, steps));
  world.run_for(sim::Duration::millis(100));
  ASSERT_EQ(world.simulation.incarnation(world.broker), 1u) << "the planned crash struck after the decision";
  EXPECT_EQ(event_ids(world.durable_partition("orders", 0)), (Ids{"e1"})) << "the commit marker was written at restart";
  EXPECT_EQ(event_ids(fetch_now(world, ConsumerIsolation::read_committed).records), (Ids{"e1"}));
}

}  // namespace
}  // namespace faultline::models
