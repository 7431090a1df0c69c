// Publish in a Kafka transaction: the service begins a broker transaction, produces
// the event in it, commits the database transaction, then commits the broker
// transaction; if the database commit fails or ends unknown it aborts the broker
// transaction. Consumers read_committed never see the event of an aborted broker
// transaction, so no event announces a change that did not commit (P). The two
// commits are still not atomic: a crash between them leaves the change committed and
// its broker transaction open until the transaction timeout aborts it, so the event
// is lost (the design does not claim L). An outcome of the database commit that is
// unknown but was in fact a commit loses the event the same way.
//
// Each command has its own transactional id, so commands run their transactions
// concurrently; a transactional id is never reused, so its sessions are not fenced by
// a successor (the broker tests cover fencing). Transactions are served by the single
// broker only: with a replicated broker every command fails.
#include "faultline/models/design.h"

namespace faultline::models {
namespace {

class PublishInKafkaTransaction final : public Design {
 public:
  std::string name() const override { return "publish-in-kafka-transaction"; }
  std::string summary() const override {
    return "produce in a broker transaction, commit the DB, then commit the broker transaction (consumers "
           "read_committed); a crash between the commits loses the event, so it does not claim L";
  }
  std::vector<std::string> claims() const override { return {"P", "A", "ND", "W"}; }
  std::vector<std::string> points() const override {
    return {"service.before_publish", "service.after_publish", "service.after_db_commit", "service.after_broker_commit",
            "broker.transaction.after_decision"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    auto& context = env.context;
    TransactionalProducer producer(context, env.broker, "service-order-" + std::to_string(command.command));
    if (co_await producer.init() != Outcome::ok) co_return PlaceOrderReply{Outcome::failed};
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
      if (co_await producer.send(env.topic, std::move(event)) != Outcome::ok) {
        // The record may be in the broker (an unknown outcome): abort it with the change.
        co_await tx.value.abort();
        co_await producer.end(TransactionResult::abort);
        co_return PlaceOrderReply{Outcome::failed};
      }
      co_await context.point("service.after_publish");
    }
    const auto committed = co_await tx.value.commit();
    if (!committed.ok()) {
      // The change did not commit, or may not have: its event must never be read.
      co_await producer.end(TransactionResult::abort);
      co_return PlaceOrderReply{committed.outcome};
    }
    co_await context.point("service.after_db_commit");
    // The change is durable whatever happens to the broker transaction now; if it
    // cannot be committed the event is lost, which this design does not claim.
    co_await producer.end(TransactionResult::commit);
    co_await context.point("service.after_broker_commit");
    co_return PlaceOrderReply{Outcome::ok, order.value};
  }
};

}  // namespace

std::shared_ptr<const Design> make_publish_in_kafka_transaction() {
  return std::make_shared<PublishInKafkaTransaction>();
}

std::vector<std::shared_ptr<const Design>> make_publish_in_kafka_transaction_bugs() {
  const auto design = make_publish_in_kafka_transaction();
  Settings settings = design->default_settings();
  // Seeded bug: the consumers read uncommitted: they apply the event of a broker
  // transaction the service aborted because its database change never committed.
  settings.consumer_isolation = ConsumerIsolation::read_uncommitted;
  return {with_settings(design, "bug-consumer-reads-uncommitted", settings, {}, "P",
                        "publish-in-kafka-transaction with consumers read_uncommitted: they apply events of "
                        "aborted broker transactions")};
}

}  // namespace faultline::models
