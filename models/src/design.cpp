// The design registry and the list of built-in designs.
#include "faultline/models/design.h"

#include <cassert>

namespace faultline::models {

std::string announced_event_id(std::int64_t command, std::uint32_t index_in_change, std::uint32_t events_in_change) {
  assert(index_in_change >= 1);
  assert(index_in_change <= events_in_change);
  std::string text = "e" + std::to_string(command);
  if (events_in_change > 1) text += "." + std::to_string(index_in_change);
  return text;
}

std::string announced_event_id(const Event& event) {
  return announced_event_id(event.command, event.index_in_change, event.events_in_change);
}

std::string event_id_for(std::int64_t command) {
  return announced_event_id(command);
}

std::vector<Event> events_of_change(const PlaceOrder& command, std::int64_t order_id) {
  assert(command.items >= 1);
  std::vector<Event> events;
  events.reserve(command.items);
  for (std::uint32_t index = 1; index <= command.items; ++index) {
    Event event{announced_event_id(command.command, index, command.items), command.key, command.command, order_id};
    event.index_in_change = index;
    event.events_in_change = command.items;
    events.push_back(std::move(event));
  }
  return events;
}

void DesignRegistry::add(std::shared_ptr<const Design> design) {
  assert(design != nullptr);
  assert(find(design->name()) == nullptr && "design names are unique");
  designs_.push_back(std::move(design));
}

const Design* DesignRegistry::find(std::string_view name) const {
  for (const auto& design : designs_)
    if (design->name() == name) return design.get();
  return nullptr;
}

std::vector<std::string> DesignRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& design : designs_) names.push_back(design->name());
  return names;
}

namespace {

class WithSettings final : public Design {
 public:
  WithSettings(std::shared_ptr<const Design> base, std::string name, Settings settings, std::vector<std::string> claims,
               std::string expected_violation, std::string summary, std::string correct_twin)
      : base_(std::move(base)),
        name_(std::move(name)),
        settings_(std::move(settings)),
        claims_(std::move(claims)),
        expected_violation_(std::move(expected_violation)),
        summary_(std::move(summary)),
        correct_twin_(std::move(correct_twin)) {
    assert(base_ != nullptr);
    assert((claims_.empty() || expected_violation_.empty()) && "a positive control claims nothing");
    if (!expected_violation_.empty() && correct_twin_.empty()) correct_twin_ = base_->name();
    assert((expected_violation_.empty() || correct_twin_ != name_) && "a seeded bug is not its own twin");
  }

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override { return claims_; }
  std::string expected_violation() const override { return expected_violation_; }
  std::string correct_twin() const override { return correct_twin_; }
  Settings default_settings() const override { return settings_; }
  std::vector<std::string> points() const override { return base_->points(); }
  SourceOfTruth source_of_truth() const override { return base_->source_of_truth(); }
  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    return base_->place_order(env, std::move(command));
  }
  void start(ServiceEnv& env) const override { base_->start(env); }
  void start_relay(ServiceEnv& env, std::uint32_t relay_index) const override { base_->start_relay(env, relay_index); }

 private:
  std::shared_ptr<const Design> base_;
  std::string name_;
  Settings settings_;
  std::vector<std::string> claims_;
  std::string expected_violation_;
  std::string summary_;
  std::string correct_twin_;
};

// outbox-polling on a three-replica broker, correctly configured and not.
void add_replicated_broker_variants(DesignRegistry& registry) {
  const std::shared_ptr<const Design> outbox = make_outbox_polling();
  Settings replicated = outbox->default_settings();
  replicated.broker = BrokerReplication{.replicas = 3,
                                        .acks = ProducerAcks::all,
                                        .min_in_sync = 2,
                                        .unclean_election = UncleanElection::off,
                                        .fsync = BrokerFsync::per_write};
  registry.add(with_settings(outbox, "outbox-polling-replicated", replicated, outbox->claims(), "",
                             "outbox with a polling relay, on a 3-replica broker: acks=all, min ISR 2, "
                             "no unclean election, fsync per write"));
  Settings weak = replicated;
  // Seeded bug: the relay's ack means only "the leader has it (in memory)", and a
  // replica that lacks records may become leader: a failover loses acknowledged records.
  weak.broker.acks = ProducerAcks::leader;
  weak.broker.unclean_election = UncleanElection::on;
  weak.broker.fsync = BrokerFsync::periodic;
  registry.add(with_settings(outbox, "bug-broker-acks-1", weak, {}, "L",
                             "outbox-polling-replicated with acks=1, unclean leader election and periodic fsync: "
                             "a leader failover loses records the relay already marked sent",
                             "outbox-polling-replicated"));
}

}  // namespace

std::shared_ptr<const Design> with_settings(std::shared_ptr<const Design> base, std::string name, Settings settings,
                                            std::vector<std::string> claims, std::string expected_violation,
                                            std::string summary, std::string correct_twin) {
  return std::make_shared<WithSettings>(std::move(base), std::move(name), std::move(settings), std::move(claims),
                                        std::move(expected_violation), std::move(summary), std::move(correct_twin));
}

DesignRegistry builtin_designs() {
  DesignRegistry registry;
  registry.add(make_dual_write_db_first());
  registry.add(make_dual_write_publish_first());
  registry.add(make_publish_in_transaction());
  registry.add(make_publish_in_kafka_transaction());
  registry.add(make_outbox_polling());
  registry.add(make_outbox_polling_leased());
  registry.add(make_outbox_polling_2_relays());
  registry.add(make_outbox_cdc());
  registry.add(make_outbox_cdc_failover());
  registry.add(make_event_sourcing());
  registry.add(make_listen_to_yourself());
  for (auto& bug : make_outbox_polling_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_outbox_cdc_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_event_sourcing_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_consumer_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_publish_in_kafka_transaction_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_listen_to_yourself_bugs()) registry.add(std::move(bug));
  add_replicated_broker_variants(registry);
  for (auto& design : make_circuit_breaker_designs()) registry.add(std::move(design));
  return registry;
}

}  // namespace faultline::models
