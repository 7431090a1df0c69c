// `faultline explore`: the systematic search of properties/explore.h as a command.
// It prints the coverage (points reached, crash sites and pairs tried), each failure
// with its story and replay command, and a verdict line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "faultline/models/design.h"

namespace faultline::app {

struct ExploreCommandOptions {
  std::string design;
  std::uint64_t seed = 1;
  std::uint32_t commands = 3;
  std::uint32_t depth = 1;  // 1: single crashes; 2: also ordered pairs
  std::size_t pairs_max = 2'000;
  std::uint32_t hits_per_point_max = std::numeric_limits<std::uint32_t>::max();
  std::string save_counterexamples;  // a folder for the failures' scenario files ("" : none)
};

// Returns the exit code: 0 every expectation held, 1 one failed, 2 bad input (one line
// on stderr, nothing written), 3 nondeterminism (a planned crash did not strike).
int run_explore(const ExploreCommandOptions& options, const models::DesignRegistry& designs);

}  // namespace faultline::app
