// Scenario serialisation with nlohmann/json.
#include "faultline/properties/scenario_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "faultline/models/world.h"
#include "faultline/reports/strict_json.h"

namespace faultline::properties {
namespace {

using nlohmann::json;

json fault_to_json(const sim::Fault& fault) {
  json out = json::object();
  out["kind"] = std::string(sim::to_string(fault.kind));
  if (fault.point.empty()) {
    out["at_us"] = fault.at.ticks;
  } else {
    out["point"] = fault.point;
    out["hit"] = fault.hit;
  }
  if (!fault.node.empty()) out["node"] = fault.node;
  if (!fault.peer.empty()) out["peer"] = fault.peer;
  if (!fault.group.empty()) out["group"] = fault.group;
  if (fault.duration.ticks != 0) out["duration_us"] = fault.duration.ticks;
  if (fault.kind == sim::FaultKind::lose_responses || fault.kind == sim::FaultKind::crash_with_disk_loss)
    out["count"] = fault.count;
  if (fault.kind == sim::FaultKind::clock_skew) out["skew_us"] = fault.skew.ticks;
  return out;
}

[[noreturn]] void fail(const std::string& message) {
  throw ScenarioError(message);
}

// User text quoted in a message, escaped as JSON so the message stays on one line, and
// cut short so a long string cannot flood the terminal.
std::string json_quoted(const std::string& text) {
  constexpr std::size_t quoted_bytes_max = 48;
  const bool cut = text.size() > quoted_bytes_max;
  return json(cut ? text.substr(0, quoted_bytes_max) : text).dump(-1, ' ', false, json::error_handler_t::replace) +
         (cut ? "..." : "");
}

// True when `text` has a control character (a terminal escape, a line break), which no
// design or profile name has and which would reach the terminal as is when printed.
bool has_control_character(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f;
  });
}

void expect_only(const json& object, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!object.is_object()) fail(where + " must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) fail(where + " has an unknown key " + json_quoted(key));
  }
}

std::int64_t read_integer(const json& object, const char* key, const std::string& where, std::int64_t low,
                          std::int64_t high) {
  const auto& value = object.at(key);
  if (!value.is_number_integer()) fail(where + "." + key + " must be an integer");
  const auto number = value.get<std::int64_t>();
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(high))
    fail(where + "." + key + " must be at most " + std::to_string(high));
  if (number < low || number > high)
    fail(where + "." + key + " must be in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  return number;
}

std::string read_string(const json& object, const char* key, const std::string& where) {
  const auto& value = object.at(key);
  if (!value.is_string()) fail(where + "." + key + " must be a string");
  return value.get<std::string>();
}

std::string read_node(const json& object, const char* key, const std::string& where,
                      const std::vector<std::string>& nodes) {
  std::string node = read_string(object, key, where);
  if (std::find(nodes.begin(), nodes.end(), node) == nodes.end())
    fail(where + "." + key + " names an unknown node " + json_quoted(node));
  return node;
}

constexpr std::int64_t time_max_us = std::int64_t{1} << 50;

// What a scenario can hold: no array or object longer than the longest fault plan, no
// string longer than a name or a point could sensibly be, nothing nested deeper than a
// fault's node group (depth 4) with room to spare.
constexpr reports::StrictJsonLimits scenario_json_limits{
    .nesting_max = 16, .entries_max = 10'000, .string_bytes_max = 4'096};

