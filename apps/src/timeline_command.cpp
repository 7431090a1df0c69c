// `faultline timeline`: reruns one scenario with the full trace, judges it, and hands
// the trace to the page renderer as plain records. What the violation is about is
// worked out here, where the run's vocabulary is known: the event ids the checkers
// name are words to highlight, and the commands they name are followed from the
// client's request through the calls it set off.
#include "timeline_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>
#include <stdexcept>

#include "command_files.h"
#include "decimal_option.h"
#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"
#include "faultline/reports/json_report.h"
#include "faultline/reports/timeline.h"
#include "faultline/sim/trace.h"

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

class TimelineUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string read_scenario_file(const std::string& path) {
  std::string contents;
  if (auto problem = read_input_file(path, "scenario file", scenario_bytes_max, contents))
    throw TimelineUsageError(*problem);
  return contents;
}

const models::Design& find_design(const models::DesignRegistry& designs, const std::string& name) {
  const models::Design* design = designs.find(name);
  if (design == nullptr) {
    std::string known;
    for (const auto& candidate : designs.names()) known += (known.empty() ? "" : ", ") + candidate;
    throw TimelineUsageError("unknown design '" + name + "' (known: " + known + ")");
  }
  return *design;
}

const sim::FaultProfile& find_profile(const std::string& name) {
  const sim::FaultProfile* profile = sim::find_fault_profile(name);
  if (profile == nullptr) {
    std::string known;
    for (const auto& candidate : sim::fault_profiles()) known += (known.empty() ? "" : ", ") + candidate.name;
    throw TimelineUsageError("unknown fault profile '" + name + "' (known: " + known + ")");
  }
  return *profile;
}

models::Scenario scenario_of(const TimelineOptions& options, const models::DesignRegistry& designs) {
  if (!options.scenario.empty()) {
    try {
      return properties::scenario_from_json(read_scenario_file(options.scenario), &designs);
    } catch (const properties::ScenarioError& error) {
      throw TimelineUsageError("scenario file " + options.scenario + ": " + error.what());
    }
  }
  const bool seed_given = options.seed_option != nullptr && options.seed_option->count() > 0;
  if (options.design.empty() || !seed_given)
    throw TimelineUsageError("timeline needs --design NAME and --seed S, or --scenario FILE");
  const auto& design = find_design(designs, options.design);
  return models::scenario_for_seed(design, options.seed, models::Workload{.commands = options.commands},
                                   find_profile(options.profile));
}

// What the checkers' violations are about, from their typed fields, in order of first
// mention: the announced events and the message ids they travelled under (a model's
// note names the message id), and the commands.
struct Mentioned {
  std::vector<std::string> events;
  std::vector<std::string> commands;
};

Mentioned mentioned(const std::vector<properties::Violation>& violations) {
  Mentioned found;
  const auto add = [](std::vector<std::string>& list, const std::string& text) {
    if (!text.empty() && std::find(list.begin(), list.end(), text) == list.end()) list.push_back(text);
  };
  for (const auto& violation : violations) {
    add(found.events, violation.event);
    add(found.events, violation.message_id);
    if (violation.command > 0) add(found.commands, std::to_string(violation.command));
  }
  return found;
}

std::string joined(const std::vector<std::string>& words, const std::string& prefix) {
  std::string text;
  for (std::size_t index = 0; index < words.size(); ++index) {
    if (index > 0) text += index + 1 == words.size() ? " and " : ", ";
    text += prefix + words[index];
  }
  return text;
}

