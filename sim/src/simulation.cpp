// The event loop, node lifecycle (boot, crash, restart, pause) and fault application.
#include "faultline/sim/simulation.h"

#include <algorithm>

#include "faultline/sim/abandon.h"

namespace faultline::sim {
namespace {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t state = a ^ (b * 0x9e3779b97f4a7c15ULL);
  return splitmix64_next(state);
}

}  // namespace

Simulation::Simulation(SimulationConfig config)
    : config_(config),
      rng_(config.seed),
      node_seeds_(mix(config.seed, 0x6e6f6465ULL)),
      network_(config.network),
      trace_(config.capture) {
  nodes_.push_back(Node{.name = "", .boot = {}, .state = NodeState::up});
  network_.add_node();
  trace_.fold(config.seed);
}

Simulation::~Simulation() {
  // Coroutines first (they may refer to each other's nodes' objects), then the queue.
  for (auto& node : nodes_) {
    for (const auto slot : node.deferred) queue_.discard(slot);
    node.deferred.clear();
    node.current.reset();
  }
}

NodeId Simulation::add_node(std::string name, BootFunction boot) {
  assert(!started_ && "nodes are added before the simulation starts");
  assert(!name.empty());
  assert(!has_node(name) && "node names are unique");
  const std::uint64_t name_digest = Trace::digest(name);
  nodes_.push_back(Node{.name = std::move(name), .name_digest = name_digest, .boot = std::move(boot)});
  network_.add_node();
  return static_cast<NodeId>(nodes_.size() - 1);
}

void Simulation::start() {
  assert(!started_);
  started_ = true;
  for (NodeId node = 1; node < nodes_.size(); ++node) {
    nodes_[node].state = NodeState::up;
    boot(node);
  }
}

NodeId Simulation::node_id(std::string_view name) const {
  for (NodeId node = 1; node < nodes_.size(); ++node)
    if (nodes_[node].name == name) return node;
  assert(false && "unknown node name");
  return world_node;
}

bool Simulation::has_node(std::string_view name) const {
  return std::any_of(nodes_.begin() + 1, nodes_.end(), [&](const Node& node) { return node.name == name; });
}

Context* Simulation::context(NodeId node) {
  return nodes_[node].current.get();
}

bool Simulation::step() {
  if (queue_.empty()) return false;
  const EventQueue::Popped event = queue_.pop();
  assert(event.time >= now_);
  now_ = event.time;
  const Owner owner = queue_.owner(event.slot);
  if (owner.node != world_node) {
    Node& node = nodes_[owner.node];
    const bool stale = owner.incarnation != any_incarnation && owner.incarnation != node.incarnation;
    if (node.state == NodeState::down || stale) {
      queue_.discard(event.slot);
      return true;
    }
    if (node.state == NodeState::paused) {
      node.deferred.push_back(event.slot);
      return true;
    }
  }
  ++events_run_;
  trace_.fold(static_cast<std::uint64_t>(now_.ticks) ^ (std::uint64_t{owner.node} << 48));
  queue_.run(event.slot);
  if (failure_) rethrow_failure();
  return true;
}

namespace {
constexpr std::uint64_t send_digest = Trace::digest("send");
constexpr std::uint64_t drop_digest = Trace::digest("drop");
constexpr std::uint64_t deliver_digest = Trace::digest("deliver");
}  // namespace

void Simulation::send(MessageRole role, std::unique_ptr<detail::Message> message) {
  message->simulation_ = this;
  message->id_ = next_id();
  const NodeId from = message->from_;
  const NodeId to = message->to_;
  record_message("send", send_digest, from, to, *message);
  trace_.fold(role == MessageRole::request ? std::uint64_t{1} : std::uint64_t{2});
  if (network_.blocked(from, to) || network_.sample_loss(rng_)) {
    record_message("drop", drop_digest, from, to, *message);
    return;
  }
  // A duplicate carries a copy of the payload and arrives on its own latency.
  if (network_.sample_duplicate(rng_))
    queue_.push_owned(now_ + network_.sample_latency(rng_), Owner{to, any_incarnation}, message->copy().release());
  queue_.push_owned(now_ + network_.sample_latency(rng_), Owner{to, any_incarnation}, message.release());
}

void Simulation::arrive(detail::Message& message) {
  if (network_.blocked(message.from_, message.to_)) {
    record_message("drop", drop_digest, message.to_, message.from_, message);
    return;
  }
  record_message("deliver", deliver_digest, message.to_, message.from_, message);
  Context* receiver = context(message.to_);
  assert(receiver != nullptr);
  message.deliver(*receiver);
}

