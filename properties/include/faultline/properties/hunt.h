// The hunt: how many seeds a random search needs to catch a design failing, measured over
// many independent searches (`faultline hunt`). For a positive control it measures the
// harness's power (seeds until its expected violation is found); for a correct design it
// looks for a violation of any invariant it claims, and reports none within the budget.
//
// Search s (counted from 0) sweeps its own seeds, s * hunt_seed_stride + 1, + 2, ...,
// up to seeds_max of them, and stops at the first run that fails; the searches' seed
// ranges never overlap. The first search that failed is shrunk (shrink.h) to give the
// size of a minimal counterexample.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/scenario.h"

namespace faultline::properties {

inline constexpr std::uint64_t hunt_seed_stride = 1'000'000'000;

struct HuntOptions {
  std::string profile = "default";
  models::Workload workload;
  std::uint32_t searches = 20;
  std::uint64_t seeds_max = 10'000;  // per search; at most hunt_seed_stride
  // Threads that run searches, the calling thread included. The result does not depend
  // on it: each search is a sequential pure function of its index, and searches are
  // folded in index order.
  std::size_t jobs = 1;
  // Called after each search is folded in, with searches done; never from two threads at a time.
  std::function<void(std::uint32_t searches_done)> progress;
  // When set and true, no new search starts; the result holds the searches that finished.
  const std::atomic<bool>* stop = nullptr;
};

struct HuntSearch {
  std::uint64_t seed_first = 0;
  std::uint64_t seeds_run = 0;
  std::optional<std::uint64_t> failing_seed;  // the first seed that failed, if any
  std::string invariant;                      // the invariant it violated
  bool complete = true;                       // false when the stop cut it short
};

enum class HuntVerdict {
  holds,       // a correct design: no search found a claimed invariant violated
  violated,    // a correct design: some search found a claimed invariant violated
  caught,      // a positive control: every search found its expected violation
  not_caught,  // a positive control: some search did not find it within seeds_max
};
std::string_view to_string(HuntVerdict verdict);

// The first failing search's counterexample, before and after shrinking.
struct ShrunkCounterexample {
  std::uint64_t seed = 0;
  std::string invariant;
  std::uint32_t commands_before = 0;
  std::size_t faults_before = 0;
  std::uint32_t commands = 0;  // after shrinking
  std::size_t faults = 0;      // after shrinking
  std::uint64_t shrink_runs = 0;
  std::string scenario_json;  // the shrunk scenario, for `replay --scenario FILE`
};

struct HuntResult {
  std::string design;
  std::string profile;
  std::uint32_t commands = 0;
  std::uint64_t seeds_max = 0;
  std::vector<std::string> claimed;
  std::string expected_violation;  // empty for a correct design
  std::vector<HuntSearch> searches;
  bool interrupted = false;  // fewer searches finished than were asked for
  std::optional<ShrunkCounterexample> shrunk;

  HuntVerdict verdict() const;
  std::uint32_t searches_found() const;
  // Seeds each search took to its first failure (the failing seed counted), in search
  // order; nothing for a search that found none.
  std::vector<std::optional<std::uint64_t>> seeds_to_failure() const;
  // Over every search, a search that found nothing counting as more than seeds_max:
  // the median is nothing when that makes it unknown (then it exceeds seeds_max).
  std::optional<double> median_seeds() const;
  std::optional<std::uint64_t> min_seeds() const;
  std::optional<std::uint64_t> max_seeds() const;  // nothing when some search found nothing
};

// Hunts one design. The profile name must be known (the caller validates it).
HuntResult hunt(const models::Design& design, const HuntOptions& options);

}  // namespace faultline::properties
