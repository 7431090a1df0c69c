// D2, dual write with the broker first: publish the event, then commit the order.
// If the commit then fails, times out or the service crashes, the event announces a
// change that never happened: a phantom. A positive control for P.
#include "faultline/models/design.h"

namespace faultline::models {
namespace {

class DualWritePublishFirst final : public Design {
 public:
  std::string name() const override { return "dual-write-publish-first"; }
  std::string summary() const override { return "publish the event, then commit the order (no outbox)"; }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return "P"; }
  std::vector<std::string> points() const override {
    return {"service.after_publish", "service.before_commit", "service.after_commit"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    auto& context = env.context;
    for (Event& event : events_of_change(command, 0)) {
      const Outcome published = co_await env.producer.publish(env.topic, std::move(event));
      if (published == Outcome::failed) co_return PlaceOrderReply{Outcome::failed};
      co_await context.point("service.after_publish");
    }

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
    // The event is out whatever happens here.
    if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
    co_await context.point("service.after_commit");
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }
};

}  // namespace

std::shared_ptr<const Design> make_dual_write_publish_first() {
  return std::make_shared<DualWritePublishFirst>();
}

}  // namespace faultline::models
