// Merging shard reports: check that they are the complete set of one sweep, then fold them
// in seed order exactly as the sweep folds runs (properties/src/sweep.cpp).
#include "faultline/reports/merge.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <tuple>

namespace faultline::reports {
namespace {

std::string seed_text(std::uint64_t first, std::uint64_t last) {
  return std::to_string(first) + ".." + std::to_string(last);
}

std::string shard_text(const results::Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

std::string design_list(const results::Report& report) {
  std::string text;
  for (const auto& result : report.results) text += (text.empty() ? "" : ", ") + result.design;
  return text.empty() ? "no design" : text;
}

// Refuses a shard that does not belong to the same sweep as `reference`.
void expect_same_sweep(const ShardReport& reference, const ShardReport& other) {
  const auto refuse = [&](const std::string& what) {
    throw MergeError(reference.path + " and " + other.path + " are not shards of one sweep: " + what);
  };
  const results::Shard& one = *reference.report.shard;
  const results::Shard& two = *other.report.shard;
  if (reference.report.version != other.report.version)
    refuse("written by faultline " + reference.report.version + " and " + other.report.version);
  if (one.count != two.count) refuse("shard " + shard_text(one) + " and shard " + shard_text(two));
  if (one.sweep_seed_first != two.sweep_seed_first || one.sweep_seed_last != two.sweep_seed_last)
    refuse("they split seeds " + seed_text(one.sweep_seed_first, one.sweep_seed_last) + " and " +
           seed_text(two.sweep_seed_first, two.sweep_seed_last));
  if (one.counterexamples_per_invariant != two.counterexamples_per_invariant)
    refuse("they keep " + std::to_string(one.counterexamples_per_invariant) + " and " +
           std::to_string(two.counterexamples_per_invariant) + " counterexamples per invariant");
  const auto& first_results = reference.report.results;
  const auto& other_results = other.report.results;
  bool same_designs = first_results.size() == other_results.size();
  for (std::size_t index = 0; same_designs && index < first_results.size(); ++index)
    same_designs = first_results[index].design == other_results[index].design;
  if (!same_designs)
    refuse("they sweep designs " + design_list(reference.report) + " and " + design_list(other.report));
  for (std::size_t index = 0; index < first_results.size(); ++index) {
    const auto& a = first_results[index];
    const auto& b = other_results[index];
    if (a.profile != b.profile) refuse(a.design + " under fault profiles " + a.profile + " and " + b.profile);
    if (a.commands != b.commands)
      refuse(a.design + " with " + std::to_string(a.commands) + " and " + std::to_string(b.commands) +
             " commands per run");
    if (a.claimed != b.claimed || a.expected_violation != b.expected_violation)
      refuse(a.design + " with different claims (different designs of one name)");
  }
}

// Refuses a shard whose results do not cover exactly its seed range, or that lists other
// counterexamples than the first few per invariant.
void expect_complete_slice(const ShardReport& shard) {
  const results::Shard& info = *shard.report.shard;
  const SeedRange range =
      shard_seeds(info.sweep_seed_first, info.sweep_seed_last - info.sweep_seed_first + 1, info.index, info.count);
  for (const auto& result : shard.report.results) {
    if (result.seed_first != range.first || result.runs != range.count)
      throw MergeError(shard.path + ": " + result.design + " covers seeds " +
                       seed_text(result.seed_first, result.seed_last) + ", but shard " + shard_text(info) +
                       " of seeds " + seed_text(info.sweep_seed_first, info.sweep_seed_last) + " is seeds " +
                       seed_text(range.first, range.first + range.count - 1));
    std::map<std::string, std::uint64_t> listed;
    for (const auto& example : result.counterexamples) ++listed[example.invariant];
    for (const auto& [invariant, runs] : result.violations) {
      const std::uint64_t expected = std::min(runs, info.counterexamples_per_invariant);
      if (listed[invariant] != expected)
        throw MergeError(shard.path + ": " + result.design + " lists " + std::to_string(listed[invariant]) + " " +
                         invariant + " counterexamples, but violated " + invariant + " in " + std::to_string(runs) +
                         " runs and keeps the first " + std::to_string(info.counterexamples_per_invariant));
    }
  }
}

// Sums that a hand-made shard could push past their type are refused, never wrapped.
template <typename Number>
void add(Number& sum, Number more, const std::string& what) {
  if (__builtin_add_overflow(sum, more, &sum))
    throw MergeError("the shards' " + what + " add up past the largest number");
}

void add(std::map<std::string, std::uint64_t>& sum, const std::map<std::string, std::uint64_t>& more,
         const std::string& what) {
  for (const auto& [key, count] : more) add(sum[key], count, what + " " + key);
}

}  // namespace

SeedRange shard_seeds(std::uint64_t seed_first, std::uint64_t seeds, std::uint64_t index, std::uint64_t count) {
  assert(index >= 1 && index <= count && count <= seeds);
  const std::uint64_t base = seeds / count;
  const std::uint64_t longer = seeds % count;  // the first `longer` shards get one seed more
  const std::uint64_t before = index - 1;
  return SeedRange{.first = seed_first + before * base + std::min(before, longer),
                   .count = base + (before < longer ? 1 : 0)};
}

std::string whole_sweep_command(const std::string& shard_command, const std::string& report_path) {
  // A report's command is its arguments joined by single spaces.
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start <= shard_command.size()) {
    const std::size_t space = std::min(shard_command.find(' ', start), shard_command.size());
    words.push_back(shard_command.substr(start, space - start));
    start = space + 1;
  }
  std::string text;
  bool report_named = false;
  for (std::size_t index = 0; index < words.size(); ++index) {
    const std::string& word = words[index];
    if (word == "--shard" || word == "--report") ++index;  // the option's value goes with it
    if (word == "--shard" || word.rfind("--shard=", 0) == 0) continue;
    if (word == "--report" || word.rfind("--report=", 0) == 0) {
      text += " --report " + report_path;
      report_named = true;
      continue;
    }
    text += (text.empty() ? "" : " ") + word;
  }
  return report_named ? text : text + " --report " + report_path;
}

results::Report merge_shards(const std::vector<ShardReport>& shards, const std::string& report_path) {
  if (shards.empty()) throw MergeError("no shard reports to merge");
  for (const auto& shard : shards) {
    if (!shard.report.shard)
      throw MergeError(shard.path +
                       " is not a shard's report (it has no \"shard\"; faultline run --shard I/N writes one)");
    if (shard.report.interrupted)
      throw MergeError(shard.path + " is the report of shard " + shard_text(*shard.report.shard) +
                       ", which was interrupted: run that shard again");
  }
  for (const auto& shard : shards) expect_same_sweep(shards.front(), shard);

  // One report per index, 1..count.
  const results::Shard& sweep = *shards.front().report.shard;
  std::vector<const ShardReport*> by_index(sweep.count, nullptr);
  const std::uint64_t sweep_seeds = sweep.sweep_seed_last - sweep.sweep_seed_first + 1;
  for (const auto& shard : shards) {
    const results::Shard& info = *shard.report.shard;
    const ShardReport*& slot = by_index[info.index - 1];
    if (slot != nullptr) {
      const SeedRange range = shard_seeds(sweep.sweep_seed_first, sweep_seeds, info.index, info.count);
      throw MergeError(slot->path + " and " + shard.path + " are both shard " + shard_text(info) + " (seeds " +
                       seed_text(range.first, range.first + range.count - 1) + "): the shards overlap");
    }
    slot = &shard;
  }
  for (std::uint64_t index = 1; index <= sweep.count; ++index) {
    if (by_index[index - 1] != nullptr) continue;
    const SeedRange range = shard_seeds(sweep.sweep_seed_first, sweep_seeds, index, sweep.count);
    throw MergeError("shard " + std::to_string(index) + "/" + std::to_string(sweep.count) + " (seeds " +
                     seed_text(range.first, range.first + range.count - 1) + ") is missing: the merge needs all " +
                     std::to_string(sweep.count));
  }
  for (const ShardReport* shard : by_index) expect_complete_slice(*shard);

  const results::Report& first = by_index.front()->report;
  results::Report merged{.tool = first.tool,
                         .version = first.version,
                         .command = whole_sweep_command(first.command, report_path),
                         .interrupted = false};
  for (std::size_t design = 0; design < first.results.size(); ++design) {
    results::DesignResult result = first.results[design];
    result.runs = 0;
    result.violations.clear();
    result.runs_with_duplicates = 0;
    result.duplicate_deliveries = 0;
    result.lost_events = 0;
    result.late_events = 0;
    result.phantom_events = 0;
    result.workload = results::WorkloadFigures{};
    result.delivery_lag = results::LagDistribution{};
    result.delivery_counts = results::DuplicateDistribution{};
    result.point_coverage.clear();
    result.counterexamples.clear();
    result.engine = results::EngineFigures{};
    std::map<std::string, std::uint64_t> examples_per_invariant;
    for (const ShardReport* shard : by_index) {
      const results::DesignResult& part = shard->report.results[design];
      const std::string what = result.design + " ";
      result.runs += part.runs;  // the seed ranges checked above bound it
      result.seed_last = part.seed_last;
      add(result.violations, part.violations, what + "violations");
      add(result.runs_with_duplicates, part.runs_with_duplicates, what + "runs with duplicates");
      add(result.duplicate_deliveries, part.duplicate_deliveries, what + "duplicate deliveries");
      add(result.lost_events, part.lost_events, what + "lost events");
      add(result.late_events, part.late_events, what + "late events");
      add(result.phantom_events, part.phantom_events, what + "phantom events");
      for (const auto& [total, part_count, name] :
           {std::tuple{&result.workload.commands, part.workload.commands, "commands"},
            std::tuple{&result.workload.acknowledged, part.workload.acknowledged, "acknowledged commands"},
            std::tuple{&result.workload.failed, part.workload.failed, "failed commands"},
            std::tuple{&result.workload.unknown, part.workload.unknown, "commands of unknown outcome"},
            std::tuple{&result.workload.committed, part.workload.committed, "committed changes"},
            std::tuple{&result.workload.appended, part.workload.appended, "appended events"},
            std::tuple{&result.workload.applied, part.workload.applied, "applied events"}})
        add(*total, part_count, what + name);
      add(result.point_coverage, part.point_coverage, what + "hits of");
      // Fixed bucket bounds: the merged distribution is the sum of the shards' counts.
      for (const auto& [floor_us, count] : part.delivery_lag.buckets)
        add(result.delivery_lag.buckets[floor_us], count, what + "delivery lags");
      result.delivery_lag.max_us = std::max(result.delivery_lag.max_us, part.delivery_lag.max_us);
      for (const auto& [times, pairs] : part.delivery_counts.deliveries)
        add(result.delivery_counts.deliveries[times], pairs, what + "deliveries per event");
      add(result.delivery_counts.applied_more_than_once, part.delivery_counts.applied_more_than_once,
          what + "events applied more than once");
      for (const auto& example : part.counterexamples)
        if (examples_per_invariant[example.invariant]++ < sweep.counterexamples_per_invariant)
          result.counterexamples.push_back(example);
      add(result.engine.events, part.engine.events, what + "events");
      add(result.engine.simulated_us, part.engine.simulated_us, what + "simulated time");
      result.engine.wall_seconds += part.engine.wall_seconds;
      if (!std::isfinite(result.engine.wall_seconds))
        throw MergeError("the shards' " + what + "wall seconds add up past the largest number");
    }
    merged.results.push_back(std::move(result));
  }
  return merged;
}

}  // namespace faultline::reports
