// Report rendering: the JSON document and the summary lines.
#include "faultline/reports/json_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace faultline::reports {

using nlohmann::json;

namespace {

const char* verdict_name(results::Verdict verdict) {
  switch (verdict) {
    case results::Verdict::holds:
      return "holds";
    case results::Verdict::violated:
      return "violated";
    case results::Verdict::not_claimed:
      return "not claimed";
  }
  return "?";
}

}  // namespace

std::pair<double, double> wilson_interval(std::uint64_t successes, std::uint64_t trials) {
  if (trials == 0) return {0.0, 1.0};
  constexpr double z = 1.959963984540054;  // the 97.5th percentile of the standard normal
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double denominator = 1.0 + z * z / n;
  const double centre = (p + z * z / (2.0 * n)) / denominator;
  const double half_width = z * std::sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator;
  return {std::max(0.0, centre - half_width), std::min(1.0, centre + half_width)};
}

json lag_to_json(const results::LagDistribution& lag) {
  json buckets = json::array();
  for (const auto& [floor_us, count] : lag.buckets) buckets.push_back({floor_us, count});
  json bounds = json::array();
  std::vector<std::uint64_t> counts(std::size(results::lag_histogram_bounds_us) + 1, 0);
  for (const std::int64_t bound : results::lag_histogram_bounds_us) bounds.push_back(bound);
  for (const auto& [floor_us, count] : lag.buckets) {
    std::size_t slot = 0;
    while (slot < std::size(results::lag_histogram_bounds_us) && floor_us >= results::lag_histogram_bounds_us[slot])
      ++slot;
    counts[slot] += count;
  }
  return {{"events", lag.events()},
          {"max_us", lag.max_us},
          {"p50_us", lag.percentile_us(500)},
          {"p90_us", lag.percentile_us(900)},
          {"p99_us", lag.percentile_us(990)},
          {"histogram", {{"bounds_us", bounds}, {"counts", counts}}},
          {"buckets", buckets}};
}

json to_json(const results::DesignResult& result) {
  json out = json::object();
  out["design"] = result.design;
  out["profile"] = result.profile;
  out["commands"] = result.commands;
  out["runs"] = result.runs;
  out["seeds"] = {{"first", result.seed_first}, {"last", result.seed_last}};
  out["claimed"] = result.claimed;
  out["expected_violation"] = result.expected_violation;
  out["violations"] = result.violations;
  // Violation rates with 95% Wilson score intervals: honest bounds even at 0 of n.
  json rates = json::object();
  for (const auto& [invariant, count] : result.violations) {
    const auto [low, high] = wilson_interval(count, result.runs);
    rates[invariant] = {
        {"rate", result.runs == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(result.runs)},
        {"wilson95", {low, high}}};
  }
  out["rates"] = rates;
  json verdicts = json::object();
  for (const auto& [invariant, count] : result.violations)
    verdicts[invariant] = verdict_name(result.verdict(invariant));
  out["verdicts"] = verdicts;
  json deliveries_per_event = json::array();
  for (const auto& [times, pairs] : result.delivery_counts.deliveries) deliveries_per_event.push_back({times, pairs});
  out["duplicates"] = {{"runs_with_duplicates", result.runs_with_duplicates},
                       {"duplicate_deliveries", result.duplicate_deliveries},
                       {"deliveries_per_event", deliveries_per_event},
                       {"applied_more_than_once", result.delivery_counts.applied_more_than_once}};
  out["delivery_lag"] = lag_to_json(result.delivery_lag);
  out["lost_events"] = result.lost_events;
  out["late_events"] = result.late_events;
  out["phantom_events"] = result.phantom_events;
  const results::WorkloadFigures& workload = result.workload;
  out["workload"] = {{"commands", workload.commands},   {"acknowledged", workload.acknowledged},
                     {"failed", workload.failed},       {"unknown", workload.unknown},
                     {"committed", workload.committed}, {"appended", workload.appended},
                     {"applied", workload.applied}};
  out["point_coverage"] = result.point_coverage;
  json counterexamples = json::array();
  for (const auto& example : result.counterexamples) {
    json scenario = json::parse(example.scenario_json, nullptr, false);
    counterexamples.push_back({{"seed", example.seed},
                               {"invariant", example.invariant},
                               {"explanation", example.explanation},
                               {"story", example.story},
                               {"trace_hash", example.trace_hash},
                               {"replay", example.replay},
                               {"scenario", scenario.is_discarded() ? json(nullptr) : scenario}});
  }
  out["counterexamples"] = counterexamples;
  return out;
}

