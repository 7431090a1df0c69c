// D1, dual write with the database first: commit the order, then publish its event.
// The two writes share no transaction, so a crash, a timeout or a partition between
// them commits an order whose event is never published: a lost event. This design is
// a positive control: the harness must find that loss.
#include "faultline/models/design.h"

namespace faultline::models {
namespace {

class DualWriteDbFirst final : public Design {
 public:
  std::string name() const override { return "dual-write-db-first"; }
  std::string summary() const override { return "commit the order, then publish the event (no outbox)"; }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return "L"; }
  std::vector<std::string> points() const override {
    return {"service.before_commit", "service.after_commit", "service.after_publish"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    auto& context = env.context;
    auto tx = co_await env.db.begin();
    // No transaction was opened (or none the service will use): nothing was written.
    if (!tx.ok()) co_return PlaceOrderReply{Outcome::failed};
    Row order_row{.key = command.key, .command = command.command};
    const auto order = co_await tx.value.insert(tables::orders, std::move(order_row));
    if (!order.ok()) {
      co_await tx.value.abort();
      co_return PlaceOrderReply{Outcome::failed};
    }
    co_await context.point("service.before_commit");
    const auto committed = co_await tx.value.commit();
    if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
    co_await context.point("service.after_commit");

    for (const Event& event : events_of_change(command, order.value)) {
      const Outcome published = co_await env.producer.publish(env.topic, event);
      // The order is committed either way; if the publish failed the event is lost and
      // nothing will ever send it again.
      if (published != Outcome::ok) context.note("service.publish-failed", event.message_id);
      co_await context.point("service.after_publish");
    }
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }
};

}  // namespace

std::shared_ptr<const Design> make_dual_write_db_first() {
  return std::make_shared<DualWriteDbFirst>();
}

}  // namespace faultline::models
