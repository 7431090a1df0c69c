// Fault plans are data: a list of entries, each at a simulated time or at the n-th
// hit of a named point, so a plan can be generated, shrunk, stored and replayed.
// A fault profile gives the rates a random plan is drawn from; each seed also draws
// the knobs themselves (swarm testing), so some runs see only crashes, some only
// partitions, some a storm of everything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/sim/rng.h"
#include "faultline/sim/time.h"

namespace faultline::sim {

enum class FaultKind {
  crash,                 // node crashes; restarts after `duration` (0: stays down until the liveness phase)
  pause,                 // node freezes for `duration` (a stop-the-world pause)
  partition,             // `group` is cut off from every other node, both ways, for `duration`
  isolate,               // `node` is cut off from every other node, both ways, for `duration`
  one_way,               // messages from `node` to `peer` are dropped for `duration`
  heal,                  // every partition ends
  lose_responses,        // the next `count` replies sent by `node` are lost (the requests were applied)
  crash_with_disk_loss,  // node crashes and its disk also drops its last `count` synced records
                         // (a disk that lied about fsync); restarts after `duration` like crash
  clock_skew,            // from `at` on, `node`'s local clock reads simulated time plus `skew` (signed);
                         // it survives restarts (the skew is the host's clock, not the process's) and
                         // ends when the liveness phase starts (clocks resynchronise)
};

std::string_view to_string(FaultKind kind);
std::optional<FaultKind> fault_kind_from_string(std::string_view text);

struct Fault {
  FaultKind kind = FaultKind::crash;
  // When: at time `at`, or, if `point` is set, when the `hit`-th hit of that named point
  // happens (counting every node), in which case an empty `node` means the node that reached it.
  Instant at;
  std::string point;
  std::uint32_t hit = 1;
  // What.
  std::string node;
  std::string peer;
  std::vector<std::string> group;
  Duration duration;
  std::uint32_t count = 1;
  Duration skew;  // clock_skew: the offset of the node's local clock (negative: behind)

  bool operator==(const Fault&) const = default;
};

struct FaultPlan {
  std::vector<Fault> faults;
  bool operator==(const FaultPlan&) const = default;
};

// Rates of a random plan, all upper bounds: each seed draws the actual count of each
// kind of fault in [0, max], so the space between "no faults" and "everything" is covered.
struct FaultProfile {
  std::string name;
  std::string description;
  std::uint32_t crashes_max = 0;        // timed crashes of random nodes
  std::uint32_t point_crashes_max = 0;  // crashes at named points
  std::uint32_t pauses_max = 0;
  std::uint32_t partitions_max = 0;  // isolate, one-way or group partitions
  std::uint32_t lost_responses_max = 0;
  std::uint32_t disk_lies_max = 0;
  std::uint32_t clock_skews_max = 0;  // nodes whose local clock steps ahead or behind
  Duration downtime_max = Duration::millis(200);
  Duration pause_max = Duration::millis(500);
  Duration partition_max = Duration::millis(500);
  Duration skew_max = Duration::millis(20);  // a clock skew's magnitude is drawn in [1 ms, skew_max]
};

const std::vector<FaultProfile>& fault_profiles();
const FaultProfile* find_fault_profile(std::string_view name);

// What a plan may aim at: the nodes that may fail and the named points a design reaches.
struct PlanTargets {
  std::vector<std::string> nodes;
  std::vector<std::string> points;
  Instant horizon;                   // timed faults are placed in [0, horizon)
  std::uint32_t point_hits_max = 1;  // point faults strike at a hit in [1, point_hits_max]
};

FaultPlan generate_plan(Rng& rng, const FaultProfile& profile, const PlanTargets& targets);

// One line for the story: "crash service at service.after_commit (hit 1), restart after 20 ms".
std::string describe(const Fault& fault);

}  // namespace faultline::sim
