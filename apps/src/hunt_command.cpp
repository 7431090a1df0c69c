// `faultline hunt`: the search itself is properties::hunt; this file prints the table, stops
// cleanly on SIGINT or SIGTERM, judges the expectations and writes the JSON table.
#include "hunt_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "faultline/properties/hunt.h"
#include "faultline/reports/json_report.h"
#include "faultline/sim/abandon.h"
#include "interrupt.h"

#ifndef FAULTLINE_VERSION
#define FAULTLINE_VERSION "0.0.0"
#endif

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_expectation_failed = 1;
constexpr int exit_usage = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "faultline: error: %s\n", message.c_str());
  return exit_usage;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// What a design is hunted for: "expects L" for a positive control, "claims L,P" otherwise.
std::string target(const properties::HuntResult& result) {
  if (!result.expected_violation.empty()) return "expects " + result.expected_violation;
  return result.claimed.empty() ? "claims nothing" : "claims " + joined(result.claimed);
}

std::string seeds_text(const std::optional<std::uint64_t>& seeds, std::uint64_t seeds_max) {
  return seeds ? std::to_string(*seeds) : fmt::format(">{}", seeds_max);
}

std::string median_text(const properties::HuntResult& result) {
  const auto median = result.median_seeds();
  return median ? fmt::format("{:g}", *median) : fmt::format(">{}", result.seeds_max);
}

std::string shrunk_text(const properties::HuntResult& result) {
  if (!result.shrunk) return "-";
  const auto& shrunk = *result.shrunk;
  return fmt::format("{}: {} cmd, {} fault{} (from {} cmd, {} fault{}; seed {})", shrunk.invariant, shrunk.commands,
                     shrunk.faults, shrunk.faults == 1 ? "" : "s", shrunk.commands_before, shrunk.faults_before,
                     shrunk.faults_before == 1 ? "" : "s", shrunk.seed);
}

// The design column is as wide as the longest name hunted, so every row lines up.
constexpr const char* row_format = "{:<{}} {:<22} {:<10} {:>6} {:>8} {:>7} {:>7}  {}";

std::string header_row(std::size_t design_width) {
  return fmt::format(row_format, "design", design_width, "invariants", "verdict", "found", "median", "min", "max",
                     "shrunk counterexample (of the first failing search)");
}

std::string table_row(const properties::HuntResult& result, std::size_t design_width) {
  const bool any_found = result.searches_found() > 0;
  return fmt::format(row_format, result.design, design_width, target(result), properties::to_string(result.verdict()),
                     fmt::format("{}/{}", result.searches_found(), result.searches.size()), median_text(result),
                     any_found ? seeds_text(result.min_seeds(), result.seeds_max) : "-",
                     any_found ? seeds_text(result.max_seeds(), result.seeds_max) : "-", shrunk_text(result));
}

nlohmann::json optional_number(const std::optional<std::uint64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// The deterministic table: no wall time, nothing that depends on --jobs.
nlohmann::json to_json(const properties::HuntResult& result) {
  nlohmann::json seeds = nlohmann::json::array();
  for (const auto& taken : result.seeds_to_failure()) seeds.push_back(optional_number(taken));
  const auto median = result.median_seeds();
  nlohmann::json row{
      {"design", result.design},
      {"claimed", result.claimed},
      {"expected_violation", result.expected_violation},
      {"verdict", std::string(properties::to_string(result.verdict()))},
      {"searches", result.searches.size()},
      {"searches_found", result.searches_found()},
      {"seeds_to_failure", seeds},
      {"median_seeds", median ? nlohmann::json(*median) : nlohmann::json(nullptr)},
      {"min_seeds", optional_number(result.min_seeds())},
      {"max_seeds", optional_number(result.max_seeds())},
      {"shrunk", nullptr},
  };
  if (result.shrunk) {
    const auto& shrunk = *result.shrunk;
    row["shrunk"] = {{"seed", shrunk.seed},
                     {"invariant", shrunk.invariant},
                     {"commands_before", shrunk.commands_before},
                     {"faults_before", shrunk.faults_before},
                     {"commands", shrunk.commands},
                     {"faults", shrunk.faults},
                     {"shrink_runs", shrunk.shrink_runs},
                     {"scenario", nlohmann::json::parse(shrunk.scenario_json)}};
  }
  return row;
}

}  // namespace

