// The history of a run: what really happened, indexed for the checkers. Built from
// a world's Observation (the durable state after recovery, the broker's records, the
// consumer's effects, the client's outcomes); it never changes a model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/world.h"

namespace faultline::properties {

struct History {
  // Durably committed changes, by the command that made them.
  std::map<std::int64_t, models::Row> committed_orders;
  // What the client saw, by command.
  std::map<std::int64_t, models::CommandRecord> commands;
  // Per event id: how many times the broker durably holds it, and how many times
  // each consumer group applied it.
  std::map<std::string, std::uint64_t> appended;
  std::map<std::string, std::map<std::string, std::uint64_t>> applied;  // group -> event id -> count
  std::map<std::string, std::int64_t> command_of_event;                 // every event id seen -> its command
  std::vector<std::string> groups;                                      // the consumer groups expected to apply
  bool drained = false;

  static History from(const models::Observation& observation);
};

}  // namespace faultline::properties
