// Running scenarios and judging them: one run (run_once), its story and replay
// command (for counterexamples), and a sweep over a range of seeds that fills in the
// result types the reports render.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/world.h"
#include "faultline/properties/checkers.h"
#include "faultline/reports/result.h"

namespace faultline::properties {

struct RunVerdict {
  CheckReport checks;
  std::uint64_t trace_hash = 0;
  std::uint64_t events = 0;
  std::int64_t simulated_us = 0;
  bool drained = false;
  std::map<std::string, std::uint64_t> coverage;

  // A claimed invariant that failed, if any (the first in the design's claim order).
  const Violation* failed_claim(const models::Design& design) const;
};

RunVerdict judge(const models::Observation& observation);
RunVerdict run_once(const models::Scenario& scenario, const models::Design& design);

// The command line that reruns a scenario. A scenario drawn from a seed replays by
// its seed; a hand-made or shrunk one needs its JSON file.
std::string replay_command(const models::Scenario& scenario);

// Reruns the scenario with the full trace and tells what happened: the faults, the
// named points they struck at, restarts, and what the checkers found.
std::string story(const models::Scenario& scenario, const models::Design& design, const CheckReport& checks);
std::string story_from_trace(const std::vector<sim::TraceRecord>& trace, const CheckReport& checks);

struct SweepOptions {
  std::string profile = "default";
  models::Workload workload;
  std::uint64_t seed_start = 1;
  std::uint64_t seeds = 1'000;
  std::size_t counterexamples_per_invariant = 3;
  // Called after each run (from the sweeping thread) with runs done and failing runs.
  std::function<void(std::uint64_t done, std::uint64_t failing)> progress;
  // When set and true, the sweep stops after the current run.
  const std::atomic<bool>* stop = nullptr;
};

results::DesignResult sweep(const models::Design& design, const SweepOptions& options);

}  // namespace faultline::properties
