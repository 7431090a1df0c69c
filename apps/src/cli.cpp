// The faultline command: run (sweep seeds, print a summary, write a JSON report),
// replay (rerun one scenario and tell its story), explore (crash every named point,
// in apps/src/explore_command.cpp), hunt (seeds to the first failure over independent
// searches, in apps/src/hunt_command.cpp), list (what can be named).
// Every input error is one line on stderr and exit code 2; nothing is written then.
#include "faultline/app/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "command_files.h"
#include "decimal_option.h"
#include "explore_command.h"
#include "faultline/properties/hunt.h"
#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/reports/json_report.h"
#include "faultline/sim/trace.h"
#include "hunt_command.h"
#include "merge_command.h"
#include "sweep_command.h"
#include "timeline_command.h"

#ifndef FAULTLINE_VERSION
#define FAULTLINE_VERSION "0.0.0"
#endif

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_expectation_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_internal = 3;

// An input problem: reported as one line, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using RunOptions = SweepCommandOptions;

struct ReplayOptions {
  std::string design;
  std::uint64_t seed = 1;
  std::uint32_t commands = 100;
  std::string profile = "default";
  std::string trace;
  std::string scenario;
};

const models::Design& find_design(const models::DesignRegistry& designs, const std::string& name) {
  const models::Design* design = designs.find(name);
  if (design == nullptr) {
    std::string known;
    for (const auto& candidate : designs.names()) known += (known.empty() ? "" : ", ") + candidate;
    throw UsageError("unknown design '" + name + "' (known: " + known + ")");
  }
  return *design;
}

const sim::FaultProfile& find_profile(const std::string& name) {
  const sim::FaultProfile* profile = sim::find_fault_profile(name);
  if (profile == nullptr) {
    std::string known;
    for (const auto& candidate : sim::fault_profiles()) known += (known.empty() ? "" : ", ") + candidate.name;
    throw UsageError("unknown fault profile '" + name + "' (known: " + known + ")");
  }
  return *profile;
}

// Seeds are unsigned 64-bit integers, in decimal like every other integer option.
CLI::Validator seed_validator() {
  return decimal_in(0, std::numeric_limits<std::uint64_t>::max());
}

std::string command_line(int argc, char** argv) {
  std::string text = "faultline";
  for (int index = 1; index < argc; ++index) text += std::string(" ") + argv[index];
  return text;
}

int run_sweep(const RunOptions& options, const models::DesignRegistry& designs, const std::string& invocation) {
  std::vector<const models::Design*> chosen;
  if (options.designs.empty()) {
    for (const auto& design : designs.all()) chosen.push_back(design.get());
  } else {
    for (const auto& name : options.designs) {
      const models::Design* design = &find_design(designs, name);
      if (std::find(chosen.begin(), chosen.end(), design) == chosen.end()) chosen.push_back(design);
    }
  }
  find_profile(options.profile);
  if (options.seed_start > std::numeric_limits<std::uint64_t>::max() - (options.seeds - 1))
    throw UsageError("--seed-start " + std::to_string(options.seed_start) + " with --seeds " +
                     std::to_string(options.seeds) + " runs past the largest seed");
  // The sweep itself, its progress, interrupts, shards and report: apps/src/sweep_command.cpp.
  return run_sweep_command(options, chosen, invocation);
}

int run_hunt(const HuntCommandOptions& options, const models::DesignRegistry& designs, const std::string& invocation) {
  std::vector<const models::Design*> chosen;
  if (options.designs.empty()) {
    for (const auto& design : designs.all()) chosen.push_back(design.get());
  } else {
    for (const auto& name : options.designs) {
      const models::Design* design = &find_design(designs, name);
      if (std::find(chosen.begin(), chosen.end(), design) == chosen.end()) chosen.push_back(design);
    }
  }
  find_profile(options.profile);
  // The searches, the table and the JSON: apps/src/hunt_command.cpp.
  return run_hunt_command(options, chosen, invocation);
}

std::string read_scenario(const std::string& path) {
  std::string contents;
  if (auto problem = read_input_file(path, "scenario file", scenario_bytes_max, contents)) throw UsageError(*problem);
  return contents;
}

