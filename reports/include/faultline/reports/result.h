// The result types: what a sweep produced, as plain data. The properties layer fills
// them in; the reports layer renders them (JSON, tables, timelines) and knows nothing
// else of faultline.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline::results {

// The invariants, by their ids in the design document.
inline constexpr const char* invariant_ids[] = {"L", "P", "A", "ALO", "ND", "EO", "O", "E", "V", "W"};

enum class Verdict { holds, violated, not_claimed };

struct Counterexample {
  std::uint64_t seed = 0;
  std::string invariant;      // the invariant it violates, e.g. "L"
  std::string explanation;    // what the checker found: "order 7 committed; event order-7 never applied"
  std::string story;          // the faults and named points that led there, one step per line
  std::string trace_hash;     // 16 hex digits
  std::string replay;         // the command line that reruns it
  std::string scenario_json;  // the scenario, serialised, so it can be replayed without the seed's generator
};

// The delivery lag of events to consumer groups: for each event and group, the simulated
// time from the durable commit of its change to the first durable application of its
// event, in microseconds. Kept as counts per fine bucket with fixed bounds (two
// significant decimal digits: every value below 100 us is its own bucket, then 100, 110,
// ..., 990, 1000, 1100, ... us), so shards merge exactly by adding counts, and the
// percentiles and the coarse histogram a report prints are derived from these buckets
// (merged or not, the same numbers). A percentile is the lower bound of the bucket
// holding its nearest-rank value: the exact value lies within 10% above it.
struct LagDistribution {
  std::map<std::int64_t, std::uint64_t> buckets;  // bucket lower bound (us) -> events
  std::int64_t max_us = 0;                        // exact

  static std::int64_t bucket_of(std::int64_t lag_us) {
    if (lag_us < 100) return lag_us < 0 ? 0 : lag_us;
    std::int64_t scale = 1;
    while (lag_us / scale >= 100) scale *= 10;
    return lag_us / scale * scale;
  }
  void add(std::int64_t lag_us) {
    ++buckets[bucket_of(lag_us)];
    if (lag_us > max_us) max_us = lag_us;
  }
  std::uint64_t events() const {
    std::uint64_t total = 0;
    for (const auto& [floor_us, count] : buckets) total += count;
    return total;
  }
  // Nearest rank: the smallest bucket holding at least per_mille/1000 of the events.
  std::int64_t percentile_us(std::uint64_t per_mille) const {
    const std::uint64_t total = events();
    if (total == 0) return 0;
    const std::uint64_t rank = std::max<std::uint64_t>(1, (per_mille * total + 999) / 1000);
    std::uint64_t seen = 0;
    for (const auto& [floor_us, count] : buckets) {
      seen += count;
      if (seen >= rank) return floor_us;
    }
    return max_us;
  }
};

// The coarse histogram of delivery lags a report shows: events below each bound, above
// the previous one; the last count holds everything from the last bound up. The bounds
// are bucket bounds of LagDistribution, so the coarse counts follow from the fine ones.
inline constexpr std::int64_t lag_histogram_bounds_us[] = {1'000,   2'000,   5'000,   10'000,    20'000,    50'000,
                                                           100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000};

// How often each event reached each consumer group: deliveries (every record a consumer
// handed to its apply step, inbox drops included) per event and group, and how many
// events a group applied more than once, summed over runs.
struct DuplicateDistribution {
  std::map<std::uint64_t, std::uint64_t> deliveries;  // deliveries of one event to one group -> (event, group) pairs
  std::uint64_t applied_more_than_once = 0;           // (event, group) pairs applied twice or more
};

// How much work the runs did, summed over them: a verdict of "holds" over runs that
// acknowledged nothing would be vacuous, so the report says how much was done.
struct WorkloadFigures {
  std::uint64_t commands = 0;      // issued by the client (the workload's and those after the heal)
  std::uint64_t acknowledged = 0;  // answered ok
  std::uint64_t failed = 0;        // answered failed, or refused
  std::uint64_t unknown = 0;       // no answer within the client's timeout
  std::uint64_t committed = 0;     // changes durably committed in the database
  std::uint64_t appended = 0;      // events durably in the broker (each counted once)
  std::uint64_t applied = 0;       // (event, group) pairs durably applied by a consumer group

  WorkloadFigures& operator+=(const WorkloadFigures& other) {
    commands += other.commands;
    acknowledged += other.acknowledged;
    failed += other.failed;
    unknown += other.unknown;
    committed += other.committed;
    appended += other.appended;
    applied += other.applied;
    return *this;
  }
  bool operator==(const WorkloadFigures&) const = default;
};

// Simulated-engine figures, kept apart from the deterministic part of a report.
struct EngineFigures {
  std::uint64_t events = 0;
  std::int64_t simulated_us = 0;
  double wall_seconds = 0;
};

// One design under one fault profile, over a range of seeds.
struct DesignResult {
  std::string design;
  std::string profile;
  std::uint64_t commands = 0;  // workload size per run
  std::uint64_t runs = 0;
  std::uint64_t seed_first = 0;
  std::uint64_t seed_last = 0;
  std::vector<std::string> claimed;                 // invariant ids the design guarantees
  std::string expected_violation;                   // a positive control: the invariant it must be caught violating
  std::map<std::string, std::uint64_t> violations;  // invariant id -> runs that violated it
  std::uint64_t runs_with_duplicates = 0;
  std::uint64_t duplicate_deliveries = 0;
  std::uint64_t lost_events = 0;                        // summed over runs
  std::uint64_t phantom_events = 0;                     // summed over runs
  std::uint64_t late_events = 0;                        // summed over runs: applied after the bound, within 10x
  WorkloadFigures workload;                             // summed over runs
  LagDistribution delivery_lag;                         // over every run's applied events
  DuplicateDistribution delivery_counts;                // over every run's delivered events
  std::map<std::string, std::uint64_t> point_coverage;  // named point -> hits, summed over runs
  std::vector<Counterexample> counterexamples;          // the first few per invariant
  EngineFigures engine;

  Verdict verdict(const std::string& invariant) const {
    const auto found = violations.find(invariant);
    const bool violated = found != violations.end() && found->second > 0;
    if (violated) return Verdict::violated;
    for (const auto& id : claimed)
      if (id == invariant) return Verdict::holds;
    return Verdict::not_claimed;
  }
};

// A report of one slice of a sweep split across machines (`faultline run --shard I/N`):
// enough to check that shards belong together and to merge them into the report of the
// whole sweep (reports/src/merge.cpp).
struct Shard {
  std::uint64_t index = 0;  // 1..count
  std::uint64_t count = 0;
  std::uint64_t sweep_seed_first = 0;  // the whole sweep's seeds, which the shards split into contiguous ranges
  std::uint64_t sweep_seed_last = 0;
  std::uint64_t counterexamples_per_invariant = 0;  // how many the sweep keeps per invariant, in seed order
};

struct Report {
  std::string tool = "faultline";
  std::string version;
  std::string command;  // the command line that produced it
  bool interrupted = false;
  std::vector<DesignResult> results;
  std::optional<Shard> shard;  // only in a shard's report
};

}  // namespace faultline::results
