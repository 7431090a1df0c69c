// Shrinking a failing scenario to a smaller one that still fails the same way: fewer
// faults and fewer commands, so the counterexample a reader gets is about the bug, not
// about the noise a random seed drew around it.
//
// The RapidCheck suites (suite.h) shrink the scenarios RapidCheck generated, through
// their generators, the same ways. A scenario drawn from a seed (`faultline run`, `faultline hunt`) has
// no generator to shrink through, so it is shrunk here, on the scenario itself.
#pragma once

#include <cstdint>
#include <string>

#include "faultline/models/design.h"
#include "faultline/models/scenario.h"

namespace faultline::properties {

struct ShrinkOutcome {
  models::Scenario scenario;  // the smallest failing scenario reached
  std::uint64_t runs = 0;     // simulations the shrinking ran, the failing ones included
};

// Shrinks `failing`, which must violate `invariant` (asserted), by removing faults (in
// chunks, halving the chunk, as delta debugging does), moving faults earlier (timed ones
// toward time zero, those at a named point toward its first hit) and lowering the command
// count,
// keeping each step that still violates `invariant`, until no step does or `runs_max`
// simulations have run. The seed, the settings and the liveness bound stay as they were;
// the result is a hand-made scenario (its profile is ""), replayed from its JSON. The
// outcome is a pure function of the arguments.
ShrinkOutcome shrink_scenario(const models::Scenario& failing, const models::Design& design,
                              const std::string& invariant, std::uint64_t runs_max = 2'000);

}  // namespace faultline::properties
