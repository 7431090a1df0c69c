// `faultline run`: the sweep is properties::sweep_checked (threads, seed-order fold,
// determinism reruns); this file resolves the shard, shows progress, handles interrupts,
// judges the expectations, prints the summary and writes the report.
#include "sweep_command.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "decimal_option.h"
#include "faultline/properties/runner.h"
#include "faultline/reports/json_report.h"
#include "faultline/reports/merge.h"
#include "faultline/sim/abandon.h"
#include "faultline/sim/trace.h"
#include "interrupt.h"
#include "progress.h"

#ifndef FAULTLINE_VERSION
#define FAULTLINE_VERSION "0.0.0"
#endif

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_expectation_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_nondeterminism = 3;

// --check-determinism reruns the first seed and every 20th after it: about 5% of a sweep,
// FoundationDB's share.
constexpr std::uint64_t determinism_rerun_every = 20;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "faultline: error: %s\n", message.c_str());
  return exit_usage;
}

// Parses --shard "I/N" for a sweep of `seeds` seeds; returns an error line, or nothing.
std::optional<std::string> parse_shard(const std::string& text, std::uint64_t seeds, results::Shard& shard) {
  const auto slash = text.find('/');
  const auto index = slash == std::string::npos ? std::nullopt : parse_decimal(std::string_view(text).substr(0, slash));
  const auto count =
      slash == std::string::npos ? std::nullopt : parse_decimal(std::string_view(text).substr(slash + 1));
  if (!index || !count || *count == 0 || *index == 0 || *index > *count)
    return "--shard '" + text + "' is not I/N with 1 <= I <= N (e.g. --shard 2/4)";
  if (*count > seeds)
    return fmt::format("--shard {}: {} shards of {} seeds would leave some shards without a seed", text, *count, seeds);
  shard.index = *index;
  shard.count = *count;
  return std::nullopt;
}

}  // namespace

bool judge_expectations(const std::vector<results::DesignResult>& results, std::vector<std::string>& notes) {
  bool held = true;
  for (const auto& result : results) {
    for (const auto& invariant : result.claimed) {
      if (result.verdict(invariant) == results::Verdict::violated) {
        held = false;
        const auto found = result.violations.find(invariant);
        notes.push_back(fmt::format("{}: claimed invariant {} violated in {} of {} runs", result.design, invariant,
                                    found->second, result.runs));
      }
    }
    if (!result.expected_violation.empty() && result.verdict(result.expected_violation) != results::Verdict::violated) {
      held = false;
      notes.push_back(
          fmt::format("{}: positive control not caught: no run violated {}", result.design, result.expected_violation));
    }
    if (!result.counterexamples.empty()) {
      const auto& example = result.counterexamples.front();
      notes.push_back(fmt::format("{}: first {} violation at seed {}: {}\n    replay: {}", result.design,
                                  example.invariant, example.seed, example.explanation, example.replay));
    }
  }
  return held;
}

