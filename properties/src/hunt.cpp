// The hunt (see hunt.h): independent searches on one thread or several, folded in search
// order, then the first failing search shrunk.
#include "faultline/properties/hunt.h"

#include <algorithm>
#include <cassert>

#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/properties/shrink.h"
#include "faultline/sim/abandon.h"
#include "faultline/sim/faults.h"
#include "for_each_in_order.h"

namespace faultline::properties {

std::string_view to_string(HuntVerdict verdict) {
  switch (verdict) {
    case HuntVerdict::holds:
      return "holds";
    case HuntVerdict::violated:
      return "VIOLATED";
    case HuntVerdict::caught:
      return "caught";
    case HuntVerdict::not_caught:
      return "NOT CAUGHT";
  }
  return "?";
}

std::uint32_t HuntResult::searches_found() const {
  return static_cast<std::uint32_t>(
      std::count_if(searches.begin(), searches.end(), [](const HuntSearch& search) { return search.failing_seed; }));
}

HuntVerdict HuntResult::verdict() const {
  const std::uint32_t found = searches_found();
  if (expected_violation.empty()) return found == 0 ? HuntVerdict::holds : HuntVerdict::violated;
  const bool every_search_found = !searches.empty() && found == searches.size();
  return every_search_found ? HuntVerdict::caught : HuntVerdict::not_caught;
}

std::vector<std::optional<std::uint64_t>> HuntResult::seeds_to_failure() const {
  std::vector<std::optional<std::uint64_t>> seeds;
  for (const auto& search : searches) {
    if (search.failing_seed)
      seeds.emplace_back(*search.failing_seed - search.seed_first + 1);
    else
      seeds.emplace_back(std::nullopt);
  }
  return seeds;
}

std::optional<double> HuntResult::median_seeds() const {
  if (searches.empty()) return std::nullopt;
  // A search that found nothing would have needed more than seeds_max: it sorts last.
  std::vector<std::uint64_t> sorted;
  for (const auto& seeds : seeds_to_failure()) sorted.push_back(seeds.value_or(seeds_max + 1));
  std::sort(sorted.begin(), sorted.end());
  const std::size_t middle = sorted.size() / 2;
  const std::uint64_t upper = sorted[middle];
  const std::uint64_t lower = sorted.size() % 2 == 0 ? sorted[middle - 1] : upper;
  if (upper > seeds_max) return std::nullopt;
  return (static_cast<double>(lower) + static_cast<double>(upper)) / 2.0;
}

std::optional<std::uint64_t> HuntResult::min_seeds() const {
  std::optional<std::uint64_t> least;
  for (const auto& seeds : seeds_to_failure())
    if (seeds && (!least || *seeds < *least)) least = seeds;
  return least;
}

std::optional<std::uint64_t> HuntResult::max_seeds() const {
  std::optional<std::uint64_t> most;
  for (const auto& seeds : seeds_to_failure()) {
    if (!seeds) return std::nullopt;
    if (!most || *seeds > *most) most = seeds;
  }
  return most;
}

HuntResult hunt(const models::Design& design, const HuntOptions& options) {
  const sim::FaultProfile* profile = sim::find_fault_profile(options.profile);
  assert(profile != nullptr && "the caller validates the profile name");
  assert(options.jobs >= 1);
  assert(options.searches >= 1);
  assert(options.seeds_max >= 1 && options.seeds_max <= hunt_seed_stride);

  HuntResult result{.design = design.name(),
                    .profile = options.profile,
                    .commands = options.workload.commands,
                    .seeds_max = options.seeds_max,
                    .claimed = design.claims(),
                    .expected_violation = design.expected_violation()};
  const auto scenario_of = [&](std::uint64_t seed) {
    return models::scenario_for_seed(design, seed, options.workload, *profile);
  };
  // What a search looks for: a positive control's expected violation, or any invariant a
  // correct design claims (the first in its claim order).
  const auto failure_of = [&](const RunVerdict& verdict) -> std::string {
    if (!result.expected_violation.empty())
      return verdict.checks.violated(result.expected_violation) ? result.expected_violation : "";
    const Violation* violation = verdict.failed_claim(design);
    return violation != nullptr ? violation->invariant : "";
  };
  const auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };
  const bool anything_to_find = !result.expected_violation.empty() || !result.claimed.empty();

  const std::uint64_t folded = detail::for_each_in_order<HuntSearch>(
      options.searches, options.jobs, options.stop,
      [&](std::uint64_t index) {
        HuntSearch search{.seed_first = index * hunt_seed_stride + 1};
        for (std::uint64_t offset = 0; anything_to_find && offset < options.seeds_max; ++offset) {
          if (stopped()) {
            search.complete = false;
            break;
          }
          const std::uint64_t seed = search.seed_first + offset;
          ++search.seeds_run;
          std::string invariant = failure_of(run_once(scenario_of(seed), design));
          if (!invariant.empty()) {
            search.failing_seed = seed;
            search.invariant = std::move(invariant);
            break;
          }
        }
        return search;
      },
      [&](std::uint64_t index, HuntSearch search) {
        // A search the stop cut short says nothing, nor do the ones after it: the result
        // keeps the searches before it, so the searches it holds are always a prefix.
        if (!search.complete) result.interrupted = true;
        if (result.interrupted) return;
        assert(index == result.searches.size());
        result.searches.push_back(std::move(search));
        if (options.progress) options.progress(static_cast<std::uint32_t>(result.searches.size()));
      });
  result.interrupted = result.interrupted || folded < options.searches;

  const auto first_failing = std::find_if(result.searches.begin(), result.searches.end(),
                                          [](const HuntSearch& search) { return search.failing_seed; });
  // After a stop, the shrinking is skipped too: whoever stopped the hunt wants it over.
  if (first_failing != result.searches.end() && !stopped()) {
    const models::Scenario failing = scenario_of(*first_failing->failing_seed);
    ShrinkOutcome outcome;
    try {
      outcome = shrink_scenario(failing, design, first_failing->invariant);
    } catch (const sim::RunAbandoned&) {
      // A stop request arrived while shrinking (sim/abandon.h): no shrunk counterexample.
      result.interrupted = true;
      return result;
    }
    result.shrunk = ShrunkCounterexample{.seed = failing.seed,
                                         .invariant = first_failing->invariant,
                                         .commands_before = failing.workload.commands,
                                         .faults_before = failing.plan.faults.size(),
                                         .commands = outcome.scenario.workload.commands,
                                         .faults = outcome.scenario.plan.faults.size(),
                                         .shrink_runs = outcome.runs,
                                         .scenario_json = scenario_to_json(outcome.scenario)};
  }
  return result;
}

}  // namespace faultline::properties
