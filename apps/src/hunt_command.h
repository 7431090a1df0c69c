// `faultline hunt`: for each design, many independent seed searches until the first
// failure (properties/hunt.h); prints one table row per design (the invariants claimed or
// the violation expected, the verdict, the seeds to first failure over the searches, the
// size of the shrunk counterexample) and optionally writes the table as JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "faultline/models/design.h"

namespace faultline::app {

struct HuntCommandOptions {
  std::vector<std::string> designs;
  std::uint32_t searches = 20;
  std::uint64_t seeds_max = 10'000;
  std::uint32_t commands = 100;
  std::string profile = "default";
  std::size_t jobs = 1;  // threads that run searches; the table is the same for any value
  std::string json;      // where to write the table as JSON ("": nowhere)
};

// `designs` are already looked up and validated, as is the profile. Returns the exit
// code: 0 every expectation held; 1 a claimed invariant violated, a positive control not
// caught by every search, or the hunt interrupted; 2 bad input (one line on stderr,
// nothing written).
int run_hunt_command(const HuntCommandOptions& options, const std::vector<const models::Design*>& designs,
                     const std::string& invocation);

}  // namespace faultline::app
