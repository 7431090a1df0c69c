// Shards of one sweep (`faultline run --shard I/N` on several machines) and their merge
// into the report one machine would have written for the whole sweep (`faultline merge`).
//
// A sweep of S seeds splits into N contiguous seed ranges, the first S mod N of them one
// seed longer. Every figure of a result is a sum over runs, and the counterexamples are
// the first few per invariant in seed order, so the merge adds the shards' figures and
// keeps, per invariant, the first few of the shards' counterexamples taken in seed order:
// the same ones a single machine keeps. The merged `results` are byte-identical to the
// single machine's; the merged `engine` figures are the shards' sums (wall time included).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "faultline/reports/result.h"

namespace faultline::reports {

struct SeedRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

// The seeds of shard `index` (1..count) of a sweep of `seeds` seeds starting at `seed_first`.
// Requires 1 <= index <= count <= seeds.
SeedRange shard_seeds(std::uint64_t seed_first, std::uint64_t seeds, std::uint64_t index, std::uint64_t count);

// The command one machine would run for the whole sweep, from a shard's command: without
// its `--shard I/N` (or `--shard=I/N`), and writing `report_path` (its `--report` replaced,
// or added).
std::string whole_sweep_command(const std::string& shard_command, const std::string& report_path);

// A shard's report and the file it came from (named in errors).
struct ShardReport {
  std::string path;
  results::Report report;
};

// Why shards cannot be merged, in one line naming the files.
class MergeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Merges the complete set of shards of one sweep, given in any order, into the report to
// be written at `report_path`. Its `command` is whole_sweep_command of shard 1's: run on one
// machine, it writes the same report (apart from the wall-clock figures). Throws
// MergeError when a report is not a shard, a shard was interrupted, the shards come from
// different sweeps (designs, profile, commands, seeds, faultline version), or their seed
// ranges overlap or leave a gap (a shard missing or given twice).
results::Report merge_shards(const std::vector<ShardReport>& shards, const std::string& report_path);

}  // namespace faultline::reports
