// `faultline explore`: crash every named point the workload reaches (and ordered pairs
// of them), then say what was covered, what failed, and whether the design kept its
// promise. The search itself is properties::explore; this file only validates the
// input, prints, and saves counterexamples.
#include "explore_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "faultline/properties/explore.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/reports/json_report.h"

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_expectation_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_nondeterminism = 3;

// Failures told with their whole story; the others get one line each.
constexpr std::size_t stories_shown = 3;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "faultline: error: %s\n", message.c_str());
  return exit_usage;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string counterexample_path(const std::string& folder, const std::string& design, std::size_t number) {
  const bool ends_with_slash = !folder.empty() && folder.back() == '/';
  return fmt::format("{}{}explore-{}-{}.json", folder, ends_with_slash ? "" : "/", design, number);
}

std::string indented(const std::string& text, const char* prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::size_t stop = end == std::string::npos ? text.size() : end;
    out += prefix + text.substr(start, stop - start) + "\n";
    start = stop + 1;
  }
  return out;
}

void print_coverage(const properties::ExploreResult& result) {
  std::size_t width = 5;
  for (const auto& point : result.points) width = std::max(width, point.point.size());
  std::printf("\ncoverage (the named points the run without faults reaches, and the crash sites tried at each):\n");
  std::printf("  %-*s  %-20s %6s %6s %8s\n", static_cast<int>(width), "point", "reached by", "hits", "sites",
              "failing");
  for (const auto& point : result.points)
    std::printf("  %-*s  %-20s %6llu %6llu %8llu\n", static_cast<int>(width), point.point.c_str(),
                joined(point.nodes, ",").c_str(), static_cast<unsigned long long>(point.hits),
                static_cast<unsigned long long>(point.sites_tried),
                static_cast<unsigned long long>(point.failing_runs));
  std::printf("  (failing: depth-1 runs crashing there that failed, over both crash modes)\n");
  if (!result.points_not_reached.empty())
    std::printf("  declared but not reached by this workload: %s\n", joined(result.points_not_reached, ", ").c_str());
  std::printf("\n");

  std::string line = fmt::format("points reached: {}; crash sites tried: {} of {}", result.points.size(),
                                 result.crash_sites_tried, result.crash_sites_total);
  if (result.depth == properties::ExploreDepth::crash_pairs) {
    line += fmt::format("; pairs tried: {} of {}", result.pairs_tried, result.pairs_total);
    if (result.points_after_crashes > 0)
      line += fmt::format("; points reached only after a crash: {}", result.points_after_crashes);
  }
  std::printf("%s\n", line.c_str());
}

std::string verdict_line(const properties::ExploreResult& result) {
  const std::string where =
      result.depth == properties::ExploreDepth::crash_pairs ? "every crash site and pair tried" : "every crash site";
  if (result.claim_breaking_runs > 0) {
    std::vector<std::string> broken;
    for (const auto& failure : result.failures)
      if (failure.breaks_claim && std::find(broken.begin(), broken.end(), failure.invariant) == broken.end())
        broken.push_back(failure.invariant);
    return fmt::format("FAILED: claimed invariant {} violated in {} of {} runs", joined(broken, ","),
                       result.claim_breaking_runs, result.runs);
  }
  if (!result.expected_violation.empty()) {
    if (result.expected_violation_runs > 0)
      return fmt::format("caught: {} violated in {} of {} runs", result.expected_violation,
                         result.expected_violation_runs, result.runs);
    return fmt::format(
        "NOT caught: no run violated {} (no {} of this workload shows it: it may need more faults, another kind of "
        "fault, such as a pause or a slow message, or another workload)",
        result.expected_violation,
        result.depth == properties::ExploreDepth::crash_pairs ? "crash site or pair of sites" : "single crash site");
  }
  return fmt::format("{} hold at {} ({} runs)", joined(result.claimed, ","), where, result.runs);
}

}  // namespace