int run_replay(const ReplayOptions& options, const models::DesignRegistry& designs) {
  if (!options.trace.empty() && !options.scenario.empty()) {
    if (auto problem = output_is_an_input("--trace", options.trace, {options.scenario})) throw UsageError(*problem);
  }
  models::Scenario scenario;
  if (!options.scenario.empty()) {
    try {
      scenario = properties::scenario_from_json(read_scenario(options.scenario), &designs);
    } catch (const properties::ScenarioError& error) {
      throw UsageError("scenario file " + options.scenario + ": " + error.what());
    }
  } else {
    if (options.design.empty()) throw UsageError("replay needs --design NAME and --seed S, or --scenario FILE");
    const auto& design = find_design(designs, options.design);
    scenario = models::scenario_for_seed(design, options.seed, models::Workload{.commands = options.commands},
                                         find_profile(options.profile));
  }
  const models::Design& design = find_design(designs, scenario.design);
  if (!options.trace.empty()) {
    if (auto problem = reports::check_writable(options.trace)) throw UsageError(*problem);
  }

  const auto observation = models::run_scenario(scenario, design, sim::TraceCapture::full);
  const properties::RunVerdict verdict = properties::judge(observation);
  // The trace is written before anything is printed: a closed stdout must not cost it.
  if (!options.trace.empty()) {
    if (auto problem = reports::write_file_atomically(options.trace, observation.trace_json_lines))
      throw UsageError(*problem);
  }

  std::printf("faultline replay: design %s, seed %llu, profile %s, %u commands, %zu planned faults\n",
              scenario.design.c_str(), static_cast<unsigned long long>(scenario.seed),
              scenario.profile.empty() ? "(hand-written)" : scenario.profile.c_str(), scenario.workload.commands,
              scenario.plan.faults.size());
  std::printf("\nplanned faults:\n");
  if (scenario.plan.faults.empty()) std::printf("  none\n");
  for (const auto& fault : scenario.plan.faults) {
    const std::string when = fault.point.empty() ? fmt::format("at {:.3f} ms", fault.at.ticks / 1000.0) : "";
    std::printf("  %s%s%s\n", when.c_str(), when.empty() ? "" : ": ", sim::describe(fault).c_str());
  }
  std::printf("\nwhat happened:\n%s", properties::story_from_trace(observation.trace, verdict.checks).c_str());

  const results::WorkloadFigures& work = verdict.workload;
  std::printf(
      "\nfigures: %llu of %llu commands acknowledged (%llu failed, %llu unknown), %llu changes committed, "
      "%llu events appended, %llu applied; %llu events, %.3f ms simulated, %s\n",
      static_cast<unsigned long long>(work.acknowledged), static_cast<unsigned long long>(work.commands),
      static_cast<unsigned long long>(work.failed), static_cast<unsigned long long>(work.unknown),
      static_cast<unsigned long long>(work.committed), static_cast<unsigned long long>(work.appended),
      static_cast<unsigned long long>(work.applied), static_cast<unsigned long long>(verdict.events),
      static_cast<double>(verdict.simulated_us) / 1000.0,
      verdict.drained ? "drained" : "did NOT drain within the liveness bound");
  std::printf(
      "lost events: %llu, late events: %llu, phantom events: %llu, acknowledged but not durable: %llu, "
      "duplicates: %llu\n",
      static_cast<unsigned long long>(verdict.checks.lost_events),
      static_cast<unsigned long long>(verdict.checks.late_events),
      static_cast<unsigned long long>(verdict.checks.phantom_events),
      static_cast<unsigned long long>(verdict.checks.unacknowledged_durable),
      static_cast<unsigned long long>(verdict.checks.duplicate_deliveries));
  std::printf("points reached: %zu distinct\n", observation.coverage.size());
  if (options.scenario.empty()) std::printf("replay: %s\n", properties::replay_command(scenario).c_str());

  if (!options.trace.empty()) std::printf("trace: %s (%zu records)\n", options.trace.c_str(), observation.trace.size());
  std::printf("trace-hash: %s\n", sim::hash_hex(observation.trace_hash).c_str());
  return verdict.failed_claim(design) != nullptr ? exit_expectation_failed : exit_ok;
}

// What a command's exit code becomes once its output is flushed. A write error on stdout
// (a reader that went away, a full disk) is a failure to print: one line on stderr and
// exit code 2 when the command itself succeeded; a command's own failure code stands.
// Every file the command writes was written before its summary was printed.
int after_printing(int code) {
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (flushed && !std::ferror(stdout)) return code;
  std::fprintf(stderr, "faultline: error: cannot print to standard output: %s\n",
               error != 0 ? std::strerror(error) : "write error");
  return code == exit_ok ? exit_usage : code;
}

