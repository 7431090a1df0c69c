// The result types: what a sweep produced, as plain data. The properties layer fills
// them in; the reports layer renders them (JSON, tables, timelines) and knows nothing
// else of faultline.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline::results {

// The invariants, by their ids in the design document.
inline constexpr const char* invariant_ids[] = {"L", "P", "A", "ALO", "ND", "EO", "O", "E", "V"};

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
