// The checkers. Each states its goal in checkers.h; each walks the history in a
// fixed order (ordered maps), so its explanations are deterministic.
#include "faultline/properties/checkers.h"

#include <algorithm>
#include <optional>
#include <set>

#include "by_key.h"

namespace faultline::properties {

bool CheckReport::violated(std::string_view invariant) const {
  return first(invariant) != nullptr;
}

const Violation* CheckReport::first(std::string_view invariant) const {
  for (const auto& violation : violations)
    if (violation.invariant == invariant) return &violation;
  return nullptr;
}

namespace {

using AppliedEvents = std::map<std::string, std::uint64_t>;  // announced event -> applications, of one group

// What each expected group applied (null for a group that applied nothing), in the
// order of history.groups: looked up once per checker, not once per change.
std::vector<const AppliedEvents*> applied_per_group(const History& history) {
  std::vector<const AppliedEvents*> per_group;
  per_group.reserve(history.groups.size());
  for (const auto& group : history.groups) {
    const auto applied = history.applied.find(group);
    per_group.push_back(applied == history.applied.end() ? nullptr : &applied->second);
  }
  return per_group;
}

bool applied_in(const AppliedEvents* applied, const std::string& event_id) {
  return applied != nullptr && applied->count(event_id) > 0;
}

// The typed fields of a violation (see Violation), beside its sentence.
struct About {
  std::int64_t command = 0;
  std::string event;
  std::uint32_t index_in_change = 0;
  std::uint32_t events_in_change = 0;
  std::string message_id;
  std::string node;
  std::optional<sim::Instant> time;
};

About about_event(std::int64_t command, std::uint32_t index_in_change, std::uint32_t events_in_change) {
  return About{.command = command,
               .event = models::announced_event_id(command, index_in_change, events_in_change),
               .index_in_change = index_in_change,
               .events_in_change = events_in_change};
}

// A violation about one broker record or effect: its event, message id and publisher.
About about_record(const History& history, const models::Event& event, std::optional<sim::Instant> time) {
  About about = about_event(event.command, event.index_in_change, event.events_in_change);
  about.message_id = event.message_id;
  if (event.publisher != 0) about.node = history.node_name(event.publisher);
  about.time = time;
  return about;
}

About about_delivery(const models::Delivery& delivery) {
  About about = about_event(delivery.command, delivery.index_in_change, delivery.events_in_change);
  about.message_id = delivery.message_id;
  about.node = delivery.consumer;
  about.time = delivery.delivered_at;
  return about;
}

// A violation about the announced event `event_id` of the change of `command`.
About about_change_event(const History& history, std::int64_t command, const std::string& event_id,
                         std::optional<sim::Instant> time = std::nullopt) {
  const std::uint32_t events = history.events_announced_by(command);
  for (std::uint32_t index = 1; index <= events; ++index)
    if (models::announced_event_id(command, index, events) == event_id) {
      About about = about_event(command, index, events);
      about.time = time;
      return about;
    }
  return About{.command = command, .event = event_id, .time = time};
}

// A violation about the announced event `event_id` (a key of the history's maps).
About about_announced(const History& history, const std::string& event_id) {
  const auto command = history.command_of_event.find(event_id);
  if (command == history.command_of_event.end()) return About{.event = event_id};
  return about_change_event(history, command->second, event_id);
}

// The outbox row of an announced event that its relay durably marked sent (the last
// mark, if several), or null: what the history knows of a relay that may have counted
// an event as published without appending it.
const models::OutboxMark* marked_sent(const History& history, std::int64_t command, const std::string& event_id) {
  const models::OutboxMark* found = nullptr;
  for (const auto& mark : history.outbox_marks)
    if (mark.command == command &&
        models::announced_event_id(mark.command, mark.index_in_change, mark.events_in_change) == event_id)
      found = &mark;
  return found;
}

// What became of an append of an announced event that the broker acknowledged and
// its durable log no longer holds: "acknowledged at t, truncated at t' when broker-2
// became leader", or lost before it was synced or replicated; empty if none was
// acknowledged.
std::string acknowledged_then_lost(const History& history, std::int64_t command, const std::string& event_id) {
  const auto microseconds = [](sim::Instant time) { return std::to_string(time.ticks) + " us"; };
  const models::AcknowledgedAppend* acknowledged = nullptr;
  for (const auto& append : history.acknowledged_appends) {
    if (append.event.command != command || models::announced_event_id(append.event) != event_id) continue;
    acknowledged = &append;
    for (const auto& truncation : history.truncations)
      if (truncation.replica == append.replica && truncation.partition == append.partition &&
          truncation.from_offset <= append.offset && append.acknowledged_at <= truncation.at)
        return "appended to partition " + std::to_string(append.partition) + " at offset " +
               std::to_string(append.offset) + " and acknowledged by " + append.replica + " at " +
               microseconds(append.acknowledged_at) + ", truncated at " + microseconds(truncation.at) + " when " +
               truncation.leader + " became leader";
  }
  if (acknowledged == nullptr) return {};
  return "appended to partition " + std::to_string(acknowledged->partition) + " at offset " +
         std::to_string(acknowledged->offset) + " and acknowledged by " + acknowledged->replica + " at " +
         microseconds(acknowledged->acknowledged_at) + ", then lost before it was synced or replicated";
}

// The first durable confirmation of a change-data-capture slot at or past the commit
// of `command`'s change (its reader said it was done with the change), or null.
const models::SlotConfirmation* slot_confirmed_past(const History& history, std::int64_t command) {
  const auto lsn = history.commit_lsn.find(command);
  if (lsn == history.commit_lsn.end()) return nullptr;
  for (const auto& confirmation : history.slot_confirmations)
    if (confirmation.confirmed_lsn >= lsn->second) return &confirmation;
  return nullptr;
}

std::string describe(const models::SlotConfirmation& confirmation, std::uint64_t commit_lsn) {
  return "slot " + confirmation.slot + " confirmed lsn " + std::to_string(confirmation.confirmed_lsn) + " at " +
         std::to_string(confirmation.at.ticks) + " us, which covers its commit (lsn " + std::to_string(commit_lsn) +
         ")";
}

std::string describe(const models::OutboxMark& mark) {
  return "outbox row " + std::to_string(mark.row) + " (message " + mark.message_id + ") was marked sent at " +
         std::to_string(mark.marked_at.ticks) + " us";
}

void add_once(CheckReport& report, const std::string& invariant, const std::string& explanation, About about = {}) {
  if (report.violated(invariant)) return;
  report.violations.push_back(Violation{.invariant = invariant,
                                        .explanation = explanation,
                                        .command = about.command,
                                        .event = std::move(about.event),
                                        .index_in_change = about.index_in_change,
                                        .events_in_change = about.events_in_change,
                                        .message_id = std::move(about.message_id),
                                        .node = std::move(about.node),
                                        .time = about.time});
}

}  // namespace

void check_no_lost_event(const History& history, CheckReport& report) {
  const std::vector<const AppliedEvents*> applied = applied_per_group(history);
  // Missing after the run waited ten times the bound for what was pending at the bound.
  const std::string waited = history.drained ? std::string() : " within ten times the liveness bound";
  for (const auto& [command, row] : history.committed_changes)
    for (const std::string& event_id : history.announced_events_of(command))
      for (std::size_t index = 0; index < history.groups.size(); ++index) {
        const std::string& group = history.groups[index];
        if (applied_in(applied[index], event_id)) continue;
        ++report.lost_events;
        const bool in_broker = history.appended.count(event_id) > 0;
        const models::OutboxMark* mark = in_broker ? nullptr : marked_sent(history, command, event_id);
        const models::SlotConfirmation* slot = in_broker ? nullptr : slot_confirmed_past(history, command);
        const std::string truncated = in_broker ? std::string() : acknowledged_then_lost(history, command, event_id);
        add_once(report, "L",
                 "change " + std::to_string(row.id) + " (command " + std::to_string(command) +
                     ") is durably committed but event " + event_id + " was never applied by group " + group + waited +
                     (in_broker            ? " (it is in the broker)"
                      : !truncated.empty() ? " (it is no longer in the broker: " + truncated + ")"
                      : mark != nullptr    ? " (it never reached the broker: " + describe(*mark) + ")"
                      : slot != nullptr
                          ? " (it never reached the broker: " + describe(*slot, history.commit_lsn.at(command)) + ")"
                          : " (it never reached the broker)"),
                 about_change_event(history, command, event_id));
      }
}

void check_no_phantom_event(const History& history, CheckReport& report) {
  std::set<std::string> applied_phantoms;
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) {
      const auto command = history.command_of_event.find(event_id);
      if (command != history.command_of_event.end() && history.committed_changes.count(command->second) > 0) continue;
      ++report.phantom_events;
      applied_phantoms.insert(event_id);
      add_once(report, "P",
               "event " + event_id + " was applied by group " + group + " but its change (command " +
                   (command == history.command_of_event.end() ? std::string("?") : std::to_string(command->second)) +
                   ") was never durably committed",
               about_announced(history, event_id));
    }
  // The broker's log is judged too: a durable record (of a committed broker
  // transaction, if any) announcing a change that never committed is a phantom even
  // if no group applied it.
  for (const auto& [event_id, appends] : history.appended) {
    const auto command = history.command_of_event.find(event_id);
    if (command == history.command_of_event.end() || history.committed_changes.count(command->second) > 0) continue;
    if (applied_phantoms.count(event_id) > 0) continue;
    ++report.phantom_events;
    add_once(report, "P",
             "event " + event_id + " is durably in the broker but its change (command " +
                 std::to_string(command->second) + ") was never durably committed",
             about_announced(history, event_id));
  }
}