int run_explore(const ExploreCommandOptions& options, const models::DesignRegistry& designs) {
  const models::Design* design = designs.find(options.design);
  if (design == nullptr)
    return usage_error("unknown design '" + options.design + "' (known: " + joined(designs.names(), ", ") + ")");
  if (options.depth != 1 && options.depth != 2)
    return usage_error("--depth must be 1 (single crashes) or 2 (pairs of crashes), not " +
                       std::to_string(options.depth));
  if (!options.save_counterexamples.empty()) {
    std::error_code error;
    if (std::filesystem::exists(options.save_counterexamples, error) &&
        !std::filesystem::is_directory(options.save_counterexamples, error))
      return usage_error("--save-counterexamples " + options.save_counterexamples + " is not a folder");
    // The folder must exist and be writable; checked on a file name it would use.
    if (auto problem = reports::check_writable(counterexample_path(options.save_counterexamples, design->name(), 1)))
      return usage_error("--save-counterexamples: " + *problem);
  }

  properties::ExploreOptions explore_options;
  explore_options.seed = options.seed;
  explore_options.workload = models::Workload{.commands = options.commands};
  explore_options.depth =
      options.depth == 2 ? properties::ExploreDepth::crash_pairs : properties::ExploreDepth::single_crashes;
  explore_options.pairs_max = options.pairs_max;
  explore_options.hits_per_point_max = options.hits_per_point_max;

  const std::string downtime = fmt::format("{} ms", explore_options.restart_downtime.ticks / 1000);
  std::printf("faultline explore: design %s, seed %llu, %u commands, depth %u (%s)\n", design->name().c_str(),
              static_cast<unsigned long long>(options.seed), options.commands, options.depth,
              options.depth == 2 ? "every crash site, then ordered pairs of sites" : "every crash site");
  std::printf("crash modes: restart after %s, and down until liveness%s\n", downtime.c_str(),
              options.depth == 2 ? fmt::format("; pairs: both crashes restart after {}", downtime).c_str() : "");
  std::fflush(stdout);

  // Wall time is measured here, outside the simulated world, and only printed.
  const auto started = std::chrono::steady_clock::now();
  const properties::ExploreResult result = properties::explore(*design, explore_options);
  const double wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  print_coverage(result);
  std::printf("runs: %llu, %llu events, %.2f s wall time\n", static_cast<unsigned long long>(result.runs),
              static_cast<unsigned long long>(result.events), wall_seconds);
  std::printf("the run without faults: %s\n",
              result.baseline_failed ? "fails already (no crash is needed: see failure 1)" : "passes");

  if (result.failing_runs > 0) {
    std::printf("\nfailures: %llu failing runs%s\n", static_cast<unsigned long long>(result.failing_runs),
                result.failing_runs > result.failures.size()
                    ? fmt::format(" (the first {} listed)", result.failures.size()).c_str()
                    : "");
  }
  for (std::size_t index = 0; index < result.failures.size(); ++index) {
    const auto& failure = result.failures[index];
    const std::string plan = properties::describe_plan(failure.scenario);
    const std::string found = fmt::format("{}{}: {}", failure.breaks_claim ? "claimed invariant " : "",
                                          failure.invariant, failure.explanation);
    if (index < stories_shown) {
      std::printf("%3zu. %s\n     => %s\n     what happened:\n%s", index + 1, plan.c_str(), found.c_str(),
                  indented(failure.story, "   ").c_str());
    } else {
      std::printf("%3zu. %s => %s\n", index + 1, plan.c_str(), found.c_str());
    }
    if (!options.save_counterexamples.empty()) {
      const std::string path = counterexample_path(options.save_counterexamples, design->name(), index + 1);
      if (auto problem = reports::write_file_atomically(path, properties::scenario_to_json(failure.scenario) + "\n")) {
        std::fprintf(stderr, "faultline: error: %s\n", problem->c_str());
        return exit_usage;
      }
      std::printf("     replay: faultline replay --scenario %s  (trace-hash %s)\n", path.c_str(),
                  failure.trace_hash.c_str());
    } else if (index < stories_shown) {
      std::printf("     trace-hash: %s\n", failure.trace_hash.c_str());
    }
  }
  if (!result.failures.empty() && options.save_counterexamples.empty())
    std::printf("(--save-counterexamples DIR writes each scenario, to replay with `faultline replay --scenario`)\n");

  if (result.faults_not_struck > 0) {
    std::fprintf(stderr,
                 "faultline: nondeterminism: %llu planned crashes never struck although the run without faults "
                 "reached their sites; the search's findings cannot be trusted\n",
                 static_cast<unsigned long long>(result.faults_not_struck));
    return exit_nondeterminism;
  }
  std::printf("\nverdict: %s\n", verdict_line(result).c_str());
  return result.expectations_held() ? exit_ok : exit_expectation_failed;
}

}  // namespace faultline::app