void Simulation::rethrow_failure() {
  std::exception_ptr failure = std::exchange(failure_, nullptr);
  std::rethrow_exception(failure);
}

void Simulation::run_until(Instant deadline) {
  // Checked before every event, so a stop request ends even a run whose events are slow
  // (sim/abandon.h); a relaxed load of a flag that is written once costs next to nothing.
  const std::atomic<bool>* abandon = abandon_flag();
  while (!queue_.empty() && queue_.next_time() <= deadline) {
    if (abandon != nullptr && abandon->load(std::memory_order_relaxed)) throw RunAbandoned();
    step();
  }
  if (now_ < deadline) now_ = deadline;
}

bool Simulation::run_until(const std::function<bool()>& done, Instant deadline, Duration interval) {
  assert(interval.ticks > 0);
  for (;;) {
    if (done()) return true;
    if (now_ >= deadline) return false;
    run_until(std::min(now_ + interval, deadline));
  }
}

void Simulation::boot(NodeId id) {
  Node& node = nodes_[id];
  const std::uint64_t seed = mix(mix(config_.seed, id), node.incarnation);
  node.current = std::make_unique<Context>(*this, id, node.incarnation, seed);
  trace_.record(now_, node.name, "boot", std::to_string(node.incarnation));
  if (node.boot) node.boot(*node.current);
}

void Simulation::crash(NodeId id, std::string_view reason) {
  assert(id != world_node);
  Node& node = nodes_[id];
  if (node.state == NodeState::down) return;
  trace_.record(now_, node.name, "crash", reason);
  // From here on, no event of the old incarnation runs: they are all stale.
  ++node.incarnation;
  for (const auto slot : node.deferred) queue_.discard(slot);
  node.deferred.clear();
  node.state = NodeState::down;
  node.current.reset();  // every coroutine frame, then every volatile object
  node.disk.lose_unsynced();
}

void Simulation::restart(NodeId id) {
  Node& node = nodes_[id];
  if (node.state != NodeState::down) return;
  node.state = NodeState::up;
  trace_.record(now_, node.name, "restart", "");
  boot(id);
}

void Simulation::pause(NodeId id, Duration length) {
  Node& node = nodes_[id];
  if (node.state != NodeState::up) return;
  node.state = NodeState::paused;
  const std::uint64_t epoch = ++node.pause_epoch;
  trace_.record(now_, node.name, "pause", std::to_string(length.ticks / 1000) + " ms");
  schedule(now_ + length, Owner{}, [this, id, epoch] {
    if (nodes_[id].pause_epoch == epoch) resume(id);
  });
}

void Simulation::resume(NodeId id) {
  Node& node = nodes_[id];
  if (node.state != NodeState::paused) return;
  node.state = NodeState::up;
  trace_.record(now_, node.name, "resume", "");
  for (const auto slot : node.deferred) queue_.repush(now_, slot);
  node.deferred.clear();
}

void Simulation::set_clock_skew(NodeId id, Duration skew) {
  assert(id != world_node);
  nodes_[id].clock_skew = skew;
}

void Simulation::apply_plan(const FaultPlan& plan) {
  assert(plan_.faults.empty() && "a simulation takes one fault plan");
  plan_ = plan;
  for (const Fault& fault : plan_.faults) {
    if (fault.kind != FaultKind::heal && fault.kind != FaultKind::partition) {
      assert((fault.point.empty() == false || !fault.node.empty()) && "a timed fault names its node");
      assert((fault.node.empty() || has_node(fault.node)) && "a fault names a known node");
    }
    if (fault.point.empty()) {
      const Fault* planned = &fault;
      schedule(fault.at, Owner{}, [this, planned] {
        if (!liveness_) apply_fault(*planned, world_node);
      });
    } else {
      const std::uint32_t index = point_index(fault.point);
      points_[index].armed.push_back(ArmedPoint{fault.hit, &fault});
      any_armed_ = true;
    }
  }
}

std::uint32_t Simulation::point_index(std::string_view name) {
  for (const auto& [cached, index] : point_cache_)
    if (cached.data() == name.data() && cached.size() == name.size()) return index;
  auto found = point_names_.find(name);
  if (found == point_names_.end()) {
    found = point_names_.emplace(std::string(name), static_cast<std::uint32_t>(points_.size())).first;
    points_.push_back(Point{.digest = Trace::digest(name)});
  }
  point_cache_.emplace_back(name, found->second);
  return found->second;
}

