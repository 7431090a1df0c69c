// The checkers. Each states its goal in checkers.h; each walks the history in a
// fixed order (ordered maps), so its explanations are deterministic.
#include "faultline/properties/checkers.h"

#include <algorithm>
#include <set>

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

bool applied_by(const History& history, const std::string& group, const std::string& event_id) {
  const auto applied = history.applied.find(group);
  return applied != history.applied.end() && applied->second.count(event_id) > 0;
}

void add_once(CheckReport& report, const std::string& invariant, const std::string& explanation) {
  if (!report.violated(invariant)) report.violations.push_back(Violation{invariant, explanation});
}

}  // namespace

void check_no_lost_event(const History& history, CheckReport& report) {
  for (const auto& [command, row] : history.committed_changes) {
    const std::string event_id = models::event_id_for(command);
    for (const auto& group : history.groups) {
      if (applied_by(history, group, event_id)) continue;
      ++report.lost_events;
      const bool in_broker = history.appended.count(event_id) > 0;
      add_once(report, "L",
               "change " + std::to_string(row.id) + " (command " + std::to_string(command) +
                   ") is durably committed but event " + event_id + " was never applied by group " + group +
                   (in_broker ? " (it is in the broker)" : " (it never reached the broker)"));
    }
  }
}

void check_no_phantom_event(const History& history, CheckReport& report) {
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) {
      const auto command = history.command_of_event.find(event_id);
      if (command != history.command_of_event.end() && history.committed_changes.count(command->second) > 0) continue;
      ++report.phantom_events;
      add_once(report, "P",
               "event " + event_id + " was applied by group " + group + " but its change (command " +
                   (command == history.command_of_event.end() ? std::string("?") : std::to_string(command->second)) +
                   ") was never durably committed");
    }
}

void check_ack_implies_durable(const History& history, CheckReport& report) {
  for (const auto& [command, record] : history.commands) {
    if (record.outcome != models::Outcome::ok) continue;
    if (history.committed_changes.count(command) > 0) continue;
    ++report.unacknowledged_durable;
    add_once(report, "A",
             "command " + std::to_string(command) + " was acknowledged to the client but its change is not durable");
  }
}

void check_at_least_once(const History& history, CheckReport& report) {
  for (const auto& [command, row] : history.committed_changes) {
    const std::string event_id = models::event_id_for(command);
    if (history.appended.count(event_id) == 0) {
      add_once(report, "ALO", "event " + event_id + " of a committed change was never appended to the broker");
      continue;
    }
    for (const auto& group : history.groups)
      if (!applied_by(history, group, event_id))
        add_once(report, "ALO", "event " + event_id + " is in the broker but was never delivered to group " + group);
  }
}

void check_exactly_once_effect(const History& history, CheckReport& report) {
  for (const auto& [group, events] : history.applied)
    for (const auto& [event_id, count] : events) {
      if (count <= 1) continue;
      report.duplicate_deliveries += count - 1;
      add_once(report, "EO",
               "event " + event_id + " was applied " + std::to_string(count) + " times by group " + group);
    }
}

void check_no_unexplained_duplicate(const History& history, CheckReport& report) {
  // The times of every append of each event, in broker order per partition (an
  // event's appends all land in one partition: its key decides).
  std::map<std::string, const models::StoredRecord*> previous;
  for (const auto& record : history.appends) {
    const auto earlier = previous.find(record.event.event_id);
    const models::StoredRecord* before_record = earlier == previous.end() ? nullptr : earlier->second;
    previous[record.event.event_id] = &record;
    if (before_record == nullptr) continue;
    ++report.duplicate_appends;
    const models::Event& before = before_record->event;
    const bool retried = record.event.attempt > 1;
    const bool restarted = record.event.publisher_incarnation != before.publisher_incarnation;
    const bool faulted = !history.faults.empty();
    if (retried || restarted || faulted) continue;
    ++report.unexplained_duplicates;
    add_once(report, "ND",
             "event " + record.event.event_id + " was appended again (offset " + std::to_string(record.offset) +
                 ") by the same publisher incarnation, on a first attempt, in a run without faults");
  }
}

void check_per_key_order(const History& history, CheckReport& report) {
  // Per key, the commit positions of the events in the order each was first applied.
  std::map<std::string, std::set<std::string>> seen;  // group -> event ids already applied
  std::map<std::pair<std::string, std::string>, std::pair<std::uint64_t, std::string>> last;  // (group, key) -> lsn, id
  for (const auto& effect : history.effects) {
    if (!seen[effect.group].insert(effect.event.event_id).second) continue;
    const auto lsn = history.commit_lsn.find(effect.event.command);
    if (lsn == history.commit_lsn.end()) continue;  // a phantom: P's business
    auto& [last_lsn, last_event] = last[{effect.group, effect.event.key}];
    if (lsn->second < last_lsn) {
      ++report.out_of_order;
      add_once(report, "O",
               "key " + effect.event.key + ": event " + effect.event.event_id + " was applied after " + last_event +
                   " although its change committed first");
    } else {
      last_lsn = lsn->second;
      last_event = effect.event.event_id;
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

void check_eventual_delivery(const History& history, CheckReport& report) {
  if (history.drained) return;
  for (const auto& [command, row] : history.committed_changes) {
    const std::string event_id = models::event_id_for(command);
    for (const auto& group : history.groups) {
      if (applied_by(history, group, event_id)) continue;
      ++report.pending_at_bound;
      add_once(report, "E",
               "after the liveness bound, event " + event_id + " is still pending: " +
                   (history.appended.count(event_id) > 0 ? "in the broker, not applied by group " + group
                                                         : std::string("never published")));
    }
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
  return report;
}

}  // namespace faultline::properties