void check_ack_implies_durable(const History& history, CheckReport& report) {
  for (const auto& [command, record] : history.commands) {
    if (record.outcome != models::Outcome::ok) continue;
    if (history.committed_changes.count(command) > 0) continue;
    ++report.unacknowledged_durable;
    add_once(report, "A",
             "command " + std::to_string(command) + " was acknowledged to the client but its change is not durable",
             About{.command = command, .time = record.completed});
  }
}

void check_at_least_once(const History& history, CheckReport& report) {
  const std::vector<const AppliedEvents*> applied = applied_per_group(history);
  for (const auto& [command, row] : history.committed_changes)
    for (const std::string& event_id : history.announced_events_of(command)) {
      if (history.appended.count(event_id) == 0) {
        add_once(report, "ALO", "event " + event_id + " of a committed change was never appended to the broker",
                 about_change_event(history, command, event_id));
        continue;
      }
      for (std::size_t index = 0; index < history.groups.size(); ++index)
        if (!applied_in(applied[index], event_id))
          add_once(report, "ALO",
                   "event " + event_id + " is in the broker but was never delivered to group " + history.groups[index],
                   about_change_event(history, command, event_id));
    }
}

void check_exactly_once_effect(const History& history, CheckReport& report) {
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) {
      if (count <= 1) continue;
      report.duplicate_deliveries += count - 1;
      add_once(report, "EO", "event " + event_id + " was applied " + std::to_string(count) + " times by group " + group,
               about_announced(history, event_id));
    }
  // The service's own database is a state too: each command changes it at most once.
  // A second durable row for one command (a redelivered event applied again, a retry
  // whose earlier attempt had committed after all) is the same effect twice.
  for (const auto& [command, rows] : history.change_rows) {
    if (rows <= 1) continue;
    add_once(report, "EO",
             "command " + std::to_string(command) + " changed the database " + std::to_string(rows) +
                 " times (durable change rows in the orders table or the event store)",
             About{.command = command});
  }
}

