// Event identity as real systems have it (design.md section 6, "Identity").
// Goal: a design's messages carry ids of its own (the outbox designs draw one per row at
// write time and reuse it on every publish), the checkers still know each event by the
// change it announces, so a correct design whose messages carry ids of their own holds
// every claim, and a design that publishes one change under two message ids is caught
// by EO although the consumer's inbox (which deduplicates by message id, as a real
// inbox does) sees two different messages.
// Method: the built-in outbox designs run on seeds of the default fault profile; each
// run's broker records are read for their message ids and the run is judged. A
// test-only outbox design whose relay sends every row twice, each time under a fresh
// id, runs without faults in front of an inbox consumer.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "faultline/models/outbox.h"
#include "faultline/models/world.h"
#include "faultline/properties/runner.h"

namespace faultline {
namespace {

TEST(MessageIdentity, ACorrectDesignWhoseMessagesCarryIdsOfTheirOwnHoldsEveryClaim) {
  const models::DesignRegistry designs = models::builtin_designs();
  const sim::FaultProfile* profile = sim::find_fault_profile("default");
  ASSERT_NE(profile, nullptr);
  for (const char* name : {"outbox-polling", "outbox-cdc"}) {
    const models::Design* design = designs.find(name);
    ASSERT_NE(design, nullptr) << name;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
      const models::Scenario scenario =
          models::scenario_for_seed(*design, seed, models::Workload{.commands = 40}, *profile);
      models::Observation observation = models::run_scenario(scenario, *design);
      // Every announced event travels under one message id of the design's own, the
      // same on every append of it.
      std::map<std::string, std::set<std::string>> message_ids;  // announced event -> its message ids
      for (const auto& [log, records] : observation.broker_logs)
        for (const models::StoredRecord& record : records)
          message_ids[models::announced_event_id(record.event)].insert(record.event.message_id);
      ASSERT_FALSE(message_ids.empty()) << name << " seed " << seed << ": nothing reached the broker";
      for (const auto& [announced, ids] : message_ids) {
        EXPECT_EQ(ids.size(), 1u) << name << " seed " << seed << ": " << announced
                                  << " was appended under several message ids";
        EXPECT_EQ(ids.count(announced), 0u) << name << " seed " << seed << ": " << announced
                                            << " travels under its announced id, not an id of the design's own";
      }
      const properties::RunVerdict verdict = properties::judge(std::move(observation));
      const properties::Violation* violation = verdict.failed_claim(*design);
      EXPECT_EQ(violation, nullptr) << name << " seed " << seed << " violated " << violation->invariant << ": "
                                    << violation->explanation << "\nreplay: " << properties::replay_command(scenario);
    }
  }
}

// An outbox whose relay publishes each pending row twice, each time under a message id
// drawn afresh (as a relay that regenerates the id when it sends again would), then
// marks it sent.
class TwoMessageIdsPerChange final : public models::Design {
 public:
  std::string name() const override { return "test-two-message-ids-per-change"; }
  std::string summary() const override { return "outbox whose relay sends each row twice under fresh ids"; }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return "EO"; }
  models::Settings default_settings() const override {
    models::Settings settings;
    settings.consumer = models::ConsumerMode::inbox;
    return settings;
  }
  std::vector<std::string> points() const override { return {}; }
  sim::Task<models::PlaceOrderReply> place_order(models::ServiceEnv& env, models::PlaceOrder command) const override {
    return models::write_order_with_outbox(env, std::move(command));
  }
  void start(models::ServiceEnv& env) const override { env.context.spawn(relay(env)); }

 private:
  static sim::Task<void> relay(models::ServiceEnv& env) {
    for (;;) {
      co_await env.context.sleep(sim::Duration::millis(5));
      auto tx = co_await env.db.begin();
      if (!tx.ok()) continue;
      models::DbFilter pending{.state = models::outbox_state::pending, .lock = models::LockMode::for_update};
      auto rows = co_await tx.value.select(models::tables::outbox, std::move(pending));
      if (!rows.ok()) {
        co_await tx.value.abort();
        continue;
      }
      for (const models::Row& row : rows.value) {
        for (int copy = 0; copy < 2; ++copy) {
          models::Event event = models::event_of_outbox_row(row);
          event.message_id = models::draw_message_id(env.context);
          co_await env.producer.publish(env.topic, std::move(event));
        }
        co_await tx.value.update(models::tables::outbox, row.id, models::outbox_state::sent,
                                 models::outbox_state::pending);
      }
      co_await tx.value.commit();
    }
  }
};

TEST(MessageIdentity, OneChangeAppliedUnderTwoMessageIdsIsCaughtByExactlyOnce) {
  const TwoMessageIdsPerChange design;
  models::Scenario scenario;
  scenario.design = design.name();
  scenario.profile = "";
  scenario.workload = models::Workload{.commands = 5};
  scenario.settings = design.default_settings();
  const properties::RunVerdict verdict = properties::run_once(scenario, design);
  ASSERT_TRUE(verdict.checks.violated("EO")) << "the inbox deduplicates by message id, so both copies are applied";
  const std::string& explanation = verdict.checks.first("EO")->explanation;
  EXPECT_NE(explanation.find("was applied 2 times by group projection"), std::string::npos) << explanation;
  EXPECT_FALSE(verdict.checks.violated("L")) << verdict.checks.first("L")->explanation;
  EXPECT_FALSE(verdict.checks.violated("P")) << verdict.checks.first("P")->explanation;
}

}  // namespace
}  // namespace faultline
