// Checks the replicated broker against Kafka's semantics, one setting at a time:
// acks=1 loses an acknowledged record when its leader fails over before a follower
// copied it, and acks=all with min ISR 2 does not under the same faults; unclean
// leader election loses acknowledged records where a clean one keeps the partition
// offline until an in-sync replica returns; min ISR rejects produces when the
// in-sync set is too small; periodic fsync loses acknowledged records when every
// replica crashes at once, and fsync per write does not; a deposed leader truncates
// its divergent suffix; consumers never see a record above the high watermark.
//
// Method: three replicas ("broker", "broker-2", "broker-3") and the controller, one
// partition led at first by "broker", fixed 1 ms latencies and syncs
// (model_test_support.h), and a hand-written fault plan per test. A script on the
// client node produces and records what it saw; the test compares that with the
// records that survive (the final leader's log below its high watermark).
#include "faultline/models/broker_replication.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultline/sim/simulation.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

using test_support::at_millis;
using test_support::client_timeout;
using test_support::fixed_latency_config;
using test_support::sleep_until;

constexpr std::uint32_t partitions = 1;

Event event_for(std::int64_t command) {
  return Event{.message_id = event_id_for(command), .key = "k", .command = command, .order_id = command};
}

std::vector<std::string> event_ids(const std::vector<StoredRecord>& records) {
  std::vector<std::string> ids;
  for (const StoredRecord& record : records) ids.push_back(record.event.message_id);
  return ids;
}

// The three replicas, the controller and a client; faults from `plan`.
class ReplicatedWorld {
 public:
  ReplicatedWorld(BrokerReplication replication, sim::FaultPlan plan)
      : replication_(replication),
        metadata(initial_cluster_metadata(3, partitions)),
        simulation(fixed_latency_config()) {
    for (std::uint32_t index = 0; index < 3; ++index)
      replicas.push_back(simulation.add_node(replica_node_name(index), [this, index](sim::Context& context) {
        context
            .make<BrokerReplica>(context, metadata,
                                 ReplicaSettings{.index = index,
                                                 .replica_nodes = replicas,
                                                 .controller = controller,
                                                 .partitions = partitions,
                                                 .replication = replication_})
            .start();
      }));
    controller = simulation.add_node(node_names::controller, [this](sim::Context& context) {
      context
          .make<Controller>(context, metadata,
                            ControllerSettings{.replica_nodes = replicas,
                                               .partitions = partitions,
                                               .unclean_election = replication_.unclean_election})
          .start();
    });
    client = simulation.add_node("client", {});
    simulation.apply_plan(plan);
    simulation.start();
  }

  BrokerEndpoints endpoints() const {
    return BrokerEndpoints{.replicas = replicas, .controller = controller, .partitions = partitions};
  }
  void spawn(sim::Task<void> script) { simulation.context(client)->spawn(std::move(script)); }
  sim::Context& client_context() { return *simulation.context(client); }
  void run_until(sim::Instant instant) { simulation.run_until(instant); }

  // What survives: the current leader's log below its high watermark.
  std::vector<std::string> surviving() {
    std::vector<sim::Disk*> disks;
    for (const sim::NodeId replica : replicas) disks.push_back(&simulation.disk(replica));
    const auto logs = surviving_records(metadata, disks, "orders");
    const auto found = logs.find(Broker::log_name("orders", 0));
    return found == logs.end() ? std::vector<std::string>{} : event_ids(found->second);
  }
  // Everything in one replica's log, synced or not.
  std::vector<std::string> log_of(std::uint32_t replica) {
    const auto* log =
        simulation.disk(replicas[replica]).find<sim::DurableLog<StoredRecord>>(Broker::log_name("orders", 0));
    if (log == nullptr) return {};
    return event_ids({log->written().begin(), log->written().end()});
  }
  std::optional<std::uint32_t> leader() const { return metadata.partitions[0].leader; }

 private:
  BrokerReplication replication_;

 public:
  ClusterMetadata metadata;
  sim::Simulation simulation;
  std::vector<sim::NodeId> replicas;
  sim::NodeId controller = 0;
  sim::NodeId client = 0;
};

sim::Fault one_way(std::string from, std::string to, sim::Instant at, sim::Duration length) {
  return sim::Fault{
      .kind = sim::FaultKind::one_way, .at = at, .node = std::move(from), .peer = std::move(to), .duration = length};
}
sim::Fault isolate(std::string node, sim::Instant at, sim::Duration length) {
  return sim::Fault{.kind = sim::FaultKind::isolate, .at = at, .node = std::move(node), .duration = length};
}
sim::Fault crash(std::string node, sim::Instant at, sim::Duration down) {
  return sim::Fault{.kind = sim::FaultKind::crash, .at = at, .node = std::move(node), .duration = down};
}

