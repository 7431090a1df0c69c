// D5, transactional outbox with change data capture. The order and its outbox row
// commit together (outbox.h); a relay tails the database's durable commit log from
// its replication slot's confirmed position, publishes every outbox insert in commit
// order, and confirms the slot only after the broker acked the whole transaction.
// A restart resumes from the slot: events may be published again, never lost.
//
// Optionally the database has a standby with failover (Settings::db_standby). After a
// failover the log's timeline changes; the relay re-reads its slot on the new primary.
// With slot sync the slot is there, at or before the confirmed position; without it
// the relay finds no slot and creates one at the end of the log, skipping whatever
// was committed since its last confirmation (the seeded bug below).
#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

enum class Flaw {
  none,
  slot_before_publish,  // confirms the slot before publishing (pg_failover_slots-style position loss)
};

class OutboxCdc final : public Design {
 public:
  OutboxCdc(std::string name, Flaw flaw, std::string breaks, std::string summary, Settings settings,
            std::string correct_twin = {})
      : name_(std::move(name)),
        flaw_(flaw),
        breaks_(std::move(breaks)),
        summary_(std::move(summary)),
        settings_(settings),
        correct_twin_(std::move(correct_twin)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    if (flaw_ != Flaw::none || !breaks_.empty()) return {};
    return {"L", "P", "A", "O", "EO", "E", "ND", "W"};
  }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override { return correct_twin_; }
  Settings default_settings() const override { return settings_; }
  std::vector<std::string> points() const override {
    return {"service.before_commit", "service.after_commit", "cdc.after_read", "cdc.after_publish_ack",
            "cdc.after_slot_advance"};
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    return write_order_with_outbox(env, std::move(command));
  }

  void start(ServiceEnv& env) const override { env.context.spawn(tail(env)); }

 private:
  static constexpr const char* slot = cdc_slot;

  sim::Task<void> tail(ServiceEnv& env) const {
    auto& context = env.context;
    std::uint64_t position = 0;
    std::uint64_t timeline = 0;
    bool positioned = false;
    for (;;) {
      co_await context.sleep(sim::Duration::millis(5));
      if (!positioned) {
        auto confirmed = co_await env.db.slot_lookup(slot);
        if (!confirmed.ok()) continue;
        if (!confirmed.value.found) {
          // No slot on this primary (a standby promoted without slot sync): start one
          // at the end of the log, as a logical-replication client would.
          confirmed = co_await env.db.slot_create(slot);
          if (!confirmed.ok()) continue;
        }
        position = confirmed.value.confirmed_lsn;
        timeline = confirmed.value.timeline;
        positioned = true;
      }
      const auto log = co_await env.db.read_log(position, 16);
      if (log.ok() && log.value.timeline != timeline) {
        positioned = false;  // a failover: positions of the old timeline mean nothing here
        continue;
      }
      if (!log.ok() || log.value.transactions.empty()) continue;
      co_await context.point("cdc.after_read");
      for (const LoggedTransaction& transaction : log.value.transactions) {
        if (flaw_ == Flaw::slot_before_publish) {
          // Seeded bug: the position is confirmed before the events are out.
          if (!(co_await env.db.slot_advance(slot, transaction.lsn)).ok()) break;
        }
        bool published_all = true;
        for (const Write& write : transaction.writes) {
          if (write.table != tables::outbox || write.kind != WriteKind::insert) continue;
          Event event = event_of_outbox_row(write.row);
          if (co_await env.producer.publish(env.topic, std::move(event)) != Outcome::ok) {
            published_all = false;
            break;
          }
          co_await context.point("cdc.after_publish_ack");
        }
        if (!published_all) {
          positioned = false;  // re-read from the confirmed position
          break;
        }
        position = transaction.lsn;
        if (flaw_ == Flaw::none) {
          if (!(co_await env.db.slot_advance(slot, position)).ok()) {
            positioned = false;
            break;
          }
        }
        co_await context.point("cdc.after_slot_advance");
      }
    }
  }

  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
  Settings settings_;
  std::string correct_twin_;
};

}  // namespace

std::shared_ptr<const Design> make_outbox_cdc() {
  return std::make_shared<OutboxCdc>("outbox-cdc", Flaw::none, "",
                                     "order and outbox row in one transaction; a relay tails the commit log from a "
                                     "durable slot (inbox consumer)",
                                     Settings{.consumer = ConsumerMode::inbox});
}

std::shared_ptr<const Design> make_outbox_cdc_failover() {
  return std::make_shared<OutboxCdc>(
      "outbox-cdc-failover", Flaw::none, "",
      "outbox-cdc on a database with a synchronous standby, failover and slot sync (pg_failover_slots)",
      Settings{.consumer = ConsumerMode::inbox, .db_standby = Replication::synchronous, .db_slot_sync = SlotSync::on});
}

std::vector<std::shared_ptr<const Design>> make_outbox_cdc_bugs() {
  return {std::make_shared<OutboxCdc>("bug-cdc-slot-before-publish", Flaw::slot_before_publish, "L",
                                      "CDC slot confirmed before the events are published (pg_failover_slots)",
                                      Settings{.consumer = ConsumerMode::inbox}, "outbox-cdc"),
          std::make_shared<OutboxCdc>("bug-cdc-failover-without-slot-sync", Flaw::none, "L",
                                      "outbox-cdc-failover without slot sync: after a failover the relay recreates "
                                      "its slot at the end of the log (pg_failover_slots)",
                                      Settings{.consumer = ConsumerMode::inbox,
                                               .db_standby = Replication::synchronous,
                                               // Seeded bug: the standby keeps no copy of the logical slot.
                                               .db_slot_sync = SlotSync::off},
                                      "outbox-cdc-failover")};
}

}  // namespace faultline::models
