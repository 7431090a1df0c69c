// The faultline command: run (sweep seeds, print a summary, write a JSON report),
// replay (rerun one scenario and tell its story), list (what can be named).
// Every input error is one line on stderr and exit code 2; nothing is written then.
#include "faultline/app/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/reports/json_report.h"
#include "faultline/sim/trace.h"

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

struct RunOptions {
  std::vector<std::string> designs;
  std::uint64_t seeds = 1'000;
  std::uint64_t seed_start = 1;
  std::uint32_t commands = 100;
  std::string profile = "default";
  std::string report = "faultline-report.json";
};

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

// Seeds are unsigned 64-bit integers; the parser would quietly wrap "-1" or cap a
// too-large number, so seeds are read by hand.
CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc() || stop != end)
          return "'" + text + "' is not a seed (an integer from 0 to 18446744073709551615)";
        return {};
      },
      "SEED");
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
  if (auto problem = reports::check_writable(options.report)) throw UsageError(*problem);

  std::printf("faultline run: %llu seeds (%llu..%llu), %u commands each, fault profile %s\n",
              static_cast<unsigned long long>(options.seeds), static_cast<unsigned long long>(options.seed_start),
              static_cast<unsigned long long>(options.seed_start + options.seeds - 1), options.commands,
              options.profile.c_str());
  std::fflush(stdout);

  results::Report report{.version = FAULTLINE_VERSION, .command = invocation};
  bool expectations_held = true;
  std::vector<std::string> notes;
  for (const models::Design* design : chosen) {
    properties::SweepOptions sweep{.profile = options.profile,
                                   .workload = models::Workload{.commands = options.commands},
                                   .seed_start = options.seed_start,
                                   .seeds = options.seeds};
    // Wall time is measured here, outside the simulated world, for the engine figures only.
    const auto started = std::chrono::steady_clock::now();
    results::DesignResult result = properties::sweep(*design, sweep);
    result.engine.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    for (const auto& invariant : result.claimed) {
      if (result.verdict(invariant) == results::Verdict::violated) {
        expectations_held = false;
        notes.push_back(fmt::format("{}: claimed invariant {} violated in {} of {} runs", result.design, invariant,
                                    result.violations[invariant], result.runs));
      }
    }
    const std::string expected = design->expected_violation();
    if (!expected.empty() && result.verdict(expected) != results::Verdict::violated) {
      expectations_held = false;
      notes.push_back(fmt::format("{}: positive control not caught: no run violated {}", result.design, expected));
    }
    for (const auto& example : result.counterexamples) {
      notes.push_back(fmt::format("{}: first {} violation at seed {}: {}\n    replay: {}", result.design,
                                  example.invariant, example.seed, example.explanation, example.replay));
      break;
    }
    report.results.push_back(std::move(result));
  }

  std::printf("\n%s\n", reports::summary_table(report.results).c_str());
  for (const auto& note : notes) std::printf("%s\n", note.c_str());
  if (auto problem = reports::write_file_atomically(options.report, reports::to_json(report).dump(2) + "\n"))
    throw UsageError(*problem);
  std::printf("\nreport: %s\n", options.report.c_str());
  return expectations_held ? exit_ok : exit_expectation_failed;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read scenario file " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw UsageError("cannot read scenario file " + path);
  return contents.str();
}

