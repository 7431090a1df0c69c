// The transactional outbox's write path, shared by the outbox designs: the order row
// and an outbox row carrying the event (with its message id and the order's id) commit
// in one transaction, so the event exists if and only if the change does.
#pragma once

#include "faultline/models/design.h"

namespace faultline::models {

namespace outbox_state {
inline constexpr std::int64_t pending = 0;
inline constexpr std::int64_t sent = 1;
}  // namespace outbox_state

// Who sends the event: only the relay (correct), or also an "after commit" hook of an
// inner unit of work that fires before the outer transaction commits (a seeded bug,
// micronaut-core #10019).
enum class OutboxDispatch { relay_only, inner_commit_hook };

// Whether the service retries an attempt that ended before it could have committed, or
// fails fast and leaves the decision to a policy of its own (a circuit breaker).
enum class WriteRetrying { within_client_budget, fail_fast };

// A message id of the outbox's own, not derived from the command: drawn from the
// service node's random stream when the row is written, stored in the row and reused
// on every publish of it (as an outbox row's UUID is).
std::string draw_message_id(sim::Context& context);

// The event an outbox row carries, as a relay publishes it: the row's message id and
// the change it announces.
Event event_of_outbox_row(const Row& row);

// An attempt that ends before it could have committed (a lock wait past the statement
// timeout, a lost race to create the key's row, a refused commit) is rolled back and
// run again with a backoff while the client still waits (unless `retrying` says fail
// fast: then the client hears "failed"); a commit whose answer never came is reported
// unknown.
sim::Task<PlaceOrderReply> write_order_with_outbox(ServiceEnv& env, PlaceOrder command,
                                                   OutboxDispatch dispatch = OutboxDispatch::relay_only,
                                                   WriteRetrying retrying = WriteRetrying::within_client_budget);

}  // namespace faultline::models
