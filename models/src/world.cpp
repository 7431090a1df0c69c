// Building and running the world of a scenario: see world.h.
#include "faultline/models/world.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "faultline/models/broker_replication.h"
#include "faultline/models/db_failover.h"
#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

constexpr sim::Duration client_timeout = sim::Duration::millis(500);
// Above the slowest round trip of a healthy network (two latency spikes of 30 ms, see
// sim::NetworkConfig) plus the database's work, so that without a fault a statement
// ends unknown only behind a lock held that long: a timeout shorter than a healthy
// round trip made the service answer "unknown" with no fault anywhere (about one run
// in 10,000 after the heal, where invariant W saw it).
constexpr sim::Duration service_db_timeout = sim::Duration::millis(100);
constexpr sim::Duration drain_check_interval = sim::Duration::millis(20);
constexpr std::uint32_t partitions = 4;

sim::Instant workload_span(const Workload& workload) {
  return sim::Instant{} + workload.spacing_max * static_cast<std::int64_t>(workload.commands);
}

// The workload client: issues every command at its arrival time, each as its own
// coroutine, and logs the outcome it observed. Once the faults have healed it issues
// the fresh commands of invariant W, one after another.
class WorkloadClient {
 public:
  WorkloadClient(sim::Context& context, sim::NodeId service, const Workload& workload, std::vector<CommandRecord>& log)
      : context_(context), service_(service), workload_(workload), log_(log) {}

  void start() { context_.spawn(issue_all()); }
  // Issues the fresh commands of invariant W; each must be acknowledged by `deadline`.
  void start_after_heal(sim::Instant deadline) { context_.spawn(issue_after_heal(deadline)); }
  // The client is done with the commands issued after the heal (or there are none).
  bool after_heal_done() const { return after_heal_done_ == workload_.after_heal_commands; }

 private:
  sim::Task<void> issue_all() {
    for (std::uint32_t index = 0; index < workload_.commands; ++index) {
      if (index > 0) co_await context_.sleep(sim::Duration{context_.rng().between(0, workload_.spacing_max.ticks)});
      const auto command = static_cast<std::int64_t>(index + 1);
      PlaceOrder order{command, next_key(), next_items()};
      log_.push_back(CommandRecord{.command = command,
                                   .key = order.key,
                                   .items = order.items,
                                   .invoked = context_.now(),
                                   .completed = context_.now()});
      context_.spawn(issue(log_.size() - 1, std::move(order)));
    }
  }

  // One at a time, each as soon as the previous one ended: a healed system must take
  // new writes, not only finish old ones. Like a real client, it tries a command again
  // when the service said it failed (nothing was written: a refusal by a circuit
  // breaker, a conflict), until the deadline; an unknown outcome it does not retry, since
  // without an idempotency key a second attempt could write the change twice.
  sim::Task<void> issue_after_heal(sim::Instant deadline) {
    for (std::uint32_t index = 0; index < workload_.after_heal_commands; ++index) {
      const auto command = static_cast<std::int64_t>(workload_.commands + index + 1);
      const std::string key = next_key();
      const std::uint32_t items = next_items();
      log_.push_back(CommandRecord{.command = command,
                                   .key = key,
                                   .items = items,
                                   .invoked = context_.now(),
                                   .completed = context_.now(),
                                   .phase = CommandPhase::after_heal});
      const std::size_t entry = log_.size() - 1;
      for (;;) {
        PlaceOrder order{command, key, items};
        co_await issue(entry, std::move(order));
        if (log_[entry].outcome != Outcome::failed || context_.now() + retry_backoff >= deadline) break;
        co_await context_.sleep(retry_backoff);
      }
      ++after_heal_done_;
    }
  }

  static constexpr sim::Duration retry_backoff = sim::Duration::millis(50);

  std::string next_key() { return "k" + std::to_string(context_.rng().below(workload_.keys)); }
  std::uint32_t next_items() {
    if (workload_.items_max <= 1) return 1;
    return 1 + static_cast<std::uint32_t>(context_.rng().below(workload_.items_max));
  }

