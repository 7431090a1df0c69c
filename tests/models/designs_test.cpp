// Checks the built-in designs end to end through models::run_scenario, with
// hand-made scenarios whose fault plans are explicit: without faults both
// dual-write-db-first and outbox-polling deliver every committed order exactly once;
// a crash of the service right after the commit ("service.after_commit") makes the
// dual write lose that order's event while the outbox still delivers it; a crash of
// the relay between the broker's ack and marking the row sent
// ("relay.after_publish_ack") makes the outbox publish an event twice but lose none.
// It also checks what the events carry, that without faults every design that claims
// an invariant acknowledges every command, and that per-key order holds with two relays.
//
// Method: run one scenario per case and compare the Observation's durable consumer
// effects with its durable orders and outbox tables, matching them by announced event
// (each order announces one event per line item the client asked for).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/world.h"
#include "model_test_support.h"

namespace faultline::models {
namespace {

// How an observation's effects line up with its committed orders.
struct Deliveries {
  std::vector<std::int64_t> committed;          // commands with a durable order
  std::size_t committed_events = 0;             // the events those orders announce
  std::vector<std::int64_t> lost;               // committed, an event never applied
  std::vector<std::int64_t> duplicated;         // committed, an event applied more than once
  std::vector<std::string> phantom;             // applied, never committed
  std::map<std::string, int> applications;      // event id -> times applied
  std::map<std::int64_t, std::uint32_t> items;  // command -> the events its change announces
};

Deliveries deliveries_of(const Observation& observation) {
  Deliveries deliveries;
  for (const AppliedEffect& effect : observation.effects) ++deliveries.applications[announced_event_id(effect.event)];
  auto& items = deliveries.items;
  for (const CommandRecord& command : observation.commands) items[command.command] = command.items;
  std::map<std::string, bool> committed_events;
  const auto orders = observation.tables.find(tables::orders);
  if (orders != observation.tables.end()) {
    for (const auto& [id, row] : orders->second) {
      deliveries.committed.push_back(row.command);
      bool lost = false;
      bool duplicated = false;
      for (std::uint32_t index = 1; index <= items[row.command]; ++index) {
        const std::string event_id = announced_event_id(row.command, index, items[row.command]);
        committed_events[event_id] = true;
        ++deliveries.committed_events;
        const auto applied = deliveries.applications.find(event_id);
        lost = lost || applied == deliveries.applications.end();
        duplicated = duplicated || (applied != deliveries.applications.end() && applied->second > 1);
      }
      if (lost) deliveries.lost.push_back(row.command);
      if (duplicated) deliveries.duplicated.push_back(row.command);
    }
  }
  for (const auto& [event_id, count] : deliveries.applications)
    if (!committed_events.count(event_id)) deliveries.phantom.push_back(event_id);
  return deliveries;
}

// Runs `design_name` on a hand-made scenario. The world's settings are Settings{}
// (one relay, a consumer that commits its offset after processing and keeps its
// effects in its own log), not the design's defaults, so that a duplicate delivery
// stays visible instead of being absorbed by an inbox.
Observation run(const std::string& design_name, const Workload& workload, sim::FaultPlan plan,
                sim::Duration liveness_bound = sim::Duration::seconds(5), Settings settings = {}) {
  const DesignRegistry registry = builtin_designs();
  const Design* design = registry.find(design_name);
  EXPECT_NE(design, nullptr) << design_name;
  if (design == nullptr) return {};
  const Scenario scenario{.design = design_name,
                          .seed = 7,
                          .profile = "",
                          .workload = workload,
                          .settings = settings,
                          .plan = std::move(plan),
                          .liveness_bound = liveness_bound};
  return run_scenario(scenario, *design);
}

Workload small_workload(std::uint32_t commands) {
  return Workload{.commands = commands, .keys = 4};
}

bool reached(const Observation& observation, const std::string& point) {
  const auto found = observation.coverage.find(point);
  return found != observation.coverage.end() && found->second > 0;
}

sim::FaultPlan crash_service_at(const std::string& point) {
  return sim::FaultPlan{{sim::Fault{.kind = sim::FaultKind::crash, .point = point, .hit = 1}}};
}

void expect_every_order_delivered_exactly_once(const std::string& design_name) {
  constexpr std::uint32_t commands = 30;
  const Observation observation = run(design_name, small_workload(commands), sim::FaultPlan{});
  const Deliveries deliveries = deliveries_of(observation);

  const auto orders = observation.tables.find(tables::orders);
  ASSERT_NE(orders, observation.tables.end());
  for (const CommandRecord& command : observation.commands) {
    if (command.outcome != Outcome::ok) continue;
    EXPECT_EQ(orders->second.count(command.order_id), 1u)
        << "command " << command.command << " was acknowledged but its order is not durable";
  }
  ASSERT_FALSE(deliveries.committed.empty());
  EXPECT_TRUE(observation.drained);
  EXPECT_TRUE(deliveries.lost.empty()) << deliveries.lost.size() << " committed orders were never delivered";
  EXPECT_TRUE(deliveries.duplicated.empty()) << deliveries.duplicated.size() << " orders were delivered twice";
  EXPECT_TRUE(deliveries.phantom.empty()) << deliveries.phantom.size() << " events match no committed order";
  EXPECT_EQ(observation.effects.size(), deliveries.committed_events);
}

TEST(DualWriteDbFirst, DeliversEveryCommittedOrderExactlyOnceWithoutFaults) {
  expect_every_order_delivered_exactly_once("dual-write-db-first");
}

TEST(OutboxPolling, DeliversEveryCommittedOrderExactlyOnceWithoutFaults) {
  expect_every_order_delivered_exactly_once("outbox-polling");
}

TEST(DualWriteDbFirst, LosesTheEventOfAnOrderCommittedJustBeforeTheServiceCrashes) {
  const Observation observation = run("dual-write-db-first", small_workload(5),
                                      crash_service_at("service.after_commit"), sim::Duration::seconds(1));
  const Deliveries deliveries = deliveries_of(observation);

  ASSERT_TRUE(reached(observation, "service.after_commit")) << "the crash point was never reached";
  ASSERT_FALSE(deliveries.committed.empty());
  ASSERT_FALSE(deliveries.lost.empty()) << "the order committed before the crash must have no effect";
  for (const std::int64_t command : deliveries.lost)
    for (std::uint32_t index = 1; index <= deliveries.items.at(command); ++index)
      EXPECT_EQ(deliveries.applications.count(announced_event_id(command, index, deliveries.items.at(command))), 0u);
  EXPECT_FALSE(observation.drained) << "nothing ever publishes the lost event, so the run cannot drain";
  EXPECT_TRUE(deliveries.phantom.empty());
}

TEST(OutboxPolling, StillDeliversTheOrderCommittedJustBeforeTheServiceCrashes) {
  const Observation observation = run("outbox-polling", small_workload(5), crash_service_at("service.after_commit"));
  const Deliveries deliveries = deliveries_of(observation);

  ASSERT_TRUE(reached(observation, "service.after_commit")) << "the crash point was never reached";
  ASSERT_FALSE(deliveries.committed.empty());
  EXPECT_TRUE(deliveries.lost.empty()) << deliveries.lost.size() << " committed orders were never delivered";
  EXPECT_TRUE(deliveries.phantom.empty());
  EXPECT_TRUE(observation.drained);
}

TEST(OutboxPolling, PublishesTwiceButLosesNothingWhenTheRelayCrashesAfterThePublishAck) {
  const Observation observation = run("outbox-polling", small_workload(5), crash_service_at("relay.after_publish_ack"));
  const Deliveries deliveries = deliveries_of(observation);

  ASSERT_TRUE(reached(observation, "relay.after_publish_ack")) << "the crash point was never reached";
  ASSERT_FALSE(deliveries.committed.empty());
  EXPECT_FALSE(deliveries.duplicated.empty())
      << "the published event was not marked sent before the crash, so the restarted relay publishes it again";
  EXPECT_TRUE(deliveries.lost.empty()) << deliveries.lost.size() << " committed orders were never delivered";
  EXPECT_TRUE(deliveries.phantom.empty());
  EXPECT_TRUE(observation.drained);
}

// The event announces the order it is about: Event::order_id should be the id of the
// order row, as dual-write-db-first sends it.
void expect_events_to_carry_the_id_of_their_order(const std::string& design_name, const Observation& observation) {
  const auto orders = observation.tables.find(tables::orders);
  ASSERT_NE(orders, observation.tables.end()) << design_name;
  std::map<std::int64_t, std::int64_t> order_of_command;
  for (const auto& [id, row] : orders->second) order_of_command[row.command] = id;
  ASSERT_FALSE(observation.effects.empty());
  for (const AppliedEffect& effect : observation.effects)
    EXPECT_EQ(effect.event.order_id, order_of_command[effect.event.command])
        << design_name << ": event " << announced_event_id(effect.event);
}

TEST(OutboxPolling, EventsCarryTheIdOfTheOrderTheyAnnounce) {
  expect_events_to_carry_the_id_of_their_order("outbox-polling",
                                               run("outbox-polling", small_workload(5), sim::FaultPlan{}));
}

// Every registered design that writes orders, seeded bugs included, announces each
// order with its row's id. Publish-first is the one exception by construction: it
// publishes before the order row exists, so there is no id it could carry yet.
TEST(EveryDesignWithOrders, EventsCarryTheIdOfTheOrderTheyAnnounce) {
  const DesignRegistry registry = builtin_designs();
  std::size_t designs_with_orders = 0;
  for (const auto& design : registry.all()) {
    if (design->name() == "dual-write-publish-first") continue;
    // Event-first designs publish before the order row exists, like publish-first.
    if (design->source_of_truth() == SourceOfTruth::broker) continue;
    const Observation observation = run(design->name(), small_workload(5), sim::FaultPlan{});
    if (observation.tables.count(tables::orders) == 0) continue;  // an event store: events are the change
    ++designs_with_orders;
    expect_events_to_carry_the_id_of_their_order(design->name(), observation);
  }
  EXPECT_GE(designs_with_orders, 3u) << "dual write, publish in transaction and the outboxes all write orders";
}

TEST(DualWriteDbFirst, EventsCarryTheIdOfTheOrderTheyAnnounce) {
  const Observation observation = run("dual-write-db-first", small_workload(5), sim::FaultPlan{});
  const auto orders = observation.tables.find(tables::orders);
  ASSERT_NE(orders, observation.tables.end());
  std::size_t events = 0;
  for (const CommandRecord& command : observation.commands)
    if (command.outcome == Outcome::ok) events += command.items;
  ASSERT_EQ(observation.effects.size(), events);
  for (const AppliedEffect& effect : observation.effects) {
    ASSERT_EQ(orders->second.count(effect.event.order_id), 1u) << announced_event_id(effect.event);
    EXPECT_EQ(orders->second.at(effect.event.order_id).command, effect.event.command);
  }
}

// A change announces one event per line item. Without faults, every design that claims
// no lost event (L) writes every event of every committed change with it, and each is
// applied: none is dropped because its change had others. Method: a workload whose
// orders have 1 to 4 items, no faults; the committed changes are the commands with a
// durable order row or event-store event; each must have every one of its events among
// the effects, and some change must have had several (or the test proves nothing).
TEST(EveryDesignClaimingL, AppliesEveryEventOfAChangeOfSeveralWithoutFaults) {
  const DesignRegistry registry = builtin_designs();
  std::size_t designs = 0;
  for (const auto& design : registry.all()) {
    const std::vector<std::string> claims = design->claims();
    if (std::find(claims.begin(), claims.end(), "L") == claims.end()) continue;
    ++designs;
    const Workload workload{.commands = 12, .keys = 3, .items_max = 4};
    const Observation observation =
        run(design->name(), workload, sim::FaultPlan{}, sim::Duration::seconds(5), design->default_settings());
    EXPECT_TRUE(observation.drained) << design->name();
    std::map<std::int64_t, std::uint32_t> items;
    for (const CommandRecord& command : observation.commands) items[command.command] = command.items;
    std::set<std::int64_t> committed;
    for (const char* table : {tables::orders, tables::events})
      if (const auto rows = observation.tables.find(table); rows != observation.tables.end())
        for (const auto& [id, row] : rows->second) committed.insert(row.command);
    std::set<std::string> applied;
    for (const AppliedEffect& effect : observation.effects) applied.insert(announced_event_id(effect.event));
    std::size_t several = 0;
    for (const std::int64_t command : committed) {
      if (items.at(command) > 1) ++several;
      for (std::uint32_t index = 1; index <= items.at(command); ++index)
        EXPECT_EQ(applied.count(announced_event_id(command, index, items.at(command))), 1u)
            << design->name() << ": event " << index << " of " << items.at(command) << " of command " << command;
    }
    EXPECT_GE(several, 3u) << design->name() << ": too few changes of several events to judge";
  }
  EXPECT_GE(designs, 8u);
}

// Without faults, a correct design acknowledges every command: a lock wait, a lost
// race to create a key's row or an optimistic-concurrency conflict is the service's
// to retry, not the client's to see. Method: every registered design that claims an
// invariant runs the scenario of each of the first 50 seeds with the fault profile
// `none` (the exact scenario `faultline replay --profile none` runs), 100 commands
// each, and every command must end ok.
std::vector<std::string> correct_designs() {
  const DesignRegistry registry = builtin_designs();
  std::vector<std::string> names;
  for (const auto& design : registry.all())
    if (!design->claims().empty()) names.push_back(design->name());
  return names;
}

class CorrectDesign : public ::testing::TestWithParam<std::string> {};

TEST_P(CorrectDesign, AcknowledgesEveryCommandWithoutFaults) {
  constexpr std::uint64_t seeds = 50;
  constexpr std::uint32_t commands = 100;
  const DesignRegistry registry = builtin_designs();
  const Design* design = registry.find(GetParam());
  ASSERT_NE(design, nullptr) << GetParam();
  const sim::FaultProfile* none = sim::find_fault_profile("none");
  ASSERT_NE(none, nullptr);
  std::size_t rejected = 0;
  std::string first_rejections;  // the first few, each with the command that replays it
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const Scenario scenario = scenario_for_seed(*design, seed, Workload{.commands = commands}, *none);
    ASSERT_TRUE(scenario.plan.faults.empty()) << "the profile none plans no fault";
    const Observation observation = run_scenario(scenario, *design);
    ASSERT_EQ(observation.commands.size(), commands + scenario.workload.after_heal_commands);
    for (const CommandRecord& command : observation.commands) {
      if (command.outcome == Outcome::ok) continue;
      if (++rejected > 5) continue;
      first_rejections += "\n  seed " + std::to_string(seed) + ": command " + std::to_string(command.command) +
                          " (key " + command.key + ") ended " + std::string(to_string(command.outcome)) +
                          "; replay: faultline replay --design " + GetParam() + " --seed " + std::to_string(seed) +
                          " --commands " + std::to_string(commands) + " --profile none";
    }
  }
  EXPECT_EQ(rejected, 0u) << GetParam() << ": " << rejected << " of "
                          << seeds * (commands + Workload{}.after_heal_commands)
                          << " commands were not acknowledged in runs without any fault; the first:"
                          << first_rejections;
}

INSTANTIATE_TEST_SUITE_P(EveryClaimingDesign, CorrectDesign, ::testing::ValuesIn(correct_designs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& letter : name)
                             if (letter == '-') letter = '_';
                           return name;
                         });

