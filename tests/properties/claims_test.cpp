// The property suites. Goal: every registered design keeps the invariants it claims
// on every generated scenario, and every positive control (a design known to be
// broken) is caught within a stated budget, with a small shrunk counterexample.
// Method: RapidCheck generates scenarios (workload size, seed, fault plan) and shrinks
// failures; a failure saves its scenario JSON and prints the replay command.
// RC_PARAMS works as usual (a printed "reproduce" string replays the case), and
// FAULTLINE_SUITE_SCALE multiplies the number of cases for nightly runs.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "faultline/properties/generators.h"
#include "suite_support.h"

namespace faultline {
namespace {

const models::DesignRegistry& designs() {
  return testing::builtin_registry();
}

rc::detail::TestParams scaled_params(int cases) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases * testing::suite_scale();
  return params;
}

class EveryDesign : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryDesign, KeepsTheInvariantsItClaimsUnderGeneratedFaults) {
  const models::Design& design = *designs().find(GetParam());
  ASSERT_FALSE(design.claims().empty()) << design.name() << ": instantiated only over designs that claim";
  rc::detail::TestMetadata metadata{.id = "EveryDesign/" + design.name(), .description = design.name()};
  const auto result = rc::detail::checkTestable(
      [&design] {
        const auto scenario = *properties::gen::scenario(design);
        testing::check_claims(design, scenario);
      },
      metadata, scaled_params(150));
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    FAIL() << message.str();
  }
}

// Each suite runs over its own designs: the claiming ones, and the positive controls.
using testing::claiming_designs;
using testing::positive_controls;

// Each suite runs over its own designs, so a design that neither claims an invariant
// nor names the one it must be caught violating would be checked by neither.
TEST(EveryRegisteredDesign, EitherClaimsInvariantsOrIsAPositiveControl) {
  for (const auto& design : designs().all())
    EXPECT_NE(design->claims().empty(), design->expected_violation().empty())
        << design->name() << " must either claim invariants or name the violation it must be caught in, not "
        << (design->claims().empty() ? "neither" : "both");
}

INSTANTIATE_TEST_SUITE_P(Designs, EveryDesign, ::testing::ValuesIn(claiming_designs()), testing::test_name_of_param);

// The budget within which a positive control must be caught, in generated cases.
constexpr int catch_budget_cases = 1'000;
// The bound on the shrunk counterexample: faults and commands. Single-fault bugs
// shrink to one command and one fault; races between concurrent commands (a relay's
// cleanup, concurrent sends) need a few commands and no fault at all.
constexpr std::size_t shrunk_faults_max = 2;
constexpr std::uint32_t shrunk_commands_max = 8;

class EveryPositiveControl : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPositiveControl, IsCaughtWithinTheBudgetAndShrinksToASmallCounterexample) {
  const models::Design& design = *designs().find(GetParam());
  const std::string expected = design.expected_violation();
  ASSERT_FALSE(expected.empty()) << design.name() << ": instantiated only over positive controls";

  // The last failing case RapidCheck evaluates is the fully shrunk one.
  models::Scenario shrunk;
  int failing_cases = 0;
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = catch_budget_cases;
  params.seed = 0x5eed;  // a fixed search, so the budget is a reproducible figure
  rc::detail::TestMetadata metadata{.id = "PositiveControl/" + design.name(), .description = design.name()};
  const auto result = rc::detail::checkTestable(
      [&] {
        const auto scenario = *properties::gen::scenario(design);
        const auto verdict = properties::run_once(scenario, design);
        if (verdict.checks.violated(expected)) {
          shrunk = scenario;
          ++failing_cases;
          RC_FAIL(expected + " violated, as expected of a positive control");
        }
      },
      metadata, params);

  ASSERT_TRUE(result.template is<rc::detail::FailureResult>())
      << design.name() << " was not caught violating " << expected << " within " << catch_budget_cases << " cases";
  const auto failure = result.template get<rc::detail::FailureResult>();
  EXPECT_LT(failure.numSuccess, catch_budget_cases);
  EXPECT_GT(failing_cases, 0);
  EXPECT_LE(shrunk.plan.faults.size(), shrunk_faults_max) << properties::scenario_to_json(shrunk);
  EXPECT_LE(shrunk.workload.commands, shrunk_commands_max) << properties::scenario_to_json(shrunk);
  // The shrunk scenario still fails when replayed on its own: it is a real counterexample.
  EXPECT_TRUE(properties::run_once(shrunk, design).checks.violated(expected));
  std::cout << design.name() << ": caught after " << failure.numSuccess << " passing cases; shrunk to "
            << shrunk.workload.commands << " command(s) and " << shrunk.plan.faults.size() << " fault(s):\n"
            << properties::story(shrunk, design, properties::run_once(shrunk, design).checks)
            << "replay: " << testing::save_counterexample(shrunk) << "\n";
}

INSTANTIATE_TEST_SUITE_P(Designs, EveryPositiveControl, ::testing::ValuesIn(positive_controls()),
                         testing::test_name_of_param);

}  // namespace
}  // namespace faultline
