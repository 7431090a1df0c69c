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

// How an inbox consumer keeps its dedup ids (C3 variants).
enum class InboxKeeping {
  forever,               // the dedup id and the effect in one transaction, kept forever
  expiring,              // dedup ids expire after `inbox_retention` (shorter than redelivery: duplicates)
  separate_transaction,  // the effect and the dedup id in two transactions (projection and checkpoint apart)
};

// The knobs of a world. A design states the settings it needs (its defaults); a
// scenario may change them, and then the design's claims are no longer promised.
struct Settings {
  CommitMode db_commit = CommitMode::synchronous;
  ConsumerMode consumer = ConsumerMode::commit_after_processing;
  std::uint32_t relays = 1;     // relay instances (designs with a relay)
  std::uint32_t consumers = 1;  // consumer instances in the group
  OffsetReset offset_reset = OffsetReset::earliest;
  InboxKeeping inbox = InboxKeeping::forever;
  sim::Duration inbox_retention = sim::Duration::millis(20);  // with InboxKeeping::expiring
  // A standby of the database with failover (none: a single database, as always), and
  // whether it keeps copies of the logical slots.
  Replication db_standby = Replication::none;
  SlotSync db_slot_sync = SlotSync::off;
  bool operator==(const Settings&) const = default;
};

struct Workload {
  std::uint32_t commands = 100;                              // "place order k", k = 1..commands
  std::uint32_t keys = 8;                                    // aggregate keys the orders are spread over
  sim::Duration spacing_max = sim::Duration::micros(2'000);  // gap between two commands: uniform in [0, max]
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

  // The drain bound a workload of this size needs: a backlog built up during the
  // faults drains at the speed of the relay and of an inbox consumer (several RPCs and
  // a sync per event), so it grows with the workload.
  static sim::Duration liveness_bound_for(const Workload& workload) {
    return sim::Duration::seconds(5) + sim::Duration::millis(10) * static_cast<std::int64_t>(workload.commands);
  }
  bool operator==(const Scenario&) const = default;
};

}  // namespace faultline::models
