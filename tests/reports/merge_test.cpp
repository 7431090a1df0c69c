// Checks reading a report back and merging shards. Goals: a report reads back into the
// same JSON it was written from; a damaged or foreign report is refused in one line that
// names the key; shards split a sweep into contiguous ranges that cover every seed once;
// merged shards give exactly the results of the whole sweep, counterexamples included;
// an incomplete or inconsistent set of shards is refused. Method: build per-seed results
// by hand, fold them the way the sweep does (in seed order, the first few counterexamples
// per invariant), once over the whole range and once per shard, then compare the JSON.
#include "faultline/reports/merge.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faultline/reports/json_report.h"
#include "faultline/reports/report_reader.h"
#include "faultline/reports/result.h"

namespace faultline::reports {
namespace {

using nlohmann::json;

constexpr std::uint64_t examples_kept = 3;

std::string fake_trace_hash(std::uint64_t seed) {
  std::string hash(16, '0');
  for (std::size_t digit = 0; digit < hash.size() && seed > 0; ++digit, seed /= 16)
    hash[hash.size() - 1 - digit] = "0123456789abcdef"[seed % 16];
  return hash;
}

// A stand-in for one run of seed `seed`: which invariants it violates and what it reached.
void fold_run(results::DesignResult& result, std::map<std::string, std::uint64_t>& examples, std::uint64_t seed) {
  ++result.runs;
  result.seed_last = seed;
  result.engine.events += 1'000 + seed;
  result.engine.simulated_us += static_cast<std::int64_t>(10 * seed);
  result.engine.wall_seconds += 0.125;
  result.point_coverage["service.after_commit"] += seed % 5;
  if (seed % 4 == 0) result.point_coverage["relay.after_select"] += 1;
  if (seed % 3 == 0) ++result.runs_with_duplicates, result.duplicate_deliveries += 2;
  // Delivery lags spread over many buckets, and deliveries per event, so a merge that
  // lost or double-counted a shard's distribution would show.
  for (std::uint64_t event = 0; event < 5; ++event)
    result.delivery_lag.add(static_cast<std::int64_t>((seed * 7'919 + event * 104'729) % 2'000'000));
  result.delivery_counts.deliveries[1] += 4;
  result.delivery_counts.deliveries[1 + seed % 3] += 1;
  result.delivery_counts.applied_more_than_once += seed % 2;
  std::vector<std::string> violated;
  if (seed % 2 == 0) violated.push_back("L");
  if (seed % 7 == 0) violated.push_back("EO");
  for (const auto& invariant : violated) {
    ++result.violations[invariant];
    result.lost_events += invariant == "L" ? 1 : 0;
    if (examples[invariant]++ >= examples_kept) continue;
    result.counterexamples.push_back(results::Counterexample{
        .seed = seed,
        .invariant = invariant,
        .explanation = invariant + " at seed " + std::to_string(seed),
        .story = "  story of seed " + std::to_string(seed) + "\n",
        .trace_hash = fake_trace_hash(seed),
        .replay = "faultline replay --design dual-write-db-first --seed " + std::to_string(seed),
        .scenario_json = R"({"design": "dual-write-db-first", "seed": )" + std::to_string(seed) + "}",
    });
  }
}

results::DesignResult fold_seeds(std::uint64_t first, std::uint64_t count) {
  results::DesignResult result;
  result.design = "dual-write-db-first";
  result.profile = "default";
  result.commands = 20;
  result.expected_violation = "L";
  result.seed_first = first;
  result.seed_last = first;
  for (const char* invariant : results::invariant_ids) result.violations[invariant] = 0;
  std::map<std::string, std::uint64_t> examples;
  for (std::uint64_t seed = first; seed < first + count; ++seed) fold_run(result, examples, seed);
  return result;
}

constexpr std::uint64_t sweep_first = 5;
constexpr std::uint64_t sweep_seeds = 40;

std::vector<ShardReport> shards_of_the_sweep(std::uint64_t count) {
  std::vector<ShardReport> shards;
  for (std::uint64_t index = 1; index <= count; ++index) {
    const SeedRange range = shard_seeds(sweep_first, sweep_seeds, index, count);
    results::Report report{.version = "0.1.0",
                           .command = "faultline run --seeds 40 --seed-start 5 --report s" + std::to_string(index) +
                                      ".json --shard " + std::to_string(index) + "/" + std::to_string(count)};
    report.results.push_back(fold_seeds(range.first, range.count));
    report.shard = results::Shard{.index = index,
                                  .count = count,
                                  .sweep_seed_first = sweep_first,
                                  .sweep_seed_last = sweep_first + sweep_seeds - 1,
                                  .counterexamples_per_invariant = examples_kept};
    // Through the file format, as `faultline merge` reads them.
    shards.push_back(ShardReport{.path = "s" + std::to_string(index) + ".json",
                                 .report = report_from_json(to_json(report).dump(2))});
  }
  return shards;
}

TEST(ShardSeeds, SplitsASweepIntoContiguousRangesTheLongerFirst) {
  EXPECT_EQ(shard_seeds(1, 20, 1, 3).first, 1U);
  EXPECT_EQ(shard_seeds(1, 20, 1, 3).count, 7U);
  EXPECT_EQ(shard_seeds(1, 20, 2, 3).first, 8U);
  EXPECT_EQ(shard_seeds(1, 20, 2, 3).count, 7U);
  EXPECT_EQ(shard_seeds(1, 20, 3, 3).first, 15U);
  EXPECT_EQ(shard_seeds(1, 20, 3, 3).count, 6U);
  for (std::uint64_t seeds = 1; seeds <= 30; ++seeds) {
    for (std::uint64_t count = 1; count <= seeds; ++count) {
      std::uint64_t next = 100;
      for (std::uint64_t index = 1; index <= count; ++index) {
        const SeedRange range = shard_seeds(100, seeds, index, count);
        EXPECT_EQ(range.first, next) << "shard " << index << "/" << count << " of " << seeds << " seeds";
        EXPECT_GE(range.count, 1U);
        next = range.first + range.count;
      }
      EXPECT_EQ(next, 100 + seeds) << count << " shards of " << seeds << " seeds";
    }
  }
}

TEST(WholeSweepCommand, DropsTheShardAndNamesTheMergedFile) {
  EXPECT_EQ(whole_sweep_command("faultline run --seeds 9 --report s2.json --shard 2/3", "all.json"),
            "faultline run --seeds 9 --report all.json");
  EXPECT_EQ(whole_sweep_command("faultline run --shard=2/3 --report=s2.json --jobs 2", "all.json"),
            "faultline run --report all.json --jobs 2");
  EXPECT_EQ(whole_sweep_command("faultline run --shard 1/2", "out.json"), "faultline run --report out.json");
}

TEST(ReportFromJson, ReadsBackWhatToJsonWrote) {
  results::Report report{.version = "0.1.0", .command = "faultline run --seeds 40", .interrupted = true};
  report.results.push_back(fold_seeds(1, 40));
  report.shard = results::Shard{
      .index = 2, .count = 3, .sweep_seed_first = 1, .sweep_seed_last = 120, .counterexamples_per_invariant = 3};
  const std::string text = to_json(report).dump(2);
  EXPECT_EQ(to_json(report_from_json(text)).dump(2), text);
}

json deeply_nested(int depth) {
  json value = json::array();
  for (int level = 1; level < depth; ++level) value = json::array({value});
  return value;
}

// Replaces the value at `pointer` in a valid report and returns the error line, or "".
std::string error_after(const std::string& pointer, const json& value) {
  results::Report report{.version = "0.1.0", .command = "faultline run"};
  report.results.push_back(fold_seeds(1, 20));
  json document = to_json(report);
  if (value.is_discarded()) {
    document.at(json::json_pointer(pointer).parent_pointer()).erase(json::json_pointer(pointer).back());
  } else {
    document[json::json_pointer(pointer)] = value;
  }
  try {
    report_from_json(document.dump());
  } catch (const ReportError& error) {
    return error.what();
  }
  return "";
}

TEST(ReportFromJson, RefusesADamagedReportInOneLineNamingTheKey) {
  const json removed = json(json::value_t::discarded);
  const struct {
    std::string pointer;
    json value;
    std::string named;
  } cases[] = {
      {"/schema_version", 1, "schema_version"},
      {"/results/0/delivery_lag/p50_us", 7, "delivery_lag.p50_us"},
      {"/results/0/delivery_lag/events", 1, "delivery_lag.events"},
      {"/results/0/delivery_lag/max_us", 1, "delivery_lag.max_us"},
      {"/results/0/delivery_lag/buckets/0/0", 123, "delivery_lag.buckets"},
      {"/results/0/delivery_lag/histogram/counts/0", 999, "delivery_lag.histogram"},
      {"/results/0/duplicates/deliveries_per_event", json::object(), "deliveries_per_event"},
      {"/results/0/duplicates/deliveries_per_event/0", json::array({0, 3}), "deliveries_per_event"},
      {"/tool", "other", "tool"},
      {"/interrupted", "no", "interrupted"},
      {"/colour", "blue", "colour"},
      {"/results", json::object(), "results"},
      {"/results/0/runs", -1, "runs"},
      {"/results/0/runs", 21, "runs"},
      {"/results/0/runs", 1.5, "runs"},
      {"/results/0/seeds/first", 30, "seeds"},
      {"/results/0/commands", "twenty", "commands"},
      {"/results/0/design", "Not A Name", "design"},
      {"/results/0/violations/L", 999, "violations.L"},
      {"/results/0/violations/lower", 1, "lower"},
      {"/results/0/verdicts/L", "holds", "verdicts.L"},
      {"/results/0/counterexamples/0/trace_hash", "xyz", "trace_hash"},
      {"/results/0/counterexamples/0/seed", 999, "seed"},
      {"/results/0/counterexamples/0/scenario", 7, "scenario"},
      {"/results/0/point_coverage/service.after_commit", -3, "service.after_commit"},
      {"/engine/0/design", "outbox-polling", "engine[0].design"},
      {"/engine/0/wall_seconds", -1, "wall_seconds"},
      {"/results/0/lost_events", removed, "lost_events"},
      // Totals that disagree with the runs that violated their invariant (seeds 1..20:
      // L in 10 runs with 10 lost events, P in none, duplicates in 6 runs, E in none).
      {"/results/0/phantom_events", std::numeric_limits<std::uint64_t>::max(), "phantom_events"},
      {"/results/0/lost_events", 0, "lost_events is 0, but 10 runs violated L"},
      {"/results/0/lost_events", 9, "lost_events is 9, but 10 runs violated L"},
      {"/results/0/late_events", 3, "late_events is 3, but no run violated E"},
      {"/results/0/duplicates/duplicate_deliveries", 0, "duplicate_deliveries"},
      {"/engine", json::array(), "engine"},
      {"/version", "v1", "version"},
      {"/line\nbreak", 1, "unknown key \"line\\nbreak\""},
      {"/results/0/counterexamples/0/scenario", {{"design", deeply_nested(40)}}, "deeper than 32"},
      {"/shard",
       {{"index", 4}, {"count", 3}, {"sweep_seeds", {{"first", 1}, {"last", 9}}}, {"counterexamples_per_invariant", 3}},
       "index"},
  };
  for (const auto& problem : cases) {
    const std::string error = error_after(problem.pointer, problem.value);
    EXPECT_NE(error.find(problem.named), std::string::npos)
        << problem.pointer << " = " << problem.value.dump() << " gave: " << (error.empty() ? "(accepted)" : error);
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(ReportFromJson, RefusesWhatIsNotAReport) {
  for (const std::string& text :
       {std::string(""), std::string("{"), std::string("[1]"), std::string("null"),
        std::string(R"({"tool": "faultline", "tool": "faultline"})"), std::string("{\"a\":\0}", 7),
        std::string(100'000, '[') + std::string(100'000, ']')}) {
    EXPECT_THROW(report_from_json(text), ReportError) << text.substr(0, 40);
  }
}

TEST(MergeShards, GivesTheResultsOfTheWholeSweep) {
  results::Report whole{.version = "0.1.0", .command = "faultline run --seeds 40 --seed-start 5 --report all.json"};
  whole.results.push_back(fold_seeds(sweep_first, sweep_seeds));
  for (std::uint64_t count : {1, 2, 3, 7, 40}) {
    std::vector<ShardReport> shards = shards_of_the_sweep(count);
    std::reverse(shards.begin(), shards.end());  // any order
    const results::Report merged = merge_shards(shards, "all.json");
    EXPECT_EQ(to_json(merged).dump(2), to_json(whole).dump(2)) << count << " shards";
  }
}

std::string merge_error(const std::vector<ShardReport>& shards) {
  try {
    merge_shards(shards, "all.json");
  } catch (const MergeError& error) {
    return error.what();
  }
  return "(merged)";
}

TEST(MergeShards, RefusesAMissingShard) {
  auto shards = shards_of_the_sweep(3);
  shards.erase(shards.begin() + 1);
  EXPECT_EQ(merge_error(shards), "shard 2/3 (seeds 19..31) is missing: the merge needs all 3");
}

TEST(MergeShards, RefusesAShardGivenTwice) {
  auto shards = shards_of_the_sweep(3);
  shards.push_back(shards[0]);
  EXPECT_EQ(merge_error(shards), "s1.json and s1.json are both shard 1/3 (seeds 5..18): the shards overlap");
}

TEST(MergeShards, RefusesShardsOfDifferentSplits) {
  auto shards = shards_of_the_sweep(3);
  shards[1] = shards_of_the_sweep(2)[1];
  EXPECT_NE(merge_error(shards).find("not shards of one sweep: shard 1/3 and shard 2/2"), std::string::npos)
      << merge_error(shards);
}

TEST(MergeShards, RefusesAnInterruptedShard) {
  auto shards = shards_of_the_sweep(2);
  shards[1].report.interrupted = true;
  EXPECT_NE(merge_error(shards).find("s2.json is the report of shard 2/2, which was interrupted"), std::string::npos)
      << merge_error(shards);
}

TEST(MergeShards, RefusesAShardThatIsNotItsSlice) {
  auto shards = shards_of_the_sweep(2);
  shards[1].report.results[0] = fold_seeds(24, 21);
  EXPECT_NE(merge_error(shards).find("s2.json: dual-write-db-first covers seeds 24..44"), std::string::npos)
      << merge_error(shards);
}

TEST(MergeShards, RefusesAReportThatIsNotAShard) {
  auto shards = shards_of_the_sweep(2);
  shards[0].report.shard.reset();
  EXPECT_NE(merge_error(shards).find("s1.json is not a shard's report"), std::string::npos) << merge_error(shards);
}

TEST(MergeShards, RefusesShardsOfDifferentProfiles) {
  auto shards = shards_of_the_sweep(2);
  shards[1].report.results[0].profile = "crashes";
  EXPECT_NE(merge_error(shards).find("fault profiles default and crashes"), std::string::npos) << merge_error(shards);
}

}  // namespace
}  // namespace faultline::reports
