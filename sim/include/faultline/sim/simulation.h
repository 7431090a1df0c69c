// The simulation: one event queue, the nodes with their incarnations, the network,
// the named points, the fault plan and the trace of one run. No global state: two
// simulations can run side by side in one process (and do, in `--jobs`).
#pragma once

#include <cassert>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/sim/event_queue.h"
#include "faultline/sim/faults.h"
#include "faultline/sim/network.h"
#include "faultline/sim/rng.h"
#include "faultline/sim/storage.h"
#include "faultline/sim/task.h"
#include "faultline/sim/time.h"
#include "faultline/sim/trace.h"

namespace faultline::sim {

class Context;
class Simulation;

enum class NodeState { up, down, paused };
enum class MessageRole { request, reply };

// Builds a node's volatile state and starts its coroutines; runs at first start and
// at every restart, with the node's disk as it survived.
using BootFunction = std::function<void(Context&)>;

struct SimulationConfig {
  std::uint64_t seed = 1;
  TraceCapture capture = TraceCapture::hash_only;
  NetworkConfig network;
  Duration sync_latency_min = Duration::micros(50);
  Duration sync_latency_max = Duration::micros(400);
};

// A fault as it struck: kept in every run (not only traced ones), so checkers can
// attribute what they find to a cause.
struct FaultRecord {
  Instant time;
  std::string node;
  FaultKind kind;
};

// An RPC that ended unknown (no reply within its timeout): the caller cannot know
// whether it took effect. Kept in every run, for checkers that attribute duplicates.
struct CallTimeout {
  Instant time;
  NodeId node = 0;
  std::uint32_t incarnation = 0;
};

namespace detail {

// A message in flight: its ends, its kind and a typed payload that the receiving
// incarnation takes at delivery. The event queue owns it from send to arrival (or to
// its discard, when the receiver is down by then). The typed part is small: sending,
// tracing and the network's verdicts are one function for every message type.
class Message : public Pooled {
 public:
  Message(NodeId from, NodeId to, std::string_view kind, std::uint64_t kind_digest)
      : from_(from), to_(to), kind_(kind), kind_digest_(kind_digest) {}
  virtual ~Message() = default;

  NodeId from() const { return from_; }

  // The arrival event (the queue runs it, then deletes the message).
  void operator()();

 protected:
  Message(const Message&) = default;
  Message& operator=(const Message&) = delete;

 private:
  friend class faultline::sim::Simulation;
  // Hands the payload to the receiver (the last use of the message).
  virtual void deliver(Context& receiver) = 0;
  // A duplicate: the same message, with a copy of the payload.
  virtual std::unique_ptr<Message> copy() const = 0;

  Simulation* simulation_ = nullptr;  // set when sent
  NodeId from_;
  NodeId to_;
  std::string_view kind_;  // a literal, or a string that outlives the simulation
  std::uint64_t kind_digest_;
  std::uint64_t id_ = 0;  // set when sent; a duplicate keeps it
};

// A message whose payload is a callable taking the receiver's Context.
template <typename Deliver>
class CallableMessage final : public Message {
 public:
  CallableMessage(NodeId from, NodeId to, std::string_view kind, Deliver deliver)
      : Message(from, to, kind, Trace::digest(kind)), deliver_(std::move(deliver)) {}

 private:
  void deliver(Context& receiver) override { deliver_(receiver); }
  std::unique_ptr<Message> copy() const override { return std::unique_ptr<Message>(new CallableMessage(*this)); }
  Deliver deliver_;
};

}  // namespace detail

// Counts of every named point reached, for coverage and for the explorer.
struct PointCoverage {
  std::map<std::string, std::uint64_t, std::less<>> hits;
};

class Simulation {
 public:
  explicit Simulation(SimulationConfig config);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Topology (before start).
  NodeId add_node(std::string name, BootFunction boot);
  void start();

  NodeId node_id(std::string_view name) const;  // asserts the node exists
  bool has_node(std::string_view name) const;
  const std::string& node_name(NodeId node) const { return nodes_[node].name; }
  std::size_t node_count() const { return nodes_.size() - 1; }
  NodeState state(NodeId node) const { return nodes_[node].state; }
  std::uint32_t incarnation(NodeId node) const { return nodes_[node].incarnation; }
  // The running incarnation's context, or nullptr while the node is down.
  Context* context(NodeId node);
  Disk& disk(NodeId node) { return nodes_[node].disk; }

  // Running.
  Instant now() const { return now_; }
  bool step();
  // Runs every event at or before `deadline`, then sets the clock to it.
  void run_until(Instant deadline);
  // Runs until `done()` holds (checked every `interval`) or `deadline`; true if done.
  bool run_until(const std::function<bool()>& done, Instant deadline, Duration interval);
  std::uint64_t events_run() const { return events_run_; }

  // Returns the event's queue slot, which `cancel` takes while the event is pending.
  template <typename F>
  std::uint32_t schedule(Instant at, Owner owner, F&& callable) {
    assert(at >= now_);
    return queue_.push(at, owner, std::forward<F>(callable));
  }
  // Removes a pending event unrun (if a paused node holds it, it stays and runs).
  void cancel(std::uint32_t event) { queue_.cancel(event); }

