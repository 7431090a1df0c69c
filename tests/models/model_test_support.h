// Helpers shared by the model tests: a small world (a database, a broker, a client
// and an optional consumer) with fixed latencies, so a test can name the instant
// something must happen, and ways to read the ground truth from the nodes' disks.
//
// Test scripts are free coroutines (`sim::Task<void>`) spawned on the client node.
// They record what the client saw into structs owned by the test, and the test body
// asserts on those records and on the durable state. GoogleTest's ASSERT_* cannot be
// used inside a coroutine (it returns), so scripts use EXPECT_* or just record.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/models/consumer.h"
#include "faultline/models/db.h"
#include "faultline/models/design.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// How GoogleTest prints model values in a failure message (found by argument-dependent lookup).
inline void PrintTo(Outcome outcome, std::ostream* out) {
  *out << to_string(outcome);
}

}  // namespace faultline::models

namespace faultline::sim {

inline void PrintTo(const Instant& instant, std::ostream* out) {
  *out << instant.ticks << " us";
}
inline void PrintTo(RpcStatus status, std::ostream* out) {
  *out << to_string(status);
}

}  // namespace faultline::sim

namespace faultline::models::test_support {

inline constexpr sim::Instant at_millis(std::int64_t millis) {
  return sim::Instant{} + sim::Duration::millis(millis);
}

// Every message takes exactly `latency` (no spikes, no loss) and every sync exactly
// `sync_latency`, so the instants a test relies on do not depend on the random stream.
inline sim::SimulationConfig fixed_latency_config(sim::Duration latency = sim::Duration::millis(1),
                                                  sim::Duration sync_latency = sim::Duration::millis(1),
                                                  std::uint64_t seed = 1) {
  sim::SimulationConfig config{.seed = seed};
  config.network.latency_min = latency;
  config.network.latency_max = latency;
  config.network.spike_per_mille = 0;
  config.sync_latency_min = sync_latency;
  config.sync_latency_max = sync_latency;
  return config;
}

// The timeout the test clients give every RPC: long against the 1 ms latency, so a
// call ends unknown only when its reply is really lost or its server is gone.
inline constexpr sim::Duration client_timeout = sim::Duration::millis(50);

struct WorldOptions {
  sim::SimulationConfig config = fixed_latency_config();
  DbSettings db;
  BrokerSettings broker{.partitions = 1};
  ConsumerSettings consumer{.group = "projection", .topic = "orders", .partitions = 1};
  sim::FaultPlan plan;
};

// Nodes "db", "broker", "client" and "consumer". The client runs only what a test
// spawns on it; the consumer node runs a models::Consumer once the test starts it
// (and again at every restart after that), so a test can fill the broker first. The
// consumer's own database (its inbox mode) is the same "db" node.
class ModelWorld {
 public:
  explicit ModelWorld(WorldOptions options = {}) : options_(std::move(options)), simulation(options_.config) {
    db = simulation.add_node("db",
                             [this](sim::Context& context) { context.make<Database>(context, options_.db).serve(); });
    broker = simulation.add_node(
        "broker", [this](sim::Context& context) { context.make<Broker>(context, options_.broker).serve(); });
    client = simulation.add_node("client", {});
    consumer = simulation.add_node("consumer", [this](sim::Context& context) {
      if (consumer_started_) context.make<Consumer>(context, broker, db, options_.consumer).start();
    });
    simulation.apply_plan(options_.plan);
    simulation.start();
  }

  // Starts a script on the client node at the current instant.
  void spawn(sim::Task<void> script) {
    sim::Context* context = simulation.context(client);
    ASSERT_NE(context, nullptr) << "the client node is down";
    context->spawn(std::move(script));
  }
  sim::Context& client_context() { return *simulation.context(client); }

  // Starts the consumer on the (running) consumer node; it also starts at every later boot.
  void start_consumer() {
    consumer_started_ = true;
    sim::Context* context = simulation.context(consumer);
    ASSERT_NE(context, nullptr) << "the consumer node is down";
    context->make<Consumer>(*context, broker, db, options_.consumer).start();
  }

  void run_for(sim::Duration length) { simulation.run_until(simulation.now() + length); }

