// Running, judging, explaining and sweeping.
#include "faultline/properties/runner.h"

#include <cassert>
#include <cstdio>

#include "faultline/properties/scenario_json.h"
#include "faultline/sim/faults.h"

namespace faultline::properties {

const Violation* RunVerdict::failed_claim(const models::Design& design) const {
  for (const auto& invariant : design.claims())
    if (const Violation* violation = checks.first(invariant)) return violation;
  return nullptr;
}

RunVerdict judge(const models::Observation& observation) {
  RunVerdict verdict;
  verdict.checks = check_all(History::from(observation));
  verdict.trace_hash = observation.trace_hash;
  verdict.events = observation.events;
  verdict.simulated_us = observation.end.ticks;
  verdict.drained = observation.drained;
  verdict.coverage = observation.coverage;
  return verdict;
}

RunVerdict run_once(const models::Scenario& scenario, const models::Design& design) {
  return judge(models::run_scenario(scenario, design));
}

std::string replay_command(const models::Scenario& scenario) {
  return "faultline replay --design " + scenario.design + " --seed " + std::to_string(scenario.seed) + " --commands " +
         std::to_string(scenario.workload.commands) + " --profile " + scenario.profile;
}

namespace {

std::string format_time(sim::Instant time) {
  char text[32];
  std::snprintf(text, sizeof(text), "%8.3f ms", static_cast<double>(time.ticks) / 1000.0);
  return text;
}

bool tells(const sim::TraceRecord& record) {
  static const char* const kinds[] = {"fault",        "crash",         "restart",
                                      "pause",        "resume",        "liveness",
                                      "heal",         "lose-response", "service.publish-failed",
                                      "db.abort-idle"};
  for (const char* kind : kinds)
    if (record.kind == kind) return true;
  return false;
}

}  // namespace

std::string story_from_trace(const std::vector<sim::TraceRecord>& trace, const CheckReport& checks) {
  std::string text;
  std::size_t lines = 0;
  constexpr std::size_t lines_max = 40;
  const sim::TraceRecord* previous = nullptr;
  for (std::size_t index = 0; index < trace.size(); ++index) {
    const auto& record = trace[index];
    if (!tells(record)) continue;
    // A planned crash or pause is told once, by its fault line.
    const bool told_by_fault = previous != nullptr && previous->kind == "fault" && previous->time == record.time &&
                               previous->node == record.node && (record.kind == "crash" || record.kind == "pause");
    previous = &record;
    if (told_by_fault) continue;
    if (++lines > lines_max) {
      text += "  ...\n";
      break;
    }
    text += "  " + format_time(record.time) + "  ";
    if (!record.node.empty()) text += record.node + ": ";
    text += record.kind == "fault" ? record.detail
                                   : record.kind + (record.detail.empty() ? "" : " (" + record.detail + ")");
    // Where a crash struck: the last named point the node reached before it.
    const bool crash = record.kind == "crash" || (record.kind == "fault" && record.detail.rfind("crash", 0) == 0);
    if (crash) {
      for (std::size_t back = index; back-- > 0;) {
        if (trace[back].node == record.node && (trace[back].kind == "point" || trace[back].kind == "boot")) {
          if (trace[back].kind == "point") text += "; last point reached: " + trace[back].detail;
          break;
        }
      }
    }
    text += "\n";
  }
  if (checks.violations.empty()) text += "  no invariant violated\n";
  for (const auto& violation : checks.violations)
    text += "  => " + violation.invariant + ": " + violation.explanation + "\n";
  return text;
}

std::string story(const models::Scenario& scenario, const models::Design& design, const CheckReport& checks) {
  const auto observation = models::run_scenario(scenario, design, sim::TraceCapture::full);
  return story_from_trace(observation.trace, checks);
}

results::DesignResult sweep(const models::Design& design, const SweepOptions& options) {
  const sim::FaultProfile* profile = sim::find_fault_profile(options.profile);
  assert(profile != nullptr && "the caller validates the profile name");
  results::DesignResult result;
  result.design = design.name();
  result.profile = options.profile;
  result.commands = options.workload.commands;
  result.claimed = design.claims();
  result.expected_violation = design.expected_violation();
  result.seed_first = options.seed_start;
  result.seed_last = options.seed_start;
  for (const char* invariant : results::invariant_ids) result.violations[invariant] = 0;

  std::map<std::string, std::size_t> examples;
  std::uint64_t failing = 0;
  for (std::uint64_t index = 0; index < options.seeds; ++index) {
    if (options.stop != nullptr && options.stop->load()) break;
    const std::uint64_t seed = options.seed_start + index;
    const models::Scenario scenario = models::scenario_for_seed(design, seed, options.workload, *profile);
    const RunVerdict verdict = run_once(scenario, design);

    ++result.runs;
    result.seed_last = seed;
    result.engine.events += verdict.events;
    result.engine.simulated_us += verdict.simulated_us;
    result.lost_events += verdict.checks.lost_events;
    result.phantom_events += verdict.checks.phantom_events;
    result.duplicate_deliveries += verdict.checks.duplicate_deliveries;
    if (verdict.checks.duplicate_deliveries > 0) ++result.runs_with_duplicates;
    for (const auto& [point, hits] : verdict.coverage) result.point_coverage[point] += hits;
    if (!verdict.checks.violations.empty()) ++failing;

    for (const auto& violation : verdict.checks.violations) {
      ++result.violations[violation.invariant];
      if (examples[violation.invariant]++ >= options.counterexamples_per_invariant) continue;
      const auto observation = models::run_scenario(scenario, design, sim::TraceCapture::full);
      result.counterexamples.push_back(results::Counterexample{
          .seed = seed,
          .invariant = violation.invariant,
          .explanation = violation.explanation,
          .story = story_from_trace(observation.trace, verdict.checks),
          .trace_hash = sim::hash_hex(observation.trace_hash),
          .replay = replay_command(scenario),
          .scenario_json = scenario_to_json(scenario),
      });
    }
    if (options.progress) options.progress(result.runs, failing);
  }
  return result;
}

}  // namespace faultline::properties
