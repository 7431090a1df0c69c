// D3, publish inside the transaction: insert the order, publish the event, then
// COMMIT. It feels transactional, but the broker is not in the transaction: a commit
// that fails or ends unknown leaves a published event for a change that may never
// commit. A positive control for P.
#include "faultline/models/design.h"

namespace faultline::models {
namespace {

class PublishInTransaction final : public Design {
 public:
  std::string name() const override { return "publish-in-transaction"; }
  std::string summary() const override {
    return "publish between INSERT and COMMIT (the broker is not in the transaction)";
  }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return "P"; }
  std::vector<std::string> points() const override {
    return {"service.before_publish", "service.after_publish", "service.after_commit"};
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
    for (Event& event : events_of_change(command, order.value)) {
      co_await context.point("service.before_publish");
      if (co_await env.producer.publish(env.topic, std::move(event)) != Outcome::ok) {
        co_await tx.value.abort();
        co_return PlaceOrderReply{Outcome::failed};
      }
      co_await context.point("service.after_publish");
    }
    const auto committed = co_await tx.value.commit();
    if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
    co_await context.point("service.after_commit");
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }
};

}  // namespace

std::shared_ptr<const Design> make_publish_in_transaction() {
  return std::make_shared<PublishInTransaction>();
}

}  // namespace faultline::models
