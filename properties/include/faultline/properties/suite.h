// The property suites as a library, so a user's own design gets the same checks as
// the built-in ones (tests/properties/claims_test.cpp runs these on every built-in):
//
//   std::string failure;
//   EXPECT_TRUE(faultline::properties::check_claims_hold(design, 100, &failure)) << failure;
//   EXPECT_TRUE(faultline::properties::positive_control_is_caught(design, 200, nullptr, &failure)) << failure;
//
// Method: RapidCheck generates scenarios (workload size, seed, fault plan aimed at the
// design's nodes and named points), runs each in the simulator and judges it; a failure
// is shrunk to fewer faults and commands. RC_PARAMS works as usual: a failing claim
// check prints a "reproduce" string at exit that replays the same case.
//
// Header-only, like generators.h: only the test that includes it links RapidCheck.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/detail/TestListenerAdapter.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <unordered_map>

#include "faultline/models/design.h"
#include "faultline/models/scenario.h"
#include "faultline/properties/generators.h"
#include "faultline/properties/runner.h"
#include "faultline/properties/scenario_json.h"

namespace faultline::properties {

// The RapidCheck seed of the positive-control search. It is fixed so that "caught
// within N cases" is a reproducible figure rather than a matter of luck.
inline constexpr std::uint64_t positive_control_search_seed = 0x5eed;

// What catching a positive control left behind.
struct CaughtViolation {
  models::Scenario shrunk;  // the smallest failing scenario the shrinking reached
  int passing_cases = 0;    // generated cases that passed before the first failing one
  std::string story;        // what happened in the shrunk scenario, from its named points
};

namespace suite_detail {

inline std::string describe(const rc::detail::TestResult& result) {
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  return message.str();
}

inline void set_message(std::string* destination, std::string text) {
  if (destination != nullptr) *destination = std::move(text);
}

}  // namespace suite_detail

// True when every invariant the design claims holds on `cases` generated scenarios.
// Otherwise false, with the shrunk counterexample (its explanation and its scenario as
// JSON, which `<your faultline command> replay --scenario FILE` replays) in
// *failure_message. A design that claims nothing trivially passes.
inline bool check_claims_hold(const models::Design& design, int cases, std::string* failure_message = nullptr,
                              gen::ScenarioBounds bounds = {}) {
  suite_detail::set_message(failure_message, "");
  if (design.claims().empty()) return true;

  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  const rc::detail::TestMetadata metadata{.id = "ClaimsHold/" + design.name(), .description = design.name()};
  const auto result = rc::detail::checkTestable(
      [&design, bounds] {
        const models::Scenario scenario = *gen::scenario(design, bounds);
        const RunVerdict verdict = run_once(scenario, design);
        if (const Violation* violation = verdict.failed_claim(design)) {
          RC_FAIL(design.name() + " violated its claimed invariant " + violation->invariant + ": " +
                  violation->explanation +
                  "\nscenario (save it and run `replay --scenario FILE`): " + scenario_to_json(scenario));
        }
      },
      metadata, params);
  if (result.template is<rc::detail::SuccessResult>()) return true;
  suite_detail::set_message(failure_message, suite_detail::describe(result));
  return false;
}

// True when the design, a positive control, is caught violating its
// expected_violation() within `budget_cases` generated scenarios, and the shrunk
// counterexample still violates it when replayed on its own. Then *caught (if given)
// holds the shrunk scenario and its story. Otherwise false, with the reason in
// *failure_message. A design without an expected violation is not a positive control:
// false, and the message says so.
inline bool positive_control_is_caught(const models::Design& design, int budget_cases,
                                       CaughtViolation* caught = nullptr, std::string* failure_message = nullptr,
                                       gen::ScenarioBounds bounds = {}) {
  suite_detail::set_message(failure_message, "");
  const std::string expected = design.expected_violation();
  if (expected.empty()) {
    suite_detail::set_message(failure_message,
                              design.name() + " is not a positive control: its expected_violation() is empty");
    return false;
  }

  // RapidCheck evaluates the fully shrunk case last, so the last failing scenario seen
  // is the minimal one.
  models::Scenario shrunk;
  bool failed_once = false;
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = budget_cases;
  params.seed = positive_control_search_seed;
  const rc::detail::TestMetadata metadata{.id = "PositiveControl/" + design.name(), .description = design.name()};
  // The failure found here is the expected outcome, so it is kept away from
  // RapidCheck's global listener (which would report it at exit as a failure to
  // reproduce), and the search ignores RC_PARAMS="reproduce=...", which is for the
  // claim checks.
  rc::detail::TestListenerAdapter quiet_listener;
  // The map type RapidCheck's checkTestable takes; empty, only looked up, never iterated.
  const std::unordered_map<std::string, rc::detail::Reproduce> no_reproduce;
  const auto result = rc::detail::checkTestable(
      [&] {
        const models::Scenario scenario = *gen::scenario(design, bounds);
        if (run_once(scenario, design).checks.violated(expected)) {
          shrunk = scenario;
          failed_once = true;
          RC_FAIL(expected + " violated, as expected of a positive control");
        }
      },
      metadata, params, quiet_listener, no_reproduce);

  if (!result.template is<rc::detail::FailureResult>() || !failed_once) {
    suite_detail::set_message(failure_message, design.name() + " was not caught violating " + expected + " within " +
                                                   std::to_string(budget_cases) +
                                                   " cases: " + suite_detail::describe(result));
    return false;
  }
  const RunVerdict replayed = run_once(shrunk, design);
  if (!replayed.checks.violated(expected)) {
    suite_detail::set_message(failure_message,
                              design.name() + ": the shrunk scenario no longer violates " + expected +
                                  " when replayed on its own (nondeterminism?): " + scenario_to_json(shrunk));
    return false;
  }
  if (caught != nullptr) {
    caught->passing_cases = result.template get<rc::detail::FailureResult>().numSuccess;
    caught->story = story(shrunk, design, replayed.checks);
    caught->shrunk = std::move(shrunk);
  }
  return true;
}

}  // namespace faultline::properties
