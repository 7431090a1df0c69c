// Checks that a sweep told to abandon its runs (sim/abandon.h, raised by the command a
// moment after SIGINT or SIGTERM) keeps exactly the runs that finished before: the run
// abandoned mid-way and every run after it are left out, so the result is the sweep of
// a prefix of the seeds, the same as a sweep asked for that many seeds; counterexample
// write-ups abandoned the same way are dropped, never half-written. Method: raise the
// flag from the sweep's own progress callback after the third run, with one job (then
// no fourth run starts) and with two (the run in flight on the other thread is
// abandoned, or finishes and is kept). A hunt abandoned while it shrinks has no shrunk
// counterexample and says it was interrupted.
#include "faultline/sim/abandon.h"

#include <gtest/gtest.h>

#include <atomic>

#include "faultline/models/design.h"
#include "faultline/properties/hunt.h"
#include "faultline/properties/runner.h"
#include "faultline/reports/json_report.h"

namespace faultline::properties {
namespace {

SweepOptions small_sweep(std::size_t jobs) {
  return SweepOptions{.workload = models::Workload{.commands = 10}, .seed_start = 1, .seeds = 12, .jobs = jobs};
}

// The sweep of `design` whose abandon flag rises once `runs_before` runs are folded.
results::DesignResult sweep_abandoned_after(const models::Design& design, std::size_t jobs, std::uint64_t runs_before) {
  std::atomic<bool> abandon{false};
  SweepOptions options = small_sweep(jobs);
  options.progress = [&](std::uint64_t done, std::uint64_t) {
    if (done == runs_before) abandon.store(true);
  };
  const sim::AbandonScope scope(&abandon);
  return sweep_checked(design, options).result;
}

// Checks that `abandoned` is, in its deterministic part (as the report writes it), the
// sweep of its own seeds with nothing abandoned.
void expect_same_as_a_sweep_of_its_seeds(const models::Design& design, const results::DesignResult& abandoned) {
  EXPECT_EQ(abandoned.seed_first, 1U);
  EXPECT_EQ(abandoned.seed_last, abandoned.runs) << "the seeds kept are not a prefix";
  SweepOptions prefix = small_sweep(1);
  prefix.seeds = abandoned.runs;
  EXPECT_EQ(reports::to_json(abandoned).dump(), reports::to_json(sweep_checked(design, prefix).result).dump());
}

TEST(SweepAbandon, OneJobKeepsExactlyTheRunsThatFinishedBefore) {
  const auto designs = models::builtin_designs();
  const models::Design& design = *designs.find("outbox-polling");
  const results::DesignResult abandoned = sweep_abandoned_after(design, 1, 3);
  EXPECT_EQ(abandoned.runs, 3U);
  expect_same_as_a_sweep_of_its_seeds(design, abandoned);
}

TEST(SweepAbandon, TwoJobsKeepAPrefixOfTheSeeds) {
  const auto designs = models::builtin_designs();
  const models::Design& design = *designs.find("outbox-polling");
  const results::DesignResult abandoned = sweep_abandoned_after(design, 2, 3);
  ASSERT_GE(abandoned.runs, 3U);
  ASSERT_LT(abandoned.runs, 12U) << "nothing was abandoned";
  expect_same_as_a_sweep_of_its_seeds(design, abandoned);
}

TEST(SweepAbandon, AbandonedWriteUpsAreDroppedNotHalfWritten) {
  const auto designs = models::builtin_designs();
  const models::Design& design = *designs.find("dual-write-db-first");
  const results::DesignResult abandoned = sweep_abandoned_after(design, 1, 6);
  ASSERT_EQ(abandoned.runs, 6U);
  ASSERT_GT(abandoned.violations.at("L"), 0U) << "the positive control lost nothing in 6 seeds: pick other seeds";
  // The flag is up for the whole write-up, so every write-up is abandoned at once.
  EXPECT_TRUE(abandoned.counterexamples.empty());
}

TEST(HuntAbandon, AShrinkingAbandonedLeavesNoShrunkCounterexampleAndSaysInterrupted) {
  const auto designs = models::builtin_designs();
  const models::Design& design = *designs.find("dual-write-db-first");
  std::atomic<bool> abandon{false};
  HuntOptions options{.workload = models::Workload{.commands = 10}, .searches = 1, .seeds_max = 200};
  // Raised once the one search is folded, so the shrinking that follows is abandoned.
  options.progress = [&](std::uint32_t) { abandon.store(true); };
  const sim::AbandonScope scope(&abandon);
  const HuntResult result = hunt(design, options);
  ASSERT_EQ(result.searches.size(), 1U);
  ASSERT_TRUE(result.searches[0].failing_seed.has_value()) << "the positive control was not caught in 200 seeds";
  EXPECT_FALSE(result.shrunk.has_value());
  EXPECT_TRUE(result.interrupted);
}

}  // namespace
}  // namespace faultline::properties