int run_list(const models::DesignRegistry& designs) {
  std::printf("designs:\n");
  // Columns as wide as their longest entry, so every summary starts in one place.
  std::size_t name_width = 0, claims_width = 1;
  const auto claims_of = [](const models::Design& design) {
    std::string claims;
    for (const auto& id : design.claims()) claims += (claims.empty() ? "" : ",") + id;
    return claims.empty() ? std::string("-") : claims;
  };
  for (const auto& design : designs.all()) {
    name_width = std::max(name_width, design->name().size());
    claims_width = std::max(claims_width, claims_of(*design).size());
  }
  for (const auto& design : designs.all()) {
    const std::string expected = design->expected_violation();
    std::printf("%s\n",
                fmt::format("  {:<{}} claims {:<{}} {}{}", design->name(), name_width, claims_of(*design), claims_width,
                            design->summary(),
                            expected.empty() ? "" : fmt::format(" [positive control: must violate {}]", expected))
                    .c_str());
  }
  std::printf("\nfault profiles:\n");
  for (const auto& profile : sim::fault_profiles())
    std::printf("  %-12s %s\n", profile.name.c_str(), profile.description.c_str());
  std::printf(
      "\nfault kinds:\n  crash, pause, partition, isolate, one-way, heal, lose-responses, crash-with-disk-loss, "
      "clock-skew\n");
  std::printf("\nnamed points:\n");
  std::vector<std::string> points = models::model_points();
  for (const auto& design : designs.all())
    for (const auto& point : design->points())
      if (std::find(points.begin(), points.end(), point) == points.end()) points.push_back(point);
  std::sort(points.begin(), points.end());
  for (const auto& point : points) std::printf("  %s\n", point.c_str());
  return exit_ok;
}

}  // namespace

