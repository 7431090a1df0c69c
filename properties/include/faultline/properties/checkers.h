// The checkers: one per invariant of design.md section 6, each a pure function of
// the history. They observe; they never drive the models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultline/properties/history.h"

namespace faultline::properties {

struct Violation {
  std::string invariant;    // "L", "P", "A", ...
  std::string explanation;  // one sentence a reader can act on
  // What the sentence is about, as typed fields, so a story or a timeline can mark it
  // without reading the sentence. A field the checker does not know stays empty.
  std::int64_t command = 0;            // the command whose change is at issue (commands count from 1)
  std::string event;                   // the announced event (models::announced_event_id)
  std::uint32_t index_in_change = 0;   // which of its change's events, from 1
  std::uint32_t events_in_change = 0;  // how many events that change announces
  std::string message_id;              // the message at issue, when one record is
  std::string node;                    // the node at issue: a publisher, a consumer
  std::optional<sim::Instant> time;    // when it happened: an append, a delivery, an answer
};

struct CheckReport {
  std::vector<Violation> violations;
  std::uint64_t lost_events = 0;
  std::uint64_t phantom_events = 0;
  std::uint64_t unacknowledged_durable = 0;
  std::uint64_t duplicate_deliveries = 0;    // applications beyond the first, over every group
  std::uint64_t duplicate_appends = 0;       // broker appends beyond the first
  std::uint64_t redeliveries = 0;            // deliveries of an event to a group beyond the first
  std::uint64_t unexplained_duplicates = 0;  // duplicate appends and redeliveries with no allowed cause
  std::uint64_t out_of_order = 0;
  std::uint64_t pending_at_bound = 0;           // (event, group) pairs not applied at the liveness bound
  std::uint64_t late_events = 0;                // of those, applied later (within ten times the bound)
  std::uint64_t unacknowledged_after_heal = 0;  // commands issued after the heal and not acknowledged

  bool violated(std::string_view invariant) const;
  const Violation* first(std::string_view invariant) const;
};

// L: every change durably committed in the database is applied by every consumer group,
// within ten times the liveness bound (an event missing at the bound that arrives
// later is late, E's business; one still missing then is lost).
void check_no_lost_event(const History& history, CheckReport& report);
// P: every event applied corresponds to a change durably committed in the database.
void check_no_phantom_event(const History& history, CheckReport& report);
// A: every command the client saw succeed is durably committed.
void check_ack_implies_durable(const History& history, CheckReport& report);
// ALO: every committed change is appended to the broker and delivered at least once.
void check_at_least_once(const History& history, CheckReport& report);
// EO: each event's effect is applied exactly once per group (duplicates counted), and
// each command changes the service's own database at most once (one durable row).
void check_exactly_once_effect(const History& history, CheckReport& report);
// ND: every duplicate has an allowed cause in the history. A second append of an event
// needs a retry by the same publisher incarnation after an unknown outcome, or a fault
// touching the first append's publisher, the broker or the database between the two
// appends. A second delivery of an event to a group (even one an inbox then drops)
// needs a duplicate append that was itself explained, or a fault touching a consumer of
// the group, the broker or the consumer's database between the first delivery and the
// offset commit covering it.
void check_no_unexplained_duplicate(const History& history, CheckReport& report);
// O: per key, events are first applied in the order their changes committed.
void check_per_key_order(const History& history, CheckReport& report);
// V: per event-store stream, versions are unique and contiguous from 1.
void check_stream_integrity(const History& history, CheckReport& report);
// E: after the faults healed, everything committed was applied within the bound. An
// event that was not is either late (applied later: when) or still missing (where it
// is stuck: never appended, never fetched, fetched but never applied).
void check_eventual_delivery(const History& history, CheckReport& report);
// W: once every fault has healed and every node restarted, the fresh commands the
// client issues are each acknowledged within the liveness bound. Without it a design
// that refuses every write, or deadlocks its write path, would keep every other claim.
void check_writes_resume(const History& history, CheckReport& report);

CheckReport check_all(const History& history);

}  // namespace faultline::properties