int run_sweep_command(const SweepCommandOptions& options, const std::vector<const models::Design*>& designs,
                      const std::string& invocation) {
  const properties::SweepOptions defaults;
  reports::SeedRange seeds{.first = options.seed_start, .count = options.seeds};
  std::optional<results::Shard> shard;
  if (!options.shard.empty()) {
    results::Shard parsed{.sweep_seed_first = options.seed_start,
                          .sweep_seed_last = options.seed_start + (options.seeds - 1),
                          .counterexamples_per_invariant = defaults.counterexamples_per_invariant};
    if (auto problem = parse_shard(options.shard, options.seeds, parsed)) return usage_error(*problem);
    shard = parsed;
    seeds = reports::shard_seeds(options.seed_start, options.seeds, parsed.index, parsed.count);
  }
  if (options.jobs == 0) return usage_error("--jobs must be at least 1");
  if (auto problem = reports::check_writable(options.report)) return usage_error(*problem);

  const std::uint64_t seed_last = seeds.first + (seeds.count - 1);
  std::string what = fmt::format("{} seeds ({}..{})", seeds.count, seeds.first, seed_last);
  if (shard)
    what = fmt::format("shard {}/{}: {} of {} seeds ({}..{})", shard->index, shard->count, what, options.seeds,
                       shard->sweep_seed_first, shard->sweep_seed_last);
  // Caught from before the first line, so whoever saw that line may signal safely.
  const InterruptRequests interrupt;
  // A signal abandons the runs in flight after a short grace: they are not reported.
  const sim::AbandonScope abandon_on_interrupt(&interrupt.abandon_flag());
  std::printf("faultline run: %s, %u commands each, fault profile %s%s\n", what.c_str(), options.commands,
              options.profile.c_str(), options.jobs > 1 ? fmt::format(", {} jobs", options.jobs).c_str() : "");
  std::fflush(stdout);

  results::Report report{.version = FAULTLINE_VERSION, .command = invocation, .shard = shard};
  ProgressLine progress(seeds.count * designs.size());
  std::uint64_t runs_before = 0;
  std::uint64_t failing_before = 0;
  std::uint64_t reruns = 0;
  for (const models::Design* design : designs) {
    if (interrupt.requested()) break;
    std::uint64_t failing_now = 0;
    properties::SweepOptions sweep{
        .profile = options.profile,
        .workload = models::Workload{.commands = options.commands},
        .seed_start = seeds.first,
        .seeds = seeds.count,
        .jobs = options.jobs,
        .rerun_every = options.check_determinism ? determinism_rerun_every : 0,
        .progress =
            [&](std::uint64_t done, std::uint64_t failing) {
              failing_now = failing;
              progress.update(runs_before + done, failing_before + failing);
            },
        .stop = &interrupt.flag(),
    };
    // Wall time is measured here, outside the simulated world, for the engine figures only.
    const auto started = std::chrono::steady_clock::now();
    properties::SweepOutcome outcome = properties::sweep_checked(*design, sweep);
    outcome.result.engine.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    runs_before += outcome.result.runs;
    failing_before += failing_now;
    reruns += outcome.reruns;
    if (outcome.nondeterminism) {
      progress.clear();
      const auto& seed = *outcome.nondeterminism;
      std::fprintf(stderr,
                   "faultline: nondeterminism: %s seed %llu hashed %s on its first run and %s on its rerun "
                   "(profile %s, %u commands); no report written\n",
                   design->name().c_str(), static_cast<unsigned long long>(seed.seed),
                   sim::hash_hex(seed.first_hash).c_str(), sim::hash_hex(seed.rerun_hash).c_str(),
                   options.profile.c_str(), options.commands);
      return exit_nondeterminism;
    }
    // A design the interrupt reached before any run finished has nothing to report.
    if (outcome.result.runs > 0) report.results.push_back(std::move(outcome.result));
  }
  progress.clear();
  const std::uint64_t total_runs = seeds.count * designs.size();
  report.interrupted = runs_before < total_runs;

  // The report is written before anything more is printed: a reader that closed stdout
  // early (`| head -1`) must not cost the sweep its report.
  if (auto problem = reports::write_file_atomically(options.report, reports::to_json(report).dump(2) + "\n"))
    return usage_error(*problem);
  std::vector<std::string> notes;
  const bool held = judge_expectations(report.results, notes);
  std::printf("\n%s\n", reports::summary_table(report.results).c_str());
  std::printf("%s\n", reports::delivery_summary(report.results).c_str());
  for (const auto& note : notes) std::printf("%s\n", note.c_str());
  if (options.check_determinism && !report.interrupted)
    std::printf("determinism: reran %llu seeds; each gave the trace hash of its first run\n",
                static_cast<unsigned long long>(reruns));
  if (report.interrupted)
    std::printf("\ninterrupted by %s: %llu of %llu runs finished; the report holds those runs\n",
                interrupt.signal_name(), static_cast<unsigned long long>(runs_before),
                static_cast<unsigned long long>(total_runs));
  std::printf("\nreport: %s\n", options.report.c_str());
  return held && !report.interrupted ? exit_ok : exit_expectation_failed;
}

}  // namespace faultline::app
