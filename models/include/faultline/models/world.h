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
#include "faultline/models/broker_replication.h"
#include "faultline/models/consumer.h"
#include "faultline/models/db.h"
#include "faultline/models/design.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// When the client issued a command: during the safety phase (the workload, under
// faults), or after every fault healed (invariant W).
enum class CommandPhase { workload, after_heal };

// What the client saw for one command (like a Jepsen history entry).
struct CommandRecord {
  std::int64_t command = 0;
  std::string key;
  std::uint32_t items = 1;             // line items: the events its change announces
  Outcome outcome = Outcome::unknown;  // a command never answered counts as unknown
  std::int64_t order_id = 0;
  sim::Instant invoked;
  sim::Instant completed;  // when the answer came; equal to `invoked` while none has
  bool answered = false;
  CommandPhase phase = CommandPhase::workload;
};

// A fault as it struck, with how long its effect could last and every node it touched
// (read from the plan): what a checker needs to tell whether it could explain what it
// sees at some time between two others.
struct FaultWindow {
  sim::FaultKind kind = sim::FaultKind::crash;
  sim::Instant start;
  sim::Instant end;                // the latest its effect can have lasted (at most the end of the safety phase)
  std::string node;                // the node it struck (empty for a partition)
  std::vector<std::string> peers;  // one-way: the nodes whose messages from `node` were dropped
  std::vector<std::string> group;  // partition: the side cut off from every other node
};

// An outbox row its relay durably marked sent: read from the database's log after the
// run, so a story can say "row 7 marked sent at t, never appended".
struct OutboxMark {
  std::int64_t row = 0;  // the outbox row's id
  std::int64_t command = 0;
  std::uint32_t index_in_change = 1;
  std::uint32_t events_in_change = 1;
  std::string message_id;
  sim::Instant marked_at;  // when the transaction that marked it committed
};

struct Observation {
  std::vector<CommandRecord> commands;
  // The current primary's durable slot confirmations (change data capture), in order.
  std::vector<SlotConfirmation> slot_confirmations;
  std::map<std::string, std::map<std::int64_t, Row>> tables;     // durable database state
  std::map<std::string, std::vector<StoredRecord>> broker_logs;  // durable broker records
  std::vector<AppliedEffect> effects;                            // durable consumer effects, in application order
  std::map<std::int64_t, std::uint64_t> commit_lsn;              // command -> log sequence number of its change
  std::vector<sim::FaultRecord> faults;                          // every fault that struck
  std::vector<FaultWindow> fault_windows;                        // the same faults, with their spans and nodes
  std::vector<sim::Instant> failovers;                           // when the database's standby was promoted
  std::map<std::int64_t, sim::Instant> commit_time;              // command -> when its change committed
  std::vector<AcknowledgedAppend> acknowledged_appends;          // replicated broker: appends acknowledged to producers
  std::vector<Truncation> truncations;                           // replicated broker: suffixes followers dropped
  std::vector<OutboxMark> outbox_marks;                          // outbox rows marked sent, in commit order
  std::vector<Delivery> deliveries;                              // every record a consumer handed to its apply step
  std::vector<AcknowledgedOffsetCommit> offset_commits;          // every offset commit a consumer saw acknowledged
  std::vector<UnfinishedStep> unfinished_steps;  // every consumer step whose call failed or ended unknown
  std::vector<sim::CallTimeout> call_timeouts;   // every call of any node that ended unknown
  std::vector<std::string> node_names;           // node id -> name (id 0 is the world itself)
  bool drained = false;                          // every committed change was applied before the liveness bound
  // Commands whose change was durably committed but not yet applied by every consumer
  // at the liveness bound (empty when drained). The run then went on, for up to
  // Scenario::lost_bound_factor times the bound, so the rest of the observation tells
  // which of them arrived late and which never did.
  std::vector<std::int64_t> pending_at_bound;
  sim::Instant safety_end;  // when faults stopped and the liveness phase began
  sim::Instant bound_end;   // the liveness bound: when the run ended, or would have, had it not drained
  sim::Instant end;         // when the run ended (past bound_end when it waited for late events)
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

// What a run does when events are still pending at the liveness bound: wait up to
// Scenario::lost_bound_factor times the bound, to tell late events from lost ones (what
// a verdict needs), or stop there (enough to retell a run already judged: its story and
// named points all come before the bound, but its trace hash is then not the judged run's).
enum class AfterBound { wait_for_late_events, stop };

Observation run_scenario(const Scenario& scenario, const Design& design,
                         sim::TraceCapture capture = sim::TraceCapture::hash_only,
                         AfterBound after_bound = AfterBound::wait_for_late_events);

}  // namespace faultline::models