namespace {

bool overlaps(const models::FaultWindow& fault, sim::Instant from, sim::Instant to) {
  return fault.start <= to && from <= fault.end;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether a fault could make a call from `caller` to `server` fail, time out or lose
// its reply (so the caller cannot know whether it took effect): either end crashed,
// paused or was cut off, a partition put them on different sides, the link between them
// was cut one way or the other, or the server's replies were being lost. A partition or
// one-way cut whose nodes the plan did not name counts as touching every node: the
// history cannot tell, and a wider cause only explains more.
bool disturbs_call(const models::FaultWindow& fault, const std::string& caller, const std::string& server) {
  switch (fault.kind) {
    case sim::FaultKind::crash:
    case sim::FaultKind::crash_with_disk_loss:
    case sim::FaultKind::pause:
    case sim::FaultKind::isolate:
      return fault.node == caller || fault.node == server;
    case sim::FaultKind::partition:
      if (fault.group.empty()) return true;
      return contains(fault.group, caller) != contains(fault.group, server);
    case sim::FaultKind::one_way:
      if (fault.peers.empty()) return fault.node == caller || fault.node == server;
      return (fault.node == caller && contains(fault.peers, server)) ||
             (fault.node == server && contains(fault.peers, caller));
    case sim::FaultKind::lose_responses:
      return fault.node == server;
    case sim::FaultKind::clock_skew:
      // A skewed clock makes a lease look expired (or still held) to one side: a
      // lease holder can lose its claim without knowing, and another publishes again.
      return fault.node == caller || fault.node == server;
    case sim::FaultKind::heal:
      return false;
  }
  return false;
}

// The nodes of this world a publisher's calls reach: every broker replica (the leader
// may be any of them) and the database, primary or standby (a failover moves the
// primary). Only nodes the world has: a partition that leaves out a node the world
// does not have separates nothing.
std::vector<std::string> existing(const History& history, std::initializer_list<const char*> names) {
  std::vector<std::string> nodes;
  for (const char* name : names)
    if (contains(history.node_names, name)) nodes.emplace_back(name);
  return nodes;
}
std::vector<std::string> broker_nodes(const History& history) {
  return existing(history, {models::node_names::broker, models::node_names::broker_2, models::node_names::broker_3});
}
std::vector<std::string> publisher_servers(const History& history) {
  return existing(history, {models::node_names::broker, models::node_names::broker_2, models::node_names::broker_3,
                            models::node_names::database, models::node_names::database_standby});
}

bool disturbs_calls_to(const models::FaultWindow& fault, const std::string& caller,
                       const std::vector<std::string>& servers) {
  return std::any_of(servers.begin(), servers.end(),
                     [&](const std::string& server) { return disturbs_call(fault, caller, server); });
}

// Whether a fault cuts the replication between copies of one server: a broker leader and
// its followers, or a database primary and its standby. An acknowledgement that waits
// for the copies (acks=all, synchronous replication) then comes late or never, and the
// publisher's call ends unknown although the first copy took it. Only the links among
// replicas count: a cut between the broker and the database delays no publisher call.
bool disturbs_replication(const models::FaultWindow& fault, const History& history) {
  if (fault.kind != sim::FaultKind::partition && fault.kind != sim::FaultKind::one_way) return false;
  const std::vector<std::vector<std::string>> replica_sets = {
      broker_nodes(history), existing(history, {models::node_names::database, models::node_names::database_standby})};
  for (const auto& replicas : replica_sets)
    for (const std::string& one : replicas)
      for (const std::string& other : replicas)
        if (one != other && disturbs_call(fault, one, other)) return true;
  return false;
}

std::string describe(const models::FaultWindow& fault) {
  std::string text = std::string(sim::to_string(fault.kind));
  if (!fault.node.empty()) text += " of " + fault.node;
  if (!fault.group.empty()) {
    text += " of {";
    for (std::size_t index = 0; index < fault.group.size(); ++index)
      text += (index > 0 ? ", " : "") + fault.group[index];
    text += "}";
  }
  return text + " at " + std::to_string(fault.start.ticks) + " us";
}

std::string time_text(sim::Instant time) {
  return std::to_string(time.ticks) + " us";
}

// Why an event could be appended a second time, or empty if nothing in the history
// explains it. A publisher appends again only when it did not learn that the first
// append (and the mark that records it) took effect: its produce call ended unknown
// (the publisher or the broker crashed, paused or was cut off, or the broker's reply
// was lost), or its mark in the database did (the same faults between it and the
// database), or it crashed before marking, or the acknowledgement waited on replication
// that a cut between replicas held up. Each of these is a fault touching the first
// append's publisher, the broker or the database while the first append was in flight
// or unmarked, that is between the first append and the second. A retry after a
// timeout is the publisher's own record of an unknown outcome (attempt > 1, same node
// and incarnation). A call that ended unknown without any fault (its reply outlasted the
// timeout: a lock wait in the database, an acknowledgement waiting on replicas) is in
// the history too, as the kernel's record of the timeout.
std::string cause_of_duplicate_append(const History& history, const std::vector<std::string>& servers,
                                      const models::StoredRecord& first, const models::StoredRecord& again) {
  const models::Event& before = first.event;
  const models::Event& after = again.event;
  if (after.attempt > 1 && after.publisher == before.publisher &&
      after.publisher_incarnation == before.publisher_incarnation)
    return "a retry after an unknown outcome";
  // The history does not record when the publisher claimed the event (read its outbox
  // row, its log entry or its stream position) before appending it, and a fault while
  // the claim was held counts too: a paused relay whose transaction the database aborted
  // publishes once more on resuming, then cannot mark, and publishes again. It cannot
  // have claimed it before its change committed, so the window opens at that commit
  // (or at the first append, for a change that never committed).
  sim::Instant claimed = first.appended_at;
  const auto committed = history.commit_time.find(before.command);
  if (committed != history.commit_time.end()) claimed = std::min(claimed, committed->second);
  const std::string publisher = history.node_name(before.publisher);
  // A failover moves the publisher's reading position back to what the standby held
  // (a slot copy at or before its confirmed position): it reads and publishes again.
  for (const sim::Instant failover : history.failovers)
    if (claimed <= failover && failover <= again.appended_at) return "a database failover at " + time_text(failover);
  // A call of the first publisher that ended unknown (its reply came later than its
  // timeout: a lock wait, a slow replica; or never) left it not knowing whether its
  // claim, its append or its mark took effect.
  for (const sim::CallTimeout& timeout : history.call_timeouts)
    if (timeout.node == before.publisher && timeout.incarnation == before.publisher_incarnation &&
        claimed <= timeout.time && timeout.time <= again.appended_at)
      return "a call by " + publisher + " that ended unknown at " + time_text(timeout.time);
  // The second publisher's clock counts too: skewed, it saw the first one's lease
  // expire while the first still held it by its own clock, took the rows over and
  // published them again. Only its clock: its crash or pause explains nothing (a
  // restarted publisher resubmitting rows another one still owns is a bug).
  const std::string second = history.node_name(after.publisher);
  for (const auto& fault : history.fault_windows) {
    if (!overlaps(fault, claimed, again.appended_at)) continue;
    if (disturbs_calls_to(fault, publisher, servers) || disturbs_replication(fault, history)) return describe(fault);
    if (fault.kind == sim::FaultKind::clock_skew && fault.node == second) return describe(fault);
  }
  return {};
}

// Why a consumer group received a record it had received before, or empty. It did if
// its progress was not durable when it resumed: a consumer of the group (the one that
// first received it or the one that received it again) crashed, paused or was cut off
// from the broker or its database (or a call to them ended unknown) after the first
// delivery and before an acknowledged offset commit covered the record; or the broker
// lost the durable commit itself (a crash with disk loss) before the redelivery. A
// consumer call can also end unknown with no fault at all (a slow message outlasting the
// timeout); the history holds the consumer's own record of such an unfinished step, and
// one on the record's partition in that span explains it too.
std::string cause_of_redelivery(const History& history, const std::vector<std::string>& brokers,
                                const models::Delivery& first, const models::Delivery& again) {
  sim::Instant covered = again.delivered_at;
  for (const auto& commit : history.offset_commits) {
    if (commit.group != first.group || commit.partition != first.partition) continue;
    if (commit.offset <= first.offset || commit.acknowledged_at < first.delivered_at) continue;
    covered = std::min(covered, commit.acknowledged_at);
    break;
  }
  for (const auto& step : history.unfinished_steps)
    if ((step.consumer == first.consumer || step.consumer == again.consumer) && step.partition == first.partition &&
        first.delivered_at <= step.at && step.at <= covered)
      return "an unfinished step of " + step.consumer + " at " + time_text(step.at);
  for (const auto& fault : history.fault_windows) {
    if (fault.kind == sim::FaultKind::crash_with_disk_loss && contains(brokers, fault.node) &&
        overlaps(fault, first.delivered_at, again.delivered_at))
      return describe(fault);
    if (!overlaps(fault, first.delivered_at, covered)) continue;
    for (const std::string* consumer : {&first.consumer, &again.consumer})
      if (disturbs_calls_to(fault, *consumer, brokers) ||
          disturbs_call(fault, *consumer, models::node_names::consumer_database))
        return describe(fault);
  }
  return {};
}

}  // namespace

void check_no_unexplained_duplicate(const History& history, CheckReport& report) {
  const std::vector<std::string> brokers = broker_nodes(history);
  const std::vector<std::string> publisher_nodes = publisher_servers(history);
  // Duplicate appends, judged against the first append of the same announced event,
  // whatever message ids they carry (an event's appends all land in one partition: its
  // key decides).
  const std::vector<std::string> announced_appends = detail::announced_ids(history.appends);
  std::vector<detail::OrderedName> appended_ids;
  appended_ids.reserve(history.appends.size());
  for (const auto& event_id : announced_appends) appended_ids.emplace_back(event_id);
  std::vector<std::uint32_t> first_append(history.appends.size());  // append -> the first append of its event
  detail::for_each_run(appended_ids, detail::positions_by(appended_ids), [&](auto first, auto last) {
    for (auto position = first; position != last; ++position) first_append[*position] = *first;
  });
  std::map<std::pair<std::string, std::int64_t>, std::string> duplicate_cause;  // (announced event, offset) -> cause
  for (std::size_t index = 0; index < history.appends.size(); ++index) {
    if (first_append[index] == index) continue;
    const models::StoredRecord& record = history.appends[index];
    ++report.duplicate_appends;
    const models::StoredRecord& first = history.appends[first_append[index]];
    std::string cause = cause_of_duplicate_append(history, publisher_nodes, first, record);
    duplicate_cause[{announced_appends[index], record.offset}] = cause;
    if (!cause.empty()) continue;
    ++report.unexplained_duplicates;
    add_once(report, "ND",
             "event " + announced_appends[index] + " was appended again (offset " + std::to_string(record.offset) +
                 ", at " + time_text(record.appended_at) + ", by " + history.node_name(record.event.publisher) +
                 ", attempt " + std::to_string(record.event.attempt) + ") after its first append at offset " +
                 std::to_string(first.offset) + " (at " + time_text(first.appended_at) + ", by " +
                 history.node_name(first.event.publisher) +
                 "), and no retry or fault touching the first publisher, the broker or the database lies between",
             about_record(history, record.event, record.appended_at));
  }

  // Duplicate deliveries, per group and event, in delivery order: each judged against
  // the group's first delivery of the event and its earliest delivery of the same record.
  constexpr std::uint32_t none = UINT32_MAX;
  std::vector<std::uint32_t> first_delivery(history.deliveries.size());
  std::vector<std::uint32_t> same_record_delivery(history.deliveries.size(), none);
  const std::vector<std::string> announced_deliveries = detail::announced_ids(history.deliveries);
  const std::vector<detail::RankedName> receipts = detail::group_and_event_of(history.deliveries, announced_deliveries);
  detail::for_each_run(receipts, detail::positions_by(receipts), [&](auto first, auto last) {
    for (auto position = first; position != last; ++position) {
      first_delivery[*position] = *first;
      const models::Delivery& delivery = history.deliveries[*position];
      for (auto earlier = first; earlier != position; ++earlier)
        if (history.deliveries[*earlier].partition == delivery.partition &&
            history.deliveries[*earlier].offset == delivery.offset) {
          same_record_delivery[*position] = *earlier;
          break;
        }
    }
  });
  for (std::size_t index = 0; index < history.deliveries.size(); ++index) {
    if (first_delivery[index] == index) continue;
    const models::Delivery& delivery = history.deliveries[index];
    ++report.redeliveries;
    const models::Delivery& first = history.deliveries[first_delivery[index]];
    const models::Delivery* same_record =
        same_record_delivery[index] == none ? nullptr : &history.deliveries[same_record_delivery[index]];
    std::string cause;
    std::string what;
    if (same_record != nullptr) {
      cause = cause_of_redelivery(history, brokers, *same_record, delivery);
      what = "the record at partition " + std::to_string(delivery.partition) + " offset " +
             std::to_string(delivery.offset) + " was delivered to group " + delivery.group + " again (to " +
             delivery.consumer + " at " + time_text(delivery.delivered_at) + ", first to " + same_record->consumer +
             " at " + time_text(same_record->delivered_at) +
             ") with no fault of its consumers or the broker before an offset commit covered it";
    } else {
      // Another broker record of the same event: a duplicate append, judged above, or a
      // record the broker lost and its publisher appended again.
      const auto appended = duplicate_cause.find({announced_deliveries[index], delivery.offset});
      if (appended != duplicate_cause.end()) cause = appended->second;
      if (cause.empty())
        for (const auto& fault : history.fault_windows)
          if ((fault.kind == sim::FaultKind::crash || fault.kind == sim::FaultKind::crash_with_disk_loss) &&
              contains(brokers, fault.node) && overlaps(fault, first.delivered_at, delivery.delivered_at)) {
            cause = describe(fault);
            break;
          }
      what = "its record at offset " + std::to_string(delivery.offset) + " was delivered to group " + delivery.group +
             " after the record at offset " + std::to_string(first.offset) + ", an unexplained duplicate append";
    }
    if (!cause.empty()) continue;
    ++report.unexplained_duplicates;
    add_once(report, "ND", "event " + announced_deliveries[index] + ": " + what, about_delivery(delivery));
  }
}

void check_per_key_order(const History& history, CheckReport& report) {
  // Per key, the commit positions of the events in the order each was first applied
  // (the events of one change share its position and follow their index).
  const std::vector<std::string> announced_effects = detail::announced_ids(history.effects);
  const std::vector<detail::RankedName> applications = detail::group_and_event_of(history.effects, announced_effects);
  std::vector<bool> first_application(history.effects.size(), false);  // the group's first of the event
  detail::for_each_run(applications, detail::positions_by(applications),
                       [&](auto first, auto) { first_application[*first] = true; });
  // (group, key) -> the commit position and index of the last event applied in order, and
  // its announced id.
  using Position = std::pair<std::uint64_t, std::uint32_t>;
  std::map<detail::RankedName, std::pair<Position, std::string_view>> last;
  for (std::size_t index = 0; index < history.effects.size(); ++index) {
    if (!first_application[index]) continue;
    const models::AppliedEffect& effect = history.effects[index];
    const auto lsn = history.commit_lsn.find(effect.event.command);
    if (lsn == history.commit_lsn.end()) continue;  // a phantom: P's business
    auto& [last_position, last_event] =
        last[detail::RankedName{applications[index].rank, detail::OrderedName(effect.event.key)}];
    const Position position{lsn->second, effect.event.index_in_change};
    if (position < last_position) {
      ++report.out_of_order;
      add_once(report, "O",
               "key " + effect.event.key + ": event " + announced_effects[index] + " was applied after " +
                   std::string(last_event) +
                   (position.first < last_position.first ? " although its change committed first"
                                                         : " although it comes first in their change"),
               about_record(history, effect.event, effect.applied_at));
    } else {
      last_position = position;
      last_event = announced_effects[index];
    }
  }
}

void check_stream_integrity(const History& history, CheckReport& report) {
  for (const auto& [stream, versions] : history.stream_versions) {
    std::vector<std::int64_t> sorted = versions;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t index = 0; index < sorted.size(); ++index) {
      const auto expected = static_cast<std::int64_t>(index + 1);
      if (sorted[index] == expected) continue;
      add_once(report, "V",
               "stream " + stream + ": version " + std::to_string(expected) + " expected, found " +
                   std::to_string(sorted[index]) + (index > 0 && sorted[index] == sorted[index - 1] ? " twice" : ""));
      break;
    }
  }
}

