// Checks crash semantics, the kernel's most important promise: after
// `Simulation::crash`, no code of the old incarnation ever runs again. Each test
// leaves the old incarnation with something pending (a sleep, a plain-callback
// timer, an RPC awaiting its reply, a sync, a server handler), crashes it, restarts
// the node, runs long past every pending instant, and asserts from a log tagged by
// incarnation that nothing of the old incarnation ran, while its volatile objects
// and coroutine frames (seen through destructor logs) were destroyed at the crash.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;
using test_support::fixed_latency_config;
using test_support::Increment;
using test_support::IncrementReply;
using test_support::LifeCounter;
using test_support::LogOnDestroy;
using test_support::records_of;
using test_support::Tracked;

// What ran, tagged with the incarnation that ran it.
struct RunLog {
  std::vector<std::pair<std::uint32_t, std::string>> entries;
  void add(Context& context, std::string what) { entries.emplace_back(context.incarnation(), std::move(what)); }
  int count_of(std::uint32_t incarnation) const {
    int count = 0;
    for (const auto& entry : entries) count += entry.first == incarnation ? 1 : 0;
    return count;
  }
};

// A server whose handler takes `think` before applying the request.
struct CounterServer {
  std::uint64_t applied = 0;
  Duration think = Duration::millis(20);
};

Task<IncrementReply> apply_after_thinking(Context& context, CounterServer& server, Increment request) {
  co_await context.sleep(server.think);
  server.applied += request.by;
  co_return IncrementReply{server.applied};
}

void boot_counter_server(Context& context, CounterServer& server) {
  context.serve<Increment>(
      [&context, &server](Increment request) { return apply_after_thinking(context, server, request); });
}

Task<void> sleep_then_log(Context& context, RunLog& log) {
  co_await context.sleep(Duration::millis(10));
  log.add(context, "after sleep");
}

Task<void> call_then_log(Context& context, RunLog& log, NodeId server) {
  const RpcResult<IncrementReply> result = co_await context.call(server, Increment{}, Duration::seconds(1));
  log.add(context, std::string("after call: ") + std::string(to_string(result.status)) +
                       (result.ok() ? " " + std::to_string(result->value) : ""));
}

Task<void> write_sync_then_log(Context& context, RunLog& log) {
  auto& wal = context.disk().get<DurableLog<int>>("wal");
  wal.append(static_cast<int>(context.incarnation()));
  co_await context.sync(wal);
  log.add(context, "after sync");
}

TEST(Crash, NoCodeOfTheOldIncarnationRunsAfterACrash) {
  // Sync takes 5 ms so the crash at 2 ms lands in the middle of it.
  Simulation simulation(fixed_latency_config(Duration::millis(1), Duration::millis(5)));
  CounterServer counter;
  RunLog log;
  const NodeId server = simulation.add_node("server", [&](Context& context) { boot_counter_server(context, counter); });
  const NodeId worker = simulation.add_node("worker", [&](Context& context) {
    log.add(context, "boot");
    if (context.incarnation() != 0) return;
    context.spawn(sleep_then_log(context, log));
    context.spawn(call_then_log(context, log, server));
    context.spawn(write_sync_then_log(context, log));
    context.sleep(Duration::millis(10), [&log, &context] { log.add(context, "after callback sleep"); });
  });
  simulation.start();
  simulation.run_until(at_millis(2));
  ASSERT_EQ(log.count_of(0), 1) << "only the boot ran before the crash";
  simulation.crash(worker, "test");
  EXPECT_EQ(simulation.state(worker), NodeState::down);
  EXPECT_EQ(simulation.context(worker), nullptr);
  simulation.run_until(at_millis(3));
  simulation.restart(worker);
  simulation.run_until(at_millis(2000));

  EXPECT_EQ(log.entries, (std::vector<std::pair<std::uint32_t, std::string>>{{0, "boot"}, {1, "boot"}}))
      << "code of incarnation 0 ran after its crash";
  EXPECT_EQ(counter.applied, 1U) << "the request was sent before the crash, so the server applied it";
  EXPECT_TRUE(simulation.disk(worker).get<DurableLog<int>>("wal").written().empty())
      << "the write whose sync the crash interrupted survived";
}

Task<void> call_and_record(Context& context, NodeId server, RunLog& log) {
  const RpcResult<IncrementReply> result = co_await context.call(server, Increment{}, Duration::seconds(1));
  log.add(context, std::string(to_string(result.status)) + (result.ok() ? " " + std::to_string(result->value) : ""));
}

