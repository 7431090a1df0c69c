// Checks that the scenario reader refuses hostile input in one line that names the
// problem, before anything is built or printed: a profile that is no fault profile (a
// long string, a terminal escape), a design name with a control character, a one-way cut
// from a node to itself, more faults than a plan may hold, and a string past the limit.
// Method: hand-written and generated scenario text; the reader's speed on such input is
// measured by scripts/bench-hostile-inputs, not asserted.
#include <gtest/gtest.h>

#include <string>

#include "faultline/properties/scenario_json.h"

namespace faultline {
namespace {

// The message the reader refuses `text` with, or "(accepted)".
std::string refusal(const std::string& text) {
  try {
    properties::scenario_from_json(text);
  } catch (const properties::ScenarioError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "the message is more than one line: " << message;
    EXPECT_EQ(message.find('\x1b'), std::string::npos) << "the message carries a terminal escape: " << message;
    return message;
  }
  return "(accepted)";
}

std::string with_profile(const std::string& profile_json) {
  return R"({"design": "outbox-polling", "seed": 1, "profile": )" + profile_json + "}";
}

std::string with_faults(const std::string& faults_json) {
  return R"({"design": "outbox-polling", "seed": 1, "faults": )" + faults_json + "}";
}

TEST(ScenarioJsonHostile, AcceptsAKnownProfileOrNone) {
  EXPECT_EQ(refusal(with_profile(R"("crashes")")), "(accepted)");
  EXPECT_EQ(refusal(with_profile(R"("")")), "(accepted)");
}

TEST(ScenarioJsonHostile, RefusesAProfileThatIsNoFaultProfile) {
  EXPECT_NE(refusal(with_profile(R"("meteors")")).find("scenario.profile \"meteors\" is not a fault profile"),
            std::string::npos)
      << refusal(with_profile(R"("meteors")"));
}

TEST(ScenarioJsonHostile, RefusesAProfileWithATerminalEscapeWithoutPrintingIt) {
  const std::string message = refusal(with_profile(R"("\u001b[2J\u001b[31mdefault")"));
  EXPECT_NE(message.find("is not a fault profile"), std::string::npos) << message;
}

TEST(ScenarioJsonHostile, RefusesALongProfileAndQuotesOnlyItsStart) {
  const std::string message = refusal(with_profile("\"" + std::string(4'000, 'x') + "\""));
  EXPECT_NE(message.find("is not a fault profile"), std::string::npos) << message.substr(0, 200);
  EXPECT_LT(message.size(), 400U) << "the whole string was quoted";
}

TEST(ScenarioJsonHostile, RefusesAStringPastTheLimitWhileParsing) {
  const std::string message = refusal(with_profile("\"" + std::string(5'000'000, 'x') + "\""));
  EXPECT_EQ(message, "scenario.profile is a string longer than 4096 bytes");
}

TEST(ScenarioJsonHostile, RefusesADesignNameWithAControlCharacter) {
  const std::string message = refusal(R"({"design": "outbox\u001b[31m", "seed": 1})");
  EXPECT_NE(message.find("scenario.design"), std::string::npos) << message;
  EXPECT_NE(message.find("is not a design name"), std::string::npos) << message;
}

TEST(ScenarioJsonHostile, RefusesAOneWayCutFromANodeToItself) {
  const std::string message =
      refusal(with_faults(R"([{"kind": "one-way", "at_us": 5, "node": "db", "peer": "db", "duration_us": 9}])"));
  EXPECT_NE(message.find("scenario.faults[0]: a one-way fault cuts \"db\" from another node, not from itself"),
            std::string::npos)
      << message;
  EXPECT_EQ(refusal(with_faults(R"([{"kind": "one-way", "at_us": 5, "node": "db", "peer": "broker"}])")), "(accepted)");
}

TEST(ScenarioJsonHostile, RefusesMoreFaultsThanAPlanMayHoldWhileParsing) {
  std::string faults = "[";
  for (int index = 0; index < 200'000; ++index) faults += index == 0 ? "{}" : ",{}";
  EXPECT_EQ(refusal(with_faults(faults + "]")), "scenario.faults has more than 10000 entries");
}

TEST(ScenarioJsonHostile, RefusesADuplicateKeyDeepInALongPlan) {
  std::string faults = "[";
  for (int index = 0; index < 9'999; ++index) faults += R"({"kind": "crash", "node": "db", "at_us": 1},)";
  faults += R"({"kind": "crash", "at_us": 1, "at_us": 2}])";
  EXPECT_EQ(refusal(with_faults(faults)), "the key \"at_us\" appears twice in one object");
}

}  // namespace
}  // namespace faultline