namespace {

std::string partition_of_log(const std::string& log) {
  const auto slash = log.rfind('/');
  return slash == std::string::npos ? log : log.substr(slash + 1);
}

// Where an event pending for a group is stuck, from the furthest step the history saw
// it reach: never appended; appended but never fetched by the group (with the group's
// last acknowledged offset on that partition); fetched by a consumer but never durably
// applied.
std::string where_stuck(const History& history, const std::string& event_id, const std::string& group,
                        std::int64_t command) {
  const auto committed = history.commit_time.find(command);
  const std::string since =
      committed == history.commit_time.end() ? std::string() : " (committed at " + time_text(committed->second) + ")";
  const models::StoredRecord* appended = nullptr;
  for (const auto& record : history.appends)
    if (record.event.command == command && models::announced_event_id(record.event) == event_id) {
      appended = &record;
      break;
    }
  if (appended == nullptr) {
    if (const std::string lost = acknowledged_then_lost(history, command, event_id); !lost.empty())
      return "not in the broker" + since + ": " + lost;
    if (const models::OutboxMark* mark = marked_sent(history, command, event_id))
      return "never published" + since + ": " + describe(*mark) + ", never appended to the broker";
    if (const models::SlotConfirmation* slot = slot_confirmed_past(history, command))
      return "never published" + since + ": " + describe(*slot, history.commit_lsn.at(command)) +
             ", never appended to the broker";
    return "never published" + since + ": its publisher (the relay or subscription) never appended it to the broker";
  }
  const models::Delivery* fetched = nullptr;
  for (const auto& delivery : history.deliveries)
    if (delivery.group == group && delivery.command == command && detail::announced_id(delivery) == event_id)
      fetched = &delivery;
  if (fetched != nullptr)
    return "in the broker, not applied by group " + group + ": fetched by " + fetched->consumer + " (incarnation " +
           std::to_string(fetched->incarnation) + ") at " + time_text(fetched->delivered_at) +
           " but never durably applied";
  const auto log = history.log_of_event.find(event_id);
  const std::string where = log == history.log_of_event.end() ? std::string("the broker") : log->second;
  std::string progress = "no acknowledged offset commit";
  if (log != history.log_of_event.end()) {
    const std::string partition = partition_of_log(log->second);
    for (const auto& commit : history.offset_commits)
      if (commit.group == group && std::to_string(commit.partition) == partition)
        progress =
            "last acknowledged offset " + std::to_string(commit.offset) + " at " + time_text(commit.acknowledged_at);
  }
  return "in the broker, not applied by group " + group + ": appended to " + where + " at offset " +
         std::to_string(appended->offset) + " (at " + time_text(appended->appended_at) +
         ") but never fetched by the group (" + progress + ")";
}

}  // namespace

