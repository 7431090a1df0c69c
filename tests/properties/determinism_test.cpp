// Determinism is the product. Goal: the same scenario always gives the same trace
// hash and the same verdict, and different seeds give different runs. Method: run
// scenarios twice and compare hashes and observations; sweep 1,000 seeds and count
// distinct hashes.
#include <gtest/gtest.h>

#include <atomic>
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

// Goal: --jobs changes the wall time, never the result. Method: sweep a positive control
// (so there are counterexamples to choose) on one thread and on four, and compare every
// field, counterexamples included.
TEST(Determinism, ASweepOnFourThreadsGivesTheResultOfOneThread) {
  const auto& design = *designs().find("dual-write-db-first");
  properties::SweepOptions options{.workload = models::Workload{.commands = 20}, .seed_start = 7, .seeds = 60};
  const auto one = properties::sweep(design, options);
  options.jobs = 4;
  const auto four = properties::sweep(design, options);
  EXPECT_EQ(one.runs, four.runs);
  EXPECT_EQ(one.seed_first, four.seed_first);
  EXPECT_EQ(one.seed_last, four.seed_last);
  EXPECT_EQ(one.violations, four.violations);
  EXPECT_EQ(one.lost_events, four.lost_events);
  EXPECT_EQ(one.phantom_events, four.phantom_events);
  EXPECT_EQ(one.duplicate_deliveries, four.duplicate_deliveries);
  EXPECT_EQ(one.runs_with_duplicates, four.runs_with_duplicates);
  EXPECT_EQ(one.point_coverage, four.point_coverage);
  EXPECT_EQ(one.engine.events, four.engine.events);
  EXPECT_EQ(one.engine.simulated_us, four.engine.simulated_us);
  ASSERT_EQ(one.counterexamples.size(), four.counterexamples.size());
  for (std::size_t index = 0; index < one.counterexamples.size(); ++index) {
    EXPECT_EQ(one.counterexamples[index].seed, four.counterexamples[index].seed) << "counterexample " << index;
    EXPECT_EQ(one.counterexamples[index].invariant, four.counterexamples[index].invariant);
    EXPECT_EQ(one.counterexamples[index].trace_hash, four.counterexamples[index].trace_hash);
    EXPECT_EQ(one.counterexamples[index].story, four.counterexamples[index].story);
    EXPECT_EQ(one.counterexamples[index].scenario_json, four.counterexamples[index].scenario_json);
  }
}

// Goal: an interrupted sweep reports exactly the runs that finished, a contiguous range
// of seeds from the first. Method: raise the stop flag from the progress callback after
// ten runs, on two threads, and check the result's seeds against its runs.
TEST(Determinism, AStoppedSweepReportsTheContiguousSeedsThatRan) {
  const auto& design = *designs().find("outbox-polling");
  std::atomic<bool> stop{false};
  properties::SweepOptions options{.workload = models::Workload{.commands = 10},
                                   .seed_start = 100,
                                   .seeds = 100'000,
                                   .jobs = 2,
                                   .progress = [&](std::uint64_t done, std::uint64_t) { stop = stop || done >= 10; },
                                   .stop = &stop};
  const auto result = properties::sweep(design, options);
  // How far the workers got past the request depends on scheduling, so only "it
  // stopped, and what it reports is a contiguous prefix" is asserted.
  EXPECT_GE(result.runs, 10U);
  EXPECT_LT(result.runs, 100'000U) << "the sweep did not stop";
  EXPECT_EQ(result.seed_first, 100U);
  EXPECT_EQ(result.seed_last, 100U + result.runs - 1);
}

// Goal: the determinism check reruns the first seed and every n-th after it, and finds a
// healthy build deterministic. Method: rerun every 7th of 30 seeds on two threads.
TEST(Determinism, TheRerunCheckFindsTheSameTraceHashes) {
  const auto& design = *designs().find("outbox-polling");
  properties::SweepOptions options{
      .workload = models::Workload{.commands = 10}, .seed_start = 1, .seeds = 30, .jobs = 2, .rerun_every = 7};
  const auto outcome = properties::sweep_checked(design, options);
  EXPECT_EQ(outcome.reruns, 5U) << "seeds 1, 8, 15, 22 and 29";
  EXPECT_FALSE(outcome.nondeterminism.has_value())
      << "seed " << outcome.nondeterminism->seed << " hashed differently on its rerun";
}

}  // namespace
}  // namespace faultline