reports::TimelineInput timeline_input(const models::Scenario& scenario, const models::Observation& observation,
                                      const properties::RunVerdict& verdict, const TimelineOptions& options) {
  reports::TimelineInput input;
  input.title = scenario.design + (options.scenario.empty() ? ", seed " + std::to_string(scenario.seed)
                                                            : ", scenario " + options.scenario);
  input.facts = {
      "profile " + (scenario.profile.empty() ? std::string("(hand-written)") : scenario.profile),
      fmt::format("{} command{}", scenario.workload.commands, scenario.workload.commands == 1 ? "" : "s"),
      fmt::format("{} planned fault{}", scenario.plan.faults.size(), scenario.plan.faults.size() == 1 ? "" : "s"),
      fmt::format("{:.3f} ms simulated", static_cast<double>(verdict.simulated_us) / 1000.0),
      verdict.drained ? "drained" : "did not drain within the liveness bound",
      fmt::format("{} trace records", observation.trace.size()),
      "trace hash " + sim::hash_hex(observation.trace_hash),
  };
  for (const auto& violation : verdict.checks.violations)
    input.violations.push_back(reports::TimelineViolation{violation.invariant, violation.explanation});
  input.story = properties::story_from_trace(observation.trace, verdict.checks);
  input.replay = options.scenario.empty() ? properties::replay_command(scenario)
                                          : "faultline replay --scenario " + options.scenario;
  input.lanes = models::node_list(scenario.settings);

  input.records.reserve(observation.trace.size());
  for (const auto& record : observation.trace) {
    input.records.push_back(reports::TimelineRecord{.time_us = record.time.ticks,
                                                    .node = record.node,
                                                    .kind = record.kind,
                                                    .detail = record.detail,
                                                    .peer = record.peer,
                                                    .message_id = record.message_id});
  }

  // The events the checkers name mark every record that mentions them (a model's
  // note such as "service.publish-failed e1"); the commands they name mark the
  // client's request for that command and what it set off. The client sends its
  // commands in order, one request each, so the k-th request is command k.
  const Mentioned about = mentioned(verdict.checks.violations);
  const std::vector<std::string>& event_ids = about.events;
  const std::vector<std::string>& commands = about.commands;
  input.highlight_terms = event_ids;
  for (auto& record : input.records)
    for (const auto& event_id : event_ids)
      if (reports::contains_word(record.detail, event_id)) record.emphasis = reports::Emphasis::violation;
  std::set<std::int64_t> wanted;
  for (const auto& command : commands) wanted.insert(std::stoll(command));
  std::int64_t request = 0;
  std::vector<std::uint64_t> requests;
  for (const auto& record : observation.trace) {
    if (record.kind != "send" || record.node != models::node_names::client ||
        record.detail != models::PlaceOrder::rpc_name)
      continue;
    if (wanted.count(++request) > 0) requests.push_back(record.message_id);
  }
  reports::mark_causal_chain(input.records, requests);
  std::vector<std::string> parts;
  if (!requests.empty())
    parts.push_back("the request of " + joined(commands, "command ") + " and the calls and retries it set off");
  if (!event_ids.empty()) parts.push_back("every record naming " + joined(event_ids, "") + " and what its step did");
  if (!parts.empty()) input.highlight_note = "Highlighted in red: " + joined(parts, "") + ".";
  return input;
}

int render(const TimelineOptions& options, const models::DesignRegistry& designs) {
  if (options.out.empty()) throw TimelineUsageError("timeline needs --out FILE.html");
  if (!options.scenario.empty()) {
    if (auto problem = output_is_an_input("--out", options.out, {options.scenario})) throw TimelineUsageError(*problem);
  }
  const models::Scenario scenario = scenario_of(options, designs);
  const models::Design& design = find_design(designs, scenario.design);
  if (auto problem = reports::check_writable(options.out)) throw TimelineUsageError(*problem);

  const auto observation = models::run_scenario(scenario, design, sim::TraceCapture::full);
  const properties::RunVerdict verdict = properties::judge(observation);
  const std::string page = reports::render_timeline(timeline_input(scenario, observation, verdict, options));
  if (auto problem = reports::write_file_atomically(options.out, page)) throw TimelineUsageError(*problem);

  std::string found = verdict.checks.violations.empty() ? "no invariant violated" : "";
  for (const auto& violation : verdict.checks.violations)
    found += (found.empty() ? "" : ", ") + violation.invariant + " violated";
  std::printf("faultline timeline: design %s, seed %llu, %u command%s: %s\n", scenario.design.c_str(),
              static_cast<unsigned long long>(scenario.seed), scenario.workload.commands,
              scenario.workload.commands == 1 ? "" : "s", found.c_str());
  std::printf("timeline: %s (%zu trace records)\n", options.out.c_str(), observation.trace.size());
  return exit_ok;
}

}  // namespace

CLI::App* add_timeline_command(CLI::App& app, TimelineOptions& options) {
  auto* timeline =
      app.add_subcommand("timeline", "render one run (a counterexample) as a self-contained HTML space-time diagram");
  auto* design_option = timeline->add_option("--design", options.design, "the design");
  auto* seed_option = timeline->add_option("--seed", options.seed, "the seed")
                          ->transform(decimal_in(0, std::numeric_limits<std::uint64_t>::max()));
  options.seed_option = seed_option;
  timeline->add_option("--commands", options.commands, "commands in the run")
      ->transform(decimal_in(1, 1'000'000))
      ->capture_default_str();
  auto* profile_option = timeline->add_option("--profile", options.profile, "the fault profile");
  timeline->add_option("--scenario", options.scenario, "a scenario JSON file (instead of --design and --seed)")
      ->check(file_name())
      ->excludes(design_option)
      ->excludes(seed_option)
      ->excludes(profile_option);
  timeline->add_option("--out", options.out, "where to write the HTML page")->required()->check(file_name());
  return timeline;
}

int run_timeline(const TimelineOptions& options, const models::DesignRegistry& designs) {
  try {
    return render(options, designs);
  } catch (const TimelineUsageError& error) {
    std::fprintf(stderr, "faultline: error: %s\n", error.what());
    return exit_usage;
  }
}

}  // namespace faultline::app
