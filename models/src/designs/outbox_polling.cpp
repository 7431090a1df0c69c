// D4, transactional outbox with a polling relay. The order row and an outbox row
// (carrying the event and its stable id) commit in one transaction, so the event
// exists if and only if the change does. A relay polls pending outbox rows in id
// order, publishes each, and marks it sent only after the broker's ack; a crash
// anywhere just makes it publish the same event (same id) again: at least once,
// never lost, never phantom.
#include "faultline/models/design.h"

namespace faultline::models {
namespace {

constexpr std::int64_t pending = 0;
constexpr std::int64_t sent = 1;

struct RelaySettings {
  sim::Duration poll_interval = sim::Duration::millis(5);
  std::uint32_t batch = 16;
};

class OutboxPolling final : public Design {
 public:
  std::string name() const override { return "outbox-polling"; }
  std::string summary() const override {
    return "order and outbox row in one transaction; a relay polls, publishes, then marks sent";
  }
  std::vector<std::string> claims() const override { return {"L", "P", "A"}; }
  std::vector<std::string> points() const override {
    return {"service.before_commit", "service.after_commit", "relay.after_select", "relay.after_publish_ack",
            "relay.after_mark_sent"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    auto& context = env.context;
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return PlaceOrderReply{tx.outcome};
    Row order_row{.key = command.key, .command = command.command};
    const auto order = co_await tx.value.insert(tables::orders, std::move(order_row));
    if (!order.ok()) {
      co_await tx.value.abort();
      co_return PlaceOrderReply{Outcome::failed};
    }
    // The event rides in the same transaction as the change, with its stable id.
    Row outbox_row{.key = command.key, .command = command.command, .event_id = event_id_for(command.command)};
    outbox_row.state = pending;
    const auto outbox = co_await tx.value.insert(tables::outbox, std::move(outbox_row));
    if (!outbox.ok()) {
      co_await tx.value.abort();
      co_return PlaceOrderReply{Outcome::failed};
    }
    co_await context.point("service.before_commit");
    const auto committed = co_await tx.value.commit();
    if (!committed.ok()) co_return PlaceOrderReply{committed.outcome};
    co_await context.point("service.after_commit");
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }

  void start(ServiceEnv& env) const override { env.context.spawn(relay(env)); }

 private:
  // One relay: select pending rows in id order, publish each, mark it sent after the ack.
  static sim::Task<void> relay(ServiceEnv& env) {
    const RelaySettings settings;
    auto& context = env.context;
    for (;;) {
      co_await context.sleep(settings.poll_interval);
      auto tx = co_await env.db.begin();
      if (!tx.ok()) continue;
      const auto rows = co_await tx.value.select(tables::outbox, DbFilter{.state = pending, .limit = settings.batch});
      if (!rows.ok() || rows.value.empty()) {
        co_await tx.value.abort();
        continue;
      }
      co_await context.point("relay.after_select");
      for (const Row& row : rows.value) {
        // Key order: stop at the first failure so later events of a key never overtake it.
        const Event event{row.event_id, row.key, row.command, 0};
        if (co_await env.producer.publish(env.topic, event) != Outcome::ok) break;
        co_await context.point("relay.after_publish_ack");
        const auto marked = co_await tx.value.update(tables::outbox, row.id, sent, pending);
        if (!marked.ok()) break;
      }
      const auto committed = co_await tx.value.commit();
      if (committed.ok()) co_await context.point("relay.after_mark_sent");
    }
  }
};

}  // namespace

std::shared_ptr<const Design> make_outbox_polling() { return std::make_shared<OutboxPolling>(); }

}  // namespace faultline::models
