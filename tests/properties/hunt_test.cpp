// The hunt and the shrinker behind its counterexample sizes. Goal: a positive control is
// caught by every search, and its shrunk counterexample still fails and is no larger than
// the seed's scenario; a correct design's searches find nothing; the hunt's numbers do not
// depend on the number of threads; each search sweeps its own seed range. Method: small
// hunts (few searches, few seeds, short workloads) of built-in designs, compared field by
// field, and shrunk scenarios replayed on their own.
#include "faultline/properties/hunt.h"

#include <gtest/gtest.h>

#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/properties/shrink.h"
#include "faultline/sim/faults.h"

namespace faultline {
namespace {

const models::DesignRegistry& designs() {
  static const models::DesignRegistry registry = models::builtin_designs();
  return registry;
}

const models::Design& design_named(const std::string& name) {
  const models::Design* design = designs().find(name);
  EXPECT_NE(design, nullptr) << name << " is not a built-in design";
  return *design;
}

properties::HuntOptions small_hunt(std::size_t jobs, std::uint64_t seeds_max = 300) {
  return properties::HuntOptions{
      .workload = models::Workload{.commands = 20}, .searches = 5, .seeds_max = seeds_max, .jobs = jobs};
}

// The first seed (from 1) whose run violates `invariant`, among the first `seeds_max`.
std::optional<models::Scenario> first_failing_scenario(const models::Design& design, const std::string& invariant,
                                                       std::uint32_t commands, std::uint64_t seeds_max) {
  for (std::uint64_t seed = 1; seed <= seeds_max; ++seed) {
    auto scenario = models::scenario_for_seed(design, seed, models::Workload{.commands = commands},
                                              *sim::find_fault_profile("default"));
    if (properties::run_once(scenario, design).checks.violated(invariant)) return scenario;
  }
  return std::nullopt;
}

TEST(Hunt, CatchesAPositiveControlInEverySearchAndShrinksItsCounterexample) {
  const auto& design = design_named("dual-write-db-first");
  const properties::HuntResult result = properties::hunt(design, small_hunt(1));
  ASSERT_EQ(result.searches.size(), 5u);
  EXPECT_EQ(result.verdict(), properties::HuntVerdict::caught);
  EXPECT_EQ(result.searches_found(), 5u);
  ASSERT_TRUE(result.median_seeds().has_value());
  ASSERT_TRUE(result.min_seeds().has_value());
  ASSERT_TRUE(result.max_seeds().has_value());
  EXPECT_LE(*result.min_seeds(), *result.median_seeds());
  EXPECT_LE(*result.median_seeds(), static_cast<double>(*result.max_seeds()));
  for (const auto& search : result.searches) EXPECT_EQ(search.invariant, "L");

  ASSERT_TRUE(result.shrunk.has_value()) << "a caught control has a shrunk counterexample";
  const auto& shrunk = *result.shrunk;
  EXPECT_EQ(shrunk.seed, *result.searches.front().failing_seed);
  EXPECT_LE(shrunk.commands, shrunk.commands_before);
  EXPECT_LE(shrunk.faults, shrunk.faults_before);
  // The shrunk scenario, replayed from its JSON alone, still loses an event.
  const models::Scenario replayed = properties::scenario_from_json(shrunk.scenario_json, &designs());
  EXPECT_EQ(replayed.workload.commands, shrunk.commands);
  EXPECT_EQ(replayed.plan.faults.size(), shrunk.faults);
  EXPECT_TRUE(properties::run_once(replayed, design).checks.violated("L")) << shrunk.scenario_json;
}

TEST(Hunt, GivesTheSameNumbersForOneJobAndTwo) {
  for (const char* name : {"dual-write-db-first", "bug-unlocked-claim"}) {
    const auto& design = design_named(name);
    // 100 seeds per search: some searches of bug-unlocked-claim find it, some do not.
    const properties::HuntResult one = properties::hunt(design, small_hunt(1, 100));
    const properties::HuntResult two = properties::hunt(design, small_hunt(2, 100));
    ASSERT_EQ(one.searches.size(), two.searches.size()) << name;
    for (std::size_t index = 0; index < one.searches.size(); ++index) {
      EXPECT_EQ(one.searches[index].seeds_run, two.searches[index].seeds_run) << name << " search " << index;
      EXPECT_EQ(one.searches[index].failing_seed, two.searches[index].failing_seed) << name << " search " << index;
      EXPECT_EQ(one.searches[index].invariant, two.searches[index].invariant) << name << " search " << index;
    }
    EXPECT_EQ(one.verdict(), two.verdict()) << name;
    EXPECT_EQ(one.median_seeds(), two.median_seeds()) << name;
    ASSERT_EQ(one.shrunk.has_value(), two.shrunk.has_value()) << name;
    if (one.shrunk) {
      EXPECT_EQ(one.shrunk->scenario_json, two.shrunk->scenario_json) << name;
    }
  }
}

TEST(Hunt, FindsNoClaimedInvariantOfTheOutboxViolatedInSearchesOfTheirOwnSeeds) {
  const properties::HuntResult result = properties::hunt(design_named("outbox-polling"), small_hunt(2));
  EXPECT_EQ(result.verdict(), properties::HuntVerdict::holds)
      << "outbox-polling violated " << (result.shrunk ? result.shrunk->invariant : "?") << ": "
      << (result.shrunk ? result.shrunk->scenario_json : "");
  EXPECT_FALSE(result.median_seeds().has_value()) << "no search found anything: the median exceeds the budget";
  EXPECT_FALSE(result.shrunk.has_value());
  ASSERT_EQ(result.searches.size(), 5u);
  for (std::size_t index = 0; index < result.searches.size(); ++index) {
    const auto& search = result.searches[index];
    EXPECT_EQ(search.seed_first, index * properties::hunt_seed_stride + 1) << "search " << index;
    EXPECT_EQ(search.seeds_run, 300u) << "search " << index << " found nothing, so it ran its whole budget";
  }
}

// A search that ran `seeds_run` seeds from `seed_first`, failing at its last seed when `failed`.
properties::HuntSearch search_of(std::uint64_t seed_first, std::uint64_t seeds_run, bool failed) {
  properties::HuntSearch search{.seed_first = seed_first, .seeds_run = seeds_run};
  if (failed) {
    search.failing_seed = seed_first + seeds_run - 1;
    search.invariant = "L";
  }
  return search;
}

TEST(Hunt, CountsASearchThatFoundNothingAsBeyondTheBudget) {
  properties::HuntResult control{.seeds_max = 10, .expected_violation = "L"};
  control.searches = {search_of(1, 3, true), search_of(1'000'000'001, 10, false), search_of(2'000'000'001, 5, true)};
  EXPECT_EQ(control.verdict(), properties::HuntVerdict::not_caught) << "a control is caught only by every search";
  EXPECT_EQ(control.searches_found(), 2u);
  EXPECT_EQ(control.median_seeds(), 5.0);
  EXPECT_EQ(control.min_seeds(), 3u);
  EXPECT_EQ(control.max_seeds(), std::nullopt) << "the slowest search needed more than the budget";

  // With half the searches empty-handed, the upper middle is beyond the budget: no median.
  control.searches.push_back(search_of(3'000'000'001, 10, false));
  EXPECT_EQ(control.median_seeds(), std::nullopt);

  // An even count of successful searches takes the mean of the two middle ones.
  control.searches = {search_of(1, 1, true), search_of(1'000'000'001, 2, true), search_of(2'000'000'001, 4, true),
                      search_of(3'000'000'001, 9, true)};
  EXPECT_EQ(control.verdict(), properties::HuntVerdict::caught);
  EXPECT_EQ(control.median_seeds(), 3.0);
  EXPECT_EQ(control.max_seeds(), 9u);

  // A correct design is violated as soon as one search found a claimed invariant violated.
  properties::HuntResult correct{.seeds_max = 10, .claimed = {"L"}};
  correct.searches = {search_of(1, 10, false), search_of(1'000'000'001, 10, false)};
  EXPECT_EQ(correct.verdict(), properties::HuntVerdict::holds);
  correct.searches.push_back(search_of(2'000'000'001, 7, true));
  EXPECT_EQ(correct.verdict(), properties::HuntVerdict::violated);
}

TEST(Shrink, KeepsTheViolationAndNeverGrowsTheScenario) {
  const auto& design = design_named("dual-write-publish-first");
  const auto failing = first_failing_scenario(design, "P", 40, 200);
  ASSERT_TRUE(failing.has_value()) << "no seed of 200 published a phantom event";
  const properties::ShrinkOutcome outcome = properties::shrink_scenario(*failing, design, "P");
  EXPECT_TRUE(properties::run_once(outcome.scenario, design).checks.violated("P"));
  EXPECT_LE(outcome.scenario.workload.commands, failing->workload.commands);
  EXPECT_LE(outcome.scenario.plan.faults.size(), failing->plan.faults.size());
  EXPECT_EQ(outcome.scenario.seed, failing->seed);
  EXPECT_EQ(outcome.scenario.profile, "") << "a shrunk scenario is no longer the profile's draw";
  // Shrinking is a pure function of its arguments.
  const properties::ShrinkOutcome again = properties::shrink_scenario(*failing, design, "P");
  EXPECT_EQ(again.scenario, outcome.scenario);
  EXPECT_EQ(again.runs, outcome.runs);
}

TEST(Shrink, StopsAtItsRunBudget) {
  const auto& design = design_named("dual-write-db-first");
  const auto failing = first_failing_scenario(design, "L", 40, 200);
  ASSERT_TRUE(failing.has_value()) << "no seed of 200 lost an event";
  const properties::ShrinkOutcome outcome = properties::shrink_scenario(*failing, design, "L", 3);
  EXPECT_LE(outcome.runs, 3u);
  EXPECT_TRUE(properties::run_once(outcome.scenario, design).checks.violated("L"));
}

}  // namespace
}  // namespace faultline
