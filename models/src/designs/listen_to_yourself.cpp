// D7, listen to yourself ("event-first"). The event is the source of truth: the
// service validates the command against current state, publishes the event, and
// acknowledges the client once the broker has acknowledged the event. Its own
// database change follows from its own event: a consumer group of its own ("self")
// on the service node reads the topic, re-validates each event against current
// state (is there already an order for this command?) and inserts the order row in a
// transaction, then commits its offset. A redelivered or republished event finds
// the order already there and is skipped, so each command changes the database once.
//
// The client's ack therefore means "the event is durable", and the order row follows
// it eventually: "ack => durable" holds only at the end of the liveness phase.
//
// Its seeded bug is a registered variant; it differs in the lines marked "Seeded bug".
#include <optional>
#include <vector>

#include "faultline/models/consumer.h"
#include "faultline/models/design.h"
#include "write_retries.h"

namespace faultline::models {
namespace {

enum class Flaw {
  none,
  without_revalidation,  // the self-consumer applies each delivery blindly
};

// The self-consumer's group and how it reads the topic (like ConsumerSettings).
inline constexpr const char* self_group = "self";
// Not constexpr: ConsumerSettings holds strings, which not every compiler evaluates at compile time.
const std::uint32_t self_partitions = ConsumerSettings{}.partitions;
constexpr std::uint32_t self_batch = 32;
constexpr sim::Duration self_poll_interval = sim::Duration::millis(5);
constexpr sim::Duration self_timeout = sim::Duration::millis(50);

class ListenToYourself final : public Design {
 public:
  ListenToYourself(std::string name, Flaw flaw, std::string breaks, std::string summary)
      : name_(std::move(name)), flaw_(flaw), breaks_(std::move(breaks)), summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    if (flaw_ != Flaw::none) return {};
    return {"L", "P", "A", "ALO", "EO", "O", "E", "ND", "W"};
  }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override { return flaw_ == Flaw::none ? std::string() : "listen-to-yourself"; }
  Settings default_settings() const override { return Settings{.consumer = ConsumerMode::inbox}; }
  SourceOfTruth source_of_truth() const override { return SourceOfTruth::broker; }
  std::vector<std::string> points() const override {
    return {"service.after_validate", "service.after_publish", "self.before_apply", "self.after_apply",
            "self.after_commit_offset"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    auto& context = env.context;
    // Validate against current state: an order this command already made is not made
    // again. The read changes nothing, so one that ends without an answer is asked again.
    WriteRetries retries(context);
    std::optional<std::vector<Row>> orders = co_await orders_of_key(env, command.key);
    while (!orders) {
      if (!co_await retries.another_attempt()) co_return PlaceOrderReply{Outcome::failed};
      orders = co_await orders_of_key(env, command.key);
    }
    for (const Row& order : *orders)
      if (order.command == command.command) co_return PlaceOrderReply{Outcome::ok, order.id};
    co_await context.point("service.after_validate");

    // The events are the change: once the broker has them, the command has happened. One
    // produce request carries them all (one key, one partition), appended all or none.
    const Outcome published = co_await env.producer.publish_batch(env.topic, events_of_change(command, 0));
    if (published != Outcome::ok) co_return PlaceOrderReply{published};
    co_await context.point("service.after_publish");
    co_return PlaceOrderReply{Outcome::ok, 0};
  }

  void start(ServiceEnv& env) const override { env.context.spawn(self_consumer(env)); }

 private:
  // The orders of `key` as the database has them now; nullopt if the read did not complete.
  static sim::Task<std::optional<std::vector<Row>>> orders_of_key(ServiceEnv& env, const std::string& key) {
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return std::nullopt;
    DbFilter of_key{.key = key};
    auto orders = co_await tx.value.select(tables::orders, std::move(of_key));
    co_await tx.value.abort();
    if (!orders.ok()) co_return std::nullopt;
    co_return std::move(orders.value);
  }

  // The service's own consumer group: applies its events to its own database and
  // commits each partition's offset after processing (a crash redelivers).
  sim::Task<void> self_consumer(ServiceEnv& env) const {
    auto& context = env.context;
    LeaderCache broker(BrokerEndpoints{.replicas = {env.broker}, .partitions = self_partitions});
    std::vector<std::int64_t> positions(self_partitions, -1);
    for (;;) {
      bool progressed = false;
      for (std::uint32_t partition = 0; partition < self_partitions; ++partition) {
        if (positions[partition] < 0) {
          FetchOffset request{self_group, env.topic, partition};
          const auto committed = co_await context.call(env.broker, std::move(request), self_timeout);
          if (!committed.ok()) continue;
          positions[partition] = committed->offset >= 0 ? committed->offset : 0;
        }
        if (co_await poll_partition(env, broker, partition, positions[partition])) progressed = true;
      }
      if (!progressed) co_await context.sleep(self_poll_interval);
    }
  }

  sim::Task<bool> poll_partition(ServiceEnv& env, LeaderCache& broker, std::uint32_t partition,
                                 std::int64_t& position) const {
    auto& context = env.context;
    std::optional<sim::NodeId> leader = broker.known(partition);
    if (!leader) leader = co_await broker.leader(context, partition);
    if (!leader) co_return false;
    Fetch fetch{env.topic, partition, position, self_batch};
    const auto fetched = co_await context.call(*leader, std::move(fetch), self_timeout);
    if (!fetched.ok() || !fetched->error.empty()) broker.forget(partition);
    if (!fetched.ok() || fetched->records.empty()) co_return false;
    for (const StoredRecord& record : fetched->records) {
      if (!co_await apply(env, record.event)) break;
      position = record.offset + 1;
    }
    // Progress after processing: a crash before this commit redelivers the batch.
    CommitOffset commit{self_group, env.topic, partition, position};
    const auto committed = co_await context.call(env.broker, std::move(commit), self_timeout);
    if (committed.ok()) co_await context.point("self.after_commit_offset");
    co_return true;
  }

  // Makes the order's row for one event (one line item); false if it could not (try
  // again later).
  sim::Task<bool> apply(ServiceEnv& env, const Event& event) const {
    auto& context = env.context;
    co_await context.point("self.before_apply");
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return false;
    Row order{.key = event.key, .command = event.command, .message_id = event.message_id};
    order.index_in_change = event.index_in_change;
    order.events_in_change = event.events_in_change;
    if (flaw_ == Flaw::none) {
      // Re-validate against current state: a redelivered or republished event finds its
      // order already made. The unique event id guards the race with a transaction of
      // an earlier incarnation still in flight.
      DbFilter of_key{.key = event.key};
      auto orders = co_await tx.value.select(tables::orders, std::move(of_key));
      if (!orders.ok()) {
        co_await tx.value.abort();
        co_return false;
      }
      for (const Row& existing : orders.value)
        if (existing.command == event.command && existing.index_in_change == event.index_in_change) {
          co_await tx.value.abort();
          co_return true;
        }
      order.unique_key = event.message_id;
    }
    // Seeded bug (without_revalidation): the lines above are skipped, so every delivery
    // of the event inserts another row for the same line item.
    const auto inserted = co_await tx.value.insert(tables::orders, std::move(order));
    if (!inserted.ok()) {
      co_await tx.value.abort();
      co_return inserted.error == "unique violation";
    }
    const auto committed = co_await tx.value.commit();
    if (committed.ok()) co_await context.point("self.after_apply");
    // A unique violation at commit means another attempt made the order first.
    co_return committed.ok() || committed.error == "unique violation";
  }

  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::shared_ptr<const Design> make_listen_to_yourself() {
  return std::make_shared<ListenToYourself>(
      "listen-to-yourself", Flaw::none, "",
      "publish the event first; the service's own consumer group re-validates and inserts the order (inbox "
      "consumer)");
}

std::vector<std::shared_ptr<const Design>> make_listen_to_yourself_bugs() {
  return {
      std::make_shared<ListenToYourself>(
          "bug-listen-to-yourself-without-revalidation", Flaw::without_revalidation, "EO",
          "the self-consumer inserts the order without re-validating: a redelivered event makes a second order"),
  };
}

}  // namespace faultline::models
