// Running scenarios and judging them: one run (run_once), its story and replay
// command (for counterexamples), and a sweep over a range of seeds that fills in the
// result types the reports render.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/world.h"
#include "faultline/properties/checkers.h"
#include "faultline/properties/delivery_figures.h"
#include "faultline/properties/workload_figures.h"
#include "faultline/reports/result.h"

namespace faultline::properties {

struct RunVerdict {
  CheckReport checks;
  std::uint64_t trace_hash = 0;
  std::uint64_t events = 0;
  std::int64_t simulated_us = 0;
  bool drained = false;
  std::map<std::string, std::uint64_t> coverage;
  DeliveryFigures deliveries;
  results::WorkloadFigures workload;

  // A claimed invariant that failed, if any (the first in the design's claim order).
  const Violation* failed_claim(const models::Design& design) const;
};

RunVerdict judge(const models::Observation& observation);
// The same, moving the observation's records into the history instead of copying them
// (for a caller that is done with the observation, as a sweep is).
RunVerdict judge(models::Observation&& observation);
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
  // Threads that run seeds, the calling thread included. The result does not depend on it:
  // runs are folded into the result in seed order, whichever thread finished first.
  std::size_t jobs = 1;
  // Rerun the first seed and every n-th after it, and compare each rerun's trace hash with
  // the first run's (0: rerun nothing). FoundationDB's unseed check, for --check-determinism.
  std::uint64_t rerun_every = 0;
  // Called after each run is folded in, with runs done and runs that violated any invariant;
  // from whichever worker thread folded it, never from two threads at a time.
  std::function<void(std::uint64_t done, std::uint64_t failing)> progress;
  // When set and true, the sweep takes no new seed: it finishes the runs in flight and
  // returns the result of the seeds that ran, a contiguous range from seed_start.
  const std::atomic<bool>* stop = nullptr;
};

// A seed whose rerun hashed differently from its first run: the build is not deterministic.
struct Nondeterminism {
  std::uint64_t seed = 0;
  std::uint64_t first_hash = 0;
  std::uint64_t rerun_hash = 0;
};

struct SweepOutcome {
  results::DesignResult result;
  std::uint64_t reruns = 0;                      // seeds rerun to check determinism
  std::optional<Nondeterminism> nondeterminism;  // the first such seed, in seed order
};

// Sweeps seeds [seed_start, seed_start + seeds) (see properties/src/sweep.cpp).
SweepOutcome sweep_checked(const models::Design& design, const SweepOptions& options);
results::DesignResult sweep(const models::Design& design, const SweepOptions& options);

}  // namespace faultline::properties
