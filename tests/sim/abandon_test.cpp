// Checks that a stop request abandons a run in flight (sim/abandon.h): with the
// thread's abandon flag raised, run_until throws RunAbandoned before it runs another
// event, even in the middle of a run whose node never stops working; without a scope
// (every ordinary run) nothing is checked, and a scope ends with the flag it replaced.
// Method: a node that ticks forever, a flag raised from inside its own tick, and the
// events counted before and after.
#include "faultline/sim/abandon.h"

#include <gtest/gtest.h>

#include <atomic>

#include "faultline/sim/simulation.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;

// A node that wakes up every millisecond forever, counting its ticks, and raises `flag`
// (when given) at tick `raise_at`.
Task<void> tick_forever(Context& context, int& ticks, std::atomic<bool>* flag, int raise_at) {
  for (;;) {
    co_await context.sleep(Duration::millis(1));
    ++ticks;
    if (flag != nullptr && ticks == raise_at) flag->store(true);
  }
}

TEST(Abandon, ARaisedFlagEndsTheRunBeforeItsNextEvent) {
  std::atomic<bool> flag{false};
  int ticks = 0;
  Simulation simulation({.seed = 1});
  simulation.add_node("worker", [&](Context& context) { context.spawn(tick_forever(context, ticks, &flag, 5)); });
  simulation.start();
  const AbandonScope scope(&flag);
  EXPECT_THROW(simulation.run_until(at_millis(1'000)), RunAbandoned);
  EXPECT_EQ(ticks, 5) << "events ran after the flag was raised";
  EXPECT_LT(simulation.now(), at_millis(1'000));
}

TEST(Abandon, NothingIsCheckedWithoutAScope) {
  std::atomic<bool> flag{true};
  int ticks = 0;
  Simulation simulation({.seed = 1});
  simulation.add_node("worker", [&](Context& context) { context.spawn(tick_forever(context, ticks, nullptr, 0)); });
  simulation.start();
  EXPECT_EQ(abandon_flag(), nullptr);
  simulation.run_until(at_millis(100));
  EXPECT_EQ(ticks, 100);
}

TEST(Abandon, AScopeRestoresTheFlagItReplaced) {
  std::atomic<bool> outer{false};
  std::atomic<bool> inner{false};
  {
    const AbandonScope outer_scope(&outer);
    {
      const AbandonScope inner_scope(&inner);
      EXPECT_EQ(abandon_flag(), &inner);
    }
    EXPECT_EQ(abandon_flag(), &outer);
  }
  EXPECT_EQ(abandon_flag(), nullptr);
}

}  // namespace
}  // namespace faultline::sim