struct Published {
  std::optional<Outcome> outcome;
  sim::Instant at;
};

// Publishes event `command` at `when` with the service's Producer (retries, leader lookup).
sim::Task<void> publish_at(sim::Context& context, BrokerEndpoints endpoints, ProducerAcks acks, sim::Instant when,
                           std::int64_t command, Published& published) {
  co_await sleep_until(context, when);
  Producer producer(context, std::move(endpoints), PublishSettings{}, acks);
  published.outcome = co_await producer.publish("orders", event_for(command));
  published.at = context.now();
}

// The leader's replies to its followers are lost from the start for 15 ms, so no
// follower copies what it appends; it crashes at 10 ms and returns at 160 ms.
sim::FaultPlan leader_fails_before_followers_copy() {
  sim::FaultPlan plan;
  plan.faults.push_back(one_way("broker", "broker-2", at_millis(0), sim::Duration::millis(15)));
  plan.faults.push_back(one_way("broker", "broker-3", at_millis(0), sim::Duration::millis(15)));
  plan.faults.push_back(crash("broker", at_millis(10), sim::Duration::millis(150)));
  return plan;
}

TEST(BrokerReplication, AcksOneLosesAnAcknowledgedRecordWhenItsLeaderFailsOver) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::leader, .min_in_sync = 1},
                        leader_fails_before_followers_copy());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::leader, at_millis(0), 1, first));
  world.run_until(at_millis(400));

  ASSERT_EQ(first.outcome, Outcome::ok) << "the leader acknowledged after its own append";
  EXPECT_LT(first.at, at_millis(10)) << "before the leader crashed";
  ASSERT_TRUE(world.leader().has_value());
  EXPECT_NE(*world.leader(), 0u) << "a follower took over";
  EXPECT_TRUE(world.surviving().empty()) << "the acknowledged record is gone: the new leader never had it";
  EXPECT_TRUE(world.log_of(0).empty()) << "and the old leader truncated it on rejoining";
}

TEST(BrokerReplication, AcksAllWithMinInSyncTwoKeepsEveryAcknowledgedRecordUnderTheSameFaults) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 2},
                        leader_fails_before_followers_copy());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::all, at_millis(0), 1, first));
  world.run_until(at_millis(400));

  ASSERT_TRUE(first.outcome.has_value());
  EXPECT_GT(first.at, at_millis(10)) << "no ack before a follower had the record";
  if (first.outcome == Outcome::ok) {
    EXPECT_EQ(world.surviving(), std::vector<std::string>{"e1"}) << "what was acknowledged survives the failover";
  }
  EXPECT_EQ(first.outcome, Outcome::ok) << "the retry reached the new leader";
}

// Both followers are cut off from 0 to 60 ms (fenced, out of the in-sync set); the
// record is acknowledged by the leader alone at 40 ms (min ISR 1); the leader
// crashes at 50 ms and returns at 300 ms.
sim::FaultPlan only_the_leader_has_it() {
  sim::FaultPlan plan;
  plan.faults.push_back(isolate("broker-2", at_millis(0), sim::Duration::millis(60)));
  plan.faults.push_back(isolate("broker-3", at_millis(0), sim::Duration::millis(60)));
  plan.faults.push_back(crash("broker", at_millis(50), sim::Duration::millis(250)));
  return plan;
}

TEST(BrokerReplication, UncleanElectionLosesAcknowledgedRecords) {
  ReplicatedWorld world(
      BrokerReplication{
          .replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 1, .unclean_election = UncleanElection::on},
      only_the_leader_has_it());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::all, at_millis(40), 1, first));
  world.run_until(at_millis(200));
  ASSERT_EQ(first.outcome, Outcome::ok);
  ASSERT_TRUE(world.leader().has_value()) << "an out-of-sync replica was elected while the leader was down";
  EXPECT_NE(*world.leader(), 0u);
  world.run_until(at_millis(500));
  EXPECT_TRUE(world.surviving().empty()) << "the acknowledged record went with the unclean election";
}

