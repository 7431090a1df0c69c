// Specificity of the positive controls. Goal: a seeded bug is caught because of its
// seeded lines, not because the harness flags the world it runs in. Each seeded bug
// names its correct twin (Design::correct_twin): the registered correct design it was
// made from, running the same world (relays, their placement, consumers, broker
// replicas, database standby) with the marked lines undone. The twin must never
// violate the invariant the bug is caught violating. Method: per positive control,
// check that the twin is registered, correct and runs the control's world, differing
// at most in the one setting a settings bug seeds; then sweep the twin over a fixed
// range of seeds under the default profile (500 per control, times
// FAULTLINE_SUITE_SCALE) and require no run to violate the control's invariant. The
// README's table is the same sweep at 10,000 seeds (docs/figures/specificity.txt).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "faultline/properties/runner.h"
#include "suite_support.h"

namespace faultline {
namespace {

const models::DesignRegistry& designs() {
  return testing::builtin_registry();
}

using testing::positive_controls;

// The positive controls that name a correct twin: the seeded bugs (every one must, see
// EveryPositiveControl.WithoutATwinIsANaiveDesign).
std::vector<std::string> controls_with_a_twin() {
  std::vector<std::string> names;
  for (const auto& design : designs().all())
    if (!design->expected_violation().empty() && !design->correct_twin().empty()) names.push_back(design->name());
  return names;
}

// The built-in seeded bugs are named bug-...; the other positive controls (the naive
// dual writes) are no mutation of a correct design and have no twin.
bool is_seeded_bug(const models::Design& design) {
  return design.name().rfind("bug-", 0) == 0;
}

// The settings, one name per knob, in which two designs' worlds differ.
std::vector<std::string> differing_settings(const models::Settings& left, const models::Settings& right) {
  std::vector<std::string> names;
  const auto compare = [&names](bool same, const char* name) {
    if (!same) names.emplace_back(name);
  };
  compare(left.db_commit == right.db_commit, "db_commit");
  compare(left.consumer == right.consumer, "consumer");
  compare(left.relays == right.relays, "relays");
  compare(left.relay_placement == right.relay_placement, "relay_placement");
  compare(left.consumers == right.consumers, "consumers");
  compare(left.offset_reset == right.offset_reset, "offset_reset");
  compare(left.inbox == right.inbox && left.inbox_retention == right.inbox_retention, "inbox");
  compare(left.consumer_isolation == right.consumer_isolation, "consumer_isolation");
  compare(left.broker.replicas == right.broker.replicas, "broker.replicas");
  compare(left.broker == right.broker || left.broker.replicas != right.broker.replicas, "broker");
  compare(left.db_standby == right.db_standby, "db_standby");
  compare(left.db_slot_sync == right.db_slot_sync, "db_slot_sync");
  return names;
}

// The knobs that shape the world (which nodes exist, how many relays and consumers
// race): a twin must never differ in these, or its sweep would judge another system.
bool shapes_the_world(const std::string& setting) {
  return setting == "relays" || setting == "relay_placement" || setting == "consumers" ||
         setting == "broker.replicas" || setting == "db_standby";
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

class EverySeededBug : public ::testing::TestWithParam<std::string> {};

TEST(EveryPositiveControl, WithoutATwinIsANaiveDesign) {
  for (const auto& name : positive_controls()) {
    const models::Design& control = *designs().find(name);
    if (!control.correct_twin().empty()) continue;
    EXPECT_FALSE(is_seeded_bug(control)) << control.name() << " is a seeded bug but names no correct twin";
  }
  EXPECT_FALSE(controls_with_a_twin().empty());
}

TEST_P(EverySeededBug, HasACorrectTwinRunningTheSameWorld) {
  const models::Design& control = *designs().find(GetParam());
  const std::string twin_name = control.correct_twin();
  ASSERT_FALSE(twin_name.empty()) << control.name();
  const models::Design* twin = designs().find(twin_name);
  ASSERT_NE(twin, nullptr) << control.name() << " names " << twin_name << ", which is not registered";
  EXPECT_FALSE(twin->claims().empty()) << twin_name << " claims nothing: a twin is a correct design";
  EXPECT_TRUE(twin->expected_violation().empty()) << twin_name << " is itself a positive control";
  EXPECT_TRUE(twin->correct_twin().empty()) << twin_name << " names a twin of its own";
  const std::vector<std::string> differing = differing_settings(control.default_settings(), twin->default_settings());
  for (const auto& setting : differing)
    EXPECT_FALSE(shapes_the_world(setting)) << control.name() << " and its twin " << twin_name << " differ in "
                                            << setting << ": they must run the same world";
  EXPECT_LE(differing.size(), 1U) << control.name() << " and its twin " << twin_name
                                  << " differ in more than the one seeded setting: " << joined(differing);
}

TEST_P(EverySeededBug, ItsTwinNeverViolatesTheControlsInvariant) {
  const models::Design& control = *designs().find(GetParam());
  const std::string expected = control.expected_violation();
  const std::string twin_name = control.correct_twin();
  ASSERT_FALSE(twin_name.empty()) << control.name();
  const models::Design* twin = designs().find(twin_name);
  ASSERT_NE(twin, nullptr) << twin_name << " is not registered";

  const properties::SweepOptions options{.seeds = 500 * static_cast<std::uint64_t>(testing::suite_scale()),
                                         .counterexamples_per_invariant = 1};
  const results::DesignResult result = properties::sweep(*twin, options);
  ASSERT_EQ(result.runs, options.seeds);
  const auto violations = result.violations.find(expected);
  const std::uint64_t violating = violations == result.violations.end() ? 0 : violations->second;
  std::string first;
  for (const auto& counterexample : result.counterexamples)
    if (counterexample.invariant == expected) {
      first = counterexample.explanation + "\nreplay: " + counterexample.replay;
      break;
    }
  EXPECT_EQ(violating, 0U) << twin_name << ", the correct twin of " << control.name() << ", violated " << expected
                           << " in " << violating << " of " << result.runs << " runs: the control's catch is not "
                           << "specific to its seeded bug.\nfirst: " << first;
}

INSTANTIATE_TEST_SUITE_P(Specificity, EverySeededBug, ::testing::ValuesIn(controls_with_a_twin()),
                         testing::test_name_of_param);

}  // namespace
}  // namespace faultline
