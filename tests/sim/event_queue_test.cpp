// Checks the event queue on its own: events pop in time order, events at the same
// instant run first-in, first-out (also when pushed while the queue is running),
// the 4-ary heap agrees with a reference ordered set under random pushes, pops and
// cancellations, and callables too large or too complex to be stored inline are boxed, run once,
// and destroyed exactly once whether they run, are discarded, are cancelled or are
// still pending when the queue goes away (counted with a construction/destruction counter).
#include "faultline/sim/event_queue.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::LifeCounter;
using test_support::Tracked;

// Pops and runs every event; returns how many ran.
int drain(EventQueue& queue) {
  int ran = 0;
  while (!queue.empty()) {
    const EventQueue::Popped popped = queue.pop();
    queue.run(popped.slot);
    ++ran;
  }
  return ran;
}

TEST(EventQueue, PopsEventsInTimeOrder) {
  EventQueue queue;
  Rng rng(3);
  std::vector<std::int64_t> ran_at;
  for (int i = 0; i < 2000; ++i) {
    const Instant at{rng.between(0, 1'000'000)};
    queue.push(at, Owner{}, [&ran_at, at] { ran_at.push_back(at.ticks); });
  }
  std::int64_t previous = -1;
  while (!queue.empty()) {
    const Instant next = queue.next_time();
    const EventQueue::Popped popped = queue.pop();
    ASSERT_EQ(popped.time, next);
    ASSERT_GE(popped.time.ticks, previous) << "an event popped before an earlier one";
    previous = popped.time.ticks;
    queue.run(popped.slot);
    ASSERT_EQ(ran_at.back(), popped.time.ticks) << "the popped slot ran another event's callable";
  }
  EXPECT_EQ(ran_at.size(), 2000U);
}

TEST(EventQueue, RunsEventsAtTheSameInstantInPushOrder) {
  EventQueue queue;
  std::vector<int> order;
  // Three instants, pushed interleaved and out of time order.
  for (int i = 0; i < 300; ++i) {
    const Instant at{(i * 7) % 3 * 10};
    queue.push(at, Owner{}, [&order, i] { order.push_back(i); });
  }
  drain(queue);
  ASSERT_EQ(order.size(), 300U);
  for (std::size_t i = 1; i < order.size(); ++i) {
    const int previous_time = (order[i - 1] * 7) % 3;
    const int time = (order[i] * 7) % 3;
    ASSERT_LE(previous_time, time);
    if (previous_time == time) {
      ASSERT_LT(order[i - 1], order[i]) << "two events at one instant ran out of push order";
    }
  }
}

TEST(EventQueue, AnEventPushedForTheCurrentInstantRunsAfterTheOnesAlreadyDue) {
  EventQueue queue;
  std::vector<std::string> order;
  queue.push(Instant{5}, Owner{}, [&] {
    order.push_back("first");
    queue.push(Instant{5}, Owner{}, [&] { order.push_back("pushed while running"); });
  });
  queue.push(Instant{5}, Owner{}, [&] { order.push_back("second"); });
  queue.push(Instant{6}, Owner{}, [&] { order.push_back("later"); });
  drain(queue);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "pushed while running", "later"}));
}

// Random pushes, pops and (out of 20 rounds, `cancel_weight` of them) cancellations of a
// random queued event, checked against an ordered set of (time, push number).
void check_against_reference(std::uint64_t seed, std::uint64_t cancel_weight) {
  EventQueue queue;
  Rng rng(seed);
  std::set<std::pair<std::int64_t, int>> reference;                            // the order the queue must follow
  std::vector<std::pair<std::uint32_t, std::pair<std::int64_t, int>>> queued;  // slot and key, for cancelling
  std::int64_t now = 0;
  int pushed = 0;
  int last_ran = -1;
  for (int round = 0; round < 20'000; ++round) {
    const std::uint64_t choice = rng.below(20);
    if (reference.empty() || choice < 11) {
      const Instant at{now + rng.between(0, 50)};
      const int number = pushed++;
      const std::uint32_t slot = queue.push(at, Owner{}, [&last_ran, number] { last_ran = number; });
      reference.emplace(at.ticks, number);
      queued.emplace_back(slot, std::make_pair(at.ticks, number));
    } else if (choice < 11 + cancel_weight) {
      const std::size_t pick = rng.below(queued.size());
      ASSERT_TRUE(queue.cancel(queued[pick].first));
      reference.erase(queued[pick].second);
      queued.erase(queued.begin() + static_cast<std::ptrdiff_t>(pick));
    } else {
      const auto expected = *reference.begin();
      reference.erase(reference.begin());
      const EventQueue::Popped popped = queue.pop();
      queue.run(popped.slot);
      ASSERT_EQ(popped.time.ticks, expected.first);
      ASSERT_EQ(last_ran, expected.second) << "round " << round;
      std::erase_if(queued, [&](const auto& entry) { return entry.second == expected; });
      now = popped.time.ticks;
    }
  }
  EXPECT_EQ(queue.size(), reference.size());
}

TEST(EventQueue, AgreesWithAReferenceOrderUnderRandomPushesAndPops) {
  check_against_reference(5, 0);
}