  sim::Task<void> issue(std::size_t entry, PlaceOrder command) {
    const auto result = co_await context_.call(service_, std::move(command), client_timeout);
    CommandRecord& record = log_[entry];
    record.completed = context_.now();
    record.answered = result.status != sim::RpcStatus::unknown;
    switch (result.status) {
      case sim::RpcStatus::ok:
        record.outcome = result->outcome;
        record.order_id = result->order_id;
        break;
      case sim::RpcStatus::refused:
        record.outcome = Outcome::failed;
        break;
      case sim::RpcStatus::unknown:
        record.outcome = Outcome::unknown;
        break;
    }
  }

  sim::Context& context_;
  sim::NodeId service_;
  const Workload& workload_;
  std::vector<CommandRecord>& log_;
  std::uint32_t after_heal_done_ = 0;
};

// The span and the nodes of each fault that struck, from the plan entries it can have
// come from. A point fault's log entry does not say which plan entry fired, so every
// candidate counts (the longest span, every node named): conservative, since a wider
// window only explains more. A lost response is armed at `start` but takes whichever
// reply the node sends next, which the log does not say, so its window runs to the end
// of the safety phase. Everything heals when the liveness phase begins.
std::vector<FaultWindow> fault_windows(const std::vector<sim::FaultRecord>& faults, const sim::FaultPlan& plan,
                                       sim::Instant safety_end) {
  std::vector<FaultWindow> windows;
  for (const sim::FaultRecord& record : faults) {
    FaultWindow window{.kind = record.kind, .start = record.time, .end = record.time, .node = record.node};
    // A timed entry matches by its time exactly; only when none does can a point entry be the one that fired.
    const auto timed_match = [&](const sim::Fault& fault) {
      return fault.kind == record.kind && fault.point.empty() && fault.at == record.time && fault.node == record.node;
    };
    const auto point_match = [&](const sim::Fault& fault) {
      return fault.kind == record.kind && !fault.point.empty() && (fault.node.empty() || fault.node == record.node);
    };
    const bool timed = std::any_of(plan.faults.begin(), plan.faults.end(), timed_match);
    bool found = false;
    bool until_liveness = record.kind == sim::FaultKind::lose_responses;
    sim::Duration longest{};
    for (const sim::Fault& fault : plan.faults) {
      if (timed ? !timed_match(fault) : !point_match(fault)) continue;
      found = true;
      if (fault.duration.ticks == 0) until_liveness = true;  // no duration: it lasts until the liveness phase
      longest = std::max(longest, fault.duration);
      if (!fault.peer.empty()) window.peers.push_back(fault.peer);
      for (const auto& member : fault.group) window.group.push_back(member);
    }
    if (record.kind != sim::FaultKind::heal)
      window.end = (!found || until_liveness) ? safety_end : record.time + longest;
    window.end = std::min(window.end, std::max(safety_end, window.start));
    std::sort(window.peers.begin(), window.peers.end());
    window.peers.erase(std::unique(window.peers.begin(), window.peers.end()), window.peers.end());
    std::sort(window.group.begin(), window.group.end());
    window.group.erase(std::unique(window.group.begin(), window.group.end()), window.group.end());
    windows.push_back(std::move(window));
  }
  return windows;
}

}  // namespace

std::vector<std::string> model_points() {
  return {"db.commit.before_sync",      "db.commit.after_sync",        "db.wal_writer.before_sync",
          "broker.produce.before_sync", "broker.produce.after_sync",   "consumer.before_apply",
          "consumer.after_apply",       "consumer.after_commit_offset"};
}

namespace {

std::string consumer_node_name(std::uint32_t instance) {
  return instance == 0 ? std::string(node_names::consumer)
                       : std::string(node_names::consumer) + "-" + std::to_string(instance + 1);
}

std::string relay_node_name(std::uint32_t instance) {
  return std::string(node_names::relay) + "-" + std::to_string(instance + 1);
}

}  // namespace