  // Faults. Each is also reachable through a fault plan.
  void crash(NodeId node, std::string_view reason);
  void restart(NodeId node);
  void pause(NodeId node, Duration length);
  void resume(NodeId node);
  // Steps `node`'s local clock to read simulated time plus `skew` from now on. The
  // skew belongs to the node (its host's clock), so it survives crashes and restarts.
  void set_clock_skew(NodeId node, Duration skew);
  Duration clock_skew(NodeId node) const { return nodes_[node].clock_skew; }
  void apply_plan(const FaultPlan& plan);
  // The start of the liveness phase: faults stop, partitions heal, paused nodes
  // resume and crashed nodes restart.
  void begin_liveness();
  bool in_liveness() const { return liveness_; }

  // Messaging: a message is delivered to the receiving node's current incarnation
  // after the sampled latency, unless it is lost or crosses a partition; the network
  // may also deliver it twice.
  void send(MessageRole role, std::unique_ptr<detail::Message> message);
  // The same, with `deliver(Context&)` as the payload.
  template <typename Deliver>
  void send(NodeId from, NodeId to, std::string_view kind, MessageRole role, Deliver&& deliver) {
    send(role, std::make_unique<detail::CallableMessage<std::decay_t<Deliver>>>(from, to, kind,
                                                                                std::forward<Deliver>(deliver)));
  }

  Network& network() { return network_; }
  Trace& trace() { return trace_; }
  const Trace& trace() const { return trace_; }
  const PointCoverage& coverage() const { return coverage_; }
  const std::vector<FaultRecord>& fault_log() const { return fault_log_; }
  const std::vector<CallTimeout>& call_timeouts() const { return call_timeouts_; }
  const SimulationConfig& config() const { return config_; }
  Rng& rng() { return rng_; }
  std::uint64_t next_id() { return ++id_counter_; }

  // Called by a node's code when it reaches a named point: returns the planned fault
  // to apply there, if any.
  const Fault* hit_point(NodeId node, std::string_view point);
  void apply_fault(const Fault& fault, NodeId reached_by);

  // The first programmer error raised inside a coroutine; rethrown by step().
  void fail(std::exception_ptr failure) {
    if (!failure_) failure_ = failure;
  }

 private:
  friend class Context;

  struct Node {
    std::string name;
    std::uint64_t name_digest = Trace::digest("");  // Trace::digest(name), for message records
    BootFunction boot;
    NodeState state = NodeState::down;
    std::uint32_t incarnation = 0;
    std::unique_ptr<Context> current;
    Disk disk;
    std::vector<std::uint32_t> deferred;  // events that arrived while paused
    std::uint64_t pause_epoch = 0;
    Duration clock_skew;  // what its local clock reads ahead of simulated time (negative: behind)
  };

  struct ArmedPoint {
    std::uint32_t hit;
    const Fault* fault;
  };
  // A named point: its count in the coverage map (made at its first hit; map nodes never
  // move), and the faults planned at its hits.
  struct Point {
    std::uint64_t digest = 0;  // Trace::digest(name)
    std::uint64_t* hits = nullptr;
    std::vector<ArmedPoint> armed;
  };

  friend class detail::Message;

  void boot(NodeId node);
  void rethrow_failure();
  void arrive(detail::Message& message);
  // Records a message step ("send", "deliver", "drop") with the cached digests.
  void record_message(std::string_view step, std::uint64_t step_digest, NodeId at, NodeId peer,
                      const detail::Message& message) {
    trace_.fold_record(now_, nodes_[at].name_digest, step_digest, message.kind_digest_, nodes_[peer].name_digest,
                       message.id_);
    if (trace_.capturing()) trace_.keep(now_, nodes_[at].name, step, message.kind_, nodes_[peer].name, message.id_);
  }

  SimulationConfig config_;
  Rng rng_;         // the simulator's own stream (network, fault timing)
  Rng node_seeds_;  // seeds of node incarnations
  EventQueue queue_;
  Network network_;
  Trace trace_;
  std::vector<Node> nodes_;  // nodes_[0] is the simulator itself
  Instant now_;
  std::uint64_t events_run_ = 0;
  std::uint64_t id_counter_ = 0;
  bool started_ = false;
  bool liveness_ = false;
  FaultPlan plan_;
  // Named points by name, and a cache from the name's characters (a literal that
  // outlives the simulation) to its point, so reaching a point compares no strings.
  std::uint32_t point_index(std::string_view name);
  std::map<std::string, std::uint32_t, std::less<>> point_names_;
  std::vector<Point> points_;
  std::vector<std::pair<std::string_view, std::uint32_t>> point_cache_;  // lookup only
  bool any_armed_ = false;
  PointCoverage coverage_;
  std::vector<FaultRecord> fault_log_;
  std::vector<CallTimeout> call_timeouts_;
  std::exception_ptr failure_;
};

}  // namespace faultline::sim

#include "faultline/sim/context.h"

namespace faultline::sim::detail {

inline void Message::operator()() {
  simulation_->arrive(*this);
}

}  // namespace faultline::sim::detail
