// The property suites faultline runs on its built-in designs, run on ours. Goal: the
// invariants dual-write-with-retries claims (P, A) hold on every generated scenario,
// and the loss it is known for (L) is caught within a stated budget and shrunk to a
// small counterexample. Method: faultline/properties/suite.h (RapidCheck scenarios
// with fault plans aimed at the design's named points, shrunk on failure).
#include "dual_write_with_retries.h"

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "faultline/properties/scenario_json.h"
#include "faultline/properties/suite.h"

namespace {

// Generated cases for the claim check, and the budget for catching the loss.
constexpr int claim_cases = 100;
constexpr int catch_budget_cases = 200;
// The bound on the shrunk counterexample: faults and commands.
constexpr std::size_t shrunk_faults_max = 2;
constexpr std::uint32_t shrunk_commands_max = 3;  // RapidCheck reaches 3 with the three commands issued after the heal

TEST(DualWriteWithRetries, NeverPublishesAPhantomEventNorAcknowledgesAnUncommittedOrder) {
  const auto design = my_designs::make_dual_write_with_retries();
  std::string failure;
  EXPECT_TRUE(faultline::properties::check_claims_hold(*design, claim_cases, &failure)) << failure;
}

TEST(DualWriteWithRetries, IsCaughtLosingAnEventDespiteItsRetries) {
  const auto design = my_designs::make_dual_write_with_retries();
  faultline::properties::CaughtViolation caught;
  std::string failure;
  ASSERT_TRUE(faultline::properties::positive_control_is_caught(*design, catch_budget_cases, &caught, &failure))
      << failure;
  EXPECT_LE(caught.shrunk.plan.faults.size(), shrunk_faults_max)
      << faultline::properties::scenario_to_json(caught.shrunk);
  EXPECT_LE(caught.shrunk.workload.commands, shrunk_commands_max)
      << faultline::properties::scenario_to_json(caught.shrunk);
  std::cout << design->name() << ": caught after " << caught.passing_cases << " passing cases; shrunk to "
            << caught.shrunk.workload.commands << " command(s) and " << caught.shrunk.plan.faults.size()
            << " fault(s):\n"
            << caught.story << "scenario: " << faultline::properties::scenario_to_json(caught.shrunk) << "\n";
}

}  // namespace
