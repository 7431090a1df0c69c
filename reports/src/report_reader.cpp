// Reading a report back, strictly: one check per key, one line per problem.
#include "faultline/reports/report_reader.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faultline/reports/json_report.h"
#include "faultline/reports/strict_json.h"

namespace faultline::reports {
namespace {

using nlohmann::json;

// What a report can hold, applied while parsing (strict_json.h), so that nothing
// oversized is built or walked: a real report never nests deeper than 8 (a fault's node
// group), and its longest arrays are fault plans (10,000 faults at most) and lag buckets.
constexpr StrictJsonLimits report_json_limits{
    .nesting_max = 32, .entries_max = 1'000'000, .string_bytes_max = std::size_t{1} << 26};
// Input text quoted in an error line is cut to this many bytes.
constexpr std::size_t quoted_bytes_max = 48;

[[noreturn]] void fail(const std::string& message) {
  throw ReportError(message);
}

// `value` as JSON on one line (control characters and quotes escaped, bytes that are not
// UTF-8 replaced), cut short: safe to put into a one-line error.
std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > quoted_bytes_max) text = text.substr(0, quoted_bytes_max) + "...";
  return text;
}

std::string in_quotes(const std::string& text) {
  return text.size() <= quoted_bytes_max ? shown(json(text)) : shown(json(text.substr(0, quoted_bytes_max))) + "...";
}

// Checks that `value` is an object with every key of `required`, no key outside
// `required` and `optional`.
void expect_keys(const json& value, const std::string& where, std::initializer_list<const char*> required,
                 std::initializer_list<const char*> optional = {}) {
  if (!value.is_object()) fail(where + " must be a JSON object");
  for (const char* key : required)
    if (!value.contains(key)) fail(where + " has no \"" + key + "\"");
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& item : value.items()) {
    const std::string& key = item.key();
    const auto named = [&](std::initializer_list<const char*> keys) {
      return std::any_of(keys.begin(), keys.end(), [&](const char* name) { return key == name; });
    };
    if (!named(required) && !named(optional)) fail(where + " has an unknown key " + in_quotes(key));
  }
}

std::string at(const std::string& where, const std::string& key) {
  return where + "." + key;
}

std::uint64_t read_count(const json& value, const std::string& where) {
  // nlohmann keeps a non-negative integer that fits 64 bits as unsigned; anything else
  // (a negative number, a fraction, a float such as 1e3, a larger integer) is refused.
  if (!value.is_number_unsigned()) fail(where + " must be a non-negative integer below 2^64");
  return value.get<std::uint64_t>();
}

std::uint64_t read_count(const json& object, const char* key, const std::string& where) {
  return read_count(object.at(key), at(where, key));
}

double read_non_negative_number(const json& object, const char* key, const std::string& where) {
  const json& value = object.at(key);
  if (!value.is_number()) fail(at(where, key) + " must be a number");
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0) fail(at(where, key) + " must be a finite number, at least 0");
  return number;
}

std::string read_string(const json& object, const char* key, const std::string& where) {
  const json& value = object.at(key);
  if (!value.is_string()) fail(at(where, key) + " must be a string");
  return value.get<std::string>();
}

// MAJOR.MINOR.PATCH, then anything (a pre-release or build suffix).
bool is_version(const std::string& text) {
  std::size_t position = 0;
  for (int part = 0; part < 3; ++part) {
    if (part > 0 && (position >= text.size() || text[position++] != '.')) return false;
    const std::size_t digits_start = position;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') ++position;
    if (position == digits_start) return false;
  }
  return true;
}

