// Checks the consumer-group semantics of the broker and consumer models: the group's
// committed offset is durable in the broker, a consumer that crashes resumes from it
// and re-applies only the batch it had not committed (duplicates appear only in that
// window, nothing is skipped), and a broker crash does not lose committed offsets.
//
// Method: the client fills one partition with ten events, then the test starts the
// consumer (batches of four). A planned crash at the consumer's named point
// "consumer.after_apply" strikes mid-batch; the test reads the consumer's durable
// effects and the group's committed offset and compares them with the exact window
// the at-least-once contract allows.
#include "faultline/models/consumer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
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

constexpr std::int64_t events_in_log = 10;
constexpr std::uint32_t batch = 4;

struct FillRecord {
  std::int64_t acknowledged = 0;
};

// Produces events e1..e10 into the single partition, one at a time.
sim::Task<void> fill_partition(sim::Context& context, sim::NodeId broker, FillRecord& record) {
  for (std::int64_t command = 1; command <= events_in_log; ++command) {
    Produce request{.topic = "orders",
                    .event = Event{.message_id = event_id_for(command), .key = "k", .command = command}};
    const auto result = co_await context.call(broker, std::move(request), client_timeout);
    if (result.ok() && result->ok) ++record.acknowledged;
  }
}

struct OffsetRecord {
  std::optional<std::int64_t> offset;
};

sim::Task<void> read_committed_offset(sim::Context& context, sim::NodeId broker, OffsetRecord& record) {
  FetchOffset request{.group = "projection", .topic = "orders", .partition = 0};
  const auto result = co_await context.call(broker, std::move(request), client_timeout);
  if (result.ok()) record.offset = result->offset;
}

WorldOptions consumer_options() {
  WorldOptions options;
  options.consumer = ConsumerSettings{.group = "projection", .topic = "orders", .partitions = 1, .batch = batch};
  return options;
}

// Fills the partition and starts the consumer once every event is acknowledged.
void fill_then_start_consumer(ModelWorld& world, FillRecord& fill) {
  world.spawn(fill_partition(world.client_context(), world.broker, fill));
  world.run_for(sim::Duration::millis(100));
  ASSERT_EQ(fill.acknowledged, events_in_log);
  world.start_consumer();
}

std::map<std::int64_t, int> applications_per_offset(const std::vector<AppliedEffect>& effects) {
  std::map<std::int64_t, int> count;
  for (const AppliedEffect& effect : effects) ++count[effect.offset];
  return count;
}

TEST(Consumer, ResumesFromItsGroupsCommittedOffsetAndReappliesOnlyTheUncommittedBatch) {
  FillRecord fill;
  OffsetRecord committed;
  WorldOptions options = consumer_options();
  // Batch one (offsets 0-3) is applied and committed; the crash strikes after the
  // second effect of batch two (offset 5), before that batch's offset commit.
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "consumer.after_apply",
                                           .hit = batch + 2,
                                           .duration = sim::Duration::millis(20)});
  ModelWorld world(options);
  fill_then_start_consumer(world, fill);
  world.run_for(sim::Duration::millis(300));
  world.spawn(read_committed_offset(world.client_context(), world.broker, committed));
  world.run_for(sim::Duration::millis(20));

  ASSERT_EQ(world.simulation.incarnation(world.consumer), 1u) << "the planned crash struck";
  const auto effects = world.durable_effects();
  std::vector<std::int64_t> offsets;
  for (const AppliedEffect& effect : effects) offsets.push_back(effect.offset);
  // Before the crash: 0..5. After the restart: from the committed offset 4 onwards.
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9}));

  const auto applications = applications_per_offset(effects);
  for (std::int64_t offset = 0; offset < events_in_log; ++offset) {
    const bool in_uncommitted_window = offset >= batch && offset < batch + 2;
    EXPECT_EQ(applications.count(offset) ? applications.at(offset) : 0, in_uncommitted_window ? 2 : 1)
        << "offset " << offset << ": nothing is skipped, and only the uncommitted batch is applied twice";
  }
  for (const AppliedEffect& effect : effects) {
    EXPECT_EQ(effect.event.message_id, event_id_for(effect.offset + 1)) << "offset " << effect.offset;
    EXPECT_EQ(effect.group, "projection");
  }
  EXPECT_EQ(committed.offset, events_in_log) << "the group committed past the last record";
}