int run_hunt_command(const HuntCommandOptions& options, const std::vector<const models::Design*>& designs,
                     const std::string& invocation) {
  if (options.jobs == 0) return usage_error("--jobs must be at least 1");
  if (options.searches == 0) return usage_error("--searches must be at least 1");
  if (options.seeds_max == 0 || options.seeds_max > properties::hunt_seed_stride)
    return usage_error(fmt::format("--seeds-max must be from 1 to {}", properties::hunt_seed_stride));
  if (!options.json.empty()) {
    if (auto problem = reports::check_writable(options.json)) return usage_error(*problem);
  }

  // Caught from before the first line, so whoever saw that line may signal safely.
  const InterruptRequests interrupt;
  // A signal abandons the searches in flight after a short grace: they are not reported.
  const sim::AbandonScope abandon_on_interrupt(&interrupt.abandon_flag());
  std::printf(
      "faultline hunt: %u searches per design, each up to %llu seeds (search s sweeps seeds s*%llu+1, s*%llu+2, "
      "...), %u commands each, fault profile %s%s\n\n",
      options.searches, static_cast<unsigned long long>(options.seeds_max),
      static_cast<unsigned long long>(properties::hunt_seed_stride),
      static_cast<unsigned long long>(properties::hunt_seed_stride), options.commands, options.profile.c_str(),
      options.jobs > 1 ? fmt::format(", {} jobs", options.jobs).c_str() : "");
  std::size_t design_width = 6;
  for (const models::Design* design : designs) design_width = std::max(design_width, design->name().size());
  std::printf("%s\n", header_row(design_width).c_str());
  std::fflush(stdout);

  std::vector<properties::HuntResult> results;
  bool interrupted = false;
  for (const models::Design* design : designs) {
    if (interrupt.requested()) {
      interrupted = true;
      break;
    }
    properties::HuntOptions hunt{.profile = options.profile,
                                 .workload = models::Workload{.commands = options.commands},
                                 .searches = options.searches,
                                 .seeds_max = options.seeds_max,
                                 .jobs = options.jobs,
                                 .stop = &interrupt.flag()};
    properties::HuntResult result = properties::hunt(*design, hunt);
    interrupted = interrupted || result.interrupted;
    if (result.searches.empty()) break;
    std::printf("%s\n", table_row(result, design_width).c_str());
    std::fflush(stdout);
    results.push_back(std::move(result));
  }

  if (!options.json.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& result : results) rows.push_back(to_json(result));
    const nlohmann::json table{
        {"tool", "faultline"},
        {"version", FAULTLINE_VERSION},
        {"command", invocation},
        {"profile", options.profile},
        {"commands", options.commands},
        {"searches", options.searches},
        {"seeds_max", options.seeds_max},
        {"search_seed_stride", properties::hunt_seed_stride},
        {"interrupted", interrupted},
        {"designs", rows},
    };
    // Written before the verdicts are printed: a closed stdout must not cost the table.
    if (auto problem = reports::write_file_atomically(options.json, table.dump(2) + "\n")) return usage_error(*problem);
  }
  bool held = true;
  std::printf("\n");
  for (const auto& result : results) {
    switch (result.verdict()) {
      case properties::HuntVerdict::holds:
      case properties::HuntVerdict::caught:
        break;
      case properties::HuntVerdict::violated: {
        held = false;
        // The first failing search names the invariant (a hunt stopped before shrinking has
        // no shrunk counterexample).
        const auto failing = std::find_if(result.searches.begin(), result.searches.end(),
                                          [](const properties::HuntSearch& search) { return search.failing_seed; });
        std::printf("%s: claimed invariant %s violated (%u of %zu searches found a violation)\n", result.design.c_str(),
                    failing->invariant.c_str(), result.searches_found(), result.searches.size());
        break;
      }
      case properties::HuntVerdict::not_caught:
        held = false;
        std::printf("%s: positive control not caught: %u of %zu searches found %s within %llu seeds\n",
                    result.design.c_str(), result.searches_found(), result.searches.size(),
                    result.expected_violation.c_str(), static_cast<unsigned long long>(result.seeds_max));
        break;
    }
  }

  if (!options.json.empty())
    std::printf("table: %s (with each shrunk scenario, for `faultline replay --scenario FILE`)\n",
                options.json.c_str());
  if (interrupted)
    std::printf("interrupted by %s: the table holds the searches that finished\n", interrupt.signal_name());
  return held && !interrupted ? exit_ok : exit_expectation_failed;
}

}  // namespace faultline::app