int run_replay(const ReplayOptions& options, const models::DesignRegistry& designs) {
  models::Scenario scenario;
  if (!options.scenario.empty()) {
    try {
      scenario = properties::scenario_from_json(read_file(options.scenario), &designs);
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

  std::size_t acknowledged = 0;
  for (const auto& command : observation.commands) acknowledged += command.outcome == models::Outcome::ok ? 1 : 0;
  std::printf("\nfigures: %zu of %zu commands acknowledged, %llu events, %.3f ms simulated, %s\n", acknowledged,
              observation.commands.size(), static_cast<unsigned long long>(verdict.events),
              static_cast<double>(verdict.simulated_us) / 1000.0,
              verdict.drained ? "drained" : "did NOT drain within the liveness bound");
  std::printf("lost events: %llu, phantom events: %llu, acknowledged but not durable: %llu, duplicates: %llu\n",
              static_cast<unsigned long long>(verdict.checks.lost_events),
              static_cast<unsigned long long>(verdict.checks.phantom_events),
              static_cast<unsigned long long>(verdict.checks.unacknowledged_durable),
              static_cast<unsigned long long>(verdict.checks.duplicate_deliveries));
  std::printf("points reached: %zu distinct\n", observation.coverage.size());
  if (options.scenario.empty()) std::printf("replay: %s\n", properties::replay_command(scenario).c_str());

  if (!options.trace.empty()) {
    if (auto problem = reports::write_file_atomically(options.trace, observation.trace_json_lines))
      throw UsageError(*problem);
    std::printf("trace: %s (%zu records)\n", options.trace.c_str(), observation.trace.size());
  }
  std::printf("trace-hash: %s\n", sim::hash_hex(observation.trace_hash).c_str());
  return verdict.failed_claim(design) != nullptr ? exit_expectation_failed : exit_ok;
}

int run_list(const models::DesignRegistry& designs) {
  std::printf("designs:\n");
  for (const auto& design : designs.all()) {
    std::string claims;
    for (const auto& id : design->claims()) claims += (claims.empty() ? "" : ",") + id;
    const std::string expected = design->expected_violation();
    std::printf("  %-24s claims %-8s %s%s\n", design->name().c_str(), claims.empty() ? "-" : claims.c_str(),
                design->summary().c_str(),
                expected.empty() ? "" : fmt::format(" [positive control: must violate {}]", expected).c_str());
  }
  std::printf("\nfault profiles:\n");
  for (const auto& profile : sim::fault_profiles())
    std::printf("  %-12s %s\n", profile.name.c_str(), profile.description.c_str());
  std::printf(
      "\nfault kinds:\n  crash, pause, partition, isolate, one-way, heal, lose-responses, crash-with-disk-loss\n");
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
  CLI::App app{
      "faultline: finds lost and phantom events in event-driven designs by deterministic simulation.\n"
      "Exit codes: 0 every expectation held; 1 an expectation failed (a claimed invariant violated,\n"
      "or a positive control not caught); 2 usage or input error; 3 nondeterminism or internal error."};
  app.name("faultline");
  app.set_version_flag("--version", FAULTLINE_VERSION);
  app.require_subcommand(1);

  RunOptions run_options;
  auto* run = app.add_subcommand("run", "sweep seeds for each design, print a summary and write a JSON report");
  run->add_option("--design", run_options.designs, "a design to sweep (repeatable; default: every design)");
  run->add_option("--seeds", run_options.seeds, "how many seeds per design")->check(CLI::Range(1ULL, 100'000'000ULL));
  run->add_option("--seed-start", run_options.seed_start, "the first seed")->check(seed_validator());
  run->add_option("--commands", run_options.commands, "commands per run")->check(CLI::Range(1U, 1'000'000U));
  run->add_option("--profile", run_options.profile, "the fault profile (see `faultline list`)");
  run->add_option("--report", run_options.report, "where to write the JSON report")->capture_default_str();

  ReplayOptions replay_options;
  auto* replay = app.add_subcommand("replay", "rerun one scenario, tell its story and print its trace hash");
  auto* design_option = replay->add_option("--design", replay_options.design, "the design");
  auto* seed_option = replay->add_option("--seed", replay_options.seed, "the seed")->check(seed_validator());
  replay->add_option("--commands", replay_options.commands, "commands in the run")->check(CLI::Range(1U, 1'000'000U));
  auto* profile_option = replay->add_option("--profile", replay_options.profile, "the fault profile");
  replay->add_option("--trace", replay_options.trace, "write the full trace as JSON lines to this file");
  replay->add_option("--scenario", replay_options.scenario, "a scenario JSON file (instead of --design and --seed)")
      ->excludes(design_option)
      ->excludes(seed_option)
      ->excludes(profile_option);

  auto* list = app.add_subcommand("list", "list designs, fault profiles, fault kinds and named points");

  // An unknown subcommand gets a clearer message than the parser's.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string first = argv[1];
    if (first != "run" && first != "replay" && first != "list") {
      std::fprintf(stderr, "faultline: error: unknown subcommand '%s' (expected run, replay or list)\n", first.c_str());
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

  try {
    if (run->parsed()) return run_sweep(run_options, designs, command_line(argc, argv));
    if (replay->parsed()) {
      if (replay_options.scenario.empty() && (design_option->count() == 0 || seed_option->count() == 0))
        throw UsageError("replay needs --design NAME and --seed S, or --scenario FILE");
      return run_replay(replay_options, designs);
    }
    if (list->parsed()) return run_list(designs);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "faultline: error: %s\n", error.what());
    return exit_usage;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "faultline: internal error: %s\n", error.what());
    return exit_internal;
  }
  return exit_usage;
}

}  // namespace faultline::app
