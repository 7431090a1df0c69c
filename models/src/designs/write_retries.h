// How a service retries a write transaction that ended before it could have
// committed: shared by the write paths of the designs that claim A.
//
// A real service treats a lock timeout, a serialization failure, a unique violation
// from a race to create a row, an optimistic-concurrency conflict and a statement
// that timed out before COMMIT was sent as transient: nothing was committed, so it
// rolls back and runs the whole transaction again, with a growing, jittered backoff,
// as long as the client is still waiting for the answer. Without this, a legitimate
// queue of lock waiters on a busy key (the service gives a statement 100 ms) rejects
// orders in runs without a single fault. A COMMIT whose outcome is unknown is never
// retried: it may have committed, and a second attempt would make a second order. Nor
// is it read back: with a synchronous standby, a primary that crashed and restarted
// shows commits its standby never received, which a failover then loses, so a row
// seen is not a row durable; the client hears "unknown", the truth.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "faultline/models/design.h"

namespace faultline::models {

// How one attempt of a write transaction ended: with the answer for the client, or
// without anything committed, so that the transaction may run again.
enum class AttemptEnd { final, transient };

struct WriteAttempt {
  PlaceOrderReply reply;
  AttemptEnd end = AttemptEnd::final;
};

// Ends an attempt before its commit: rolls the transaction back (best effort);
// nothing was committed, so the write may run again.
inline sim::Task<WriteAttempt> roll_back(DbTransaction& tx) {
  co_await tx.abort();
  co_return WriteAttempt{PlaceOrderReply{Outcome::failed}, AttemptEnd::transient};
}

class WriteRetries {
 public:
  // The client gives a command 500 ms (models/src/world.cpp); a new attempt starts only
  // within the first 400 ms, leaving the last one time to finish and reply.
  static constexpr sim::Duration budget = sim::Duration::millis(400);
  static constexpr std::uint32_t attempts_max = 64;
  static constexpr sim::Duration backoff_first = sim::Duration::millis(1);
  static constexpr sim::Duration backoff_max = sim::Duration::millis(32);

  explicit WriteRetries(sim::Context& context) : context_(context), deadline_(context.now() + budget) {}

  // After a transient end: sleeps a backoff (uniform in [backoff / 2, backoff], the
  // backoff doubling from attempt to attempt up to its maximum) and says whether
  // another attempt still fits in the budget.
  sim::Task<bool> another_attempt() {
    ++attempts_;
    assert(attempts_ <= attempts_max);
    if (attempts_ == attempts_max) co_return false;
    const std::int64_t backoff_ticks = backoff_.ticks;
    co_await context_.sleep(sim::Duration{context_.rng().between(backoff_ticks / 2, backoff_ticks)});
    backoff_ = sim::Duration{std::min(backoff_.ticks * 2, backoff_max.ticks)};
    co_return context_.now() < deadline_;
  }

 private:
  sim::Context& context_;
  sim::Instant deadline_;
  sim::Duration backoff_ = backoff_first;
  std::uint32_t attempts_ = 0;
};

}  // namespace faultline::models
