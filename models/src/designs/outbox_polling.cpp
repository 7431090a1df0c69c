// D4, transactional outbox with a polling relay. The order and its outbox row commit
// together (outbox.h). Relays poll pending outbox rows in id order, publish each,
// and mark it sent only after the broker's ack; a crash anywhere just makes a relay
// publish the same event (same id) again: at least once, never lost, never phantom.
// With several relays, each owns the keys that hash to it (per-key order) and claims
// its rows with SELECT ... FOR UPDATE, waiting for a row another transaction holds.
//
// The seeded bugs of this design are registered variants; each differs from the
// correct relay in the lines marked "Seeded bug".
#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

enum class Flaw {
  none,
  reads_uncommitted,         // relay reads with READ UNCOMMITTED (NServiceBus.SqlServer PR #1277)
  unroutable_counted_sent,   // a failed publish is marked sent anyway (eventuate-tram-core #194)
  cleanup_by_context,        // deletes the batch's id range instead of the delivered ids (MassTransit #4990)
  concurrent_sends_per_key,  // publishes a batch concurrently: sends of one key overtake (MassTransit #3512)
  unlocked_claim,            // two relays each take every key, without a lock (open-bank-oss PR #1460)
  hook_before_outer_commit,  // an after-commit hook publishes before the outer commit (micronaut-core #10019)
};

struct RelaySettings {
  sim::Duration poll_interval = sim::Duration::millis(5);
  std::uint32_t batch = 16;
};

