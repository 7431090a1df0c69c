// A world: the simulated system a scenario runs in. Five nodes (the workload client,
// the service with its relay, the database, the broker and a consumer), the design
// under test wired into the service, and the two phases of a run: safety (workload
// and faults) then liveness (faults heal, crashed nodes restart, the system drains).
//
// The result is an Observation: the ground truth after the liveness phase, read from
// the nodes' disks and the client's log, for the checkers to judge.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/models/consumer.h"
#include "faultline/models/db.h"
#include "faultline/models/design.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// What the client saw for one command (like a Jepsen history entry).
struct CommandRecord {
  std::int64_t command = 0;
  std::string key;
  Outcome outcome = Outcome::unknown;  // a command never answered counts as unknown
  std::int64_t order_id = 0;
  sim::Instant invoked;
  sim::Instant completed;
};

struct Observation {
  std::vector<CommandRecord> commands;
  std::map<std::string, std::map<std::int64_t, Row>> tables;     // durable database state
  std::map<std::string, std::vector<StoredRecord>> broker_logs;  // durable broker records
  std::vector<AppliedEffect> effects;                            // durable consumer effects, in application order
  std::map<std::int64_t, std::uint64_t> commit_lsn;              // command -> log sequence number of its change
  std::vector<sim::FaultRecord> faults;                          // every fault that struck
  bool drained = false;     // every committed change was applied before the liveness bound
  sim::Instant safety_end;  // when faults stopped
  sim::Instant end;
  std::uint64_t events = 0;
  std::uint64_t trace_hash = 0;
  std::map<std::string, std::uint64_t> coverage;  // named point -> hits
  std::vector<sim::TraceRecord> trace;            // only when captured
  std::string trace_json_lines;                   // only when captured
};

// The named points the models themselves reach (database, broker, consumer), which
// fault plans may aim at along with the design's own.
std::vector<std::string> model_points();

// The scenario a seed stands for: its fault plan drawn from `profile` by the seed.
Scenario scenario_for_seed(const Design& design, std::uint64_t seed, const Workload& workload,
                           const sim::FaultProfile& profile);

// The nodes a fault plan may name in a world with these settings.
std::vector<std::string> fault_targets(const Settings& settings = {});
// Every node of such a world (the fault targets and the client).
std::vector<std::string> node_list(const Settings& settings = {});

Observation run_scenario(const Scenario& scenario, const Design& design,
                         sim::TraceCapture capture = sim::TraceCapture::hash_only);

}  // namespace faultline::models
