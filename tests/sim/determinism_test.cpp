// Checks determinism: a small three-node simulation, with random sleeps, RPCs
// between the nodes, named points and a random fault plan (all drawn from the seed),
// gives the same trace hash every time it runs with the same seed, also when two
// simulations run interleaved in one process (no hidden global state), and also
// when the full trace is captured; different seeds give different hashes, and the
// runs themselves differ, not only the seed folded into the hash: the test folds
// what the nodes observed (times and RPC outcomes) into a second, seed-free hash.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;

struct EchoReply {
  std::uint64_t value = 0;
};
struct Echo {
  using Reply = EchoReply;
  static constexpr std::string_view rpc_name = "test.echo";
  std::uint64_t value = 0;
};

Task<EchoReply> echo(Context& context, Echo request) {
  co_await context.sleep(Duration{context.rng().between(0, 2'000)});
  co_return EchoReply{request.value + 1};
}

// What the nodes saw, folded in the order they saw it; the seed is not part of it.
struct Observations {
  Trace folded;
};

Task<void> worker(Context& context, Observations& observations) {
  for (std::uint64_t round = 0; round < 15; ++round) {
    co_await context.sleep(Duration{context.rng().between(100, 5'000)});
    co_await context.point("worker.before_call");
    const auto node_count = static_cast<NodeId>(context.simulation().node_count());
    const NodeId peer = static_cast<NodeId>(1 + context.rng().below(node_count));
    const RpcResult<EchoReply> result = co_await context.call(peer, Echo{round}, Duration::millis(5));
    observations.folded.fold(context.node());
    observations.folded.fold(static_cast<std::uint64_t>(context.now().ticks));
    observations.folded.fold(to_string(result.status));
    if (result.ok()) observations.folded.fold(result->value);
    context.note("result", to_string(result.status));
  }
}

// One run of the scenario, built from its seed; advanced in slices so that two runs
// can be interleaved.
class Scenario {
 public:
  explicit Scenario(std::uint64_t seed, TraceCapture capture = TraceCapture::hash_only)
      : simulation_(SimulationConfig{.seed = seed, .capture = capture}) {
    for (const char* name : {"n1", "n2", "n3"}) {
      simulation_.add_node(name, [this](Context& context) {
        context.serve<Echo>([&context](Echo request) { return echo(context, request); });
        context.spawn(worker(context, observations_));
        context.spawn(worker(context, observations_));
      });
    }
    Rng plan_rng = Rng(seed).split();
    const PlanTargets targets{
        .nodes = {"n1", "n2", "n3"}, .points = {"worker.before_call"}, .horizon = liveness_at, .point_hits_max = 20};
    simulation_.apply_plan(generate_plan(plan_rng, *find_fault_profile("default"), targets));
    simulation_.start();
  }

  // Runs up to `deadline`, starting the liveness phase when its instant is reached.
  void run_until(Instant deadline) {
    if (!simulation_.in_liveness() && deadline >= liveness_at) {
      simulation_.run_until(liveness_at);
      simulation_.begin_liveness();
    }
    simulation_.run_until(deadline);
  }
  void run_to_end() { run_until(end_at); }

  std::uint64_t trace_hash() const { return simulation_.trace().hash(); }
  std::uint64_t observed_hash() const { return observations_.folded.hash(); }
  const Simulation& simulation() const { return simulation_; }

  static constexpr Instant liveness_at = at_millis(200);
  static constexpr Instant end_at = at_millis(1000);

 private:
  Observations observations_;
  Simulation simulation_;
};

TEST(Determinism, TheSameSeedGivesTheSameTraceHash) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Scenario first(seed);
    first.run_to_end();
    Scenario second(seed);
    second.run_to_end();
    EXPECT_EQ(hash_hex(first.trace_hash()), hash_hex(second.trace_hash())) << "seed " << seed;
    EXPECT_EQ(first.observed_hash(), second.observed_hash()) << "seed " << seed;
    EXPECT_GT(first.simulation().events_run(), 100U) << "seed " << seed << ": the scenario did almost nothing";
  }
}

TEST(Determinism, TwoSimulationsRunningInterleavedGiveTheSameHashesAsAlone) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Scenario alone_a(seed);
    alone_a.run_to_end();
    Scenario alone_b(seed + 100);
    alone_b.run_to_end();

    Scenario a(seed);
    Scenario b(seed + 100);
    for (Instant slice = at_millis(1); slice <= Scenario::end_at; slice = slice + Duration::millis(1)) {
      a.run_until(slice);
      b.run_until(slice);
    }
    EXPECT_EQ(a.trace_hash(), alone_a.trace_hash()) << "seed " << seed;
    EXPECT_EQ(b.trace_hash(), alone_b.trace_hash()) << "seed " << seed + 100;
  }
}

TEST(Determinism, CapturingTheFullTraceDoesNotChangeTheHash) {
  Scenario hashed(7);
  hashed.run_to_end();
  Scenario captured(7, TraceCapture::full);
  captured.run_to_end();
  EXPECT_EQ(captured.trace_hash(), hashed.trace_hash());
  const std::vector<TraceRecord>& records = captured.simulation().trace().records();
  EXPECT_GT(records.size(), 100U);
  EXPECT_TRUE(hashed.simulation().trace().records().empty()) << "a hash-only run kept records";
  const std::string lines = captured.simulation().trace().json_lines();
  EXPECT_EQ(static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n')), records.size());
}

TEST(Determinism, DifferentSeedsGiveDifferentTraces) {
  constexpr std::uint64_t seeds = 200;
  std::set<std::uint64_t> trace_hashes;
  std::set<std::uint64_t> observed_hashes;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    Scenario scenario(seed);
    scenario.run_to_end();
    trace_hashes.insert(scenario.trace_hash());
    observed_hashes.insert(scenario.observed_hash());
  }
  EXPECT_EQ(trace_hashes.size(), seeds);
  EXPECT_EQ(observed_hashes.size(), seeds) << "different seeds ran the same scenario";
}

}  // namespace
}  // namespace faultline::sim