TEST(BrokerReplication, CleanElectionKeepsThePartitionOfflineUntilAnInSyncReplicaReturns) {
  ReplicatedWorld world(
      BrokerReplication{
          .replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 1, .unclean_election = UncleanElection::off},
      only_the_leader_has_it());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::all, at_millis(40), 1, first));
  world.run_until(at_millis(200));
  ASSERT_EQ(first.outcome, Outcome::ok);
  EXPECT_FALSE(world.leader().has_value()) << "offline: the only in-sync replica is down";
  world.run_until(at_millis(500));
  ASSERT_EQ(world.leader(), std::optional<std::uint32_t>(0)) << "the in-sync replica leads again once back";
  EXPECT_EQ(world.surviving(), std::vector<std::string>{"e1"}) << "and the acknowledged record survives";
}

struct RawProduce {
  std::optional<ProduceReply> reply;
};

sim::Task<void> produce_at(sim::Context& context, sim::NodeId broker, sim::Instant when, std::int64_t command,
                           RawProduce& record) {
  co_await sleep_until(context, when);
  Produce request{.topic = "orders", .event = event_for(command), .acks = ProducerAcks::all};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  if (result.ok()) record.reply = *result;
}

TEST(BrokerReplication, MinInSyncRejectsProducesWhenTheInSyncSetIsTooSmall) {
  sim::FaultPlan plan;
  plan.faults.push_back(isolate("broker-2", at_millis(0), sim::Duration::millis(200)));
  plan.faults.push_back(isolate("broker-3", at_millis(0), sim::Duration::millis(200)));
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 2}, plan);
  RawProduce rejected;
  world.spawn(produce_at(world.client_context(), world.replicas[0], at_millis(60), 1, rejected));
  world.run_until(at_millis(100));

  EXPECT_EQ(world.metadata.partitions[0].in_sync, std::vector<std::uint32_t>{0}) << "both followers were dropped";
  ASSERT_TRUE(rejected.reply.has_value());
  EXPECT_FALSE(rejected.reply->ok);
  EXPECT_EQ(rejected.reply->error, broker_errors::not_enough_replicas);
  EXPECT_TRUE(world.log_of(0).empty()) << "rejected before the append";
}

// Every replica crashes at 20 ms and restarts 20 ms later; the record was acknowledged
// (acks=all, replicated to all three) at a few ms.
sim::FaultPlan every_replica_crashes_together() {
  sim::FaultPlan plan;
  for (const char* node : {"broker", "broker-2", "broker-3"})
    plan.faults.push_back(crash(node, at_millis(20), sim::Duration::millis(20)));
  return plan;
}

TEST(BrokerReplication, PeriodicFsyncLosesAcknowledgedRecordsWhenEveryReplicaCrashesTogether) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3,
                                          .acks = ProducerAcks::all,
                                          .min_in_sync = 2,
                                          .fsync = BrokerFsync::periodic,
                                          .fsync_interval = sim::Duration::millis(50)},
                        every_replica_crashes_together());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::all, at_millis(0), 1, first));
  world.run_until(at_millis(300));
  ASSERT_EQ(first.outcome, Outcome::ok);
  EXPECT_LT(first.at, at_millis(20)) << "acknowledged before the crash";
  EXPECT_TRUE(world.surviving().empty()) << "no replica had synced it";
}

TEST(BrokerReplication, FsyncPerWriteKeepsAcknowledgedRecordsWhenEveryReplicaCrashesTogether) {
  ReplicatedWorld world(
      BrokerReplication{.replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 2, .fsync = BrokerFsync::per_write},
      every_replica_crashes_together());
  Published first;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::all, at_millis(0), 1, first));
  world.run_until(at_millis(300));
  ASSERT_EQ(first.outcome, Outcome::ok);
  EXPECT_LT(first.at, at_millis(20)) << "acknowledged before the crash";
  ASSERT_TRUE(world.leader().has_value());
  EXPECT_EQ(world.surviving(), std::vector<std::string>{"e1"});
}

TEST(BrokerReplication, ADeposedLeaderTruncatesItsDivergentSuffixToTheNewLeadersLog) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::leader, .min_in_sync = 1},
                        leader_fails_before_followers_copy());
  Published first, second;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::leader, at_millis(0), 1, first));
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::leader, at_millis(100), 2, second));
  world.run_until(at_millis(150));
  ASSERT_EQ(first.outcome, Outcome::ok);
  ASSERT_EQ(second.outcome, Outcome::ok);
  EXPECT_EQ(world.log_of(0), std::vector<std::string>{"e1"}) << "the old leader, down, still has e1 at offset 0";
  world.run_until(at_millis(400));
  EXPECT_EQ(world.log_of(0), std::vector<std::string>{"e2"}) << "back as a follower, it replaced e1 by the leader's e2";
  EXPECT_EQ(world.surviving(), std::vector<std::string>{"e2"});
}