std::vector<std::string> fault_targets(const Settings& settings) {
  std::vector<std::string> nodes{node_names::service, node_names::database, node_names::broker};
  for (std::uint32_t instance = 0; instance < settings.consumers; ++instance)
    nodes.push_back(consumer_node_name(instance));
  nodes.push_back(node_names::consumer_database);
  // In the order run_scenario creates them (node ids follow this list).
  if (settings.relay_placement == RelayPlacement::own_nodes)
    for (std::uint32_t instance = 0; instance < settings.relays; ++instance) nodes.push_back(relay_node_name(instance));
  for (std::uint32_t replica = 1; replica < settings.broker.replicas; ++replica)
    nodes.push_back(replica_node_name(replica));
  if (settings.db_standby != Replication::none) nodes.push_back(node_names::database_standby);
  return nodes;
}

std::vector<std::string> node_list(const Settings& settings) {
  std::vector<std::string> nodes{node_names::client};
  for (auto& node : fault_targets(settings)) nodes.push_back(std::move(node));
  if (settings.broker.replicas > 1) nodes.push_back(node_names::controller);  // not a fault target
  if (settings.db_standby != Replication::none) nodes.push_back(node_names::failover_manager);
  return nodes;
}

Scenario scenario_for_seed(const Design& design, std::uint64_t seed, const Workload& workload,
                           const sim::FaultProfile& profile) {
  Scenario scenario{.design = design.name(),
                    .seed = seed,
                    .profile = profile.name,
                    .workload = workload,
                    .settings = design.default_settings(),
                    .liveness_bound = Scenario::liveness_bound_for(workload)};
  sim::PlanTargets targets{
      .nodes = fault_targets(scenario.settings), .points = design.points(), .horizon = workload_span(workload)};
  for (auto& point : model_points()) targets.points.push_back(point);
  targets.point_hits_max = std::max<std::uint32_t>(1, workload.commands);
  // The plan has its own stream, derived from the seed, so plan and run never share draws.
  std::uint64_t plan_seed = seed ^ 0x706c616e5f736565ULL;
  sim::Rng plan_rng(sim::splitmix64_next(plan_seed));
  scenario.plan = sim::generate_plan(plan_rng, profile, targets);
  return scenario;
}

