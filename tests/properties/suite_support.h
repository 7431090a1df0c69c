// Shared by the property suites: run a generated scenario, and on a violated claim
// save the scenario as JSON and say how to replay it.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"

namespace faultline::testing {

// Suites are sized for CI; FAULTLINE_SUITE_SCALE=N runs N times as many cases (nightly).
inline int suite_scale() {
  const char* text = std::getenv("FAULTLINE_SUITE_SCALE");
  if (text == nullptr) return 1;
  const int scale = std::atoi(text);
  return scale > 0 ? scale : 1;
}

// A design's name as a GoogleTest parameter name (letters, digits and underscores).
inline std::string test_name_of(std::string design_name) {
  for (char& c : design_name)
    if (c == '-') c = '_';
  return design_name;
}

// The same, for INSTANTIATE_TEST_SUITE_P's name generator.
inline std::string test_name_of_param(const ::testing::TestParamInfo<std::string>& info) {
  return test_name_of(info.param);
}

// The built-in designs, built once for every suite of a test binary.
inline const models::DesignRegistry& builtin_registry() {
  static const models::DesignRegistry registry = models::builtin_designs();
  return registry;
}

// The built-in designs that claim an invariant, and the positive controls (the designs
// that name the invariant they must be caught violating), in registration order.
inline std::vector<std::string> claiming_designs() {
  std::vector<std::string> names;
  for (const auto& design : builtin_registry().all())
    if (!design->claims().empty()) names.push_back(design->name());
  return names;
}
inline std::vector<std::string> positive_controls() {
  std::vector<std::string> names;
  for (const auto& design : builtin_registry().all())
    if (!design->expected_violation().empty()) names.push_back(design->name());
  return names;
}

// Writes the scenario where a reader will find it, and returns the replay command.
inline std::string save_counterexample(const models::Scenario& scenario) {
  const std::string path = "counterexample-" + scenario.design + ".json";
  std::ofstream(path) << properties::scenario_to_json(scenario) << "\n";
  return "faultline replay --scenario " + path + "  (in " + std::string(std::getenv("PWD") ? std::getenv("PWD") : ".") +
         ")";
}

// The property every design owes: the invariants it claims hold on this scenario.
inline void check_claims(const models::Design& design, const models::Scenario& scenario) {
  const properties::RunVerdict verdict = properties::run_once(scenario, design);
  if (const properties::Violation* violation = verdict.failed_claim(design)) {
    const std::string replay = save_counterexample(scenario);
    RC_FAIL(design.name() + " violated " + violation->invariant + ": " + violation->explanation +
            "\nreplay: " + replay + "\nscenario: " + properties::scenario_to_json(scenario));
  }
}

}  // namespace faultline::testing