TEST(EventQueue, CancelledEventsNeverRunAndTheRestKeepTheirOrder) {
  check_against_reference(7, 5);
}

TEST(EventQueue, KeepsTheOwnerOfEachEvent) {
  EventQueue queue;
  queue.push(Instant{2}, Owner{.node = 3, .incarnation = 7}, [] {});
  queue.push(Instant{1}, Owner{.node = 4, .incarnation = any_incarnation}, [] {});
  const auto first = queue.pop();
  EXPECT_EQ(queue.owner(first.slot).node, 4U);
  EXPECT_EQ(queue.owner(first.slot).incarnation, any_incarnation);
  queue.run(first.slot);
  const auto second = queue.pop();
  EXPECT_EQ(queue.owner(second.slot).node, 3U);
  EXPECT_EQ(queue.owner(second.slot).incarnation, 7U);
  queue.run(second.slot);
}

// A callable the queue cannot store inline: larger than 24 bytes and not trivially copyable.
struct LargeCallable {
  Tracked tracked;
  int* runs;
  void operator()() const { ++*runs; }
};
static_assert(sizeof(LargeCallable) > 24);
static_assert(!std::is_trivially_copyable_v<LargeCallable>);

TEST(EventQueue, RunsLargeCallablesOnceAndDestroysThem) {
  LifeCounter counter;
  int runs = 0;
  {
    EventQueue queue;
    for (int i = 0; i < 100; ++i)
      queue.push(Instant{i}, Owner{},
                 LargeCallable{Tracked(counter, "a label too long for short-string storage"), &runs});
    EXPECT_GT(counter.alive(), 0);
    EXPECT_EQ(drain(queue), 100);
    EXPECT_EQ(runs, 100);
    EXPECT_EQ(counter.alive(), 0) << "a boxed callable that ran was not destroyed";
  }
  EXPECT_EQ(counter.alive(), 0);
  EXPECT_GT(counter.constructed, 0);
}

TEST(EventQueue, ACallableThatCapturesAStringRunsWithItsCapture) {
  EventQueue queue;
  std::string seen;
  const std::string text(100, 'x');
  queue.push(Instant{1}, Owner{}, [&seen, text] { seen = text; });
  drain(queue);
  EXPECT_EQ(seen, text);
}

TEST(EventQueue, DiscardDestroysACallableWithoutRunningIt) {
  LifeCounter counter;
  int runs = 0;
  EventQueue queue;
  queue.push(Instant{1}, Owner{}, LargeCallable{Tracked(counter, "boxed"), &runs});
  queue.push(Instant{2}, Owner{}, [&runs] { ++runs; });  // stored inline
  const auto boxed = queue.pop();
  queue.discard(boxed.slot);
  EXPECT_EQ(counter.alive(), 0) << "a discarded boxed callable was not destroyed";
  const auto inline_event = queue.pop();
  queue.discard(inline_event.slot);
  EXPECT_EQ(runs, 0) << "a discarded event ran";
  EXPECT_TRUE(queue.empty());

  // The freed slots are reused by later events, which still run their own callables.
  int later = 0;
  queue.push(Instant{3}, Owner{}, [&later] { later = 3; });
  queue.push(Instant{4}, Owner{}, LargeCallable{Tracked(counter, "reused"), &later});
  EXPECT_EQ(drain(queue), 2);
  EXPECT_EQ(later, 4);
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(counter.alive(), 0);
}

TEST(EventQueue, CancelDestroysABoxedCallableAndRefusesAnEventNoLongerQueued) {
  LifeCounter counter;
  int runs = 0;
  EventQueue queue;
  const std::uint32_t boxed = queue.push(Instant{1}, Owner{}, LargeCallable{Tracked(counter, "boxed"), &runs});
  EXPECT_TRUE(queue.cancel(boxed));
  EXPECT_EQ(counter.alive(), 0) << "a cancelled boxed callable was not destroyed";
  queue.push(Instant{2}, Owner{}, [&runs] { ++runs; });
  const auto popped = queue.pop();  // out of the heap, not yet run (as for a paused node)
  EXPECT_FALSE(queue.cancel(popped.slot));
  queue.run(popped.slot);
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(queue.empty());
}

TEST(EventQueue, DestroysPendingCallablesWithTheQueue) {
  LifeCounter counter;
  int runs = 0;
  {
    EventQueue queue;
    for (int i = 0; i < 50; ++i) queue.push(Instant{i}, Owner{}, LargeCallable{Tracked(counter, "pending"), &runs});
    EXPECT_EQ(counter.alive(), 50);
  }
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(counter.alive(), 0) << "pending boxed callables leaked when the queue was destroyed";
}

TEST(EventQueue, DestroysABoxedCallableThatThrows) {
  LifeCounter counter;
  EventQueue queue;
  struct Throwing {
    Tracked tracked;
    void operator()() const { throw std::runtime_error("programmer error"); }
  };
  queue.push(Instant{1}, Owner{}, Throwing{Tracked(counter, "throws")});
  const auto popped = queue.pop();
  EXPECT_THROW(queue.run(popped.slot), std::runtime_error);
  EXPECT_EQ(counter.alive(), 0);
}

}  // namespace
}  // namespace faultline::sim
