// Golden trace hashes: a run is a pure function of (scenario, code version), the same in
// every build type. Goal: a change of behaviour, or a difference between Release and the
// sanitizer build, fails CI by name. Method: docs/figures/golden-trace-hashes.txt (written
// by `scripts/figures golden` from the faultline command's replays) pins the trace hash of
// one scenario per design family; this test reruns each scenario in-process and compares.
// The release and asan suites both run it, so both builds must agree with the file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "faultline/properties/runner.h"
#include "faultline/sim/faults.h"
#include "faultline/sim/trace.h"

namespace faultline {
namespace {

// One line of the file: "DESIGN seed S commands N profile P trace-hash H".
struct GoldenScenario {
  std::string design;
  std::uint64_t seed = 0;
  std::uint32_t commands = 0;
  std::string profile;
  std::string trace_hash;
  std::string line;
};

std::vector<GoldenScenario> read_golden_file(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path << "; `scripts/figures golden` writes it";
  std::vector<GoldenScenario> scenarios;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line.front() == '#') continue;  // the header says what wrote the file
    std::istringstream words(line);
    GoldenScenario scenario{.line = line};
    std::string seed_word, commands_word, profile_word, hash_word;
    words >> scenario.design >> seed_word >> scenario.seed >> commands_word >> scenario.commands >> profile_word >>
        scenario.profile >> hash_word >> scenario.trace_hash;
    EXPECT_FALSE(words.fail()) << path << ": unreadable line: " << line;
    EXPECT_EQ(seed_word, "seed") << line;
    EXPECT_EQ(commands_word, "commands") << line;
    EXPECT_EQ(profile_word, "profile") << line;
    EXPECT_EQ(hash_word, "trace-hash") << line;
    if (!words.fail()) scenarios.push_back(scenario);
  }
  return scenarios;
}

TEST(GoldenTraceHashes, EachPinnedScenarioHashesAsTheFileSays) {
  const std::string path = FAULTLINE_GOLDEN_TRACE_HASHES;
  const auto scenarios = read_golden_file(path);
  // One scenario per design family (dual write, outbox, event sourcing) at least.
  ASSERT_GE(scenarios.size(), 3U) << path << " pins fewer scenarios than the design families";

  const models::DesignRegistry designs = models::builtin_designs();
  for (const auto& golden : scenarios) {
    const models::Design* design = designs.find(golden.design);
    ASSERT_NE(design, nullptr) << path << ": no design named " << golden.design;
    const sim::FaultProfile* profile = sim::find_fault_profile(golden.profile);
    ASSERT_NE(profile, nullptr) << path << ": no fault profile named " << golden.profile;
    const auto scenario =
        models::scenario_for_seed(*design, golden.seed, models::Workload{.commands = golden.commands}, *profile);
    const std::string actual = sim::hash_hex(properties::run_once(scenario, *design).trace_hash);
    EXPECT_EQ(actual, golden.trace_hash)
        << golden.design << " seed " << golden.seed << " (" << golden.commands << " commands, profile "
        << golden.profile << "): the file pins trace hash " << golden.trace_hash << ", this build gives " << actual
        << ".\nIf the change of behaviour is intended, regenerate with `scripts/figures golden` and commit "
        << "docs/figures/golden-trace-hashes.txt (and `scripts/figures` for the README's figures); if not, this "
        << "build runs the scenario differently from the one that wrote the file (replay: faultline replay --design "
        << golden.design << " --seed " << golden.seed << " --commands " << golden.commands << " --profile "
        << golden.profile << ").";
  }
}

}  // namespace
}  // namespace faultline
