// The outbox write path: see outbox.h.
#include "faultline/models/outbox.h"

namespace faultline::models {

sim::Task<PlaceOrderReply> write_order_with_outbox(ServiceEnv& env, PlaceOrder command, OutboxDispatch dispatch) {
  auto& context = env.context;
  auto tx = co_await env.db.begin();
  // No transaction was opened (or none the service will use): nothing was written.
  if (!tx.ok()) co_return PlaceOrderReply{Outcome::failed};
  // Changes of one aggregate are serialized by locking its row, so per key the
  // outbox ids follow commit order (what a relay reading by id relies on).
  DbFilter aggregate{.lock = LockMode::for_update, .key = command.key};
  auto customer = co_await tx.value.select(tables::customers, std::move(aggregate));
  if (!customer.ok()) {
    co_await tx.value.abort();
    co_return PlaceOrderReply{Outcome::failed};
  }
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
    if (!inserted.ok() && (!customer.ok() || customer.value.empty())) {
      co_await tx.value.abort();
      co_return PlaceOrderReply{Outcome::failed};
    }
  }
  Row order_row{.key = command.key, .command = command.command};
  const auto order = co_await tx.value.insert(tables::orders, std::move(order_row));
  if (!order.ok()) {
    co_await tx.value.abort();
    co_return PlaceOrderReply{Outcome::failed};
  }
  // The event rides in the same transaction as the change, with its stable id.
  Row outbox_row{.key = command.key, .command = command.command, .event_id = event_id_for(command.command)};
  outbox_row.state = outbox_state::pending;
  outbox_row.order_id = order.value;
  const auto outbox = co_await tx.value.insert(tables::outbox, std::move(outbox_row));
  if (!outbox.ok()) {
    co_await tx.value.abort();
    co_return PlaceOrderReply{Outcome::failed};
  }
  if (dispatch == OutboxDispatch::inner_commit_hook) {
    // Seeded bug: the inner unit of work "committed", so its hook publishes now,
    // while the outer transaction can still fail.
    Event event{event_id_for(command.command), command.key, command.command, order.value};
    co_await env.producer.publish(env.topic, std::move(event));
  }
  co_await context.point("service.before_commit");
  const auto committed = co_await tx.value.commit();
  if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
  co_await context.point("service.after_commit");
  co_return PlaceOrderReply{Outcome::ok, order.value};
}

}  // namespace faultline::models