void check_eventual_delivery(const History& history, CheckReport& report) {
  if (history.drained) return;
  const std::vector<const AppliedEvents*> applied = applied_per_group(history);
  for (const std::int64_t command : history.pending_at_bound)
    for (const std::string& event_id : history.announced_events_of(command))
      for (std::size_t index = 0; index < history.groups.size(); ++index) {
        const std::string& group = history.groups[index];
        ++report.pending_at_bound;
        if (!applied_in(applied[index], event_id)) {
          add_once(report, "E",
                   "after the liveness bound, event " + event_id +
                       " is still pending: " + where_stuck(history, event_id, group, command),
                   about_change_event(history, command, event_id));
          continue;
        }
        ++report.late_events;
        sim::Instant first_applied = history.bound_end;
        for (const auto& effect : history.effects)
          if (effect.group == group && effect.event.command == command &&
              models::announced_event_id(effect.event) == event_id) {
            first_applied = effect.applied_at;
            break;
          }
        add_once(report, "E",
                 "event " + event_id + " was late: group " + group + " applied it at " + time_text(first_applied) +
                     ", after the liveness bound at " + time_text(history.bound_end) + " (faults healed at " +
                     time_text(history.safety_end) + ")",
                 about_change_event(history, command, event_id, first_applied));
      }
}