const Fault* Simulation::hit_point(NodeId node, std::string_view point) {
  Point& reached = points_[point_index(point)];
  if (reached.hits == nullptr) reached.hits = &coverage_.hits.emplace(std::string(point), 0).first->second;
  const std::uint64_t count = ++*reached.hits;
  // The record Trace::record(now_, node's name, "point", point) would make.
  static constexpr std::uint64_t point_digest = Trace::digest("point");
  static constexpr std::uint64_t no_peer_digest = Trace::digest("");
  trace_.fold_record(now_, nodes_[node].name_digest, point_digest, reached.digest, no_peer_digest, 0);
  if (trace_.capturing()) trace_.keep(now_, nodes_[node].name, "point", point, {}, 0);
  if (liveness_ || !any_armed_) return nullptr;
  for (const ArmedPoint& entry : reached.armed)
    if (entry.hit == count) return entry.fault;
  return nullptr;
}

void Simulation::apply_fault(const Fault& fault, NodeId reached_by) {
  const auto target = [&](const std::string& name) { return name.empty() ? reached_by : node_id(name); };
  const std::string& about = fault.node.empty() && reached_by != world_node ? nodes_[reached_by].name : fault.node;
  trace_.record(now_, about, "fault", describe(fault));
  fault_log_.push_back(FaultRecord{now_, about, fault.kind});
  const auto cut = [this](const std::vector<NodeId>& side, auto&& action) {
    for (NodeId inside : side)
      for (NodeId other = 1; other < nodes_.size(); ++other) {
        if (std::find(side.begin(), side.end(), other) != side.end()) continue;
        action(inside, other);
        action(other, inside);
      }
  };
  const auto cut_for = [&, this](std::vector<NodeId> side, Duration length) {
    cut(side, [this](NodeId a, NodeId b) { network_.block(a, b); });
    if (length.ticks > 0) {
      const std::uint64_t epoch = network_.heal_epoch();
      schedule(now_ + length, Owner{}, [this, side, cut, epoch] {
        if (network_.heal_epoch() != epoch) return;  // healed meanwhile: nothing of it is left
        cut(side, [this](NodeId a, NodeId b) { network_.unblock(a, b); });
        trace_.record(now_, "", "heal", "partition ended");
      });
    }
  };

  switch (fault.kind) {
    case FaultKind::crash:
    case FaultKind::crash_with_disk_loss: {
      const NodeId node = target(fault.node);
      assert(node != world_node);
      crash(node, fault.point.empty() ? std::string_view("planned") : std::string_view(fault.point));
      if (fault.kind == FaultKind::crash_with_disk_loss) {
        nodes_[node].disk.for_each(
            [&](const std::string&, Durable& durable) { durable.lose_synced_suffix(fault.count); });
      }
      if (fault.duration.ticks > 0) {
        schedule(now_ + fault.duration, Owner{}, [this, node] {
          if (!liveness_) restart(node);
        });
      }
      break;
    }
    case FaultKind::pause:
      pause(target(fault.node), fault.duration);
      break;
    case FaultKind::isolate:
      cut_for({target(fault.node)}, fault.duration);
      break;
    case FaultKind::partition: {
      std::vector<NodeId> side;
      for (const auto& name : fault.group) side.push_back(node_id(name));
      cut_for(side, fault.duration);
      break;
    }
    case FaultKind::one_way: {
      const NodeId from = target(fault.node);
      const NodeId to = node_id(fault.peer);
      network_.block(from, to);
      if (fault.duration.ticks > 0) {
        const std::uint64_t epoch = network_.heal_epoch();
        schedule(now_ + fault.duration, Owner{}, [this, from, to, epoch] {
          if (network_.heal_epoch() == epoch) network_.unblock(from, to);
        });
      }
      break;
    }
    case FaultKind::heal:
      network_.heal_all();
      break;
    case FaultKind::lose_responses:
      network_.lose_responses(target(fault.node), fault.count);
      break;
    case FaultKind::clock_skew:
      set_clock_skew(target(fault.node), fault.skew);
      break;
  }
}

void Simulation::begin_liveness() {
  liveness_ = true;
  trace_.record(now_, "", "liveness", "faults heal; crashed nodes restart");
  network_.heal_all();
  network_.clear_lost_responses();
  for (NodeId node = 1; node < nodes_.size(); ++node) {
    nodes_[node].clock_skew = Duration{};  // clocks resynchronise, like every other fault healing
    if (nodes_[node].state == NodeState::paused) resume(node);
    if (nodes_[node].state == NodeState::down) restart(node);
  }
}

