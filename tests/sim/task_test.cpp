// Checks coroutines on simulated time: a Task's value reaches the coroutine that
// awaits it; an exception escaping a root coroutine comes out of Simulation::step()
// (and one thrown in an awaited Task can be caught by its awaiter); a finished root
// frees its frame; and sleep is a genuine Asio asynchronous operation: the same
// call completes a plain callback, an Asio `deferred` operation, or a co_await.
#include <gtest/gtest.h>

#include <boost/asio/deferred.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;
using test_support::LogOnDestroy;

void run_to_end(Simulation& simulation) {
  while (simulation.step()) {
  }
}

Task<int> doubled_after_a_sleep(Context& context, int value) {
  co_await context.sleep(Duration::millis(1));
  co_return value * 2;
}

Task<std::string> described(Context& context, int value) {
  const int first = co_await doubled_after_a_sleep(context, value);
  const int second = co_await doubled_after_a_sleep(context, first);
  co_return std::to_string(value) + " -> " + std::to_string(second);
}

Task<void> await_values(Context& context, std::optional<std::string>& result, Instant& finished_at) {
  result = co_await described(context, 5);
  finished_at = context.now();
}

TEST(Task, AnAwaitedTaskGivesItsValueToItsAwaiter) {
  Simulation simulation({.seed = 1});
  std::optional<std::string> result;
  Instant finished_at;
  simulation.add_node("node", [&](Context& context) { context.spawn(await_values(context, result, finished_at)); });
  simulation.start();
  run_to_end(simulation);
  ASSERT_TRUE(result.has_value()) << "the root coroutine never finished";
  EXPECT_EQ(*result, "5 -> 20");
  EXPECT_EQ(finished_at, at_millis(2)) << "two nested sleeps of 1 ms each";
}

Task<void> throw_after_a_sleep(Context& context) {
  co_await context.sleep(Duration::millis(3));
  throw std::runtime_error("boom from a root coroutine");
}

TEST(Task, AnExceptionThrownInARootCoroutineComesOutOfStep) {
  Simulation simulation({.seed = 1});
  simulation.add_node("node", [](Context& context) { context.spawn(throw_after_a_sleep(context)); });
  simulation.start();
  std::optional<std::string> message;
  try {
    run_to_end(simulation);
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  ASSERT_TRUE(message.has_value()) << "the exception was swallowed";
  EXPECT_EQ(*message, "boom from a root coroutine");
  EXPECT_EQ(simulation.now(), at_millis(3));
}

Task<int> throw_inside_a_child(Context& context) {
  co_await context.sleep(Duration::millis(1));
  throw std::logic_error("child failed");
}

Task<void> catch_the_child(Context& context, std::vector<std::string>& log) {
  try {
    log.push_back("got " + std::to_string(co_await throw_inside_a_child(context)));
  } catch (const std::logic_error& error) {
    log.push_back(std::string("caught: ") + error.what());
  }
  co_await context.sleep(Duration::millis(1));
  log.push_back("went on");
}

TEST(Task, AnExceptionThrownInAnAwaitedTaskReachesItsAwaiter) {
  Simulation simulation({.seed = 1});
  std::vector<std::string> log;
  simulation.add_node("node", [&](Context& context) { context.spawn(catch_the_child(context, log)); });
  simulation.start();
  EXPECT_NO_THROW(run_to_end(simulation));
  EXPECT_EQ(log, (std::vector<std::string>{"caught: child failed", "went on"}));
}

Task<void> hold_a_guard_briefly(Context& context, std::vector<std::string>& log) {
  LogOnDestroy guard(log, "root frame");
  co_await context.sleep(Duration::millis(1));
  log.push_back("finishing");
}

TEST(Task, AFinishedRootCoroutineFreesItsFrameAtOnce) {
  Simulation simulation({.seed = 1});
  std::vector<std::string> log;
  simulation.add_node("node", [&](Context& context) { context.spawn(hold_a_guard_briefly(context, log)); });
  simulation.start();
  run_to_end(simulation);
  // Still inside the simulation's lifetime: the frame went when the coroutine ended.
  EXPECT_EQ(log, (std::vector<std::string>{"finishing", "root frame"}));
}

TEST(Task, SleepCompletesAPlainCallback) {
  Simulation simulation({.seed = 1});
  std::vector<Instant> woke_at;
  simulation.add_node("node", [&](Context& context) {
    // No coroutine at all: the completion token is an ordinary callable.
    using Returned = decltype(context.sleep(Duration::millis(1), [] {}));
    static_assert(std::is_void_v<Returned>, "a callback token initiates the operation and returns nothing");
    context.sleep(Duration::millis(4), [&woke_at, &context] { woke_at.push_back(context.now()); });
    context.sleep(Duration::millis(1), [&woke_at, &context] {
      woke_at.push_back(context.now());
      context.sleep(Duration::millis(1), [&woke_at, &context] { woke_at.push_back(context.now()); });
    });
  });
  simulation.start();
  run_to_end(simulation);
  EXPECT_EQ(woke_at, (std::vector<Instant>{at_millis(1), at_millis(2), at_millis(4)}));
}

TEST(Task, SleepWithAsioDeferredStartsOnlyWhenLaunched) {
  Simulation simulation({.seed = 1});
  std::vector<Instant> woke_at;
  simulation.add_node("node", [&](Context& context) {
    // `deferred` packages the operation without starting it; the sleep's 2 ms count
    // from the instant it is launched with a handler, here at 1 ms.
    auto operation = context.sleep(Duration::millis(2), boost::asio::deferred);
    context.sleep(Duration::millis(1), [&woke_at, &context, operation = std::move(operation)]() mutable {
      std::move(operation)([&woke_at, &context] { woke_at.push_back(context.now()); });
    });
  });
  simulation.start();
  run_to_end(simulation);
  EXPECT_EQ(woke_at, (std::vector<Instant>{at_millis(3)}));
}

Task<void> sleep_and_record(Context& context, Duration length, int index, std::vector<int>& order,
                            std::vector<Instant>& woke_at) {
  co_await context.sleep(length);
  order.push_back(index);
  woke_at.push_back(context.now());
}

TEST(Task, CoAwaitedSleepsWakeAtTheirInstantAndTiesWakeInStartOrder) {
  Simulation simulation({.seed = 1});
  std::vector<int> order;
  std::vector<Instant> woke_at;
  simulation.add_node("node", [&](Context& context) {
    context.spawn(sleep_and_record(context, Duration::millis(5), 0, order, woke_at));
    context.spawn(sleep_and_record(context, Duration::millis(2), 1, order, woke_at));
    context.spawn(sleep_and_record(context, Duration::millis(5), 2, order, woke_at));
    context.spawn(sleep_and_record(context, Duration::millis(2), 3, order, woke_at));
  });
  simulation.start();
  run_to_end(simulation);
  EXPECT_EQ(order, (std::vector<int>{1, 3, 0, 2}));
  EXPECT_EQ(woke_at, (std::vector<Instant>{at_millis(2), at_millis(2), at_millis(5), at_millis(5)}));
}

}  // namespace
}  // namespace faultline::sim