class OutboxPolling final : public Design {
 public:
  OutboxPolling(std::string name, Flaw flaw, std::string breaks, std::string summary)
      : name_(std::move(name)), flaw_(flaw), breaks_(std::move(breaks)), summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    if (flaw_ != Flaw::none) return {};
    return {"L", "P", "A", "O", "EO", "E"};
  }
  std::string expected_violation() const override { return breaks_; }
  Settings default_settings() const override {
    Settings settings{.consumer = ConsumerMode::inbox};
    if (flaw_ == Flaw::unlocked_claim) settings.relays = 2;
    return settings;
  }
  std::vector<std::string> points() const override {
    return {"service.before_commit", "service.after_commit", "relay.after_select", "relay.after_publish_ack",
            "relay.after_mark_sent"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    const OutboxDispatch dispatch =
        flaw_ == Flaw::hook_before_outer_commit ? OutboxDispatch::inner_commit_hook : OutboxDispatch::relay_only;
    return write_order_with_outbox(env, std::move(command), dispatch);
  }

  void start(ServiceEnv& env) const override {
    for (std::uint32_t relay_index = 0; relay_index < env.settings.relays; ++relay_index)
      env.context.spawn(relay(env, relay_index));
  }

 private:
  sim::Task<void> relay(ServiceEnv& env, std::uint32_t relay_index) const {
    const RelaySettings settings;
    auto& context = env.context;
    const std::uint32_t relays = env.settings.relays;
    const Isolation isolation =
        flaw_ == Flaw::reads_uncommitted ? Isolation::read_uncommitted : Isolation::read_committed;  // Seeded bug
    // A relay waits for a row another transaction holds (a dead relay's, until the
    // database reaps it): skipping it would let a later event of its key overtake it.
    const bool unlocked = flaw_ == Flaw::unlocked_claim || flaw_ == Flaw::reads_uncommitted;  // Seeded bugs
    const LockMode lock = unlocked ? LockMode::none : LockMode::for_update;
    for (;;) {
      co_await context.sleep(settings.poll_interval);
      auto tx = co_await env.db.begin(isolation);
      if (!tx.ok()) continue;
      DbFilter filter{.state = outbox_state::pending, .limit = settings.batch, .lock = lock};
      if (flaw_ != Flaw::unlocked_claim) {  // Seeded bug: every relay takes every key.
        filter.key_partitions = relays;
        filter.key_partition = relay_index;
      }
      auto rows = co_await tx.value.select(tables::outbox, std::move(filter));
      if (!rows.ok() || rows.value.empty()) {
        co_await tx.value.abort();
        continue;
      }
      co_await context.point("relay.after_select");
      if (flaw_ == Flaw::concurrent_sends_per_key) {
        co_await publish_concurrently(env, tx.value, rows.value);  // Seeded bug
      } else {
        co_await publish_in_order(env, tx.value, rows.value);
      }
      const auto committed = co_await tx.value.commit();
      if (committed.ok()) co_await context.point("relay.after_mark_sent");
    }
  }

  // Publishes rows one by one and marks each sent after its ack; stops at the first
  // failure so a later event of a key never overtakes an earlier one.
  sim::Task<void> publish_in_order(ServiceEnv& env, DbTransaction& tx, const std::vector<Row>& rows) const {
    for (const Row& row : rows) {
      Event event{row.event_id, row.key, row.command, row.order_id};
      const Outcome published = co_await env.producer.publish(env.topic, std::move(event));
      if (published != Outcome::ok && flaw_ != Flaw::unroutable_counted_sent) break;  // Seeded bug: no break
      co_await env.context.point("relay.after_publish_ack");
      if (flaw_ == Flaw::cleanup_by_context) continue;
      const auto marked = co_await tx.update(tables::outbox, row.id, outbox_state::sent, outbox_state::pending);
      if (!marked.ok()) break;
    }
    if (flaw_ == Flaw::cleanup_by_context && !rows.empty()) {
      // Seeded bug: clean up "everything up to the batch's last id" instead of the
      // delivered ids; a row with a lower id that committed meanwhile goes unsent.
      DbFilter range{.state = outbox_state::pending};
      auto pending = co_await tx.select(tables::outbox, std::move(range));
      if (!pending.ok()) co_return;
      for (const Row& row : pending.value)
        if (row.id <= rows.back().id) co_await tx.update(tables::outbox, row.id, outbox_state::sent, std::nullopt);
    }
  }

  // Seeded bug: every row of the batch is sent at once; retries reorder one key's events.
  sim::Task<void> publish_concurrently(ServiceEnv& env, DbTransaction& tx, const std::vector<Row>& rows) const {
    auto outcomes = std::make_shared<std::vector<Outcome>>(rows.size(), Outcome::unknown);
    auto remaining = std::make_shared<std::size_t>(rows.size());
    for (std::size_t index = 0; index < rows.size(); ++index)
      env.context.spawn(send_one(env, rows[index], outcomes, remaining, index));
    while (*remaining > 0) co_await env.context.sleep(sim::Duration::millis(1));
    for (std::size_t index = 0; index < rows.size(); ++index)
      if ((*outcomes)[index] == Outcome::ok)
        co_await tx.update(tables::outbox, rows[index].id, outbox_state::sent, outbox_state::pending);
  }

  static sim::Task<void> send_one(ServiceEnv& env, Row row, std::shared_ptr<std::vector<Outcome>> outcomes,
                                  std::shared_ptr<std::size_t> remaining, std::size_t index) {
    Event event{row.event_id, row.key, row.command, row.order_id};
    (*outcomes)[index] = co_await env.producer.publish(env.topic, std::move(event));
    --*remaining;
  }

  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::shared_ptr<const Design> make_outbox_polling() {
  return std::make_shared<OutboxPolling>(
      "outbox-polling", Flaw::none, "",
      "order and outbox row in one transaction; relays poll, publish, then mark sent (inbox consumer)");
}

std::vector<std::shared_ptr<const Design>> make_outbox_polling_bugs() {
  return {
      std::make_shared<OutboxPolling>("bug-relay-reads-uncommitted", Flaw::reads_uncommitted, "P",
                                      "outbox relay reading uncommitted rows (NServiceBus.SqlServer PR #1277)"),
      std::make_shared<OutboxPolling>("bug-unroutable-counted-sent", Flaw::unroutable_counted_sent, "L",
                                      "failed publish marked sent (eventuate-tram-core #194)"),
      std::make_shared<OutboxPolling>("bug-cleanup-by-context", Flaw::cleanup_by_context, "L",
                                      "cleanup by id range instead of delivered ids (MassTransit #4990)"),
      std::make_shared<OutboxPolling>("bug-concurrent-sends-per-key", Flaw::concurrent_sends_per_key, "O",
                                      "concurrent in-flight sends per key (MassTransit #3512, KAFKA-16300)"),
      std::make_shared<OutboxPolling>("bug-unlocked-claim", Flaw::unlocked_claim, "ND",
                                      "two relays claim rows without a lock (open-bank-oss PR #1460)"),
      std::make_shared<OutboxPolling>("bug-hook-before-outer-commit", Flaw::hook_before_outer_commit, "P",
                                      "after-commit hook fires before the outer commit (micronaut-core #10019)"),
  };
}

}  // namespace faultline::models