  // Ground truth, read from the disks as recovery would see them.
  std::map<std::string, std::map<std::int64_t, Row>> durable_tables() {
    return Database::durable_tables(simulation.disk(db));
  }
  std::map<std::int64_t, Row> durable_rows(const std::string& table) {
    auto tables = durable_tables();
    const auto found = tables.find(table);
    return found == tables.end() ? std::map<std::int64_t, Row>{} : found->second;
  }
  std::vector<StoredRecord> durable_partition(const std::string& topic, std::uint32_t partition) {
    auto logs = Broker::durable_logs(simulation.disk(broker));
    const auto found = logs.find(Broker::log_name(topic, partition));
    return found == logs.end() ? std::vector<StoredRecord>{} : found->second;
  }
  std::vector<AppliedEffect> durable_effects() { return Consumer::durable_effects(simulation.disk(consumer)); }

 private:
  WorldOptions options_;
  bool consumer_started_ = false;

 public:
  sim::Simulation simulation;
  sim::NodeId db = 0;
  sim::NodeId broker = 0;
  sim::NodeId client = 0;
  sim::NodeId consumer = 0;
};

// The ids of some rows, in the order given (for readable failure messages).
inline std::vector<std::int64_t> ids_of(const std::vector<Row>& rows) {
  std::vector<std::int64_t> ids;
  for (const Row& row : rows) ids.push_back(row.id);
  return ids;
}
inline std::vector<std::int64_t> ids_of(const std::map<std::int64_t, Row>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& [id, row] : rows) ids.push_back(id);
  return ids;
}

// Sleeps until `instant` (at once if it has passed): lets two scripts act at the same instant.
inline sim::Task<void> sleep_until(sim::Context& context, sim::Instant instant) {
  if (instant > context.now()) co_await context.sleep(instant - context.now());
}

// Inserts one order row for `command` in `tx`; the id, or 0 if the insert did not succeed.
inline sim::Task<std::int64_t> insert_order(DbTransaction& tx, std::int64_t command) {
  Row row{.key = "k", .command = command};
  const auto inserted = co_await tx.insert("orders", std::move(row));
  EXPECT_TRUE(inserted.ok()) << "insert of command " << command << ": " << to_string(inserted.outcome) << " "
                             << inserted.error;
  co_return inserted.ok() ? inserted.value : 0;
}

// The ids of the order rows `tx` sees, optionally only those in `state`.
inline sim::Task<std::vector<std::int64_t>> visible_orders(DbTransaction& tx, std::optional<std::int64_t> state = {}) {
  DbFilter filter{.state = state};
  const auto rows = co_await tx.select("orders", std::move(filter));
  EXPECT_TRUE(rows.ok()) << "select: " << to_string(rows.outcome) << " " << rows.error;
  co_return ids_of(rows.value);
}

// Begins a transaction; EXPECTs it to succeed.
inline sim::Task<DbTransaction> begin_transaction(DbClient& db, Isolation isolation = Isolation::read_committed) {
  auto tx = co_await db.begin(isolation);
  EXPECT_TRUE(tx.ok()) << "begin: " << to_string(tx.outcome);
  co_return tx.value;
}

// Commits one order row for `command` in its own transaction; the id, or 0.
inline sim::Task<std::int64_t> commit_order(DbClient& db, std::int64_t command) {
  DbTransaction tx = co_await begin_transaction(db);
  const std::int64_t id = co_await insert_order(tx, command);
  const auto committed = co_await tx.commit();
  EXPECT_TRUE(committed.ok()) << "commit: " << to_string(committed.outcome) << " " << committed.error;
  co_return committed.ok() ? id : 0;
}

// What a fresh transaction sees of the orders table.
struct ReadBack {
  bool done = false;
  std::vector<std::int64_t> visible;
};

inline sim::Task<void> read_back(sim::Context& context, sim::NodeId database, ReadBack& record) {
  DbClient db(context, database, client_timeout);
  DbTransaction reader = co_await begin_transaction(db);
  record.visible = co_await visible_orders(reader);
  co_await reader.abort();
  record.done = true;
}

}  // namespace faultline::models::test_support
