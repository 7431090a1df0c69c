// `faultline run`: sweep seeds for each design on one or more threads (--jobs), or one
// shard of the sweep (--shard I/N), print a summary, write the JSON report; stop cleanly on
// SIGINT or SIGTERM; optionally rerun a sample of seeds to check determinism.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/reports/result.h"

namespace faultline::app {

struct SweepCommandOptions {
  std::vector<std::string> designs;
  std::uint64_t seeds = 1'000;
  std::uint64_t seed_start = 1;
  std::uint32_t commands = 100;
  std::string profile = "default";
  std::string report = "faultline-report.json";
  // Threads that run seeds. 1 by default, so a sweep's wall time is comparable from
  // machine to machine; the results are the same for any value.
  std::size_t jobs = 1;
  std::string shard;               // "I/N": run the I-th of N contiguous slices of the seeds ("": all)
  bool check_determinism = false;  // rerun every 20th seed and compare trace hashes
};

// `designs` are the designs to sweep, already looked up and validated, as are the profile
// and the seed range. Returns the exit code: 0 every expectation held; 1 an expectation
// failed, or the sweep was interrupted (the report holds the runs that finished); 2 bad
// input (one line on stderr, nothing written); 3 nondeterminism (one line on stderr).
int run_sweep_command(const SweepCommandOptions& options, const std::vector<const models::Design*>& designs,
                      const std::string& invocation);

// Judges a sweep's results as the exit code does: a note for each failed expectation (a
// claimed invariant violated, a positive control not caught) and for each design's first
// counterexample, with its replay command. Returns true when every expectation held.
bool judge_expectations(const std::vector<results::DesignResult>& results, std::vector<std::string>& notes);

}  // namespace faultline::app
