// Building the history from a world's observation.
//
// The judge builds one history per run, so this is on every seed's path: the indexes
// keyed by announced event are built from positions sorted once (detail::positions_by) and
// inserted in key order, and a run's own observation (judge of an rvalue) is moved in
// rather than copied.
#include "faultline/properties/history.h"

#include <algorithm>
#include <string_view>
#include <type_traits>

#include "by_key.h"

namespace faultline::properties {
namespace {

// Where an announced event was seen: a broker record (with its log) or a consumer effect.
struct Sighting {
  std::int64_t command = 0;
  std::uint32_t events_in_change = 1;
  const std::string* log = nullptr;  // the partition log of a broker record; null for an effect
};

// The observation's fields, moved out of it when the caller gave it up and copied
// otherwise.
template <typename Source, typename Field>
auto take(Field& field) {
  if constexpr (std::is_const_v<Source>) {
    return field;
  } else {
    return std::move(field);
  }
}

template <typename Source>
History build(Source& observation) {
  History history;
  // Durable change rows per announced event: one order row per change (or one row per
  // line item, for a design that writes them so), one event-store event per event.
  std::map<std::pair<std::int64_t, std::uint32_t>, std::uint64_t> change_rows_per_event;
  for (const char* table : {models::tables::orders, models::tables::events}) {
    const auto rows = observation.tables.find(table);
    if (rows == observation.tables.end()) continue;
    const bool event_store = std::string_view(table) == models::tables::events;
    for (auto& [id, row] : rows->second) {
      ++change_rows_per_event[{row.command, row.index_in_change}];
      if (event_store) history.stream_versions[row.key].push_back(row.version);
      const std::int64_t command = row.command;
      history.committed_changes.try_emplace(history.committed_changes.end(), command, take<Source>(row));
    }
  }
  for (const auto& [event, rows] : change_rows_per_event) {
    std::uint64_t& most = history.change_rows[event.first];
    most = std::max(most, rows);
  }
  history.commit_lsn = take<Source>(observation.commit_lsn);
  for (auto& record : observation.commands) {
    // The change of a command announces one event per line item the client asked for.
    if (record.items > 1) history.events_of_change[record.command] = record.items;
    history.commands.try_emplace(history.commands.end(), record.command, take<Source>(record));
  }

  std::size_t appends = 0;
  for (const auto& [log, records] : observation.broker_logs) appends += records.size();
  history.appends.reserve(appends);
  for (auto& [log, records] : observation.broker_logs)
    for (auto& record : records) history.appends.push_back(take<Source>(record));
  history.groups.push_back(models::ConsumerSettings{}.group);
  history.effects = take<Source>(observation.effects);

  // Every sighting of an announced event, the broker's records first and then the
  // effects: the last sighting of one names its command, as it would if each overwrote a
  // map entry in that order.
  const std::vector<std::string> appended_ids = detail::announced_ids(history.appends);
  const std::vector<std::string> effect_ids = detail::announced_ids(history.effects);
  std::vector<Sighting> sightings;
  std::vector<detail::OrderedName> sighted_ids;
  sightings.reserve(history.appends.size() + history.effects.size());
  sighted_ids.reserve(sightings.capacity());
  std::size_t record_index = 0;
  for (const auto& [log, records] : observation.broker_logs)
    for (std::size_t index = 0; index < records.size(); ++index, ++record_index) {
      const models::Event& event = history.appends[record_index].event;
      sightings.push_back(Sighting{event.command, event.events_in_change, &log});
      sighted_ids.emplace_back(appended_ids[record_index]);
    }
  for (std::size_t index = 0; index < history.effects.size(); ++index) {
    const models::Event& event = history.effects[index].event;
    sightings.push_back(Sighting{event.command, event.events_in_change});
    sighted_ids.emplace_back(effect_ids[index]);
  }
  for (const Sighting& sighting : sightings)
    if (sighting.events_in_change > 1) {
      std::uint32_t& events = history.events_of_change[sighting.command];
      events = std::max(events, sighting.events_in_change);
    }
  detail::for_each_run(sighted_ids, detail::positions_by(sighted_ids), [&](auto first, auto last) {
    const std::string event_id(sighted_ids[*first].text);
    history.command_of_event.emplace_hint(history.command_of_event.end(), event_id, sightings[*(last - 1)].command);
    std::uint64_t appended = 0;
    const std::string* log = nullptr;
    for (auto position = first; position != last; ++position)
      if (sightings[*position].log != nullptr) {
        ++appended;
        log = sightings[*position].log;
      }
    if (appended == 0) return;
    history.appended.emplace_hint(history.appended.end(), event_id, appended);
    history.log_of_event.emplace_hint(history.log_of_event.end(), event_id, *log);
  });

  const std::vector<detail::RankedName> applications = detail::group_and_event_of(history.effects, effect_ids);
  detail::for_each_run(applications, detail::positions_by(applications), [&](auto first, auto last) {
    auto& applied = history.applied[history.effects[*first].group];
    applied.emplace_hint(applied.end(), effect_ids[*first], static_cast<std::uint64_t>(last - first));
  });

  history.faults = take<Source>(observation.faults);
  history.fault_windows = take<Source>(observation.fault_windows);
  history.failovers = take<Source>(observation.failovers);
  history.deliveries = take<Source>(observation.deliveries);
  history.offset_commits = take<Source>(observation.offset_commits);
  history.unfinished_steps = take<Source>(observation.unfinished_steps);
  history.call_timeouts = take<Source>(observation.call_timeouts);
  history.node_names = take<Source>(observation.node_names);
  history.commit_time = take<Source>(observation.commit_time);
  history.outbox_marks = take<Source>(observation.outbox_marks);
  history.slot_confirmations = take<Source>(observation.slot_confirmations);
  history.acknowledged_appends = take<Source>(observation.acknowledged_appends);
  history.truncations = take<Source>(observation.truncations);
  history.drained = observation.drained;
  history.pending_at_bound.insert(observation.pending_at_bound.begin(), observation.pending_at_bound.end());
  history.safety_end = observation.safety_end;
  history.bound_end = observation.bound_end;
  return history;
}

}  // namespace

History History::from(const models::Observation& observation) {
  return build(observation);
}

History History::from(models::Observation&& observation) {
  return build(observation);
}

std::uint32_t History::events_announced_by(std::int64_t command) const {
  const auto events = events_of_change.find(command);
  return events == events_of_change.end() ? 1 : events->second;
}

std::vector<std::string> History::announced_events_of(std::int64_t command) const {
  const std::uint32_t events = events_announced_by(command);
  std::vector<std::string> ids;
  ids.reserve(events);
  for (std::uint32_t index = 1; index <= events; ++index)
    ids.push_back(models::announced_event_id(command, index, events));
  return ids;
}

std::string History::node_name(sim::NodeId node) const {
  if (node < node_names.size()) return node_names[node];
  return "node " + std::to_string(node);
}

}  // namespace faultline::properties