TEST(Consumer, CommittedGroupOffsetsSurviveABrokerCrash) {
  FillRecord fill;
  OffsetRecord committed;
  ModelWorld world(consumer_options());
  fill_then_start_consumer(world, fill);
  world.run_for(sim::Duration::millis(100));
  ASSERT_EQ(world.durable_effects().size(), static_cast<std::size_t>(events_in_log));

  // Both the consumer (its in-memory positions) and the broker go down; after the
  // restart, only the durable offset store can tell the consumer where to resume.
  world.simulation.crash(world.consumer, "the test");
  world.simulation.crash(world.broker, "the test");
  world.simulation.restart(world.broker);
  world.simulation.restart(world.consumer);
  world.run_for(sim::Duration::millis(100));
  world.spawn(read_committed_offset(world.client_context(), world.broker, committed));
  world.run_for(sim::Duration::millis(20));

  EXPECT_EQ(committed.offset, events_in_log);
  EXPECT_EQ(world.durable_effects().size(), static_cast<std::size_t>(events_in_log))
      << "the restarted consumer re-applied records its group had already committed";
}

TEST(Consumer, CommittingTheOffsetBeforeProcessingSkipsTheRestOfTheBatchAfterACrash) {
  FillRecord fill;
  WorldOptions options = consumer_options();
  options.consumer.mode = ConsumerMode::commit_before_processing;
  // Batch two (offsets 4-7) is committed first; the crash strikes before applying
  // offset 5, so 5, 6 and 7 are never applied.
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "consumer.before_apply",
                                           .hit = batch + 2,
                                           .duration = sim::Duration::millis(20)});
  ModelWorld world(options);
  fill_then_start_consumer(world, fill);
  world.run_for(sim::Duration::millis(300));

  ASSERT_EQ(world.simulation.incarnation(world.consumer), 1u) << "the planned crash struck";
  std::vector<std::int64_t> offsets;
  for (const AppliedEffect& effect : world.durable_effects()) offsets.push_back(effect.offset);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 8, 9})) << "C1 loses the rest of the batch";
}

TEST(Consumer, InboxAppliesEachEventExactlyOnceDespiteARedelivery) {
  FillRecord fill;
  OffsetRecord committed;
  WorldOptions options = consumer_options();
  options.consumer.mode = ConsumerMode::inbox;
  // As in the commit-after-processing case: the crash strikes after the second
  // effect of batch two, before the offset commit, so offsets 4 and 5 come again.
  options.plan.faults.push_back(sim::Fault{.kind = sim::FaultKind::crash,
                                           .point = "consumer.after_apply",
                                           .hit = batch + 2,
                                           .duration = sim::Duration::millis(20)});
  ModelWorld world(options);
  fill_then_start_consumer(world, fill);
  world.run_for(sim::Duration::millis(600));
  world.spawn(read_committed_offset(world.client_context(), world.broker, committed));
  world.run_for(sim::Duration::millis(20));

  ASSERT_EQ(world.simulation.incarnation(world.consumer), 1u) << "the planned crash struck";
  EXPECT_EQ(committed.offset, events_in_log) << "the redelivered records were consumed";
  const auto effects = Consumer::durable_effects_in_database(world.simulation.disk(world.db), "projection");
  std::map<std::string, int> applications;
  for (const AppliedEffect& effect : effects) ++applications[effect.event.message_id];
  EXPECT_EQ(applications.size(), static_cast<std::size_t>(events_in_log)) << "every event applied";
  for (const auto& [event_id, count] : applications) EXPECT_EQ(count, 1) << event_id << " applied more than once";
  EXPECT_TRUE(world.durable_effects().empty()) << "the inbox mode keeps its effects in the database only";
}

}  // namespace
}  // namespace faultline::models