json to_json(const results::Report& report) {
  json out = json::object();
  out["schema_version"] = schema_version;
  out["tool"] = report.tool;
  out["version"] = report.version;
  out["command"] = report.command;
  out["interrupted"] = report.interrupted;
  json list = json::array();
  json engine = json::array();
  for (const auto& result : report.results) {
    list.push_back(to_json(result));
    const double events_per_second =
        result.engine.wall_seconds > 0 ? static_cast<double>(result.engine.events) / result.engine.wall_seconds : 0.0;
    engine.push_back({{"design", result.design},
                      {"events", result.engine.events},
                      {"simulated_us", result.engine.simulated_us},
                      {"wall_seconds", result.engine.wall_seconds},
                      {"events_per_second", events_per_second}});
  }
  out["results"] = list;
  // Wall-clock figures differ from run to run: they live apart from the deterministic part.
  out["engine"] = engine;
  if (report.shard) {
    out["shard"] = {
        {"index", report.shard->index},
        {"count", report.shard->count},
        {"sweep_seeds", {{"first", report.shard->sweep_seed_first}, {"last", report.shard->sweep_seed_last}}},
        {"counterexamples_per_invariant", report.shard->counterexamples_per_invariant}};
  }
  return out;
}

namespace {

// The share of commands the client saw acknowledged, to one decimal, never rounded up
// to 100 while one was not.
std::string acked_percent(const results::WorkloadFigures& workload) {
  if (workload.commands == 0) return "-";
  const std::uint64_t tenths = workload.acknowledged * 1000 / workload.commands;
  return fmt::format("{}.{}", tenths / 10, tenths % 10);
}

}  // namespace

std::string summary_table(const std::vector<results::DesignResult>& results) {
  std::size_t width = 6;
  for (const auto& result : results) width = std::max(width, result.design.size());
  std::string text = fmt::format("{:<{}} {:>7} {:>7} {:>8} {:>8} {:>8} {:>10}  {}\n", "design", width, "runs",
                                 "acked %", "lost(L)", "phantom(P)", "unacked(A)", "dup. runs", "verdict");
  for (const auto& result : results) {
    const auto count = [&](const std::string& invariant) {
      const auto found = result.violations.find(invariant);
      return found == result.violations.end() ? std::uint64_t{0} : found->second;
    };
    std::string violated;
    for (const auto& [invariant, runs] : result.violations)
      if (runs > 0) violated += (violated.empty() ? "" : ", ") + invariant;
    std::string verdict;
    if (!result.expected_violation.empty()) {
      const std::uint64_t caught = count(result.expected_violation);
      verdict = caught > 0 ? fmt::format("caught: {} violated in {} runs", result.expected_violation, caught)
                           : fmt::format("NOT CAUGHT: no run violated {}", result.expected_violation);
    } else {
      std::string broken;
      std::string claims;
      for (const auto& id : result.claimed) {
        claims += (claims.empty() ? "" : ",") + id;
        if (count(id) > 0) broken += (broken.empty() ? "" : ", ") + id;
      }
      if (!broken.empty()) {
        verdict = "CLAIM VIOLATED: " + broken;
      } else {
        verdict = claims.empty() ? "claims nothing" : claims + " hold";
      }
      if (violated.empty() == false && broken.empty()) verdict += " (unclaimed violated: " + violated + ")";
    }
    text += fmt::format("{:<{}} {:>7} {:>7} {:>8} {:>8} {:>8} {:>10}  {}\n", result.design, width, result.runs,
                        acked_percent(result.workload), count("L"), count("P"), count("A"), result.runs_with_duplicates,
                        verdict);
  }
  return text;
}

}  // namespace faultline::reports

namespace faultline::reports {

std::string delivery_summary(const std::vector<results::DesignResult>& results) {
  const auto ms = [](std::int64_t micros) { return fmt::format("{:.1f}", static_cast<double>(micros) / 1000.0); };
  std::size_t width = 6;
  for (const auto& result : results) width = std::max(width, result.design.size());
  std::string text = "delivery lag (commit to first durable application, simulated ms) and deliveries per event:\n";
  for (const auto& result : results) {
    const auto& lag = result.delivery_lag;
    // Short: once, twice, three times, then everything more often in one count.
    std::string counts;
    std::uint64_t more_often = 0;
    for (const auto& [times, pairs] : result.delivery_counts.deliveries) {
      if (times > 3) {
        more_often += pairs;
        continue;
      }
      counts += fmt::format("{}{}x {}", counts.empty() ? "" : ", ", times, pairs);
    }
    if (more_often > 0) counts += fmt::format("{}4+x {}", counts.empty() ? "" : ", ", more_often);
    text += fmt::format("{:<{}} p50 {} p90 {} p99 {} max {}; delivered {}; applied twice or more {}\n", result.design,
                        width, ms(lag.percentile_us(500)), ms(lag.percentile_us(900)), ms(lag.percentile_us(990)),
                        ms(lag.max_us), counts.empty() ? std::string("never") : counts,
                        result.delivery_counts.applied_more_than_once);
  }
  return text;
}

}  // namespace faultline::reports