// Per key, the order in which events are first applied must follow the order in
// which their changes committed. The write path locks the key's row, so per key the
// outbox ids follow commit order; the check compares first applications with them.
std::size_t out_of_order_applications(const Observation& observation) {
  std::map<std::int64_t, std::int64_t> outbox_id_of_command;
  const auto outbox = observation.tables.find(tables::outbox);
  if (outbox == observation.tables.end()) return 0;
  for (const auto& [id, row] : outbox->second) outbox_id_of_command[row.command] = id;
  std::map<std::string, std::int64_t> last_applied;  // key -> outbox id
  std::map<std::string, bool> seen;
  std::size_t out_of_order = 0;
  for (const AppliedEffect& effect : observation.effects) {
    if (seen[announced_event_id(effect.event)]) continue;
    seen[announced_event_id(effect.event)] = true;
    const std::int64_t id = outbox_id_of_command[effect.event.command];
    std::int64_t& last = last_applied[effect.event.key];
    if (id < last) {
      ++out_of_order;
    } else {
      last = id;
    }
  }
  return out_of_order;
}

TEST(OutboxPolling, KeepsPerKeyOrderWithTwoRelays) {
  // Enough load on few keys that a relay's batch holds rows of several keys.
  const Workload busy{.commands = 200, .keys = 3, .spacing_max = sim::Duration::micros(1'000)};
  const Observation one_relay = run("outbox-polling", busy, sim::FaultPlan{}, sim::Duration::seconds(5), Settings{});
  const Observation two_relays =
      run("outbox-polling", busy, sim::FaultPlan{}, sim::Duration::seconds(5), Settings{.relays = 2});

  ASSERT_FALSE(two_relays.effects.empty());
  ASSERT_TRUE(two_relays.drained);
  EXPECT_EQ(out_of_order_applications(one_relay), 0u) << "the control: one relay keeps per-key order";
  // Each relay must read only the keys it owns: a relay that locked (or skipped) the
  // other's rows would let a later event of a key go out before an earlier one.
  EXPECT_EQ(out_of_order_applications(two_relays), 0u)
      << "with two relays, some events were applied after a later event of their key";
}

// Listen to yourself: the service's own consumer group makes the order row from the
// event. A crash after that insert but before its offset commit redelivers the event
// to the restarted service; re-validation finds the order and skips it, so each
// command has exactly one order row. The seeded bug, without re-validation, makes a
// second row for the redelivered event.
// The service writes one row per line item (per event): a command's count is the most
// rows any of its items has.
std::map<std::int64_t, int> order_rows_per_command(const Observation& observation) {
  std::map<std::pair<std::int64_t, std::uint32_t>, int> rows_per_item;
  const auto orders = observation.tables.find(tables::orders);
  if (orders != observation.tables.end())
    for (const auto& [id, row] : orders->second) ++rows_per_item[{row.command, row.index_in_change}];
  std::map<std::int64_t, int> rows;
  for (const auto& [item, count] : rows_per_item) rows[item.first] = std::max(rows[item.first], count);
  return rows;
}

TEST(ListenToYourself, MakesEachOrderOnceWhenTheServiceCrashesBeforeItsOffsetCommit) {
  const Observation observation = run("listen-to-yourself", small_workload(5), crash_service_at("self.after_apply"));
  ASSERT_TRUE(reached(observation, "self.after_apply")) << "the crash point was never reached";
  const std::map<std::int64_t, int> rows = order_rows_per_command(observation);
  ASSERT_FALSE(rows.empty());
  for (const auto& [command, count] : rows) EXPECT_EQ(count, 1) << "command " << command;
  const Deliveries deliveries = deliveries_of(observation);
  EXPECT_TRUE(deliveries.lost.empty()) << deliveries.lost.size() << " committed orders were never delivered";
  EXPECT_TRUE(deliveries.phantom.empty());
  EXPECT_TRUE(observation.drained);
}

TEST(ListenToYourself, MakesEveryAcknowledgedOrderWithoutFaults) {
  constexpr std::uint32_t commands = 20;
  const Observation observation = run("listen-to-yourself", small_workload(commands), sim::FaultPlan{});
  const std::map<std::int64_t, int> rows = order_rows_per_command(observation);
  for (const CommandRecord& record : observation.commands)
    if (record.outcome == Outcome::ok) {
      EXPECT_EQ(rows.count(record.command), 1u) << "command " << record.command;
    }
  EXPECT_EQ(rows.size(), observation.commands.size());  // the workload's and those issued after the heal
  EXPECT_TRUE(observation.drained);
}

TEST(BugListenToYourselfWithoutRevalidation, MakesASecondOrderForARedeliveredEvent) {
  const Observation observation =
      run("bug-listen-to-yourself-without-revalidation", small_workload(5), crash_service_at("self.after_apply"));
  ASSERT_TRUE(reached(observation, "self.after_apply")) << "the crash point was never reached";
  const std::map<std::int64_t, int> rows = order_rows_per_command(observation);
  int duplicated = 0;
  for (const auto& [command, count] : rows)
    if (count > 1) ++duplicated;
  EXPECT_GE(duplicated, 1) << "the event applied before the crash is redelivered and applied again";
}

}  // namespace
}  // namespace faultline::models
