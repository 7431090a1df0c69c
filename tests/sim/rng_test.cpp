// Checks the run's pseudo-random generator: a seed means one sequence, bounded draws
// stay in their bounds and are close to uniform, integer-ratio chances are exact at
// their extremes, and split() gives streams distinct from the parent. Every check
// runs on fixed seeds, so a statistical bound is a deterministic assertion: it
// cannot flake, and it fails if the generator or a distribution is broken.
#include "faultline/sim/rng.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <vector>

namespace faultline::sim {
namespace {

std::vector<std::uint64_t> first_draws(Rng& rng, std::size_t count) {
  std::vector<std::uint64_t> draws;
  for (std::size_t i = 0; i < count; ++i) draws.push_back(rng.next());
  return draws;
}

// Pearson's chi-square statistic of `draws` draws of below(bound) against the uniform law.
double chi_square_of_below(Rng& rng, std::uint64_t bound, std::uint64_t draws) {
  std::vector<std::uint64_t> counts(bound, 0);
  for (std::uint64_t i = 0; i < draws; ++i) {
    const std::uint64_t value = rng.below(bound);
    EXPECT_LT(value, bound);
    if (value < bound) ++counts[value];
  }
  const double expected = static_cast<double>(draws) / static_cast<double>(bound);
  double statistic = 0;
  for (const std::uint64_t count : counts) {
    const double difference = static_cast<double>(count) - expected;
    statistic += difference * difference / expected;
  }
  return statistic;
}

TEST(Rng, TheSameSeedGivesTheSameSequence) {
  Rng first(42);
  Rng second(42);
  EXPECT_EQ(first_draws(first, 1000), first_draws(second, 1000));
}

TEST(Rng, DifferentSeedsGiveDifferentSequences) {
  Rng first(42);
  Rng second(43);
  const auto a = first_draws(first, 1000);
  const auto b = first_draws(second, 1000);
  int equal = 0;
  for (std::size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i] ? 1 : 0;
  EXPECT_EQ(equal, 0) << "two seeds gave the same 64-bit draw at the same position";
}

TEST(Rng, BelowStaysInRangeAndIsRoughlyUniform) {
  Rng rng(7);
  // 9 degrees of freedom: the 99.9999% quantile is about 44; a broken generator
  // (say, one value never drawn) gives thousands.
  EXPECT_LT(chi_square_of_below(rng, 10, 100'000), 50.0);
  // A bound that is not a power of two and does not divide 2^64 (rejection matters).
  EXPECT_LT(chi_square_of_below(rng, 3, 30'000), 30.0);
  // 99 degrees of freedom: the 99.9999% quantile is about 180.
  EXPECT_LT(chi_square_of_below(rng, 100, 200'000), 200.0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(rng.below(1), 0U);
  // A bound above 2^63: every draw must still be below it, and the upper half must be reached.
  const std::uint64_t huge = (std::uint64_t{1} << 63) + 12345;
  int upper_half = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t value = rng.below(huge);
    ASSERT_LT(value, huge);
    upper_half += value >= huge / 2 ? 1 : 0;
  }
  EXPECT_GT(upper_half, 400);
  EXPECT_LT(upper_half, 600);
}

TEST(Rng, BetweenIncludesBothEnds) {
  Rng rng(11);
  std::array<int, 7> seen{};
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t value = rng.between(-3, 3);
    ASSERT_GE(value, -3);
    ASSERT_LE(value, 3);
    ++seen[static_cast<std::size_t>(value + 3)];
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_GT(seen[i], 1000) << "value " << static_cast<int>(i) - 3;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.between(5, 5), 5);
  const std::int64_t big = std::int64_t{1} << 40;
  bool low_end = false;
  bool high_end = false;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t value = rng.between(big, big + 1);
    ASSERT_TRUE(value == big || value == big + 1);
    low_end = low_end || value == big;
    high_end = high_end || value == big + 1;
  }
  EXPECT_TRUE(low_end);
  EXPECT_TRUE(high_end);
}

// rng.h handles "the full 64-bit range" explicitly, but computes `high - low` in
// signed arithmetic first: signed overflow is undefined behaviour whenever the
// span exceeds INT64_MAX. The draws run in a child process so that if the
// generator crashes, this test fails and the rest of the suite still runs.
TEST(Rng, BetweenAcceptsSpansWiderThanInt64Max) {
  EXPECT_EXIT(
      {
        Rng rng(13);
        constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
        constexpr std::int64_t highest = std::numeric_limits<std::int64_t>::max();
        int negative = 0;
        for (int i = 0; i < 1000; ++i) negative += rng.between(lowest, highest) < 0 ? 1 : 0;
        int in_range = 0;
        for (int i = 0; i < 1000; ++i) in_range += rng.between(-1, highest) >= -1 ? 1 : 0;
        // Both halves of the full range are reached; every draw of [-1, max] is in it.
        std::exit(negative > 400 && negative < 600 && in_range == 1000 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Rng, ChanceOfNothingNeverHappensAndChanceOfEverythingAlwaysDoes) {
  Rng rng(17);
  for (const std::uint64_t denominator : {1ULL, 2ULL, 7ULL, 1'000'000ULL, ~0ULL}) {
    for (int i = 0; i < 2000; ++i) {
      ASSERT_FALSE(rng.chance(0, denominator)) << "chance(0, " << denominator << ")";
      ASSERT_TRUE(rng.chance(denominator, denominator)) << "chance(d, d) with d = " << denominator;
    }
  }
  int heads = 0;
  for (int i = 0; i < 10'000; ++i) heads += rng.chance(1, 2) ? 1 : 0;
  EXPECT_GT(heads, 4500);
  EXPECT_LT(heads, 5500);
  int rare = 0;
  for (int i = 0; i < 100'000; ++i) rare += rng.chance(1, 100) ? 1 : 0;
  EXPECT_GT(rare, 800);
  EXPECT_LT(rare, 1200);
}

TEST(Rng, SplitStreamsDifferFromTheParentAndFromEachOther) {
  Rng parent(23);
  Rng first_child = parent.split();
  Rng second_child = parent.split();
  const auto parent_draws = first_draws(parent, 1000);
  const auto first_child_draws = first_draws(first_child, 1000);
  const auto second_draws = first_draws(second_child, 1000);
  const std::set<std::uint64_t> parent_values(parent_draws.begin(), parent_draws.end());
  int shared_with_parent = 0;
  int shared_between_children = 0;
  const std::set<std::uint64_t> second_values(second_draws.begin(), second_draws.end());
  for (const std::uint64_t value : first_child_draws) {
    shared_with_parent += parent_values.count(value) > 0 ? 1 : 0;
    shared_between_children += second_values.count(value) > 0 ? 1 : 0;
  }
  EXPECT_EQ(shared_with_parent, 0);
  EXPECT_EQ(shared_between_children, 0);

  // Splitting is itself deterministic: the same parent seed gives the same child.
  Rng same_parent(23);
  Rng same_child = same_parent.split();
  EXPECT_EQ(first_draws(same_child, 1000), first_child_draws);
}

}  // namespace
}  // namespace faultline::sim