void check_writes_resume(const History& history, CheckReport& report) {
  for (const auto& [command, record] : history.commands) {
    if (record.phase != models::CommandPhase::after_heal) continue;
    if (record.outcome == models::Outcome::ok && record.completed <= history.bound_end) continue;
    ++report.unacknowledged_after_heal;
    std::string what = "it failed at " + time_text(record.completed) + " (tried again until the bound)";
    if (record.answered && record.outcome == models::Outcome::unknown)
      what = "the service answered at " + time_text(record.completed) +
             " that its outcome is unknown (not retried: it may have been written)";
    if (record.outcome == models::Outcome::ok)
      what = "it was acknowledged only at " + time_text(record.completed) + ", after the liveness bound at " +
             time_text(history.bound_end);
    if (!record.answered)
      what = record.completed == record.invoked
                 ? "it had no answer when the run ended"
                 : "it had no answer by " + time_text(record.completed) + " (the client's timeout)";
    add_once(report, "W",
             "command " + std::to_string(command) + ", issued at " + time_text(record.invoked) +
                 " after every fault had healed (at " + time_text(history.safety_end) +
                 "), was not acknowledged: " + what,
             About{.command = command, .time = record.invoked});
  }
}

CheckReport check_all(const History& history) {
  CheckReport report;
  check_no_lost_event(history, report);
  check_no_phantom_event(history, report);
  check_ack_implies_durable(history, report);
  check_at_least_once(history, report);
  check_exactly_once_effect(history, report);
  check_no_unexplained_duplicate(history, report);
  check_per_key_order(history, report);
  check_stream_integrity(history, report);
  check_eventual_delivery(history, report);
  check_writes_resume(history, report);
  return report;
}

}  // namespace faultline::properties
