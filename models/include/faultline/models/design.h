// A design is a way to make "change the database and announce it on the broker"
// work: the service's write path for one command, plus any background work (a
// relay). Each design is one file under models/src/designs/, registered by name,
// and declares the invariants it guarantees and the named points it reaches.
//
// Users add designs without touching the library: build a DesignRegistry from
// `builtin_designs()`, add your own, and hand it to the faultline command's entry point.
#pragma once

#include <any>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/models/db.h"
#include "faultline/models/scenario.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// The service's API: "place order k".
struct PlaceOrderReply {
  Outcome outcome = Outcome::failed;
  std::int64_t order_id = 0;
};
struct PlaceOrder {
  using Reply = PlaceOrderReply;
  static constexpr std::string_view rpc_name = "service.place_order";
  std::int64_t command = 0;
  std::string key;
  // Line items: the change announces this many events, one per item (see
  // events_of_change). Every design must write all of them with the change.
  std::uint32_t items = 1;
};

// The identity of an announced event as text, for explanations: "e12" for the only
// event of command 12's change, "e12.2" for the second of a change announcing several.
// The checkers know an event by it, whatever message id it travelled under.
std::string announced_event_id(std::int64_t command, std::uint32_t index_in_change = 1,
                               std::uint32_t events_in_change = 1);
std::string announced_event_id(const Event& event);
// The announced identity of a command's single event ("e12"). A design may also use it
// as its message id (an id derived from the command, like an idempotency key); the
// outbox designs draw ids of their own.
std::string event_id_for(std::int64_t command);

// The events the change of `command` announces, one per line item, in index order: each
// with the command, key and order id, its index within the change and the change's
// event count, and as message id its announced id ("e12", or "e12.1", "e12.2", ...). A
// design with message ids of its own overwrites them.
std::vector<Event> events_of_change(const PlaceOrder& command, std::int64_t order_id);

// What a design's code has to work with on the service node (one per incarnation).
struct ServiceEnv {
  sim::Context& context;
  DbClient db;
  Producer producer;
  Settings settings;
  std::string topic = "orders";
  sim::NodeId broker = 0;  // for a design that needs a producer with settings of its own
  std::any design_state;   // see state()

  // State the design keeps on this node from one command to the next (a circuit
  // breaker, a cache): made on first use, volatile like everything of the incarnation,
  // so a crash loses it and the next incarnation starts afresh. One type per design.
  template <typename T>
  T& state() {
    if (!design_state.has_value()) design_state.template emplace<T>();
    return std::any_cast<T&>(design_state);
  }
};

// The tables the designs use.
namespace tables {
inline constexpr const char* orders = "orders";
inline constexpr const char* outbox = "outbox";
inline constexpr const char* events = "events";        // the event store (event sourcing)
inline constexpr const char* customers = "customers";  // one row per aggregate key, locked to serialize its changes
}  // namespace tables

// Where a command's change first becomes durable: in the database (the event follows
// the change), or in the broker (the event is the change, and the service's own
// database follows it by consuming it).
enum class SourceOfTruth { database, broker };

class Design {
 public:
  virtual ~Design() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  // Invariant ids (design.md section 6) the design guarantees.
  virtual std::vector<std::string> claims() const = 0;
  // For a positive control (a design known to be broken): the invariant the harness
  // must catch it violating. Empty for a design that claims to be correct.
  virtual std::string expected_violation() const { return {}; }
  // For a seeded bug: the registered correct design it was made from, run with the same
  // settings and the same relays, with the seeded lines undone. Specificity is judged on
  // it: the twin must never violate the invariant the bug is caught violating, so a
  // catch is the bug's doing, not the harness's. Empty for a correct design, and for a
  // positive control that is no mutation of a correct design (the naive dual writes).
  virtual std::string correct_twin() const { return {}; }
  // The settings the design is meant to run with; its claims assume them.
  virtual Settings default_settings() const { return {}; }
  // The named points of its protocol, for fault plans, coverage and exploration.
  virtual std::vector<std::string> points() const = 0;
  // With the broker as the source of truth, the run drains only once every durable
  // event has its database change too.
  virtual SourceOfTruth source_of_truth() const { return SourceOfTruth::database; }

  // The write path for one command; the reply tells the client what happened.
  virtual sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const = 0;
  // Background work on the service node (a relay), started at every boot.
  virtual void start(ServiceEnv& env) const { (void)env; }
  // With Settings::relay_placement == own_nodes: relay instance `relay_index` on its own
  // node, started at every boot of that node (`env` is that node's, with no API served).
  virtual void start_relay(ServiceEnv& env, std::uint32_t relay_index) const {
    (void)env;
    (void)relay_index;
  }
};

class DesignRegistry {
 public:
  void add(std::shared_ptr<const Design> design);
  const Design* find(std::string_view name) const;
  const std::vector<std::shared_ptr<const Design>>& all() const { return designs_; }
  std::vector<std::string> names() const;

 private:
  std::vector<std::shared_ptr<const Design>> designs_;  // in registration order
};

// The designs that ship with faultline.
DesignRegistry builtin_designs();

// Each built-in design's file provides its factory, and its seeded bugs: variants
// that differ from it in a few marked lines, each naming the invariant it breaks.
std::shared_ptr<const Design> make_dual_write_db_first();
std::shared_ptr<const Design> make_dual_write_publish_first();
std::shared_ptr<const Design> make_publish_in_transaction();
std::shared_ptr<const Design> make_publish_in_kafka_transaction();
std::shared_ptr<const Design> make_outbox_polling();
std::shared_ptr<const Design> make_outbox_polling_leased();
std::shared_ptr<const Design> make_outbox_polling_2_relays();
std::shared_ptr<const Design> make_outbox_cdc();
std::shared_ptr<const Design> make_outbox_cdc_failover();
std::shared_ptr<const Design> make_event_sourcing();
std::shared_ptr<const Design> make_listen_to_yourself();
std::vector<std::shared_ptr<const Design>> make_outbox_polling_bugs();
std::vector<std::shared_ptr<const Design>> make_outbox_cdc_bugs();
std::vector<std::shared_ptr<const Design>> make_event_sourcing_bugs();
std::vector<std::shared_ptr<const Design>> make_consumer_bugs();
std::vector<std::shared_ptr<const Design>> make_publish_in_kafka_transaction_bugs();
std::vector<std::shared_ptr<const Design>> make_listen_to_yourself_bugs();
// outbox-polling behind a circuit breaker, and its seeded bug.
std::vector<std::shared_ptr<const Design>> make_circuit_breaker_designs();

// A design run with other settings: `base`'s protocol under `name`, with its own
// claims (or, for a positive control, the invariant it must be caught breaking).
// How the broker's replication settings become variants of an existing design. A
// positive control's correct twin is `correct_twin`, or `base` when that is empty.
std::shared_ptr<const Design> with_settings(std::shared_ptr<const Design> base, std::string name, Settings settings,
                                            std::vector<std::string> claims, std::string expected_violation,
                                            std::string summary, std::string correct_twin = {});

}  // namespace faultline::models
