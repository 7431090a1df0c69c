// The outbox write path: see outbox.h.
#include "faultline/models/outbox.h"
#include "write_retries.h"

namespace faultline::models {

std::string draw_message_id(sim::Context& context) {
  static constexpr char digits[] = "0123456789abcdef";
  std::uint64_t bits = context.rng().next();
  std::string id = "m";
  for (int digit = 0; digit < 12; ++digit, bits >>= 4) id += digits[bits & 0xf];
  return id;
}

Event event_of_outbox_row(const Row& row) {
  Event event{row.message_id, row.key, row.command, row.order_id};
  event.index_in_change = row.index_in_change;
  event.events_in_change = row.events_in_change;
  return event;
}

namespace {

sim::Task<WriteAttempt> attempt_order_with_outbox(ServiceEnv& env, const PlaceOrder& command, OutboxDispatch dispatch) {
  auto& context = env.context;
  auto tx = co_await env.db.begin();
  if (!tx.ok()) co_return WriteAttempt{PlaceOrderReply{Outcome::failed}, AttemptEnd::transient};
  // Changes of one aggregate are serialized by locking its row, so per key the
  // outbox ids follow commit order (what a relay reading by id relies on).
  DbFilter aggregate{.lock = LockMode::for_update, .key = command.key};
  auto customer = co_await tx.value.select(tables::customers, std::move(aggregate));
  if (!customer.ok()) co_return co_await roll_back(tx.value);
  if (customer.value.empty()) {
    // The first order of a key creates its row; a concurrent first order waits for
    // it (unique key), then finds and locks the row instead.
    Row created{.key = command.key};
    created.unique_key = command.key;
    const auto inserted = co_await tx.value.insert(tables::customers, std::move(created));
    if (!inserted.ok() && inserted.error == "unique violation") {
      DbFilter again{.lock = LockMode::for_update, .key = command.key};
      customer = co_await tx.value.select(tables::customers, std::move(again));
    }
    if (!inserted.ok() && (!customer.ok() || customer.value.empty())) co_return co_await roll_back(tx.value);
  }
  Row order_row{.key = command.key, .command = command.command};
  const auto order = co_await tx.value.insert(tables::orders, std::move(order_row));
  if (!order.ok()) co_return co_await roll_back(tx.value);
  // The events ride in the same transaction as the change, one outbox row per line
  // item, each with a message id of its own that every publish of it reuses.
  std::vector<Event> events;
  for (const Event& announced : events_of_change(command, order.value)) {
    Row outbox_row{.key = command.key, .command = command.command, .message_id = draw_message_id(context)};
    outbox_row.state = outbox_state::pending;
    outbox_row.order_id = order.value;
    outbox_row.index_in_change = announced.index_in_change;
    outbox_row.events_in_change = announced.events_in_change;
    events.push_back(event_of_outbox_row(outbox_row));
    const auto outbox = co_await tx.value.insert(tables::outbox, std::move(outbox_row));
    if (!outbox.ok()) co_return co_await roll_back(tx.value);
  }
  if (dispatch == OutboxDispatch::inner_commit_hook) {
    // Seeded bug: the inner unit of work "committed", so its hook publishes now,
    // while the outer transaction can still fail.
    for (const Event& event : events) co_await env.producer.publish(env.topic, event);
  }
  co_await context.point("service.before_commit");
  const auto committed = co_await tx.value.commit();
  // A refused commit committed nothing; one whose answer never came may have.
  if (committed.outcome == Outcome::failed)
    co_return WriteAttempt{PlaceOrderReply{Outcome::failed}, AttemptEnd::transient};
  if (!committed.ok()) co_return WriteAttempt{PlaceOrderReply{committed.outcome}};
  co_await context.point("service.after_commit");
  co_return WriteAttempt{PlaceOrderReply{Outcome::ok, order.value}};
}

}  // namespace

sim::Task<PlaceOrderReply> write_order_with_outbox(ServiceEnv& env, PlaceOrder command, OutboxDispatch dispatch,
                                                   WriteRetrying retrying) {
  WriteRetries retries(env.context);
  for (;;) {
    const WriteAttempt attempt = co_await attempt_order_with_outbox(env, command, dispatch);
    if (attempt.end == AttemptEnd::final || retrying == WriteRetrying::fail_fast) co_return attempt.reply;
    if (!co_await retries.another_attempt()) co_return attempt.reply;
  }
}

}  // namespace faultline::models