Observation run_scenario(const Scenario& scenario, const Design& design, sim::TraceCapture capture,
                         AfterBound after_bound) {
  assert(design.name() == scenario.design);
  Observation observation;
  sim::Simulation simulation(sim::SimulationConfig{.seed = scenario.seed, .capture = capture});

  const Settings& settings = scenario.settings;
  // With a standby, the database is a cluster whose store (a DCS) outlives every node.
  const bool clustered = settings.db_standby != Replication::none;
  DbCluster cluster{
      .replication = settings.db_standby, .slot_sync = settings.db_slot_sync, .slots = {std::string(cdc_slot)}};
  // Boot functions run at start(), after every node (and so every id) exists.
  sim::NodeId service_id = 0, database_id = 0, broker_id = 0, consumer_database_id = 0;
  std::vector<sim::NodeId> consumer_ids;
  // A replicated broker: replica 0 is the "broker" node; the others and the
  // controller are added last, so a single-broker world keeps its node ids.
  const bool replicated = settings.broker.replicas > 1;
  std::vector<sim::NodeId> replica_ids{0};
  sim::NodeId controller_id = 0;
  ClusterMetadata cluster_metadata;
  if (replicated) cluster_metadata = initial_cluster_metadata(settings.broker.replicas, partitions);
  const auto broker_endpoints = [&] {
    return BrokerEndpoints{.replicas = replica_ids,
                           .controller = replicated ? std::optional(controller_id) : std::nullopt,
                           .partitions = partitions};
  };
  // Outside every node, so it survives their crashes (see ReplicaSink).
  ReplicaSink replica_sink;
  const auto replica_boot = [&](std::uint32_t index) {
    return [&, index](sim::Context& context) {
      context
          .make<BrokerReplica>(context, cluster_metadata,
                               ReplicaSettings{.index = index,
                                               .replica_nodes = replica_ids,
                                               .controller = controller_id,
                                               .partitions = partitions,
                                               .replication = settings.broker,
                                               .sink = &replica_sink})
          .start();
    };
  };
  // Outside every node, so it survives their crashes (see DeliverySink).
  DeliverySink delivery_sink;
  // The client is never a fault target: it boots once and lives for the whole run.
  WorkloadClient* client = nullptr;
  simulation.add_node(node_names::client, [&](sim::Context& context) {
    client = &context.make<WorkloadClient>(context, service_id, scenario.workload, observation.commands);
    client->start();
  });
  service_id = simulation.add_node(node_names::service, [&](sim::Context& context) {
    auto& env = context.make<ServiceEnv>(ServiceEnv{
        .context = context,
        .db = clustered ? DbClient(context, cluster, service_db_timeout)
                        : DbClient(context, database_id, service_db_timeout),
        .producer = replicated ? Producer(context, broker_endpoints(), PublishSettings{}, settings.broker.acks)
                               : Producer(context, broker_id, PublishSettings{}),
        .settings = settings,
        .broker = broker_id,
    });
    context.serve<PlaceOrder>(
        [&design, &env](PlaceOrder command) { return design.place_order(env, std::move(command)); });
    design.start(env);
  });
  const DbSettings database_settings{.commit = settings.db_commit, .cluster = clustered ? &cluster : nullptr};
  database_id = simulation.add_node(node_names::database, [database_settings](sim::Context& context) {
    context.make<Database>(context, database_settings).serve();
  });
  if (replicated) {
    broker_id = simulation.add_node(node_names::broker, replica_boot(0));
  } else {
    broker_id = simulation.add_node(node_names::broker, [](sim::Context& context) {
      context.make<Broker>(context, BrokerSettings{.partitions = partitions}).serve();
    });
  }
  replica_ids[0] = broker_id;
  for (std::uint32_t instance = 0; instance < settings.consumers; ++instance) {
    consumer_ids.push_back(simulation.add_node(consumer_node_name(instance), [&, instance](sim::Context& context) {
      const ConsumerSettings consumer_settings{.partitions = partitions,
                                               .instance = instance,
                                               .instances = settings.consumers,
                                               .mode = settings.consumer,
                                               .offset_reset = settings.offset_reset,
                                               .isolation = settings.consumer_isolation,
                                               .inbox = settings.inbox,
                                               .inbox_retention = settings.inbox_retention};
      if (replicated) {
        context.make<Consumer>(context, broker_endpoints(), consumer_database_id, consumer_settings, &delivery_sink)
            .start();
      } else {
        context.make<Consumer>(context, broker_id, consumer_database_id, consumer_settings, &delivery_sink).start();
      }
    }));
  }
  consumer_database_id = simulation.add_node(node_names::consumer_database, [](sim::Context& context) {
    context.make<Database>(context, DbSettings{}).serve();
  });
  // Relays, broker replicas, the standby, then the controller and the failover manager:
  // last, in node_list() order, so a record's publisher id names its node there and a
  // plain world keeps its node ids.
  if (settings.relay_placement == RelayPlacement::own_nodes) {
    for (std::uint32_t instance = 0; instance < settings.relays; ++instance) {
      simulation.add_node(relay_node_name(instance), [&, instance](sim::Context& context) {
        auto& env = context.make<ServiceEnv>(ServiceEnv{
            .context = context,
            .db = clustered ? DbClient(context, cluster, service_db_timeout)
                            : DbClient(context, database_id, service_db_timeout),
            .producer = replicated ? Producer(context, broker_endpoints(), PublishSettings{}, settings.broker.acks)
                                   : Producer(context, broker_id, PublishSettings{}),
            .settings = settings,
            .broker = broker_id,
        });
        design.start_relay(env, instance);
      });
    }
  }
  if (replicated) {
    for (std::uint32_t index = 1; index < settings.broker.replicas; ++index)
      replica_ids.push_back(simulation.add_node(replica_node_name(index), replica_boot(index)));
  }
  if (clustered) {
    cluster.primary = cluster.original_primary = database_id;
    cluster.standby = simulation.add_node(node_names::database_standby, [database_settings](sim::Context& context) {
      context.make<Database>(context, database_settings).serve();
    });
  }
  if (replicated) {
    controller_id = simulation.add_node(node_names::controller, [&](sim::Context& context) {
      context
          .make<Controller>(context, cluster_metadata,
                            ControllerSettings{.replica_nodes = replica_ids,
                                               .partitions = partitions,
                                               .unclean_election = settings.broker.unclean_election})
          .start();
    });
  }
  if (clustered) {
    simulation.add_node(node_names::failover_manager, [&cluster](sim::Context& context) {
      context.make<FailoverManager>(context, cluster, FailoverSettings{}).start();
    });
  }
  // Ground truth comes from whichever node is the primary when it is read.
  const auto primary_id = [&] { return clustered ? cluster.primary : database_id; };
  const std::string group = ConsumerSettings{}.group;
  const auto all_effects = [&] {
    std::vector<AppliedEffect> effects =
        Consumer::durable_effects_in_database(simulation.disk(consumer_database_id), group);
    for (const sim::NodeId consumer : consumer_ids)
      for (auto& effect : Consumer::durable_effects(simulation.disk(consumer))) effects.push_back(std::move(effect));
    return effects;
  };

  simulation.apply_plan(scenario.plan);
  simulation.start();

  // Safety phase: the workload and the faults, until every command had its chance to finish.
  const sim::Instant safety_end = workload_span(scenario.workload) + client_timeout + sim::Duration::millis(10);
  simulation.run_until(safety_end);
  observation.safety_end = simulation.now();

  // Liveness phase: everything heals; the client issues fresh commands; every change
  // committed must be applied within the bound.
  simulation.begin_liveness();
  observation.bound_end = observation.safety_end + scenario.liveness_bound;
  assert(client != nullptr);
  client->start_after_heal(observation.bound_end);
  // Drained: every committed change (an order, or an event-store event) has its
  // effect. Checked often, so it reads only what became durable since the last check
  // (no fault strikes in the liveness phase, so durable prefixes only grow).
  struct Scanned {
    std::size_t records = 0;
    void rewind_if_shrunk(std::size_t durable) {
      if (durable < records) records = 0;
    }
  };
  // Every durable broker record, per partition log (on a replicated broker: what survives).
  const auto broker_logs = [&] {
    if (!replicated) return Broker::durable_logs(simulation.disk(broker_id));
    std::vector<sim::Disk*> replica_disks;
    for (const sim::NodeId replica : replica_ids) replica_disks.push_back(&simulation.disk(replica));
    return surviving_records(cluster_metadata, replica_disks, ReplicaSettings{}.topic);
  };
  Scanned changes_scanned, effects_scanned;
  std::vector<Scanned> consumer_logs_scanned(consumer_ids.size());
  // Announced events (command, index within its change) of committed changes that some
  // consumer has not applied yet, and those applied.
  using AnnouncedEvent = std::pair<std::int64_t, std::uint32_t>;
  std::set<AnnouncedEvent> waiting;
  std::set<AnnouncedEvent> applied;
  std::set<std::int64_t> committed;  // commands with a committed change
  // How many events the change of a command announces: its line items, as the client asked.
  const auto events_announced_by = [&](std::int64_t command) -> std::uint32_t {
    const auto entry = static_cast<std::size_t>(command - 1);
    if (command < 1 || entry >= observation.commands.size() || observation.commands[entry].command != command) return 1;
    return observation.commands[entry].items;
  };
  sim::NodeId primary_scanned = primary_id();
  const auto scan_inserts = [](const sim::Disk& disk, Scanned& scanned, auto&& visit) {
    const auto* wal = disk.find<sim::DurableLog<WalRecord>>(Database::wal_name);
    if (wal == nullptr) return;
    const auto durable = wal->durable();
    scanned.rewind_if_shrunk(durable.size());
    for (; scanned.records < durable.size(); ++scanned.records)
      for (const Write& write : durable[scanned.records].writes)
        if (write.kind == WriteKind::insert) visit(write);
  };
  const auto drained = [&] {
    if (!client->after_heal_done()) return false;
    if (primary_scanned != primary_id()) {
      // A failover: the new primary's log is the truth, from its start.
      primary_scanned = primary_id();
      changes_scanned = Scanned{};
      waiting.clear();
      committed.clear();
    }
    scan_inserts(simulation.disk(primary_scanned), changes_scanned, [&](const Write& write) {
      if (write.table != tables::orders && write.table != tables::events) return;
      const std::int64_t command = write.row.command;
      if (!committed.insert(command).second) return;
      for (std::uint32_t index = 1; index <= events_announced_by(command); ++index)
        if (applied.count({command, index}) == 0) waiting.insert({command, index});
    });
    const auto mark_applied = [&](std::int64_t command, std::uint32_t index) {
      applied.insert({command, index});
      waiting.erase({command, index});
    };
    scan_inserts(simulation.disk(consumer_database_id), effects_scanned, [&](const Write& write) {
      if (write.table == consumer_tables::effects) mark_applied(write.row.command, write.row.index_in_change);
    });
    for (std::size_t index = 0; index < consumer_ids.size(); ++index) {
      const auto* log =
          simulation.disk(consumer_ids[index]).find<sim::DurableLog<AppliedEffect>>(Consumer::effects_name);
      if (log == nullptr) continue;
      const auto durable = log->durable();
      Scanned& scanned = consumer_logs_scanned[index];
      scanned.rewind_if_shrunk(durable.size());
      for (; scanned.records < durable.size(); ++scanned.records)
        mark_applied(durable[scanned.records].event.command, durable[scanned.records].event.index_in_change);
    }
    if (!waiting.empty()) return false;
    // The broker as the source of truth: every durable event must have its change too.
    if (design.source_of_truth() == SourceOfTruth::broker)
      for (const auto& [log, records] : broker_logs())
        for (const StoredRecord& record : records)
          if (committed.count(record.event.command) == 0) return false;
    return true;
  };
  observation.drained = simulation.run_until(drained, observation.bound_end, drain_check_interval);
  if (!observation.drained) {
    // Lost or late: what is still pending gets ten times the bound to arrive.
    for (const auto& [command, index] : waiting)
      if (observation.pending_at_bound.empty() || observation.pending_at_bound.back() != command)
        observation.pending_at_bound.push_back(command);
    if (after_bound == AfterBound::wait_for_late_events)
      simulation.run_until(drained, observation.safety_end + scenario.liveness_bound * Scenario::lost_bound_factor,
                           drain_check_interval);
  }
  observation.end = simulation.now();

  observation.tables = Database::durable_tables(simulation.disk(primary_id()));
  observation.slot_confirmations = Database::durable_slot_confirmations(simulation.disk(primary_id()));
  if (clustered && cluster.timeline > 1) observation.failovers.push_back(cluster.failed_over_at);
  observation.broker_logs = broker_logs();
  observation.effects = all_effects();
  observation.faults = simulation.fault_log();
  observation.fault_windows = fault_windows(observation.faults, scenario.plan, observation.safety_end);
  observation.deliveries = std::move(delivery_sink.deliveries);
  observation.offset_commits = std::move(delivery_sink.commits);
  observation.unfinished_steps = std::move(delivery_sink.unfinished);
  observation.acknowledged_appends = std::move(replica_sink.acknowledged);
  observation.truncations = std::move(replica_sink.truncations);
  observation.call_timeouts = simulation.call_timeouts();
  observation.node_names.emplace_back();
  for (sim::NodeId node = 1; node <= simulation.node_count(); ++node)
    observation.node_names.push_back(simulation.node_name(node));
  if (const auto* wal = simulation.disk(primary_id()).find<sim::DurableLog<WalRecord>>(Database::wal_name)) {
    for (const WalRecord& record : wal->durable())
      for (const Write& write : record.writes) {
        if (write.kind == WriteKind::insert && write.row.command != 0 &&
            observation.commit_lsn.count(write.row.command) == 0) {
          observation.commit_lsn[write.row.command] = record.lsn;
          observation.commit_time[write.row.command] = record.committed_at;
        }
        if (write.kind == WriteKind::update && write.table == tables::outbox && write.row.state == outbox_state::sent)
          observation.outbox_marks.push_back(OutboxMark{write.row.id, write.row.command, write.row.index_in_change,
                                                        write.row.events_in_change, write.row.message_id,
                                                        record.committed_at});
      }
  }
  observation.events = simulation.events_run();
  observation.trace_hash = simulation.trace().hash();
  for (const auto& [point, hits] : simulation.coverage().hits) observation.coverage[point] = hits;
  if (capture == sim::TraceCapture::full) {
    observation.trace = simulation.trace().records();
    observation.trace_json_lines = simulation.trace().json_lines();
  }
  return observation;
}

}  // namespace faultline::models
