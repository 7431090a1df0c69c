// Determinism is the product. Goal: the same scenario always gives the same trace
// hash and the same verdict, and different seeds give different runs. Method: run
// scenarios twice and compare hashes and observations; sweep 1,000 seeds and count
// distinct hashes.
#include <gtest/gtest.h>

#include <set>

#include "faultline/properties/runner.h"
#include "faultline/sim/faults.h"

namespace faultline {
namespace {

const models::DesignRegistry& designs() {
  static const models::DesignRegistry registry = models::builtin_designs();
  return registry;
}

TEST(Determinism, TheSameScenarioGivesTheSameTraceHashEveryTime) {
  for (const auto& design : designs().all()) {
    for (std::uint64_t seed : {1ULL, 2ULL, 475ULL, 9001ULL}) {
      const auto scenario = models::scenario_for_seed(*design, seed, models::Workload{.commands = 40},
                                                      *sim::find_fault_profile("default"));
      const auto first = models::run_scenario(scenario, *design);
      const auto second = models::run_scenario(scenario, *design);
      EXPECT_EQ(first.trace_hash, second.trace_hash) << design->name() << " seed " << seed;
      EXPECT_EQ(first.events, second.events) << design->name() << " seed " << seed;
      EXPECT_EQ(first.tables, second.tables) << design->name() << " seed " << seed;
    }
  }
}

TEST(Determinism, CapturingTheFullTraceDoesNotChangeTheRun) {
  const auto& design = *designs().find("outbox-polling");
  const auto scenario =
      models::scenario_for_seed(design, 17, models::Workload{.commands = 40}, *sim::find_fault_profile("default"));
  const auto hashed = models::run_scenario(scenario, design, sim::TraceCapture::hash_only);
  const auto captured = models::run_scenario(scenario, design, sim::TraceCapture::full);
  EXPECT_EQ(hashed.trace_hash, captured.trace_hash);
  EXPECT_FALSE(captured.trace.empty());
}

TEST(Determinism, DifferentSeedsGiveDifferentTraceHashesAcrossAThousandSeeds) {
  const auto& design = *designs().find("outbox-polling");
  std::set<std::uint64_t> hashes;
  constexpr std::uint64_t seeds = 1'000;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const auto scenario =
        models::scenario_for_seed(design, seed, models::Workload{.commands = 10}, *sim::find_fault_profile("default"));
    hashes.insert(models::run_scenario(scenario, design).trace_hash);
  }
  EXPECT_EQ(hashes.size(), seeds);
}

TEST(Determinism, ASweepGivesTheSameResultsTwice) {
  const auto& design = *designs().find("dual-write-db-first");
  properties::SweepOptions options{.workload = models::Workload{.commands = 20}, .seed_start = 100, .seeds = 50};
  const auto first = properties::sweep(design, options);
  const auto second = properties::sweep(design, options);
  EXPECT_EQ(first.violations, second.violations);
  EXPECT_EQ(first.point_coverage, second.point_coverage);
  ASSERT_EQ(first.counterexamples.size(), second.counterexamples.size());
  for (std::size_t index = 0; index < first.counterexamples.size(); ++index) {
    EXPECT_EQ(first.counterexamples[index].trace_hash, second.counterexamples[index].trace_hash);
    EXPECT_EQ(first.counterexamples[index].story, second.counterexamples[index].story);
  }
}

}  // namespace
}  // namespace faultline