TEST(Crash, ALateReplyToACallOfTheCrashedIncarnationIsDiscarded) {
  SimulationConfig config = fixed_latency_config(Duration::millis(1));
  config.capture = TraceCapture::full;
  Simulation simulation(config);
  CounterServer counter;
  RunLog log;
  const NodeId server = simulation.add_node("server", [&](Context& context) { boot_counter_server(context, counter); });
  const NodeId client = simulation.add_node("client", [&](Context& context) {
    // Incarnation 0 calls at once; incarnation 1 calls 10 ms after its boot.
    if (context.incarnation() == 0) context.spawn(call_and_record(context, server, log));
    if (context.incarnation() == 1)
      context.sleep(Duration::millis(10),
                    [&context, &log, server] { context.spawn(call_and_record(context, server, log)); });
  });
  simulation.start();
  simulation.run_until(at_millis(5));  // the first request is being handled (20 ms)
  simulation.crash(client, "test");
  simulation.run_until(at_millis(6));
  simulation.restart(client);
  simulation.run_until(at_millis(2000));

  // Reply 1 left the server at 21 ms and reached the client's new incarnation at 22 ms.
  const std::vector<TraceRecord> deliveries = records_of(simulation, "client", "deliver");
  ASSERT_EQ(deliveries.size(), 2U) << "both replies must reach the client node";
  EXPECT_EQ(deliveries[0].time, at_millis(22));
  EXPECT_EQ(counter.applied, 2U);
  // Only the new incarnation's own call completed, with its own reply.
  EXPECT_EQ(log.entries, (std::vector<std::pair<std::uint32_t, std::string>>{{1, "ok 2"}}));
}

Task<void> child_holding_a_guard(Context& context, std::vector<std::string>& destroyed) {
  LogOnDestroy guard(destroyed, "child frame");
  co_await context.sleep(Duration::seconds(1));
  destroyed.push_back("child resumed");
}

Task<void> root_holding_a_guard(Context& context, std::vector<std::string>& destroyed) {
  LogOnDestroy guard(destroyed, "root frame");
  co_await child_holding_a_guard(context, destroyed);
  destroyed.push_back("root resumed");
}

TEST(Crash, DestroysTheVolatileObjectsAndCoroutineFramesOfTheIncarnation) {
  Simulation simulation({.seed = 1});
  LifeCounter objects;
  std::vector<std::string> destroyed;
  const NodeId node = simulation.add_node("node", [&](Context& context) {
    context.make<Tracked>(objects, "volatile state made with make<T>()");
    context.make<LogOnDestroy>(destroyed, "volatile object");
    context.spawn(root_holding_a_guard(context, destroyed));
  });
  simulation.start();
  simulation.run_until(at_millis(5));
  ASSERT_EQ(objects.alive(), 1);
  ASSERT_TRUE(destroyed.empty());

  simulation.crash(node, "test");
  EXPECT_EQ(objects.alive(), 0) << "a volatile object survived the crash";
  // Frames go first (inner to outer), then the objects they may have used.
  EXPECT_EQ(destroyed, (std::vector<std::string>{"child frame", "root frame", "volatile object"}));

  simulation.run_until(at_millis(5000));
  EXPECT_EQ(destroyed.size(), 3U) << "a destroyed coroutine resumed";
  EXPECT_EQ(objects.constructed, 1);
}

TEST(Crash, TheBootFunctionRunsAgainAtEachRestartWithANewIncarnation) {
  Simulation simulation({.seed = 1});
  std::vector<std::pair<std::uint32_t, Instant>> boots;
  const NodeId node =
      simulation.add_node("node", [&](Context& context) { boots.emplace_back(context.incarnation(), context.now()); });
  simulation.start();
  EXPECT_EQ(simulation.incarnation(node), 0U);
  for (int round = 1; round <= 2; ++round) {
    simulation.run_until(at_millis(10 * round));
    simulation.crash(node, "test");
    EXPECT_EQ(simulation.state(node), NodeState::down);
    EXPECT_EQ(boots.size(), static_cast<std::size_t>(round)) << "a crash alone must not boot the node";
    simulation.run_until(at_millis(10 * round + 5));
    simulation.restart(node);
    EXPECT_EQ(simulation.state(node), NodeState::up);
    ASSERT_NE(simulation.context(node), nullptr);
    EXPECT_EQ(simulation.context(node)->incarnation(), simulation.incarnation(node));
  }
  EXPECT_EQ(boots, (std::vector<std::pair<std::uint32_t, Instant>>{
                       {0, at_millis(0)}, {1, at_millis(15)}, {2, at_millis(25)}}));
}

Task<IncrementReply> apply_then_log(Context& context, CounterServer& server, Increment request, RunLog& log) {
  co_await context.sleep(server.think);
  server.applied += request.by;
  log.add(context, "applied");
  co_return IncrementReply{server.applied};
}

TEST(Crash, AServerCrashInTheMiddleOfAHandlerLeavesTheRequestUnappliedAndTheCallUnknown) {
  Simulation simulation(fixed_latency_config(Duration::millis(1)));
  CounterServer counter;
  RunLog server_log;
  RunLog client_log;
  const NodeId server = simulation.add_node("server", [&](Context& context) {
    context.serve<Increment>([&](Increment request) { return apply_then_log(context, counter, request, server_log); });
  });
  simulation.add_node("client", [&](Context& context) { context.spawn(call_and_record(context, server, client_log)); });
  simulation.start();
  simulation.run_until(at_millis(10));  // the handler sleeps until 21 ms
  simulation.crash(server, "test");
  simulation.run_until(at_millis(12));
  simulation.restart(server);
  simulation.run_until(at_millis(3000));
  EXPECT_EQ(counter.applied, 0U);
  EXPECT_TRUE(server_log.entries.empty()) << "the crashed server's handler went on after the crash";
  EXPECT_EQ(client_log.entries, (std::vector<std::pair<std::uint32_t, std::string>>{{0, "unknown"}}));
}

}  // namespace
}  // namespace faultline::sim
