// Running, judging and explaining one scenario (the sweep over many is sweep.cpp).
#include "faultline/properties/runner.h"

#include <cstdio>

#include "faultline/sim/faults.h"

namespace faultline::properties {

const Violation* RunVerdict::failed_claim(const models::Design& design) const {
  for (const auto& invariant : design.claims())
    if (const Violation* violation = checks.first(invariant)) return violation;
  return nullptr;
}

namespace {

RunVerdict judge_history(const History& history) {
  RunVerdict verdict;
  verdict.checks = check_all(history);
  verdict.deliveries = measure_deliveries(history);
  verdict.workload = measure_workload(history);
  return verdict;
}

void copy_engine_figures(const models::Observation& observation, RunVerdict& verdict) {
  verdict.trace_hash = observation.trace_hash;
  verdict.events = observation.events;
  verdict.simulated_us = observation.end.ticks;
  verdict.drained = observation.drained;
}

}  // namespace

RunVerdict judge(const models::Observation& observation) {
  RunVerdict verdict = judge_history(History::from(observation));
  copy_engine_figures(observation, verdict);
  verdict.coverage = observation.coverage;
  return verdict;
}

RunVerdict judge(models::Observation&& observation) {
  RunVerdict verdict = judge_history(History::from(std::move(observation)));
  // History::from took the records it judges; these figures it leaves in place.
  copy_engine_figures(observation, verdict);
  verdict.coverage = std::move(observation.coverage);
  return verdict;
}

RunVerdict run_once(const models::Scenario& scenario, const models::Design& design) {
  // Every seed of a sweep comes here: the observation is not needed after judging, so
  // its records move into the history rather than being copied.
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
  for (const auto& violation : checks.violations) {
    text += "  => " + violation.invariant;
    // Which of its change's events, when the change announces several (the sentence
    // names it as "e12.2").
    if (violation.events_in_change > 1)
      text += " (command " + std::to_string(violation.command) + "'s change, event " +
              std::to_string(violation.index_in_change) + " of " + std::to_string(violation.events_in_change) + ")";
    text += ": " + violation.explanation + "\n";
  }
  return text;
}

std::string story(const models::Scenario& scenario, const models::Design& design, const CheckReport& checks) {
  const auto observation = models::run_scenario(scenario, design, sim::TraceCapture::full, models::AfterBound::stop);
  return story_from_trace(observation.trace, checks);
}

}  // namespace faultline::properties
