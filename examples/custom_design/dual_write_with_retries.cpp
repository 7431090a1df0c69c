// dual-write-with-retries: commit the order, then publish its event, retrying the
// publish a bounded number of times with a growing pause. It is the usual first fix
// for a lost event, and it is not enough. The retries live in the service's memory,
// so a crash between the commit and a successful publish (or a partition that
// outlasts every retry) still commits an order whose event is never published; and a
// commit whose reply is lost is durable, but the service cannot know it and must not
// publish. It is therefore a positive control for L (no lost event).
//
// What it does guarantee, and claims: P (no phantom event), because it publishes only
// after the database confirmed the commit, and A (ack implies durable), because the
// client hears "ok" only after that confirmation.
#include "dual_write_with_retries.h"

namespace my_designs {
namespace {

using faultline::models::Event;
using faultline::models::Outcome;
using faultline::models::PlaceOrder;
using faultline::models::PlaceOrderReply;
using faultline::models::Row;
using faultline::models::ServiceEnv;
namespace sim = faultline::sim;
namespace tables = faultline::models::tables;

struct RetrySettings {
  // Rounds of publishing (each round is the producer's own bounded attempts).
  std::uint32_t rounds_max = 4;
  // The pause after round n is n times this.
  sim::Duration pause_step = sim::Duration::millis(20);
};

class DualWriteWithRetries final : public faultline::models::Design {
 public:
  std::string name() const override { return "dual-write-with-retries"; }
  std::string summary() const override { return "commit the order, then publish with in-memory retries (no outbox)"; }
  std::vector<std::string> claims() const override { return {"P", "A"}; }
  std::string expected_violation() const override { return "L"; }
  std::vector<std::string> points() const override {
    return {"service.before_commit", "service.after_commit", "service.before_publish_retry", "service.after_publish"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    const RetrySettings settings;
    auto& context = env.context;

    // 1. Write the order in its own transaction.
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
    // A failed or unknown commit is passed on and never published: no phantom event.
    if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
    co_await context.point("service.after_commit");

    // 2. Publish the change's events (one per line item) in one batch, retrying in
    //    memory. A crash anywhere in this loop forgets them.
    const std::vector<Event> events = faultline::models::events_of_change(command, order.value);
    Outcome published = Outcome::failed;
    for (std::uint32_t round = 1; round <= settings.rounds_max; ++round) {
      published = co_await env.producer.publish_batch(env.topic, events);
      if (published == Outcome::ok) break;
      if (round == settings.rounds_max) break;
      co_await context.point("service.before_publish_retry");
      co_await context.sleep(settings.pause_step * round);
    }
    if (published != Outcome::ok) context.note("service.publish-abandoned", events.front().message_id);
    co_await context.point("service.after_publish");
    // The order is committed either way, so the client is told it succeeded.
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }
};

}  // namespace

std::shared_ptr<const faultline::models::Design> make_dual_write_with_retries() {
  return std::make_shared<DualWriteWithRetries>();
}

}  // namespace my_designs
