// The history of a run: what really happened, indexed for the checkers. Built from
// a world's Observation (the durable state after recovery, the broker's records, the
// consumer's effects, the client's outcomes, the faults that struck); it never
// changes a model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/world.h"

namespace faultline::properties {

struct History {
  // Durably committed changes, by the command that made them (an order row, or an
  // event in an event store).
  std::map<std::int64_t, models::Row> committed_changes;
  // The log sequence number each change committed at: the commit order.
  std::map<std::int64_t, std::uint64_t> commit_lsn;
  // Event-store streams: stream key -> the versions of its durable events, in id order.
  std::map<std::string, std::vector<std::int64_t>> stream_versions;
  // What the client saw, by command.
  std::map<std::int64_t, models::CommandRecord> commands;
  // Every durable broker record, per partition log, in offset order.
  std::vector<models::StoredRecord> appends;
  std::map<std::string, std::uint64_t> appended;  // event id -> durable appends
  // Consumer effects, in application order, and counts per group and event id.
  std::vector<models::AppliedEffect> effects;
  std::map<std::string, std::map<std::string, std::uint64_t>> applied;  // group -> event id -> count
  std::map<std::string, std::int64_t> command_of_event;                 // every event id seen -> its command
  std::vector<std::string> groups;                                      // the consumer groups expected to apply
  std::vector<sim::FaultRecord> faults;
  bool drained = false;

  static History from(const models::Observation& observation);
};

}  // namespace faultline::properties
