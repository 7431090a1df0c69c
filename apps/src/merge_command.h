// `faultline merge OUT SHARD...`: combines the reports of the shards of one sweep
// (`faultline run --shard I/N`) into the report one machine would have written for the
// whole sweep, prints its summary, and judges it as `faultline run` would.
#pragma once

#include <string>
#include <vector>

namespace faultline::app {

struct MergeCommandOptions {
  std::string out;
  std::vector<std::string> shards;
};

// Returns the exit code: 0 every expectation held; 1 an expectation failed; 2 bad input (a
// file unreadable or not a valid report, shards that are not the complete set of one sweep:
// one line on stderr, nothing written).
int run_merge_command(const MergeCommandOptions& options);

}  // namespace faultline::app
