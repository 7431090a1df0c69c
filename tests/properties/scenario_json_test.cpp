// Checks that clock skew faults survive the scenario JSON both ways: a plan with a
// skew ahead and one behind reads back equal to what was written, the skew is written
// as signed microseconds, and a hand-written skew without its offset, or an offset on
// another kind of fault, is refused with a message naming the problem.
#include "faultline/properties/scenario_json.h"

#include <gtest/gtest.h>

#include <string>

namespace faultline {
namespace {

models::Scenario scenario_with_skews() {
  models::Scenario scenario;
  scenario.design = "outbox-polling";
  scenario.seed = 7;
  sim::Fault ahead{.kind = sim::FaultKind::clock_skew, .at = sim::Instant{1'000}, .node = "db"};
  ahead.skew = sim::Duration::millis(15);
  sim::Fault behind{.kind = sim::FaultKind::clock_skew, .at = sim::Instant{2'000}, .node = "service"};
  behind.skew = sim::Duration::micros(-4'500);
  scenario.plan.faults = {ahead, behind};
  return scenario;
}

TEST(ScenarioJson, AClockSkewPlanRoundTrips) {
  const models::Scenario written = scenario_with_skews();
  const std::string text = properties::scenario_to_json(written);
  EXPECT_NE(text.find("\"skew_us\": -4500"), std::string::npos) << text;
  EXPECT_NE(text.find("\"clock-skew\""), std::string::npos) << text;
  const models::Scenario read = properties::scenario_from_json(text);
  EXPECT_EQ(read.plan, written.plan) << text;
}

TEST(ScenarioJson, AClockSkewWithoutItsOffsetIsRefused) {
  const std::string text =
      R"({"design": "outbox-polling", "seed": 1, "faults": [{"kind": "clock-skew", "node": "db", "at_us": 5}]})";
  try {
    properties::scenario_from_json(text);
    ADD_FAILURE() << "a clock-skew fault without skew_us was accepted";
  } catch (const properties::ScenarioError& error) {
    EXPECT_NE(std::string(error.what()).find("needs \"skew_us\""), std::string::npos) << error.what();
  }
}

TEST(ScenarioJson, AnOffsetOnAnotherKindOfFaultIsRefused) {
  const std::string text =
      R"({"design": "outbox-polling", "seed": 1, "faults": [{"kind": "crash", "node": "db", "at_us": 5, "skew_us": 3}]})";
  try {
    properties::scenario_from_json(text);
    ADD_FAILURE() << "a crash fault with skew_us was accepted";
  } catch (const properties::ScenarioError& error) {
    EXPECT_NE(std::string(error.what()).find("only clock-skew faults"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace faultline