sim::Fault fault_from_json(const json& object, const std::string& where, const std::vector<std::string>& nodes) {
  expect_only(object, where,
              {"kind", "at_us", "point", "hit", "node", "peer", "group", "duration_us", "count", "skew_us"});
  if (!object.contains("kind")) fail(where + " has no \"kind\"");
  const std::string kind_name = read_string(object, "kind", where);
  const auto kind = sim::fault_kind_from_string(kind_name);
  if (!kind) fail(where + ".kind " + json_quoted(kind_name) + " is not a fault kind");
  sim::Fault fault{.kind = *kind};
  if (object.contains("point")) {
    if (object.contains("at_us")) fail(where + " has both \"point\" and \"at_us\"");
    fault.point = read_string(object, "point", where);
    if (fault.point.empty()) fail(where + ".point is empty");
    fault.hit =
        object.contains("hit") ? static_cast<std::uint32_t>(read_integer(object, "hit", where, 1, 1'000'000'000)) : 1;
    if (fault.kind != sim::FaultKind::crash && fault.kind != sim::FaultKind::pause &&
        fault.kind != sim::FaultKind::crash_with_disk_loss)
      fail(where + ": only crash and pause faults can strike at a named point");
  } else {
    if (object.contains("hit")) fail(where + " has \"hit\" without \"point\"");
    if (!object.contains("at_us")) fail(where + " needs \"at_us\" or \"point\"");
    fault.at = sim::Instant{read_integer(object, "at_us", where, 0, time_max_us)};
  }
  if (object.contains("node")) fault.node = read_node(object, "node", where, nodes);
  if (object.contains("peer")) fault.peer = read_node(object, "peer", where, nodes);
  if (object.contains("group")) {
    const auto& group = object.at("group");
    if (!group.is_array()) fail(where + ".group must be an array of node names");
    for (std::size_t index = 0; index < group.size(); ++index) {
      json holder = {{"node", group[index]}};
      fault.group.push_back(read_node(holder, "node", where + ".group[" + std::to_string(index) + "]", nodes));
    }
  }
  if (object.contains("duration_us"))
    fault.duration = sim::Duration{read_integer(object, "duration_us", where, 0, time_max_us)};
  if (object.contains("count")) {
    // Only these kinds use a count (and only they write one): elsewhere it would be read,
    // ignored by the run, and lost on the next write.
    if (fault.kind != sim::FaultKind::lose_responses && fault.kind != sim::FaultKind::crash_with_disk_loss)
      fail(where + ": only lose-responses and crash-with-disk-loss faults take \"count\"");
    fault.count = static_cast<std::uint32_t>(read_integer(object, "count", where, 1, 1'000'000));
  }
  if (object.contains("skew_us")) {
    if (fault.kind != sim::FaultKind::clock_skew) fail(where + ": only clock-skew faults take \"skew_us\"");
    fault.skew = sim::Duration{read_integer(object, "skew_us", where, -time_max_us, time_max_us)};
  }

  // Each kind's required fields.
  const bool needs_node =
      fault.point.empty() && fault.kind != sim::FaultKind::partition && fault.kind != sim::FaultKind::heal;
  if (needs_node && fault.node.empty()) fail(where + ": a " + kind_name + " fault needs \"node\"");
  if (fault.kind == sim::FaultKind::one_way && fault.peer.empty()) fail(where + ": a one-way fault needs \"peer\"");
  if (fault.kind == sim::FaultKind::one_way && fault.peer == fault.node)
    fail(where + ": a one-way fault cuts " + json_quoted(fault.node) + " from another node, not from itself");
  if (fault.kind == sim::FaultKind::partition && fault.group.empty())
    fail(where + ": a partition fault needs \"group\"");
  if (fault.kind == sim::FaultKind::clock_skew && !object.contains("skew_us"))
    fail(where + ": a clock-skew fault needs \"skew_us\"");
  return fault;
}

constexpr std::pair<models::CommitMode, const char*> commit_modes[] = {
    {models::CommitMode::synchronous, "synchronous"}, {models::CommitMode::asynchronous, "asynchronous"}};
constexpr std::pair<models::ConsumerMode, const char*> consumer_modes[] = {
    {models::ConsumerMode::commit_before_processing, "commit-before"},
    {models::ConsumerMode::commit_after_processing, "commit-after"},
    {models::ConsumerMode::inbox, "inbox"}};

constexpr std::pair<models::RelayPlacement, const char*> relay_placements[] = {
    {models::RelayPlacement::service, "service"}, {models::RelayPlacement::own_nodes, "own-nodes"}};
constexpr std::pair<models::OffsetReset, const char*> offset_resets[] = {{models::OffsetReset::earliest, "earliest"},
                                                                         {models::OffsetReset::latest, "latest"}};
constexpr std::pair<models::ConsumerIsolation, const char*> isolations[] = {
    {models::ConsumerIsolation::read_committed, "read-committed"},
    {models::ConsumerIsolation::read_uncommitted, "read-uncommitted"}};
constexpr std::pair<models::InboxKeeping, const char*> inbox_keepings[] = {
    {models::InboxKeeping::forever, "forever"},
    {models::InboxKeeping::expiring, "expiring"},
    {models::InboxKeeping::separate_transaction, "separate-transaction"}};
constexpr std::pair<models::Replication, const char*> replications[] = {
    {models::Replication::none, "none"},
    {models::Replication::asynchronous, "asynchronous"},
    {models::Replication::synchronous, "synchronous"}};
constexpr std::pair<models::SlotSync, const char*> slot_syncs[] = {{models::SlotSync::off, "off"},
                                                                   {models::SlotSync::on, "on"}};

constexpr std::pair<models::ProducerAcks, const char*> producer_acks[] = {
    {models::ProducerAcks::none, "0"}, {models::ProducerAcks::leader, "1"}, {models::ProducerAcks::all, "all"}};
constexpr std::pair<models::UncleanElection, const char*> unclean_elections[] = {{models::UncleanElection::off, "off"},
                                                                                 {models::UncleanElection::on, "on"}};
constexpr std::pair<models::BrokerFsync, const char*> broker_fsyncs[] = {{models::BrokerFsync::per_write, "per-write"},
                                                                         {models::BrokerFsync::periodic, "periodic"}};

template <typename Enum, std::size_t size>
const char* name_of(const std::pair<Enum, const char*> (&names)[size], Enum value) {
  for (const auto& [known, name] : names)
    if (known == value) return name;
  return "?";
}

template <typename Enum, std::size_t size>
Enum read_enum(const json& object, const char* key, const std::string& where,
               const std::pair<Enum, const char*> (&names)[size]) {
  const std::string text = read_string(object, key, where);
  std::string known;
  for (const auto& [value, name] : names) {
    if (text == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  fail(where + "." + key + " " + json_quoted(text) + " is not one of: " + known);
}

json broker_to_json(const models::BrokerReplication& broker) {
  return {{"replicas", broker.replicas},
          {"acks", name_of(producer_acks, broker.acks)},
          {"min_in_sync", broker.min_in_sync},
          {"unclean_election", name_of(unclean_elections, broker.unclean_election)},
          {"fsync", name_of(broker_fsyncs, broker.fsync)},
          {"fsync_interval_us", broker.fsync_interval.ticks},
          {"replica_lag_max_us", broker.replica_lag_max.ticks}};
}

models::BrokerReplication broker_from_json(const json& object) {
  const std::string where = "scenario.settings.broker";
  expect_only(
      object, where,
      {"replicas", "acks", "min_in_sync", "unclean_election", "fsync", "fsync_interval_us", "replica_lag_max_us"});
  models::BrokerReplication broker;
  if (object.contains("replicas")) {
    broker.replicas = static_cast<std::uint32_t>(read_integer(object, "replicas", where, 1, 3));
    if (broker.replicas == 2) fail(where + ".replicas must be 1 or 3");
  }
  if (object.contains("acks")) broker.acks = read_enum(object, "acks", where, producer_acks);
  if (object.contains("min_in_sync"))
    broker.min_in_sync = static_cast<std::uint32_t>(read_integer(object, "min_in_sync", where, 1, broker.replicas));
  if (object.contains("unclean_election"))
    broker.unclean_election = read_enum(object, "unclean_election", where, unclean_elections);
  if (object.contains("fsync")) broker.fsync = read_enum(object, "fsync", where, broker_fsyncs);
  if (object.contains("fsync_interval_us"))
    broker.fsync_interval = sim::Duration{read_integer(object, "fsync_interval_us", where, 100, 10'000'000)};
  if (object.contains("replica_lag_max_us"))
    broker.replica_lag_max = sim::Duration{read_integer(object, "replica_lag_max_us", where, 1'000, 10'000'000)};
  return broker;
}

json settings_to_json(const models::Settings& settings) {
  json out = {{"db_commit", name_of(commit_modes, settings.db_commit)},
              {"consumer", name_of(consumer_modes, settings.consumer)},
              {"relays", settings.relays},
              {"relay_placement", name_of(relay_placements, settings.relay_placement)},
              {"consumers", settings.consumers},
              {"offset_reset", name_of(offset_resets, settings.offset_reset)},
              {"inbox", name_of(inbox_keepings, settings.inbox)},
              {"inbox_retention_us", settings.inbox_retention.ticks},
              {"broker", broker_to_json(settings.broker)}};
  // Written only when not the default, so earlier scenarios read as before.
  if (settings.consumer_isolation != models::ConsumerIsolation::read_committed)
    out["consumer_isolation"] = name_of(isolations, settings.consumer_isolation);
  // Written only with a standby, so the scenarios of a single database read as before.
  if (settings.db_standby != models::Replication::none || settings.db_slot_sync != models::SlotSync::off) {
    out["db_standby"] = name_of(replications, settings.db_standby);
    out["db_slot_sync"] = name_of(slot_syncs, settings.db_slot_sync);
  }
  return out;
}

models::Settings settings_from_json(const json& object) {
  const std::string where = "scenario.settings";
  expect_only(object, where,
              {"db_commit", "consumer", "relays", "relay_placement", "consumers", "offset_reset", "inbox",
               "inbox_retention_us", "broker", "db_standby", "db_slot_sync", "consumer_isolation"});
  models::Settings settings;
  if (object.contains("db_commit")) settings.db_commit = read_enum(object, "db_commit", where, commit_modes);
  if (object.contains("consumer")) settings.consumer = read_enum(object, "consumer", where, consumer_modes);
  if (object.contains("relays"))
    settings.relays = static_cast<std::uint32_t>(read_integer(object, "relays", where, 1, 8));
  if (object.contains("relay_placement"))
    settings.relay_placement = read_enum(object, "relay_placement", where, relay_placements);
  if (object.contains("consumers"))
    settings.consumers = static_cast<std::uint32_t>(read_integer(object, "consumers", where, 1, 8));
  if (object.contains("offset_reset")) settings.offset_reset = read_enum(object, "offset_reset", where, offset_resets);
  if (object.contains("inbox")) settings.inbox = read_enum(object, "inbox", where, inbox_keepings);
  if (object.contains("inbox_retention_us"))
    settings.inbox_retention = sim::Duration{read_integer(object, "inbox_retention_us", where, 1'000, 3'600'000'000LL)};
  if (object.contains("consumer_isolation"))
    settings.consumer_isolation = read_enum(object, "consumer_isolation", where, isolations);
  if (object.contains("broker")) settings.broker = broker_from_json(object.at("broker"));
  if (object.contains("db_standby")) settings.db_standby = read_enum(object, "db_standby", where, replications);
  if (object.contains("db_slot_sync")) settings.db_slot_sync = read_enum(object, "db_slot_sync", where, slot_syncs);
  return settings;
}

}  // namespace

std::string scenario_to_json(const models::Scenario& scenario) {
  json out = json::object();
  out["design"] = scenario.design;
  out["seed"] = scenario.seed;
  out["profile"] = scenario.profile;
  out["workload"] = {{"commands", scenario.workload.commands},
                     {"keys", scenario.workload.keys},
                     {"items_max", scenario.workload.items_max},
                     {"spacing_max_us", scenario.workload.spacing_max.ticks},
                     {"after_heal_commands", scenario.workload.after_heal_commands}};
  out["liveness_bound_us"] = scenario.liveness_bound.ticks;
  out["settings"] = settings_to_json(scenario.settings);
  json faults = json::array();
  for (const auto& fault : scenario.plan.faults) faults.push_back(fault_to_json(fault));
  out["faults"] = std::move(faults);
  return out.dump(2);
}

models::Scenario scenario_from_json(std::string_view text, const models::DesignRegistry* designs) {
  // Strict reading in linear time (reports/strict_json.h): a key given twice in one
  // object is an error, not "the last one wins", and the limits below are applied while
  // parsing, so an oversized document is refused before it is built.
  json document;
  try {
    document = reports::parse_json_strictly(text, "scenario", scenario_json_limits);
  } catch (const reports::StrictJsonError& error) {
    fail(error.what());
  }
  try {
    expect_only(document, "scenario",
                {"design", "seed", "profile", "workload", "settings", "liveness_bound_us", "faults"});
    models::Scenario scenario;
    if (!document.contains("design")) fail("scenario has no \"design\"");
    scenario.design = read_string(document, "design", "scenario");
    if (scenario.design.empty() || has_control_character(scenario.design))
      fail("scenario.design " + json_quoted(scenario.design) + " is not a design name");
    if (!document.contains("seed")) fail("scenario has no \"seed\"");
    if (!document.at("seed").is_number_unsigned()) fail("scenario.seed must be a non-negative integer");
    scenario.seed = document.at("seed").get<std::uint64_t>();
    scenario.profile = document.contains("profile") ? read_string(document, "profile", "scenario") : "";
    // The profile only labels the plan (the faults are listed), but it is printed and
    // put into replay commands: it must be one of the fault profiles, or empty for a
    // hand-written plan.
    if (!scenario.profile.empty() && sim::find_fault_profile(scenario.profile) == nullptr) {
      std::string known;
      for (const auto& profile : sim::fault_profiles()) known += (known.empty() ? "" : ", ") + profile.name;
      fail("scenario.profile " + json_quoted(scenario.profile) + " is not a fault profile (known: " + known +
           ", or \"\" for a hand-written plan)");
    }
    if (document.contains("workload")) {
      const auto& workload = document.at("workload");
      expect_only(workload, "scenario.workload",
                  {"commands", "keys", "items_max", "spacing_max_us", "after_heal_commands"});
      if (workload.contains("commands"))
        scenario.workload.commands =
            static_cast<std::uint32_t>(read_integer(workload, "commands", "scenario.workload", 1, 1'000'000));
      if (workload.contains("keys"))
        scenario.workload.keys =
            static_cast<std::uint32_t>(read_integer(workload, "keys", "scenario.workload", 1, 1'000'000));
      if (workload.contains("items_max"))
        scenario.workload.items_max =
            static_cast<std::uint32_t>(read_integer(workload, "items_max", "scenario.workload", 1, 100));
      if (workload.contains("after_heal_commands"))
        scenario.workload.after_heal_commands =
            static_cast<std::uint32_t>(read_integer(workload, "after_heal_commands", "scenario.workload", 0, 1'000));
      if (workload.contains("spacing_max_us"))
        scenario.workload.spacing_max =
            sim::Duration{read_integer(workload, "spacing_max_us", "scenario.workload", 0, 60'000'000)};
    }
    if (document.contains("liveness_bound_us"))
      scenario.liveness_bound =
          sim::Duration{read_integer(document, "liveness_bound_us", "scenario", 1'000, 600'000'000)};
    if (document.contains("settings")) {
      scenario.settings = settings_from_json(document.at("settings"));
    } else if (designs != nullptr && designs->find(scenario.design) != nullptr) {
      scenario.settings = designs->find(scenario.design)->default_settings();
    }
    const std::vector<std::string> nodes = models::node_list(scenario.settings);
    if (document.contains("faults")) {
      const auto& faults = document.at("faults");
      if (!faults.is_array()) fail("scenario.faults must be an array");
      for (std::size_t index = 0; index < faults.size(); ++index)
        scenario.plan.faults.push_back(
            fault_from_json(faults[index], "scenario.faults[" + std::to_string(index) + "]", nodes));
    }
    return scenario;
  } catch (const json::exception& error) {
    fail(std::string("malformed scenario: ") + error.what());
  }
}

}  // namespace faultline::properties
