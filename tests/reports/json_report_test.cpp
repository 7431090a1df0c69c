// Checks the reports layer on hand-built results: the JSON carries its schema version,
// writes its keys in one sorted order, keeps the wall-clock engine figures out of the
// deterministic results and names each verdict; the summary table names every design.
// Method: build results by hand, render them, and read the text back the way a user or
// a script would.
#include "faultline/reports/json_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "faultline/reports/result.h"

namespace faultline::reports {
namespace {

results::DesignResult outbox_result() {
  results::DesignResult result;
  result.design = "outbox-polling";
  result.profile = "default";
  result.commands = 100;
  result.runs = 50;
  result.seed_first = 1;
  result.seed_last = 50;
  result.claimed = {"L", "P", "A"};
  result.violations = {{"L", 0}, {"P", 0}, {"A", 0}};
  result.runs_with_duplicates = 25;
  result.duplicate_deliveries = 129;
  result.point_coverage = {{"relay.after_select", 344}, {"db.commit.after_sync", 2608}};
  result.engine = {.events = 119'409, .simulated_us = 39'960'000, .wall_seconds = 0.5};
  return result;
}

results::DesignResult positive_control_result() {
  results::DesignResult result;
  result.design = "dual-write-db-first";
  result.profile = "default";
  result.commands = 100;
  result.runs = 50;
  result.seed_first = 1;
  result.seed_last = 50;
  result.violations = {{"L", 36}, {"P", 0}, {"A", 0}};
  result.lost_events = 593;
  result.counterexamples.push_back(results::Counterexample{
      .seed = 2,
      .invariant = "L",
      .explanation = "order 40 (command 15) is durably committed but event e15 was never applied",
      .story = "   106.023 ms  broker: crash (planned)\n",
      .trace_hash = "4f7deea6c12758d0",
      .replay = "faultline replay --design dual-write-db-first --seed 2 --commands 100 --profile default",
      .scenario_json = R"({"design": "dual-write-db-first", "seed": 2, "faults": []})"});
  result.engine = {.events = 265'892, .simulated_us = 215'540'000, .wall_seconds = 0.25};
  return result;
}

results::Report two_design_report() {
  results::Report report{.version = "0.1.0", .command = "faultline run --seeds 50"};
  report.results.push_back(positive_control_result());
  report.results.push_back(outbox_result());
  return report;
}

// Every object in `document` lists its keys in sorted order, at any depth; returns the
// path of the first object that does not, or "" when all do.
std::string first_unsorted_object(const nlohmann::ordered_json& document, const std::string& where) {
  if (document.is_object()) {
    std::string previous;
    bool first = true;
    for (const auto& [key, value] : document.items()) {
      if (!first && !(previous < key)) return where + " (\"" + previous + "\" before \"" + key + "\")";
      previous = key;
      first = false;
      if (auto found = first_unsorted_object(value, where + "." + key); !found.empty()) return found;
    }
  } else if (document.is_array()) {
    for (std::size_t index = 0; index < document.size(); ++index)
      if (auto found = first_unsorted_object(document[index], where + "[" + std::to_string(index) + "]");
          !found.empty())
        return found;
  }
  return "";
}

TEST(ToJson, WritesTheSchemaVersionAndTheToolsName) {
  const nlohmann::json document = to_json(two_design_report());
  ASSERT_TRUE(document.contains("schema_version")) << document.dump(2);
  EXPECT_TRUE(document["schema_version"].is_number_integer());
  EXPECT_EQ(document["schema_version"], schema_version);
  EXPECT_EQ(document["tool"], "faultline");
  EXPECT_EQ(document["version"], "0.1.0");
  EXPECT_EQ(document["command"], "faultline run --seeds 50");
  EXPECT_EQ(document["interrupted"], false);
}

TEST(ToJson, WritesExactlyThePublishedTopLevelKeys) {
  const nlohmann::json document = to_json(two_design_report());
  std::set<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"command", "engine", "interrupted", "results", "schema_version", "tool",
                                         "version"}));
}

TEST(ToJson, WritesKeysInSortedOrderAtEveryDepth) {
  const std::string text = to_json(two_design_report()).dump(2);
  // ordered_json keeps the order of the text, so this reads the order a file has.
  const auto document = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(first_unsorted_object(document, "report"), "") << text;
}

TEST(ToJson, WritesTheSameTextForTheSameResults) {
  EXPECT_EQ(to_json(two_design_report()).dump(2), to_json(two_design_report()).dump(2));

  // The order the maps were filled in does not reach the text.
  results::Report shuffled = two_design_report();
  shuffled.results[1].violations.clear();
  shuffled.results[1].violations["A"] = 0;
  shuffled.results[1].violations["P"] = 0;
  shuffled.results[1].violations["L"] = 0;
  EXPECT_EQ(to_json(shuffled).dump(2), to_json(two_design_report()).dump(2));
}

TEST(ToJson, KeepsEngineFiguresApartFromTheResults) {
  const nlohmann::json document = to_json(two_design_report());
  ASSERT_EQ(document["results"].size(), 2U);
  ASSERT_EQ(document["engine"].size(), 2U);
  for (const auto& result : document["results"]) {
    for (const char* engine_key : {"engine", "events", "simulated_us", "wall_seconds", "events_per_second"})
      EXPECT_FALSE(result.contains(engine_key)) << result["design"] << " carries engine figure " << engine_key;
  }
  const auto& outbox = document["engine"][1];
  EXPECT_EQ(outbox["design"], "outbox-polling");
  EXPECT_EQ(outbox["events"], 119'409U);
  EXPECT_EQ(outbox["simulated_us"], 39'960'000);
  EXPECT_DOUBLE_EQ(outbox["wall_seconds"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(outbox["events_per_second"].get<double>(), 238'818.0);

  // Different wall-clock figures leave the results untouched.
  results::Report slower = two_design_report();
  for (auto& result : slower.results) result.engine.wall_seconds *= 7;
  EXPECT_EQ(to_json(slower)["results"], document["results"]);
  EXPECT_NE(to_json(slower)["engine"], document["engine"]);
}

TEST(ToJson, ReportsZeroEventsPerSecondWhenNoWallTimeWasMeasured) {
  results::Report report = two_design_report();
  report.results[0].engine.wall_seconds = 0;
  const nlohmann::json engine = to_json(report)["engine"][0];
  ASSERT_TRUE(engine["events_per_second"].is_number()) << engine.dump();
  EXPECT_EQ(engine["events_per_second"].get<double>(), 0.0) << "dividing by a zero wall time";
}

TEST(ToJson, NamesEachVerdictHoldsViolatedOrNotClaimed) {
  results::DesignResult result = outbox_result();
  result.claimed = {"L", "P"};
  result.violations = {{"L", 0}, {"P", 3}, {"A", 0}, {"ND", 2}};
  const nlohmann::json verdicts = to_json(result)["verdicts"];
  EXPECT_EQ(verdicts["L"], "holds");
  EXPECT_EQ(verdicts["P"], "violated");
  EXPECT_EQ(verdicts["A"], "not claimed");
  EXPECT_EQ(verdicts["ND"], "violated") << "a violation is reported even when the design does not claim it";
  EXPECT_EQ(verdicts.size(), result.violations.size()) << verdicts.dump();
}

TEST(ToJson, WritesTheDesignResultFields) {
  const nlohmann::json result = to_json(positive_control_result());
  EXPECT_EQ(result["design"], "dual-write-db-first");
  EXPECT_EQ(result["profile"], "default");
  EXPECT_EQ(result["commands"], 100U);
  EXPECT_EQ(result["runs"], 50U);
  EXPECT_EQ(result["seeds"], (nlohmann::json{{"first", 1}, {"last", 50}}));
  EXPECT_TRUE(result["claimed"].is_array());
  EXPECT_TRUE(result["claimed"].empty());
  EXPECT_EQ(result["violations"]["L"], 36U);
  EXPECT_EQ(result["duplicates"], (nlohmann::json{{"runs_with_duplicates", 0},
                                                  {"duplicate_deliveries", 0},
                                                  {"deliveries_per_event", nlohmann::json::array()},
                                                  {"applied_more_than_once", 0}}));
  EXPECT_EQ(result["delivery_lag"]["events"], 0U);
  EXPECT_EQ(result["lost_events"], 593U);
  EXPECT_EQ(result["phantom_events"], 0U);
  EXPECT_TRUE(result["point_coverage"].is_object());
}

TEST(LagDistribution, KeepsTwoSignificantDigitsPerBucket) {
  // Fixed bounds, whatever the data: what lets shards merge by adding counts.
  EXPECT_EQ(results::LagDistribution::bucket_of(0), 0);
  EXPECT_EQ(results::LagDistribution::bucket_of(99), 99);
  EXPECT_EQ(results::LagDistribution::bucket_of(100), 100);
  EXPECT_EQ(results::LagDistribution::bucket_of(109), 100);
  EXPECT_EQ(results::LagDistribution::bucket_of(999), 990);
  EXPECT_EQ(results::LagDistribution::bucket_of(1'234), 1'200);
  EXPECT_EQ(results::LagDistribution::bucket_of(1'234'567), 1'200'000);
  for (const std::int64_t bound : results::lag_histogram_bounds_us)
    EXPECT_EQ(results::LagDistribution::bucket_of(bound), bound) << "a coarse bound must be a bucket bound";
}

TEST(ToJson, WritesTheDeliveryLagPercentilesAndHistogram) {
  // 100 lags: 50 of 0.5 ms, 40 of 3 ms, 9 of 40 ms and one of 1.23 s.
  results::DesignResult result = outbox_result();
  for (int index = 0; index < 50; ++index) result.delivery_lag.add(500);
  for (int index = 0; index < 40; ++index) result.delivery_lag.add(3'000);
  for (int index = 0; index < 9; ++index) result.delivery_lag.add(40'000);
  result.delivery_lag.add(1'234'567);
  const nlohmann::json lag = to_json(result)["delivery_lag"];
  EXPECT_EQ(lag["events"], 100U);
  EXPECT_EQ(lag["p50_us"], 500);
  EXPECT_EQ(lag["p90_us"], 3'000);
  EXPECT_EQ(lag["p99_us"], 40'000);
  EXPECT_EQ(lag["max_us"], 1'234'567) << "the maximum is exact, not a bucket bound";
  EXPECT_EQ(lag["histogram"]["bounds_us"].size() + 1, lag["histogram"]["counts"].size());
  EXPECT_EQ(lag["histogram"]["counts"], (nlohmann::json{50, 0, 40, 0, 0, 9, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(lag["buckets"], (nlohmann::json{{500, 50}, {3'000, 40}, {40'000, 9}, {1'200'000, 1}}));
}

TEST(ToJson, WritesHowManyTimesEventsWereDelivered) {
  results::DesignResult result = outbox_result();
  result.delivery_counts.deliveries = {{1, 90}, {2, 8}, {3, 2}};
  result.delivery_counts.applied_more_than_once = 3;
  const nlohmann::json duplicates = to_json(result)["duplicates"];
  EXPECT_EQ(duplicates["deliveries_per_event"], (nlohmann::json{{1, 90}, {2, 8}, {3, 2}}));
  EXPECT_EQ(duplicates["applied_more_than_once"], 3U);
}

TEST(DeliverySummary, WritesOneLinePerDesignWithItsPercentiles) {
  results::DesignResult result = outbox_result();
  result.delivery_lag.add(2'500);
  result.delivery_counts.deliveries = {{1, 5}, {2, 1}, {4, 2}, {9, 1}};
  const std::string text = delivery_summary({result, positive_control_result()});
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  EXPECT_NE(text.find("outbox-polling"), std::string::npos) << text;
  EXPECT_NE(text.find("p50 2.5"), std::string::npos) << text;
  EXPECT_NE(text.find("delivered 1x 5, 2x 1, 4+x 3;"), std::string::npos) << text;
}

TEST(ToJson, KeepsTheLargestSeedExact) {
  results::DesignResult result = outbox_result();
  result.seed_last = std::numeric_limits<std::uint64_t>::max();
  const nlohmann::json seeds = nlohmann::json::parse(to_json(result).dump())["seeds"];
  ASSERT_TRUE(seeds["last"].is_number_unsigned()) << seeds.dump();
  EXPECT_EQ(seeds["last"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
}

TEST(ToJson, WritesACounterexampleWithItsScenarioAsAnObject) {
  const nlohmann::json examples = to_json(positive_control_result())["counterexamples"];
  ASSERT_EQ(examples.size(), 1U);
  const auto& example = examples[0];
  EXPECT_EQ(example["seed"], 2U);
  EXPECT_EQ(example["invariant"], "L");
  EXPECT_EQ(example["trace_hash"], "4f7deea6c12758d0");
  EXPECT_EQ(example["replay"],
            "faultline replay --design dual-write-db-first --seed 2 --commands 100 --profile default");
  EXPECT_EQ(example["story"], "   106.023 ms  broker: crash (planned)\n");
  ASSERT_TRUE(example["scenario"].is_object()) << "the scenario should be embedded as JSON, not as a string";
  EXPECT_EQ(example["scenario"]["seed"], 2);
}

TEST(ToJson, WritesNullForAScenarioThatIsNotJson) {
  results::DesignResult result = positive_control_result();
  result.counterexamples[0].scenario_json = "{\"design\": ";
  const nlohmann::json example = to_json(result)["counterexamples"][0];
  EXPECT_TRUE(example["scenario"].is_null()) << example.dump();
}

TEST(SummaryTable, NamesEachDesignOnItsOwnLine) {
  const results::Report report = two_design_report();
  const std::string table = summary_table(report.results);
  std::istringstream lines(table);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 1 + report.results.size()) << "expected a header and one line per design:\n" << table;
  EXPECT_EQ(rows[1].rfind("dual-write-db-first", 0), 0U) << table;
  EXPECT_EQ(rows[2].rfind("outbox-polling", 0), 0U) << table;
  EXPECT_NE(rows[1].find("violated: L"), std::string::npos) << table;
  EXPECT_NE(rows[2].find("L,P,A hold"), std::string::npos) << table;
}

TEST(SummaryTable, IsJustTheHeaderForNoResults) {
  const std::string table = summary_table({});
  EXPECT_NE(table.find("design"), std::string::npos) << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 1) << table;
}

}  // namespace
}  // namespace faultline::reports