bool is_invariant_id(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_design_name(const std::string& text) {
  const auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
  return !text.empty() && text.front() != '-' && std::all_of(text.begin(), text.end(), allowed);
}

std::string read_design_name(const json& object, const std::string& where) {
  std::string name = read_string(object, "design", where);
  if (!is_design_name(name)) fail(at(where, "design") + " " + in_quotes(name) + " is not a design name");
  return name;
}

// The seed range of a result or a sweep; `runs` runs cover it exactly.
std::pair<std::uint64_t, std::uint64_t> read_seed_range(const json& object, const char* key, const std::string& where) {
  const std::string place = at(where, key);
  const json& seeds = object.at(key);
  expect_keys(seeds, place, {"first", "last"});
  const std::uint64_t first = read_count(seeds, "first", place);
  const std::uint64_t last = read_count(seeds, "last", place);
  if (first > last) fail(place + " runs backwards (" + std::to_string(first) + ".." + std::to_string(last) + ")");
  if (last - first == std::numeric_limits<std::uint64_t>::max()) fail(place + " holds more than 2^64 - 1 seeds");
  return {first, last};
}

std::map<std::string, std::uint64_t> read_counts_by_invariant(const json& object, const char* key,
                                                              const std::string& where) {
  const std::string place = at(where, key);
  const json& counts = object.at(key);
  if (!counts.is_object()) fail(place + " must be a JSON object");
  std::map<std::string, std::uint64_t> out;
  for (const auto& [id, value] : counts.items()) {
    if (!is_invariant_id(id)) fail(place + " has a key " + in_quotes(id) + " that is not an invariant id");
    out[id] = read_count(value, at(place, id));
  }
  for (const char* id : {"L", "P", "A"})
    if (out.count(id) == 0) fail(place + " has no \"" + id + "\"");
  return out;
}

results::Counterexample read_counterexample(const json& value, const std::string& where) {
  expect_keys(value, where, {"seed", "invariant", "explanation", "story", "trace_hash", "replay", "scenario"});
  results::Counterexample example;
  example.seed = read_count(value, "seed", where);
  example.invariant = read_string(value, "invariant", where);
  if (!is_invariant_id(example.invariant))
    fail(at(where, "invariant") + " " + in_quotes(example.invariant) + " is not an invariant id");
  example.explanation = read_string(value, "explanation", where);
  if (example.explanation.empty()) fail(at(where, "explanation") + " is empty");
  example.story = read_string(value, "story", where);
  example.trace_hash = read_string(value, "trace_hash", where);
  const bool hex = std::all_of(example.trace_hash.begin(), example.trace_hash.end(),
                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (example.trace_hash.size() != 16 || !hex) fail(at(where, "trace_hash") + " must be 16 lower-case hex digits");
  example.replay = read_string(value, "replay", where);
  if (example.replay.rfind("faultline replay ", 0) != 0)
    fail(at(where, "replay") + " must be a command starting with \"faultline replay \"");
  // The scenario's format belongs to the properties layer; a report carries it as is.
  const json& scenario = value.at("scenario");
  if (!scenario.is_object() && !scenario.is_null()) fail(at(where, "scenario") + " must be a JSON object or null");
  if (scenario.is_object()) example.scenario_json = scenario.dump(2);
  return example;
}

// An array of [key, count] pairs with strictly increasing keys, as the report writes a
// sparse histogram.
std::map<std::uint64_t, std::uint64_t> read_count_pairs(const json& object, const char* key, const std::string& where) {
  const std::string place = at(where, key);
  const json& pairs = object.at(key);
  if (!pairs.is_array()) fail(place + " must be an array of [value, count] pairs");
  std::map<std::uint64_t, std::uint64_t> out;
  for (std::size_t index = 0; index < pairs.size(); ++index) {
    const std::string item = place + "[" + std::to_string(index) + "]";
    if (!pairs[index].is_array() || pairs[index].size() != 2) fail(item + " must be a [value, count] pair");
    const std::uint64_t value = read_count(pairs[index][0], item + "[0]");
    const std::uint64_t count = read_count(pairs[index][1], item + "[1]");
    if (!out.empty() && value <= out.rbegin()->first) fail(item + " is not in increasing order");
    if (count == 0) fail(item + " counts nothing (empty buckets are left out)");
    out[value] = count;
  }
  return out;
}

results::LagDistribution read_delivery_lag(const json& value, const std::string& where) {
  const std::string place = at(where, "delivery_lag");
  const json& lag_json = value.at("delivery_lag");
  expect_keys(lag_json, place, {"events", "max_us", "p50_us", "p90_us", "p99_us", "histogram", "buckets"});
  results::LagDistribution lag;
  constexpr std::uint64_t largest = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (const auto& [floor_us, count] : read_count_pairs(lag_json, "buckets", place)) {
    if (floor_us > largest ||
        results::LagDistribution::bucket_of(static_cast<std::int64_t>(floor_us)) != static_cast<std::int64_t>(floor_us))
      fail(at(place, "buckets") + " has " + std::to_string(floor_us) + ", which is not a bucket bound");
    lag.buckets[static_cast<std::int64_t>(floor_us)] = count;
  }
  const std::uint64_t max_us = read_count(lag_json, "max_us", place);
  if (max_us > largest) fail(at(place, "max_us") + " is too large");
  lag.max_us = static_cast<std::int64_t>(max_us);
  if (!lag.buckets.empty() && results::LagDistribution::bucket_of(lag.max_us) != lag.buckets.rbegin()->first)
    fail(at(place, "max_us") + " is not in the highest bucket");
  // The count, the percentiles and the coarse histogram follow from the buckets: checked
  // against them, then written afresh.
  results::DesignResult only_lag;
  only_lag.delivery_lag = lag;
  const json derived = to_json(only_lag).at("delivery_lag");
  for (const char* key : {"events", "p50_us", "p90_us", "p99_us", "histogram"})
    if (lag_json.at(key) != derived.at(key)) fail(at(place, key) + " does not follow from the buckets");
  return lag;
}

results::WorkloadFigures read_workload(const json& value, const std::string& where) {
  const std::string place = at(where, "workload");
  const json& workload = value.at("workload");
  expect_keys(workload, place, {"commands", "acknowledged", "failed", "unknown", "committed", "appended", "applied"});
  results::WorkloadFigures figures{.commands = read_count(workload, "commands", place),
                                   .acknowledged = read_count(workload, "acknowledged", place),
                                   .failed = read_count(workload, "failed", place),
                                   .unknown = read_count(workload, "unknown", place),
                                   .committed = read_count(workload, "committed", place),
                                   .appended = read_count(workload, "appended", place),
                                   .applied = read_count(workload, "applied", place)};
  // Every command ended one way: acknowledged, failed or unknown.
  const std::uint64_t ended = figures.acknowledged + figures.failed + figures.unknown;
  if (ended < figures.acknowledged || ended != figures.commands)
    fail(place + ": acknowledged, failed and unknown do not add up to the commands");
  return figures;
}

// The totals of a result go with the runs that violated their invariant: a run with a
// lost event violates L and a run that violates L lost at least one (likewise phantoms
// and P, duplicate deliveries and the runs with duplicates), and a late event violates E.
void expect_consistent_totals(const results::DesignResult& result, const std::string& where) {
  const auto runs_violating = [&](const char* id) {
    const auto found = result.violations.find(id);
    return found == result.violations.end() ? std::uint64_t{0} : found->second;
  };
  const auto expect_same_runs = [&](std::uint64_t total, const std::string& key, std::uint64_t runs,
                                    const std::string& runs_meaning) {
    if ((total == 0) != (runs == 0) || total < runs)
      fail(at(where, key) + " is " + std::to_string(total) + ", but " + std::to_string(runs) + " runs " + runs_meaning);
  };
  expect_same_runs(result.lost_events, "lost_events", runs_violating("L"), "violated L");
  expect_same_runs(result.phantom_events, "phantom_events", runs_violating("P"), "violated P");
  expect_same_runs(result.duplicate_deliveries, "duplicates.duplicate_deliveries", result.runs_with_duplicates,
                   "had duplicates");
  if (result.late_events > 0 && runs_violating("E") == 0)
    fail(at(where, "late_events") + " is " + std::to_string(result.late_events) + ", but no run violated E");
}

results::DesignResult read_design_result(const json& value, const std::string& where) {
  expect_keys(value, where,
              {"design", "profile", "commands", "runs", "seeds", "claimed", "expected_violation", "violations", "rates",
               "verdicts", "duplicates", "delivery_lag", "lost_events", "late_events", "phantom_events", "workload",
               "point_coverage", "counterexamples"});
  results::DesignResult result;
  result.design = read_design_name(value, where);
  result.profile = read_string(value, "profile", where);
  if (result.profile.empty()) fail(at(where, "profile") + " is empty");
  result.commands = read_count(value, "commands", where);
  result.runs = read_count(value, "runs", where);
  std::tie(result.seed_first, result.seed_last) = read_seed_range(value, "seeds", where);
  if (result.runs == 0 || result.runs - 1 != result.seed_last - result.seed_first)
    fail(at(where, "runs") + " is " + std::to_string(result.runs) + ", but seeds " + std::to_string(result.seed_first) +
         ".." + std::to_string(result.seed_last) + " are " + std::to_string(result.seed_last - result.seed_first + 1) +
         " runs");

  const json& claimed = value.at("claimed");
  if (!claimed.is_array()) fail(at(where, "claimed") + " must be an array of invariant ids");
  for (std::size_t index = 0; index < claimed.size(); ++index) {
    const std::string place = at(where, "claimed") + "[" + std::to_string(index) + "]";
    if (!claimed[index].is_string() || !is_invariant_id(claimed[index].get<std::string>()))
      fail(place + " must be an invariant id");
    const std::string id = claimed[index].get<std::string>();
    if (std::find(result.claimed.begin(), result.claimed.end(), id) != result.claimed.end())
      fail(place + " claims \"" + id + "\" a second time");
    result.claimed.push_back(id);
  }
  result.expected_violation = read_string(value, "expected_violation", where);
  if (!result.expected_violation.empty() && !is_invariant_id(result.expected_violation))
    fail(at(where, "expected_violation") + " must be an invariant id or empty");

  result.violations = read_counts_by_invariant(value, "violations", where);
  for (const auto& [id, runs] : result.violations)
    if (runs > result.runs)
      fail(at(at(where, "violations"), id) + " is " + std::to_string(runs) + ", more than the " +
           std::to_string(result.runs) + " runs");
  // Verdicts follow from the counts and the claims: they are checked, then written afresh.
  const json& verdicts = value.at("verdicts");
  if (!verdicts.is_object()) fail(at(where, "verdicts") + " must be a JSON object");
  const json expected_verdicts = to_json(result).at("verdicts");
  for (const auto& [id, verdict] : verdicts.items())
    if (!expected_verdicts.contains(id))
      fail(at(where, "verdicts") + " has a verdict for " + in_quotes(id) + " but no count");
  for (const auto& [id, verdict] : expected_verdicts.items()) {
    if (!verdicts.contains(id)) fail(at(where, "verdicts") + " has no \"" + id + "\"");
    if (verdicts.at(id) != verdict)
      fail(at(at(where, "verdicts"), id) + " is " + shown(verdicts.at(id)) + ", but the counts and claims make it " +
           shown(verdict));
  }

  // Rates follow from the counts too: checked against them, then written afresh.
  if (value.at("rates") != to_json(result).at("rates"))
    fail(at(where, "rates") + " do not follow from the violation counts and runs");

  const std::string duplicates_place = at(where, "duplicates");
  const json& duplicates = value.at("duplicates");
  expect_keys(duplicates, duplicates_place,
              {"runs_with_duplicates", "duplicate_deliveries", "deliveries_per_event", "applied_more_than_once"});
  result.runs_with_duplicates = read_count(duplicates, "runs_with_duplicates", duplicates_place);
  result.duplicate_deliveries = read_count(duplicates, "duplicate_deliveries", duplicates_place);
  result.delivery_counts.deliveries = read_count_pairs(duplicates, "deliveries_per_event", duplicates_place);
  if (!result.delivery_counts.deliveries.empty() && result.delivery_counts.deliveries.begin()->first == 0)
    fail(at(duplicates_place, "deliveries_per_event") + " counts events delivered 0 times");
  result.delivery_counts.applied_more_than_once = read_count(duplicates, "applied_more_than_once", duplicates_place);
  result.delivery_lag = read_delivery_lag(value, where);
  if (result.runs_with_duplicates > result.runs)
    fail(at(duplicates_place, "runs_with_duplicates") + " is more than the runs");
  result.lost_events = read_count(value, "lost_events", where);
  result.late_events = read_count(value, "late_events", where);
  result.phantom_events = read_count(value, "phantom_events", where);
  expect_consistent_totals(result, where);
  result.workload = read_workload(value, where);

  const json& coverage = value.at("point_coverage");
  if (!coverage.is_object()) fail(at(where, "point_coverage") + " must be a JSON object");
  for (const auto& [point, hits] : coverage.items()) {
    if (point.empty()) fail(at(where, "point_coverage") + " has an empty point name");
    result.point_coverage[point] = read_count(hits, at(where, "point_coverage") + "[" + in_quotes(point) + "]");
  }

  const json& examples = value.at("counterexamples");
  if (!examples.is_array()) fail(at(where, "counterexamples") + " must be an array");
  for (std::size_t index = 0; index < examples.size(); ++index) {
    const std::string place = at(where, "counterexamples") + "[" + std::to_string(index) + "]";
    results::Counterexample example = read_counterexample(examples[index], place);
    if (example.seed < result.seed_first || example.seed > result.seed_last)
      fail(at(place, "seed") + " " + std::to_string(example.seed) + " is outside the seeds swept");
    const auto violated = result.violations.find(example.invariant);
    if (violated == result.violations.end() || violated->second == 0)
      fail(at(place, "invariant") + " \"" + example.invariant + "\" was violated in no run");
    if (!result.counterexamples.empty() && example.seed < result.counterexamples.back().seed)
      fail(place + " is out of seed order");
    result.counterexamples.push_back(std::move(example));
  }
  return result;
}

void read_engine(const json& value, const std::string& where, results::DesignResult& result) {
  expect_keys(value, where, {"design", "events", "simulated_us", "wall_seconds", "events_per_second"});
  const std::string design = read_design_name(value, where);
  if (design != result.design)
    fail(at(where, "design") + " is \"" + design + "\", but the result at the same place is for \"" + result.design +
         "\"");
  result.engine.events = read_count(value, "events", where);
  const std::uint64_t simulated_us = read_count(value, "simulated_us", where);
  if (simulated_us > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail(at(where, "simulated_us") + " is too large");
  result.engine.simulated_us = static_cast<std::int64_t>(simulated_us);
  result.engine.wall_seconds = read_non_negative_number(value, "wall_seconds", where);
  // A figure derived from the two others, and written afresh; it must stay a number.
  read_non_negative_number(value, "events_per_second", where);
  if (result.engine.wall_seconds > 0 &&
      !std::isfinite(static_cast<double>(result.engine.events) / result.engine.wall_seconds))
    fail(at(where, "wall_seconds") + " is too small a time for " + std::to_string(result.engine.events) + " events");
}

results::Shard read_shard(const json& value, const std::string& where) {
  expect_keys(value, where, {"index", "count", "sweep_seeds", "counterexamples_per_invariant"});
  results::Shard shard;
  shard.index = read_count(value, "index", where);
  shard.count = read_count(value, "count", where);
  std::tie(shard.sweep_seed_first, shard.sweep_seed_last) = read_seed_range(value, "sweep_seeds", where);
  shard.counterexamples_per_invariant = read_count(value, "counterexamples_per_invariant", where);
  if (shard.count == 0) fail(at(where, "count") + " must be at least 1");
  if (shard.index == 0 || shard.index > shard.count)
    fail(at(where, "index") + " must be from 1 to the count, " + std::to_string(shard.count));
  if (shard.count - 1 > shard.sweep_seed_last - shard.sweep_seed_first)
    fail(where + " splits " + std::to_string(shard.sweep_seed_last - shard.sweep_seed_first + 1) + " seeds into " +
         std::to_string(shard.count) + " shards: some would be empty");
  return shard;
}

json parse_strictly(std::string_view text) {
  try {
    return parse_json_strictly(text, "report", report_json_limits);
  } catch (const StrictJsonError& error) {
    fail(error.what());
  }
}

}  // namespace

results::Report report_from_json(std::string_view text) {
  const json document = parse_strictly(text);
  const std::string where = "report";
  expect_keys(document, where, {"schema_version", "tool", "version", "command", "interrupted", "results", "engine"},
              {"shard"});
  const json& version = document.at("schema_version");
  if (!version.is_number_integer() || version.get<std::int64_t>() != schema_version)
    fail("report.schema_version is " + shown(version) + "; this faultline reads schema version " +
         std::to_string(schema_version));
  results::Report report;
  report.tool = read_string(document, "tool", where);
  if (report.tool != "faultline") fail("report.tool is " + in_quotes(report.tool) + ", not \"faultline\"");
  report.version = read_string(document, "version", where);
  if (!is_version(report.version))
    fail("report.version " + in_quotes(report.version) + " is not a version (MAJOR.MINOR.PATCH...)");
  report.command = read_string(document, "command", where);
  if (report.command != "faultline" && report.command.rfind("faultline ", 0) != 0)
    fail("report.command must be a command line starting with \"faultline\"");
  if (!document.at("interrupted").is_boolean()) fail("report.interrupted must be true or false");
  report.interrupted = document.at("interrupted").get<bool>();

  const json& results = document.at("results");
  const json& engine = document.at("engine");
  if (!results.is_array()) fail("report.results must be an array");
  if (!engine.is_array()) fail("report.engine must be an array");
  if (engine.size() != results.size())
    fail("report.engine has " + std::to_string(engine.size()) + " entries for " + std::to_string(results.size()) +
         " results");
  for (std::size_t index = 0; index < results.size(); ++index) {
    const std::string place = "report.results[" + std::to_string(index) + "]";
    results::DesignResult result = read_design_result(results[index], place);
    read_engine(engine[index], "report.engine[" + std::to_string(index) + "]", result);
    for (const auto& earlier : report.results)
      if (earlier.design == result.design && earlier.profile == result.profile)
        fail(place + " repeats design " + result.design + " under profile " + result.profile);
    report.results.push_back(std::move(result));
  }
  if (document.contains("shard")) report.shard = read_shard(document.at("shard"), "report.shard");
  return report;
}

}  // namespace faultline::reports
