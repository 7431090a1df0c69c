// The sweep: many seeds of one design, on one thread or several, folded into one result.
//
// Why the result cannot depend on the number of threads: a run is a pure function of its
// scenario (a Simulation shares nothing with another, and the design registry and the fault
// profiles are read-only), the workers only compute each seed's verdict, and a single fold
// consumes those verdicts strictly in seed order, whichever thread finished first. The fold
// also picks the counterexamples (the first few per invariant, in seed order), so they are
// the same for any number of threads too. Threads live here, outside the simulated world;
// each simulation stays single-threaded (design.md section 3, rule 4).
#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/sim/faults.h"
#include "for_each_in_order.h"

namespace faultline::properties {
namespace {

using detail::for_each_in_order;

// A counterexample the fold chose, and what it needs to be written up once the sweep is done.
struct ChosenExample {
  std::uint64_t seed = 0;
  std::uint64_t trace_hash = 0;  // of the judged run (the write-up's rerun stops at the liveness bound)
  Violation violation;
  CheckReport checks;
};

}  // namespace

SweepOutcome sweep_checked(const models::Design& design, const SweepOptions& options) {
  const sim::FaultProfile* profile = sim::find_fault_profile(options.profile);
  assert(profile != nullptr && "the caller validates the profile name");
  assert(options.jobs >= 1);
  const auto scenario_of = [&](std::uint64_t seed) {
    return models::scenario_for_seed(design, seed, options.workload, *profile);
  };

  SweepOutcome outcome;
  results::DesignResult& result = outcome.result;
  result.design = design.name();
  result.profile = options.profile;
  result.commands = options.workload.commands;
  result.claimed = design.claims();
  result.expected_violation = design.expected_violation();
  result.seed_first = options.seed_start;
  result.seed_last = options.seed_start;
  for (const char* invariant : results::invariant_ids) result.violations[invariant] = 0;

  // The fold: in seed order, so every figure and every choice is the same for any --jobs.
  std::map<std::string, std::size_t> examples_per_invariant;
  std::vector<ChosenExample> chosen;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sampled_hashes;  // (seed, trace hash) to rerun
  std::uint64_t failing = 0;
  const auto fold = [&](std::uint64_t index, RunVerdict verdict) {
    const std::uint64_t seed = options.seed_start + index;
    ++result.runs;
    result.seed_last = seed;
    result.engine.events += verdict.events;
    result.engine.simulated_us += verdict.simulated_us;
    result.lost_events += verdict.checks.lost_events;
    result.phantom_events += verdict.checks.phantom_events;
    result.late_events += verdict.checks.late_events;
    result.workload += verdict.workload;
    result.duplicate_deliveries += verdict.checks.duplicate_deliveries;
    if (verdict.checks.duplicate_deliveries > 0) ++result.runs_with_duplicates;
    for (const std::int64_t lag_us : verdict.deliveries.lags_us) result.delivery_lag.add(lag_us);
    for (const auto& [times, pairs] : verdict.deliveries.deliveries) result.delivery_counts.deliveries[times] += pairs;
    result.delivery_counts.applied_more_than_once += verdict.deliveries.applied_more_than_once;
    for (const auto& [point, hits] : verdict.coverage) result.point_coverage[point] += hits;
    if (!verdict.checks.violations.empty()) ++failing;
    for (const auto& violation : verdict.checks.violations) {
      ++result.violations[violation.invariant];
      if (examples_per_invariant[violation.invariant]++ < options.counterexamples_per_invariant)
        chosen.push_back(ChosenExample{
            .seed = seed, .trace_hash = verdict.trace_hash, .violation = violation, .checks = verdict.checks});
    }
    if (options.rerun_every > 0 && index % options.rerun_every == 0)
      sampled_hashes.emplace_back(seed, verdict.trace_hash);
    if (options.progress) options.progress(result.runs, failing);
  };
  for_each_in_order<RunVerdict>(
      options.seeds, options.jobs, options.stop,
      [&](std::uint64_t index) { return run_once(scenario_of(options.seed_start + index), design); }, fold);

  // Counterexamples are written up after the sweep (a rerun with the full trace each), so
  // the fold stays cheap; they are written up even when the sweep was stopped, since the
  // report of the runs that finished lists them.
  result.counterexamples.resize(chosen.size());
  const std::uint64_t written = for_each_in_order<results::Counterexample>(
      chosen.size(), options.jobs, nullptr,
      [&](std::uint64_t index) {
        const ChosenExample& example = chosen[index];
        const models::Scenario scenario = scenario_of(example.seed);
        const auto observation =
            models::run_scenario(scenario, design, sim::TraceCapture::full, models::AfterBound::stop);
        return results::Counterexample{
            .seed = example.seed,
            .invariant = example.violation.invariant,
            .explanation = example.violation.explanation,
            .story = story_from_trace(observation.trace, example.checks),
            .trace_hash = sim::hash_hex(example.trace_hash),
            .replay = replay_command(scenario),
            .scenario_json = scenario_to_json(scenario),
        };
      },
      [&](std::uint64_t index, results::Counterexample example) {
        result.counterexamples[index] = std::move(example);
      });
  // A write-up abandoned on a stop request (sim/abandon.h) drops it and the ones after it.
  result.counterexamples.resize(written);

  // The determinism check: the sampled seeds run again, on whichever thread takes them.
  outcome.reruns = for_each_in_order<std::uint64_t>(
      sampled_hashes.size(), options.jobs, options.stop,
      [&](std::uint64_t index) { return run_once(scenario_of(sampled_hashes[index].first), design).trace_hash; },
      [&](std::uint64_t index, std::uint64_t rerun_hash) {
        const auto [seed, first_hash] = sampled_hashes[index];
        if (rerun_hash != first_hash && !outcome.nondeterminism)
          outcome.nondeterminism = Nondeterminism{.seed = seed, .first_hash = first_hash, .rerun_hash = rerun_hash};
      });
  return outcome;
}

results::DesignResult sweep(const models::Design& design, const SweepOptions& options) {
  return sweep_checked(design, options).result;
}

}  // namespace faultline::properties
