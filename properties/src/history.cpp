// Building the history from a world's observation.
#include "faultline/properties/history.h"

namespace faultline::properties {

History History::from(const models::Observation& observation) {
  History history;
  const auto orders = observation.tables.find(models::tables::orders);
  if (orders != observation.tables.end())
    for (const auto& [id, row] : orders->second) history.committed_orders.emplace(row.command, row);
  for (const auto& record : observation.commands) history.commands.emplace(record.command, record);
  for (const auto& [log, records] : observation.broker_logs)
    for (const auto& record : records) {
      ++history.appended[record.event.event_id];
      history.command_of_event[record.event.event_id] = record.event.command;
    }
  history.groups.push_back(models::ConsumerSettings{}.group);
  for (const auto& effect : observation.effects) {
    ++history.applied[effect.group][effect.event.event_id];
    history.command_of_event[effect.event.event_id] = effect.event.command;
  }
  history.drained = observation.drained;
  return history;
}

}  // namespace faultline::properties