int run_cli(int argc, char** argv, const models::DesignRegistry& designs) {
  // A reader that closes stdout early (`| head -1`) must not kill the command before it
  // writes its report: the failed write is seen and reported instead (after_printing).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "faultline: finds lost and phantom events in event-driven designs by deterministic simulation.\n"
      "Exit codes: 0 every expectation held; 1 an expectation failed (a claimed invariant violated,\n"
      "or a positive control not caught) or the sweep was interrupted; 2 usage or input error, or\n"
      "an output that could not be written (the report, or stdout: files are written first);\n"
      "3 nondeterminism or internal error."};
  app.name("faultline");
  app.set_version_flag("--version", FAULTLINE_VERSION);
  app.require_subcommand(1);

  RunOptions run_options;
  auto* run = app.add_subcommand("run", "sweep seeds for each design, print a summary and write a JSON report");
  run->add_option("--design", run_options.designs, "a design to sweep (repeatable; default: every design)");
  run->add_option("--seeds", run_options.seeds, "how many seeds per design")
      ->transform(decimal_in(1ULL, 100'000'000ULL));
  run->add_option("--seed-start", run_options.seed_start, "the first seed")->transform(seed_validator());
  run->add_option("--commands", run_options.commands, "commands per run")->transform(decimal_in(1U, 1'000'000U));
  run->add_option("--profile", run_options.profile, "the fault profile (see `faultline list`)");
  run->add_option("--report", run_options.report, "where to write the JSON report")
      ->check(file_name())
      ->capture_default_str();
  run->add_option("--jobs", run_options.jobs, "threads that run seeds (the results are the same for any value)")
      ->transform(decimal_in(std::size_t{1}, std::size_t{1'024}))
      ->capture_default_str();
  run->add_option("--shard", run_options.shard,
                  "run the I-th of N contiguous slices of the seeds (merge them with merge)")
      ->type_name("I/N");
  run->add_flag("--check-determinism", run_options.check_determinism,
                "rerun every 20th seed and fail (exit 3) if a trace hash differs");

  HuntCommandOptions hunt_options;
  auto* hunt = app.add_subcommand(
      "hunt", "for each design, seeds to its first failure over independent searches, and the shrunk counterexample");
  hunt->add_option("--design", hunt_options.designs, "a design to hunt (repeatable; default: every design)");
  hunt->add_option("--searches", hunt_options.searches, "independent searches per design")
      ->transform(decimal_in(1U, 10'000U))
      ->capture_default_str();
  hunt->add_option("--seeds-max", hunt_options.seeds_max, "seeds a search tries before it gives up")
      ->transform(decimal_in(std::uint64_t{1}, properties::hunt_seed_stride))
      ->capture_default_str();
  hunt->add_option("--commands", hunt_options.commands, "commands per run")
      ->transform(decimal_in(1U, 1'000'000U))
      ->capture_default_str();
  hunt->add_option("--profile", hunt_options.profile, "the fault profile (see `faultline list`)")
      ->capture_default_str();
  hunt->add_option("--jobs", hunt_options.jobs, "threads that run searches (the table is the same for any value)")
      ->transform(decimal_in(std::size_t{1}, std::size_t{1'024}))
      ->capture_default_str();
  hunt->add_option("--json", hunt_options.json, "write the table as JSON to this file")->check(file_name());

  MergeCommandOptions merge_options;
  auto* merge = app.add_subcommand("merge", "combine shard reports (run --shard I/N) into the whole sweep's report");
  merge->add_option("OUT", merge_options.out, "where to write the merged report")->required()->check(file_name());
  merge->add_option("SHARD", merge_options.shards, "the shards' reports, every shard once")
      ->required()
      ->check(file_name());

  ReplayOptions replay_options;
  auto* replay = app.add_subcommand("replay", "rerun one scenario, tell its story and print its trace hash");
  auto* design_option = replay->add_option("--design", replay_options.design, "the design");
  auto* seed_option = replay->add_option("--seed", replay_options.seed, "the seed")->transform(seed_validator());
  replay->add_option("--commands", replay_options.commands, "commands in the run")
      ->transform(decimal_in(1U, 1'000'000U));
  auto* profile_option = replay->add_option("--profile", replay_options.profile, "the fault profile");
  replay->add_option("--trace", replay_options.trace, "write the full trace as JSON lines to this file")
      ->check(file_name());
  replay->add_option("--scenario", replay_options.scenario, "a scenario JSON file (instead of --design and --seed)")
      ->check(file_name())
      ->excludes(design_option)
      ->excludes(seed_option)
      ->excludes(profile_option);

  auto* list = app.add_subcommand("list", "list designs, fault profiles, fault kinds and named points");

  TimelineOptions timeline_options;
  auto* timeline = add_timeline_command(app, timeline_options);

  ExploreCommandOptions explore_options;
  auto* explore = app.add_subcommand(
      "explore", "crash every named point the workload reaches (depth 1) and ordered pairs of them (depth 2)");
  explore->add_option("--design", explore_options.design, "the design")->required();
  explore->add_option("--commands", explore_options.commands, "commands in the workload")
      ->transform(decimal_in(1U, 1'000U))
      ->capture_default_str();
  explore->add_option("--depth", explore_options.depth, "1: every crash site; 2: also ordered pairs of sites")
      ->transform(decimal_in(1U, 2U))
      ->capture_default_str();
  explore->add_option("--seed", explore_options.seed, "the seed of every run")->transform(seed_validator());
  explore->add_option("--pairs-max", explore_options.pairs_max, "pairs tried at depth 2 (an even spread past it)")
      ->transform(decimal_in(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  explore->add_option("--hits-max", explore_options.hits_per_point_max, "crash sites per point (default: every hit)")
      ->transform(decimal_in(1U, std::numeric_limits<std::uint32_t>::max()));
  explore
      ->add_option("--save-counterexamples", explore_options.save_counterexamples,
                   "write each failure's scenario JSON into this existing folder")
      ->check(file_name());

  // An unknown subcommand gets a clearer message than the parser's.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string first = argv[1];
    if (first != "run" && first != "replay" && first != "list" && first != "explore" && first != "timeline" &&
        first != "merge" && first != "hunt") {
      std::fprintf(
          stderr,
          "faultline: error: unknown subcommand '%s' (expected run, merge, hunt, replay, explore, timeline or list)\n",
          first.c_str());
      return exit_usage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "faultline: error: %s\n", error.what());
    return exit_usage;
  }

  const auto run_command = [&]() -> int {
    try {
      if (run->parsed()) return run_sweep(run_options, designs, command_line(argc, argv));
      if (replay->parsed()) {
        if (replay_options.scenario.empty() && (design_option->count() == 0 || seed_option->count() == 0))
          throw UsageError("replay needs --design NAME and --seed S, or --scenario FILE");
        return run_replay(replay_options, designs);
      }
      if (list->parsed()) return run_list(designs);
      if (merge->parsed()) return run_merge_command(merge_options);
      if (hunt->parsed()) return run_hunt(hunt_options, designs, command_line(argc, argv));
      if (explore->parsed()) return run_explore(explore_options, designs);
      if (timeline->parsed()) return run_timeline(timeline_options, designs);
    } catch (const UsageError& error) {
      std::fprintf(stderr, "faultline: error: %s\n", error.what());
      return exit_usage;
    } catch (const std::exception& error) {
      std::fprintf(stderr, "faultline: internal error: %s\n", error.what());
      return exit_internal;
    }
    return exit_usage;
  };
  return after_printing(run_command());
}

}  // namespace faultline::app