struct Fetched {
  std::optional<FetchReply> reply;
};

sim::Task<void> fetch_at(sim::Context& context, sim::NodeId broker, sim::Instant when, Fetched& fetched) {
  co_await sleep_until(context, when);
  Fetch request{.topic = "orders", .partition = 0, .offset = 0};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  if (result.ok()) fetched.reply = *result;
}

TEST(BrokerReplication, ConsumersNeverSeeRecordsAboveTheHighWatermark) {
  sim::FaultPlan plan;
  plan.faults.push_back(one_way("broker", "broker-2", at_millis(0), sim::Duration::millis(25)));
  plan.faults.push_back(one_way("broker", "broker-3", at_millis(0), sim::Duration::millis(25)));
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::leader, .min_in_sync = 1}, plan);
  Published first;
  Fetched before, after;
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::leader, at_millis(0), 1, first));
  world.spawn(fetch_at(world.client_context(), world.replicas[0], at_millis(10), before));
  world.spawn(fetch_at(world.client_context(), world.replicas[0], at_millis(100), after));
  world.run_until(at_millis(200));

  ASSERT_EQ(first.outcome, Outcome::ok);
  ASSERT_TRUE(before.reply.has_value());
  EXPECT_EQ(world.log_of(0), std::vector<std::string>{"e1"});
  EXPECT_TRUE(before.reply->records.empty()) << "appended and acknowledged, but no follower has it yet";
  ASSERT_TRUE(after.reply.has_value());
  EXPECT_EQ(event_ids(after.reply->records), std::vector<std::string>{"e1"}) << "readable once replicated";
}

TEST(BrokerReplication, NonLeadersRefuseProducesAndConsumerFetches) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 2}, {});
  RawProduce produced;
  Fetched fetched;
  world.spawn(produce_at(world.client_context(), world.replicas[1], at_millis(1), 1, produced));
  world.spawn(fetch_at(world.client_context(), world.replicas[2], at_millis(1), fetched));
  world.run_until(at_millis(50));
  ASSERT_TRUE(produced.reply.has_value());
  EXPECT_EQ(produced.reply->error, broker_errors::not_leader);
  ASSERT_TRUE(fetched.reply.has_value());
  EXPECT_EQ(fetched.reply->error, broker_errors::not_leader);
}

TEST(BrokerReplication, AcksZeroCountsAPublishAsDoneWithoutWaitingForAnyReply) {
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::none, .min_in_sync = 1}, {});
  Published first;
  // The leader is known from the first metadata answer (one round trip), then nothing is awaited.
  world.spawn(publish_at(world.client_context(), world.endpoints(), ProducerAcks::none, at_millis(0), 1, first));
  world.run_until(at_millis(100));
  ASSERT_EQ(first.outcome, Outcome::ok);
  EXPECT_EQ(first.at, at_millis(2)) << "done once sent: the metadata round trip only";
  EXPECT_EQ(world.surviving(), std::vector<std::string>{"e1"});
}

sim::Task<void> send_buffered(sim::Context& context, BrokerEndpoints endpoints, std::optional<Outcome>& outcome) {
  // Owned by the node (like a model's objects): its sender coroutine outlives this frame.
  auto& producer =
      context.make<BufferedProducer>(context, std::move(endpoints), BufferedProducerSettings{.partitions = partitions});
  producer.send("orders", event_for(1), [&outcome](Outcome heard) { outcome = heard; });
  co_await producer.flush();
}

TEST(BrokerReplication, TheBufferedProducerFindsTheNewLeaderAfterAFailover) {
  sim::FaultPlan plan;
  plan.faults.push_back(crash("broker", at_millis(0), sim::Duration::millis(300)));
  ReplicatedWorld world(BrokerReplication{.replicas = 3, .acks = ProducerAcks::all, .min_in_sync = 2}, plan);
  std::optional<Outcome> outcome;
  world.run_until(at_millis(60));
  ASSERT_TRUE(world.leader().has_value());
  EXPECT_NE(*world.leader(), 0u) << "the crashed leader was replaced";
  world.spawn(send_buffered(world.client_context(), world.endpoints(), outcome));
  world.run_until(at_millis(200));
  EXPECT_EQ(outcome, Outcome::ok);
  EXPECT_EQ(world.surviving(), std::vector<std::string>{"e1"});
}

}  // namespace
}  // namespace faultline::models
