// Checks that a scenario's broker replication settings survive JSON both ways, that
// a scenario without settings takes its design's (a replicated variant's three
// replicas included), that fault plans may name the extra replicas, and that the
// reader refuses what the broker does not model (two replicas, min ISR above the
// replica count, an unknown acks value).
#include <gtest/gtest.h>

#include <string>

#include "faultline/models/design.h"
#include "faultline/properties/scenario_json.h"

namespace faultline::properties {
namespace {

TEST(ScenarioJsonBroker, ReplicationSettingsRoundTrip) {
  models::Scenario scenario;
  scenario.settings.broker = models::BrokerReplication{.replicas = 3,
                                                       .acks = models::ProducerAcks::leader,
                                                       .min_in_sync = 2,
                                                       .unclean_election = models::UncleanElection::on,
                                                       .fsync = models::BrokerFsync::periodic,
                                                       .fsync_interval = sim::Duration::millis(7),
                                                       .replica_lag_max = sim::Duration::millis(40)};
  scenario.plan.faults.push_back(
      sim::Fault{.kind = sim::FaultKind::crash, .at = sim::Instant{} + sim::Duration::millis(3), .node = "broker-3"});
  const std::string text = scenario_to_json(scenario);
  EXPECT_EQ(scenario_from_json(text), scenario) << text;
  EXPECT_NE(text.find("\"acks\": \"1\""), std::string::npos) << text;
}

TEST(ScenarioJsonBroker, AScenarioWithoutSettingsTakesTheReplicatedDesignsBroker) {
  const models::DesignRegistry designs = models::builtin_designs();
  const models::Scenario scenario =
      scenario_from_json(R"({"design": "outbox-polling-replicated", "seed": 3})", &designs);
  EXPECT_EQ(scenario.settings.broker.replicas, 3u);
  EXPECT_EQ(scenario.settings.broker.min_in_sync, 2u);
  EXPECT_EQ(scenario.settings.broker.acks, models::ProducerAcks::all);
}

TEST(ScenarioJsonBroker, ASingleBrokerWorldHasNoReplicaNodesToName) {
  EXPECT_THROW(scenario_from_json(R"({"faults": [{"kind": "crash", "at_us": 5, "node": "broker-2"}]})"), ScenarioError);
}

TEST(ScenarioJsonBroker, RefusesSettingsTheBrokerDoesNotModel) {
  for (const char* broker : {R"({"replicas": 2})", R"({"replicas": 3, "min_in_sync": 4})", R"({"acks": "2"})",
                             R"({"fsync": "never"})", R"({"replicas": 3, "leader": 1})", R"([])"}) {
    const std::string text = std::string(R"({"settings": {"broker": )") + broker + "}}";
    EXPECT_THROW(scenario_from_json(text), ScenarioError) << text;
  }
}

}  // namespace
}  // namespace faultline::properties
