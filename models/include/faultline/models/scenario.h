// A scenario: everything one run depends on, as plain data. A run is a pure function
// of (scenario, code version); `replay` takes a scenario as JSON or rebuilds it from a
// seed. The fault plan is explicit so that it can be shrunk and stored.
#pragma once

#include <cstdint>
#include <string>

#include "faultline/models/db.h"
#include "faultline/sim/faults.h"
#include "faultline/sim/time.h"

namespace faultline::models {

// The node names every design's world uses. Fault plans refer to nodes by name.
namespace node_names {
inline constexpr const char* client = "client";
inline constexpr const char* service = "service";
inline constexpr const char* database = "db";
inline constexpr const char* broker = "broker";
inline constexpr const char* consumer = "consumer";
inline constexpr const char* consumer_database = "consumer-db";
inline constexpr const char* relay = "relay";  // relays on their own nodes: "relay-1" ... "relay-N"
// With a replicated broker: the second and third replicas ("broker" is the first) and
// the controller that elects partition leaders (not a fault target).
inline constexpr const char* broker_2 = "broker-2";
inline constexpr const char* broker_3 = "broker-3";
inline constexpr const char* controller = "controller";
inline constexpr const char* database_standby = "db-standby";   // only with a standby (Settings::db_standby)
inline constexpr const char* failover_manager = "db-failover";  // likewise; not a fault target
}  // namespace node_names

// The logical replication slot the change-data-capture relay reads through; a
// cluster creates it with the database.
inline constexpr const char* cdc_slot = "outbox";

// How the consumer makes its effect and its progress durable (design.md: C1, C2, C3).
enum class ConsumerMode {
  commit_before_processing,  // C1: commit the offset, then apply: a crash between loses the event
  commit_after_processing,   // C2: apply, then commit the offset: a crash between applies it twice
  inbox,                     // C3: the dedup id and the effect in one transaction: exactly-once effect
};
std::string_view to_string(ConsumerMode mode);

// Where a consumer group with no committed offset starts reading.
enum class OffsetReset { earliest, latest };

// Which records of broker transactions a consumer reads (Kafka's isolation.level).
enum class ConsumerIsolation {
  read_committed,    // below the last stable offset, without records of aborted transactions
  read_uncommitted,  // everything below the high watermark, records of aborted transactions included
};

// How an inbox consumer keeps its dedup ids (C3 variants).
enum class InboxKeeping {
  forever,               // the dedup id and the effect in one transaction, kept forever
  expiring,              // dedup ids expire after `inbox_retention` (shorter than redelivery: duplicates)
  separate_transaction,  // the effect and the dedup id in two transactions (projection and checkpoint apart)
};

// Where a design's relay instances run: as coroutines of the service node (they crash
// with it), or each on its own node "relay-1" ... "relay-N" (a fault target of its own:
// one relay can crash, pause or have its clock skewed while the others go on).
enum class RelayPlacement { service, own_nodes };
// When a producer's publish counts as done (Kafka's `acks`).
enum class ProducerAcks {
  none,    // acks=0: the producer does not wait for any reply
  leader,  // acks=1: the leader replies after its local append (and its fsync when per write)
  all,     // acks=all: the leader replies once the high watermark covers the record
};
// Whether a replica outside the in-sync set may become leader (and lose what it lacks).
enum class UncleanElection { off, on };
// When a broker replica makes its appends durable.
enum class BrokerFsync {
  per_write,  // every append is synced before it counts (acked, or reported to the leader)
  periodic,   // appends count at once; a background flush syncs every `fsync_interval`
};

// The broker's replication (Kafka's settings). One replica is the plain broker of
// broker.h, at exactly its cost: no controller, no extra node, no extra RPC.
struct BrokerReplication {
  std::uint32_t replicas = 1;  // 1 or 3
  ProducerAcks acks = ProducerAcks::all;
  std::uint32_t min_in_sync = 1;  // produces with acks=all are rejected below this in-sync set size
  UncleanElection unclean_election = UncleanElection::off;
  BrokerFsync fsync = BrokerFsync::per_write;
  sim::Duration fsync_interval = sim::Duration::millis(10);  // with BrokerFsync::periodic
  // A follower not caught up for longer leaves the in-sync set. Above the network's
  // latency spikes (30 ms at most), so only faults shrink the set.
  sim::Duration replica_lag_max = sim::Duration::millis(50);
  bool operator==(const BrokerReplication&) const = default;
};

// The knobs of a world. A design states the settings it needs (its defaults); a
// scenario may change them, and then the design's claims are no longer promised.
struct Settings {
  CommitMode db_commit = CommitMode::synchronous;
  ConsumerMode consumer = ConsumerMode::commit_after_processing;
  std::uint32_t relays = 1;  // relay instances (designs with a relay)
  RelayPlacement relay_placement = RelayPlacement::service;
  std::uint32_t consumers = 1;  // consumer instances in the group
  OffsetReset offset_reset = OffsetReset::earliest;
  InboxKeeping inbox = InboxKeeping::forever;
  sim::Duration inbox_retention = sim::Duration::millis(20);  // with InboxKeeping::expiring
  ConsumerIsolation consumer_isolation = ConsumerIsolation::read_committed;
  BrokerReplication broker;
  // A standby of the database with failover (none: a single database, as always), and
  // whether it keeps copies of the logical slots.
  Replication db_standby = Replication::none;
  SlotSync db_slot_sync = SlotSync::off;
  bool operator==(const Settings&) const = default;
};

struct Workload {
  std::uint32_t commands = 100;  // "place order k", k = 1..commands
  std::uint32_t keys = 8;        // aggregate keys the orders are spread over
  // Line items per order: each command's change announces one event per item, all
  // written by one transaction (outbox rows, appends to a stream) or one atomic
  // publish; the count is drawn per command, uniform in [1, items_max], so a run
  // mixes changes of one event and of several.
  std::uint32_t items_max = 3;
  sim::Duration spacing_max = sim::Duration::micros(2'000);  // gap between two commands: uniform in [0, max]
  // Fresh commands the client issues once every fault has healed and every node has
  // restarted (numbered after the workload's), one at a time: invariant W asks that each
  // is acknowledged within the liveness bound. A design that refuses or deadlocks after
  // a fault cannot pass by acknowledging nothing.
  std::uint32_t after_heal_commands = 3;
  bool operator==(const Workload&) const = default;
};

struct Scenario {
  std::string design = "outbox-polling";
  std::uint64_t seed = 1;
  std::string profile = "default";  // the fault profile the plan was drawn from ("" if hand-written)
  Workload workload;
  Settings settings;
  sim::FaultPlan plan;
  // Phases: faults strike during the safety phase; then everything heals and the
  // system must drain within the liveness bound.
  sim::Duration liveness_bound = sim::Duration::seconds(5);

  // An event still missing at the liveness bound is waited for this many times longer:
  // one that arrives then is late (E), one that never does is lost (L).
  static constexpr std::int64_t lost_bound_factor = 10;

  // The drain bound a workload of this size needs: a backlog built up during the
  // faults drains at the speed of the relay and of an inbox consumer (several RPCs and
  // a sync per event), so it grows with the workload.
  // It counts events: a command announces (1 + items_max) / 2 of them on average.
  static sim::Duration liveness_bound_for(const Workload& workload) {
    const auto events_times_two = static_cast<std::int64_t>(workload.commands) * (1 + workload.items_max);
    return sim::Duration::seconds(5) + sim::Duration::millis(5) * events_times_two;
  }
  bool operator==(const Scenario&) const = default;
};

}  // namespace faultline::models
