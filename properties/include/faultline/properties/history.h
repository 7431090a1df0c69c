// The history of a run: what really happened, indexed for the checkers. Built from
// a world's Observation (the durable state after recovery, the broker's records, the
// consumer's effects, the client's outcomes, the faults that struck); it never
// changes a model.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "faultline/models/world.h"

namespace faultline::properties {

struct History {
  // Durably committed changes, by the command that made them (an order row, or an
  // event in an event store).
  std::map<std::int64_t, models::Row> committed_changes;
  // How many times each command's change was durably made: the most durable change rows
  // (order rows and event-store events) written for one of its announced events. The
  // map above keeps one row, so a second row for an event would vanish there.
  std::map<std::int64_t, std::uint64_t> change_rows;
  // The log sequence number each change committed at: the commit order.
  std::map<std::int64_t, std::uint64_t> commit_lsn;
  // Event-store streams: stream key -> the versions of its durable events, in id order.
  std::map<std::string, std::vector<std::int64_t>> stream_versions;
  // What the client saw, by command.
  std::map<std::int64_t, models::CommandRecord> commands;
  // Events are known by what they announce (models::announced_event_id: "e12", or
  // "e12.2" for the second of several events of one change), never by their message ids:
  // one announced event may travel under several.
  // Every durable broker record, per partition log, in offset order (only committed
  // records: no transaction markers, no record of an aborted broker transaction).
  std::vector<models::StoredRecord> appends;
  std::map<std::string, std::uint64_t> appended;  // announced event -> durable appends
  // Consumer effects, in application order, and counts per group and announced event.
  std::vector<models::AppliedEffect> effects;
  std::map<std::string, std::map<std::string, std::uint64_t>> applied;  // group -> announced event -> count
  std::map<std::string, std::int64_t> command_of_event;                 // every announced event seen -> its command
  std::vector<std::string> groups;                                      // the consumer groups expected to apply
  std::map<std::string, std::string> log_of_event;                      // announced event -> its partition log
  // How many events each command's change announces, where more than one: the line
  // items the client asked for, or more if any record or effect says so. A change not
  // listed announces one.
  std::map<std::int64_t, std::uint32_t> events_of_change;
  std::vector<sim::FaultRecord> faults;
  // The faults with their spans and the nodes they touched, for attributing duplicates.
  std::vector<sim::Instant> failovers;  // database failovers (a standby promoted)
  std::vector<models::FaultWindow> fault_windows;
  // Every record a consumer handed to its apply step, in delivery order, and every
  // offset commit a consumer saw acknowledged, in order.
  std::vector<models::Delivery> deliveries;
  std::vector<models::AcknowledgedOffsetCommit> offset_commits;
  std::vector<models::UnfinishedStep> unfinished_steps;          // consumer steps whose call failed or ended unknown
  std::vector<sim::CallTimeout> call_timeouts;                   // calls of any node that ended unknown
  std::vector<std::string> node_names;                           // node id -> name
  std::map<std::int64_t, sim::Instant> commit_time;              // command -> when its change committed
  std::vector<models::AcknowledgedAppend> acknowledged_appends;  // replicated broker: appends acknowledged
  std::vector<models::Truncation> truncations;                   // replicated broker: suffixes dropped
  std::vector<models::OutboxMark> outbox_marks;                  // outbox rows the relay durably marked sent
  std::vector<models::SlotConfirmation> slot_confirmations;      // CDC: slot positions durably confirmed, in order
  bool drained = false;
  // Commands whose committed change some group had not applied at the liveness bound;
  // the run then waited up to ten times longer, so the effects above tell which of them
  // came late and which never came.
  std::set<std::int64_t> pending_at_bound;
  sim::Instant safety_end;  // when every fault healed and every crashed node restarted
  sim::Instant bound_end;   // the liveness bound

  // How many events the change of `command` announces (1 unless events_of_change says).
  std::uint32_t events_announced_by(std::int64_t command) const;
  // The announced ids of every event the change of `command` announces, in index order.
  std::vector<std::string> announced_events_of(std::int64_t command) const;

  // The name of a node id, or "node <id>" if the history does not know it.
  std::string node_name(sim::NodeId node) const;

  static History from(const models::Observation& observation);
  // The same, moving what it keeps out of an observation the caller no longer needs.
  static History from(models::Observation&& observation);
};

}  // namespace faultline::properties
