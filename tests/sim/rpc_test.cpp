// Checks the three outcomes of an RPC with a timeout. The server counts the requests
// it applies, so each test can tell "applied" from "not applied" independently of
// what the caller was told: ok (reply received, applied once); refused (callee down,
// or up but not serving the request: certainly not applied); unknown (no reply
// within the timeout: the reply was lost although the request was applied, or the
// server was paused past the timeout and applied the request after the pause, or
// the request could not cross a partition). Latency is fixed at 1 ms, so every
// outcome has an exact instant.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;
using test_support::fixed_latency_config;
using test_support::Increment;
using test_support::IncrementReply;

struct Applied {
  std::uint64_t count = 0;
  std::vector<Instant> at;
};

Task<IncrementReply> apply(Context& context, Applied& applied, Increment request) {
  applied.count += request.by;
  applied.at.push_back(context.now());
  co_return IncrementReply{applied.count};
}

struct Outcome {
  RpcStatus status = RpcStatus::unknown;
  std::optional<std::uint64_t> value;
  Instant at;
};

Task<void> call_once(Context& context, NodeId server, Duration timeout, std::vector<Outcome>& outcomes) {
  const RpcResult<IncrementReply> result = co_await context.call(server, Increment{}, timeout);
  Outcome outcome{.status = result.status, .at = context.now()};
  if (result.ok()) outcome.value = result->value;
  outcomes.push_back(outcome);
}

// A client and a server that serves Increment (unless told not to).
class ClientAndServer {
 public:
  enum class Serving { increments, nothing };

  explicit ClientAndServer(Serving serving = Serving::increments) : simulation(fixed_latency_config()) {
    server = simulation.add_node("server", [this, serving](Context& context) {
      if (serving == Serving::increments)
        context.serve<Increment>([this, &context](Increment request) { return apply(context, applied, request); });
    });
    client = simulation.add_node("client", {});
    simulation.start();
  }

  // Starts a call from the client at the current instant.
  void call(Duration timeout) {
    Context* context = simulation.context(client);
    ASSERT_NE(context, nullptr);
    context->spawn(call_once(*context, server, timeout, outcomes));
  }
  void run_for(Duration length) { simulation.run_until(simulation.now() + length); }

  Simulation simulation;
  NodeId server = 0;
  NodeId client = 0;
  Applied applied;
  std::vector<Outcome> outcomes;
};

TEST(Rpc, AnAnsweredCallCompletesOkWithTheReply) {
  ClientAndServer nodes;
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::ok);
  EXPECT_EQ(nodes.outcomes[0].value, 1U);
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(2)) << "one round trip of 1 ms each way";
  EXPECT_EQ(nodes.applied.count, 1U);
}

TEST(Rpc, AnAnsweredCallLeavesNoTimeoutEventBehind) {
  ClientAndServer nodes;
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::millis(5));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  const std::uint64_t events = nodes.simulation.events_run();
  nodes.run_for(Duration::seconds(1));
  EXPECT_EQ(nodes.simulation.events_run(), events) << "the call's timeout still ran after its reply";
  EXPECT_EQ(nodes.outcomes.size(), 1U);
}

TEST(Rpc, ACallToADownNodeIsRefusedAndNotApplied) {
  ClientAndServer nodes;
  nodes.simulation.crash(nodes.server, "test");
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::refused);
  EXPECT_FALSE(nodes.outcomes[0].value.has_value());
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(2)) << "a refusal takes a round trip, not the timeout";
  EXPECT_EQ(nodes.applied.count, 0U);

  nodes.simulation.restart(nodes.server);
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 2U);
  EXPECT_EQ(nodes.outcomes[1].status, RpcStatus::ok);
  EXPECT_EQ(nodes.applied.count, 1U);
}

TEST(Rpc, ACallToANodeThatDoesNotServeTheRequestIsRefused) {
  ClientAndServer nodes(ClientAndServer::Serving::nothing);
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::refused);
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(2));
}

TEST(Rpc, ALostReplyMakesTheCallUnknownAlthoughTheRequestWasApplied) {
  ClientAndServer nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::lose_responses, .node = "server", .count = 1}, world_node);
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::unknown);
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(100)) << "unknown is only learnt when the timeout expires";
  EXPECT_EQ(nodes.applied.count, 1U) << "the request was applied; only its reply was lost";

  // The fault covered one reply: the next call gets its own.
  nodes.call(Duration::millis(100));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 2U);
  EXPECT_EQ(nodes.outcomes[1].status, RpcStatus::ok);
  EXPECT_EQ(nodes.outcomes[1].value, 2U);
}

TEST(Rpc, ACallToAServerPausedPastTheTimeoutIsUnknownAndAppliedAfterThePause) {
  ClientAndServer nodes;
  nodes.simulation.pause(nodes.server, Duration::millis(50));
  nodes.call(Duration::millis(10));
  nodes.run_for(Duration::millis(20));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::unknown);
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(10));
  EXPECT_EQ(nodes.applied.count, 0U) << "a paused server applied a request";

  nodes.run_for(Duration::seconds(1));
  EXPECT_EQ(nodes.applied.count, 1U) << "the request waiting at the paused server was never applied";
  EXPECT_EQ(nodes.applied.at, std::vector<Instant>{at_millis(50)});
  ASSERT_EQ(nodes.outcomes.size(), 1U) << "the late reply completed the call a second time";
}

TEST(Rpc, ACallThatCannotCrossAPartitionIsUnknownAndNotApplied) {
  ClientAndServer nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::isolate, .node = "server"}, world_node);
  nodes.call(Duration::millis(30));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::unknown);
  EXPECT_EQ(nodes.outcomes[0].at, at_millis(30));
  EXPECT_EQ(nodes.applied.count, 0U);
}

TEST(Rpc, AReplyBlockedByAOneWayPartitionMakesTheCallUnknownAfterItWasApplied) {
  ClientAndServer nodes;
  nodes.simulation.apply_fault(Fault{.kind = FaultKind::one_way, .node = "server", .peer = "client"}, world_node);
  nodes.call(Duration::millis(30));
  nodes.run_for(Duration::seconds(1));
  ASSERT_EQ(nodes.outcomes.size(), 1U);
  EXPECT_EQ(nodes.outcomes[0].status, RpcStatus::unknown);
  EXPECT_EQ(nodes.applied.count, 1U);
}

}  // namespace
}  // namespace faultline::sim
