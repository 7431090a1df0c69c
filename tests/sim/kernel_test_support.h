// Helpers shared by the kernel tests: lifetime counters for the objects whose
// destruction a test asserts, a simulation configuration with fixed latencies (so a
// test can name the exact instant something must happen), and a small request type
// for the RPC tests.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/sim/simulation.h"

namespace faultline::sim {

// How GoogleTest prints kernel values in a failure message (found by argument-dependent lookup).
inline void PrintTo(const Instant& instant, std::ostream* out) {
  *out << instant.ticks << " us";
}
inline void PrintTo(const Duration& duration, std::ostream* out) {
  *out << duration.ticks << " us";
}
inline void PrintTo(RpcStatus status, std::ostream* out) {
  *out << to_string(status);
}
inline void PrintTo(NodeState state, std::ostream* out) {
  *out << (state == NodeState::up ? "up" : state == NodeState::down ? "down" : "paused");
}

}  // namespace faultline::sim

namespace faultline::sim::test_support {

// Counts every construction (plain, copy or move) and every destruction of the
// Tracked objects that point at it: equal counts mean nothing leaked and nothing
// was destroyed twice.
struct LifeCounter {
  int constructed = 0;
  int destroyed = 0;
  int alive() const { return constructed - destroyed; }
};

// A non-trivially-copyable object larger than a pointer (it holds a std::string),
// so that the event queue must box it rather than store it inline.
class Tracked {
 public:
  Tracked(LifeCounter& counter, std::string label) : counter_(&counter), label_(std::move(label)) {
    ++counter_->constructed;
  }
  Tracked(const Tracked& other) : counter_(other.counter_), label_(other.label_) { ++counter_->constructed; }
  Tracked(Tracked&& other) noexcept : counter_(other.counter_), label_(std::move(other.label_)) {
    ++counter_->constructed;
  }
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { ++counter_->destroyed; }

  const std::string& label() const { return label_; }

 private:
  LifeCounter* counter_;
  std::string label_;
};

// Appends its name to a log when destroyed: a local of a coroutine, or a volatile
// object, whose destruction (and its order) a crash test asserts.
class LogOnDestroy {
 public:
  LogOnDestroy(std::vector<std::string>& log, std::string name) : log_(&log), name_(std::move(name)) {}
  LogOnDestroy(const LogOnDestroy&) = delete;
  LogOnDestroy& operator=(const LogOnDestroy&) = delete;
  ~LogOnDestroy() { log_->push_back(name_); }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

// Every message takes exactly `latency`, with no spikes, and every sync takes exactly
// `sync_latency`: the instants a test asserts do not depend on the random stream.
inline SimulationConfig fixed_latency_config(Duration latency = Duration::millis(1),
                                             Duration sync_latency = Duration::millis(1), std::uint64_t seed = 1) {
  SimulationConfig config{.seed = seed};
  config.network.latency_min = latency;
  config.network.latency_max = latency;
  config.network.spike_per_mille = 0;
  config.sync_latency_min = sync_latency;
  config.sync_latency_max = sync_latency;
  return config;
}

inline constexpr Instant at_millis(std::int64_t millis) {
  return Instant{} + Duration::millis(millis);
}
inline constexpr Instant at_micros(std::int64_t micros) {
  return Instant{} + Duration::micros(micros);
}

// A counter on a server: the tests look at it to tell "applied" from "not applied".
struct IncrementReply {
  std::uint64_t value = 0;
};
struct Increment {
  using Reply = IncrementReply;
  static constexpr std::string_view rpc_name = "test.increment";
  std::uint64_t by = 1;
};

// The trace records of one kind on one node (needs TraceCapture::full).
inline std::vector<TraceRecord> records_of(const Simulation& simulation, std::string_view node, std::string_view kind) {
  std::vector<TraceRecord> found;
  for (const TraceRecord& record : simulation.trace().records())
    if (record.node == node && record.kind == kind) found.push_back(record);
  return found;
}

}  // namespace faultline::sim::test_support
