// The checkers: one per invariant of design.md section 6, each a pure function of
// the history. They observe; they never drive the models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultline/properties/history.h"

namespace faultline::properties {

struct Violation {
  std::string invariant;    // "L", "P", "A", ...
  std::string explanation;  // one sentence a reader can act on
};

struct CheckReport {
  std::vector<Violation> violations;
  std::uint64_t lost_events = 0;
  std::uint64_t phantom_events = 0;
  std::uint64_t unacknowledged_durable = 0;
  std::uint64_t duplicate_deliveries = 0;  // applications beyond the first, over every group

  bool violated(std::string_view invariant) const;
  const Violation* first(std::string_view invariant) const;
};

// L: every change durably committed in the database is applied by every consumer group.
void check_no_lost_event(const History& history, CheckReport& report);
// P: every event applied corresponds to a change durably committed in the database.
void check_no_phantom_event(const History& history, CheckReport& report);
// A: every command the client saw succeed is durably committed.
void check_ack_implies_durable(const History& history, CheckReport& report);
// Counts duplicate applications (measured, not an invariant of its own here).
void count_duplicates(const History& history, CheckReport& report);

CheckReport check_all(const History& history);

}  // namespace faultline::properties