// ---- Context ----

Context::Context(Simulation& simulation, NodeId node, std::uint32_t incarnation, std::uint64_t seed)
    : simulation_(simulation),
      node_(node),
      incarnation_(incarnation),
      rng_(seed),
      roots_(std::make_unique<RootSet>(
          [](void* sink, std::exception_ptr failure) { static_cast<Simulation*>(sink)->fail(failure); }, &simulation)) {
}

Context::~Context() {
  roots_->destroy_all();
  while (!objects_.empty()) objects_.pop_back();  // newest first
}

const std::string& Context::name() const {
  return simulation_.node_name(node_);
}
Instant Context::now() const {
  return simulation_.now();
}
Instant Context::local_now() const {
  return simulation_.now() + simulation_.clock_skew(node_);
}
Disk& Context::disk() {
  return simulation_.disk(node_);
}

Duration Context::sync_latency() {
  const auto& config = simulation_.config();
  return Duration{rng_.between(config.sync_latency_min.ticks, config.sync_latency_max.ticks)};
}

std::coroutine_handle<> Context::adopt(Task<void> task) {
  return roots_->adopt(std::move(task));
}

void Context::spawn(Task<void> task) {
  const std::coroutine_handle<> handle = adopt(std::move(task));
  simulation_.schedule(now(), owner(), [handle] { handle.resume(); });
}

void Context::note(std::string_view kind, std::string_view detail) {
  simulation_.trace().record(now(), name(), kind, detail);
}

std::uint64_t Context::register_call(std::unique_ptr<detail::PendingCall> pending, Duration timeout) {
  const std::uint64_t call = simulation_.next_id();
  assert(pending_calls_.empty() || pending_calls_.back().call < call);
  const std::uint32_t timeout_event =
      simulation_.schedule(now() + timeout, owner(), [this, call] { finish_call(call, RpcStatus::unknown, nullptr); });
  pending_calls_.push_back(InFlight{call, timeout_event, std::move(pending)});
  return call;
}

void Context::finish_call(std::uint64_t call, RpcStatus status, void* reply) {
  const auto found = std::lower_bound(pending_calls_.begin(), pending_calls_.end(), call,
                                      [](const InFlight& entry, std::uint64_t id) { return entry.call < id; });
  // Already finished (a late reply or a spent timeout)?
  if (found == pending_calls_.end() || found->call != call) return;
  std::unique_ptr<detail::PendingCall> pending = std::move(found->pending);
  const std::uint32_t timeout_event = found->timeout_event;
  pending_calls_.erase(found);
  if (status == RpcStatus::unknown) {
    simulation_.trace().record(now(), name(), "timeout", "");
    simulation_.call_timeouts_.push_back(CallTimeout{now(), node_, incarnation_});
  } else {
    simulation_.cancel(timeout_event);  // the timeout is running now otherwise
  }
  pending->finish(status, reply);
}

void Context::refuse_call(std::uint64_t call, NodeId to) {
  // The caller learns of the refusal after a round trip, unless a partition hides it.
  if (simulation_.network().blocked(node_, to)) return;
  simulation_.trace().record(now(), name(), "refused", simulation_.node_name(to));
  const Duration round_trip = simulation_.network().sample_latency(simulation_.rng()) * 2;
  simulation_.schedule(now() + round_trip, owner(), [this, call] { finish_call(call, RpcStatus::refused, nullptr); });
}

bool Context::lose_response(std::string_view kind) {
  if (!simulation_.network().take_lost_response(node_)) return false;
  simulation_.trace().record(now(), name(), "lose-response", kind);
  return true;
}

void Context::refuse_call_remote(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call) {
  simulation_.send(node_, caller, "refused", MessageRole::reply, [caller_incarnation, call](Context& client) {
    if (client.incarnation() != caller_incarnation) return;
    client.finish_call(call, RpcStatus::refused, nullptr);
  });
}

bool Context::PointAwaiter::await_ready() {
  fault = context->simulation_.hit_point(context->node_, name);
  return fault == nullptr;
}

void Context::PointAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  // The fault strikes from the simulator's own event, never from inside the node's
  // code; the waiter resumes after it unless the fault killed its incarnation.
  Simulation& simulation = context->simulation_;
  const Fault* planned = fault;
  const NodeId node = context->node_;
  simulation.schedule(simulation.now(), Owner{},
                      [&simulation, planned, node] { simulation.apply_fault(*planned, node); });
  simulation.schedule(simulation.now(), context->owner(), [waiter] { waiter.resume(); });
}

}  // namespace faultline::sim
