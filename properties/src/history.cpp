// Building the history from a world's observation.
#include "faultline/properties/history.h"

namespace faultline::properties {

History History::from(const models::Observation& observation) {
  History history;
  for (const char* table : {models::tables::orders, models::tables::events}) {
    const auto rows = observation.tables.find(table);
    if (rows == observation.tables.end()) continue;
    for (const auto& [id, row] : rows->second) {
      history.committed_changes.emplace(row.command, row);
      ++history.change_rows[row.command];
      if (std::string_view(table) == models::tables::events) history.stream_versions[row.key].push_back(row.version);
    }
  }
  history.commit_lsn = observation.commit_lsn;
  for (const auto& record : observation.commands) history.commands.emplace(record.command, record);
  for (const auto& [log, records] : observation.broker_logs)
    for (const auto& record : records) {
      history.appends.push_back(record);
      ++history.appended[record.event.event_id];
      history.command_of_event[record.event.event_id] = record.event.command;
      history.log_of_event[record.event.event_id] = log;
    }
  history.groups.push_back(models::ConsumerSettings{}.group);
  history.effects = observation.effects;
  for (const auto& effect : observation.effects) {
    ++history.applied[effect.group][effect.event.event_id];
    history.command_of_event[effect.event.event_id] = effect.event.command;
  }
  history.faults = observation.faults;
  history.fault_windows = observation.fault_windows;
  history.failovers = observation.failovers;
  history.deliveries = observation.deliveries;
  history.offset_commits = observation.offset_commits;
  history.unfinished_steps = observation.unfinished_steps;
  history.node_names = observation.node_names;
  history.commit_time = observation.commit_time;
  history.drained = observation.drained;
  return history;
}

std::string History::node_name(sim::NodeId node) const {
  if (node < node_names.size()) return node_names[node];
  return "node " + std::to_string(node);
}

}  // namespace faultline::properties
