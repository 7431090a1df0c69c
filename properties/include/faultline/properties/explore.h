// Systematic search (design.md section 7): instead of drawing fault plans from a seed,
// crash the system at every named point the workload reaches, one site at a time
// (depth 1), and at ordered pairs of sites (depth 2, bounded). Within the one workload
// explored (its commands, seed and arrival times), depth 1 tries every crash site, so
// a bug that one crash of that workload shows is found on every search, not by chance;
// a bug the workload never reaches, or one that needs more faults, another kind of
// fault (a pause, a partition, a slow message) or another interleaving, is beyond it.
//
// Method. A run without faults (the baseline) gives the coverage: every named point the
// safety phase reaches and how often. Its crash sites are the (point, hit) pairs: "the
// node that reaches `point` for the `hit`-th time crashes there". Hits are counted over
// every node, and a point fault consumes no randomness until it strikes, so a run with
// one planned crash is the baseline up to the crash: every baseline site is reached, and
// each depth-1 run crashes exactly where it says. Each site is tried in two crash modes:
// the node restarts after a short downtime (so its recovery code runs while the workload
// is still going), and the node stays down until the liveness phase (so the rest of the
// system works on without it). The second fault of a pair is a site reached *after* the
// first crash in that site's restart-mode run (recovery points included), so every pair
// is a real ordered pair of the run it describes; both crashes restart after the
// downtime. When there are more pairs than the budget, a deterministic stride picks them.
//
// A failure is a run that breaks an invariant the design claims, or, for a positive
// control, shows the violation it must be caught with. The run without faults counts
// too: a race needs no crash at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/time.h"

namespace faultline::properties {

enum class ExploreDepth {
  single_crashes = 1,  // every crash site, one at a time
  crash_pairs = 2,     // also ordered pairs of crash sites, within the pair budget
};

struct ExploreOptions {
  std::uint64_t seed = 1;
  models::Workload workload{.commands = 3};
  ExploreDepth depth = ExploreDepth::single_crashes;
  // How long a crashed node stays down in the restart crash mode (and in pairs).
  sim::Duration restart_downtime = sim::Duration::millis(20);
  // Crash sites tried per point: the first hits up to this bound (default: every hit).
  std::uint32_t hits_per_point_max = std::numeric_limits<std::uint32_t>::max();
  // Pairs run at depth 2; past it, a deterministic stride over all pairs picks them.
  std::size_t pairs_max = 2'000;
  // Failures kept in full (scenario and story); the rest are only counted.
  std::size_t failures_kept_max = 10;
};

// One named point of the baseline's safety phase.
struct ExploredPoint {
  std::string point;
  std::vector<std::string> nodes;  // the nodes that reached it, in order of their first hit
  std::uint64_t hits = 0;
  std::uint64_t sites_tried = 0;   // hits crashed at, at depth 1 (each in every crash mode)
  std::uint64_t failing_runs = 0;  // depth-1 runs crashing here that failed
};

struct ExploreFailure {
  models::Scenario scenario;  // replays the failure exactly (hand-written plan, no profile)
  std::string invariant;
  std::string explanation;
  std::string story;          // properties::story_from_trace of the run
  std::string trace_hash;     // 16 hex digits
  bool breaks_claim = false;  // a claimed invariant (false: a positive control's expected violation)
};

struct ExploreResult {
  std::string design;
  std::uint64_t seed = 0;
  std::uint32_t commands = 0;
  ExploreDepth depth = ExploreDepth::single_crashes;
  sim::Duration restart_downtime;
  std::vector<std::string> claimed;
  std::string expected_violation;

  std::vector<ExploredPoint> points;            // the baseline's coverage, by point name
  std::vector<std::string> points_not_reached;  // declared by the design or the models, never reached
  std::uint64_t crash_sites_total = 0;          // (point, hit) pairs of the baseline's safety phase
  std::uint64_t crash_sites_tried = 0;          // within hits_per_point_max
  std::uint64_t pairs_total = 0;                // ordered pairs of sites (depth 2)
  std::uint64_t pairs_tried = 0;                // within pairs_max
  std::uint64_t points_after_crashes = 0;       // points reached only after a crash (recovery code); counted at depth 2
  std::uint64_t runs = 0;                       // every run, the baseline included
  std::uint64_t events = 0;                     // simulation events over every run
  std::uint64_t faults_not_struck = 0;          // planned crashes that never struck: nondeterminism, must be 0

  bool baseline_failed = false;           // the run without faults already fails (a race: no crash needed)
  std::uint64_t failing_runs = 0;         // runs with a failure (claimed or expected)
  std::uint64_t claim_breaking_runs = 0;  // runs breaking a claimed invariant
  std::uint64_t expected_violation_runs = 0;
  std::vector<ExploreFailure> failures;  // the first failing runs, in exploration order

  // A correct design broke no claim; a positive control showed its expected violation.
  bool expectations_held() const;
};

ExploreResult explore(const models::Design& design, const ExploreOptions& options);

// "crash the node at service.after_commit (hit 1), restart after 20 ms; then ..."
std::string describe_plan(const models::Scenario& scenario);

}  // namespace faultline::properties
