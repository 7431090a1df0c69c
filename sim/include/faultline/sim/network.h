// The simulated network: per-message latency drawn from the run's stream, optional
// loss and duplication, and partitions. A link is blocked while any partition covers
// it; a message is dropped if its link is blocked when it is sent or when it would
// arrive, so nothing ever crosses a partition.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "faultline/sim/event_queue.h"
#include "faultline/sim/rng.h"
#include "faultline/sim/time.h"

namespace faultline::sim {

struct NetworkConfig {
  Duration latency_min = Duration::micros(200);
  Duration latency_max = Duration::micros(1'500);
  // Occasionally a message is much slower (a retransmit, a GC on the path).
  std::uint32_t spike_per_mille = 5;
  Duration spike_max = Duration::millis(30);
  std::uint32_t loss_per_million = 0;
  std::uint32_t duplicate_per_million = 0;
};

class Network {
 public:
  explicit Network(NetworkConfig config) : config_(config) {}

  const NetworkConfig& config() const { return config_; }
  NetworkConfig& config() { return config_; }

  void add_node() {
    ++node_count_;
    blocks_.assign(node_count_ * node_count_, 0);
    responses_to_lose_.push_back(0);
  }
  std::size_t node_count() const { return node_count_; }

  bool blocked(NodeId from, NodeId to) const { return blocks_[index(from, to)] > 0; }
  void block(NodeId from, NodeId to) { ++blocks_[index(from, to)]; }
  void unblock(NodeId from, NodeId to) {
    auto& count = blocks_[index(from, to)];
    if (count > 0) --count;
  }
  // Ends every partition. Partitions cut before the heal must not end the ones cut
  // after it, so their scheduled ends check the heal epoch.
  void heal_all() {
    blocks_.assign(blocks_.size(), 0);
    ++heal_epoch_;
  }
  std::uint64_t heal_epoch() const { return heal_epoch_; }
  bool partitioned() const {
    for (const auto count : blocks_)
      if (count > 0) return true;
    return false;
  }

  void lose_responses(NodeId from, std::uint32_t count) { responses_to_lose_[from] += count; }
  // Consumes one planned lost response of `from`, if any.
  bool take_lost_response(NodeId from) {
    if (responses_to_lose_[from] == 0) return false;
    --responses_to_lose_[from];
    return true;
  }
  void clear_lost_responses() { responses_to_lose_.assign(responses_to_lose_.size(), 0); }

  Duration sample_latency(Rng& rng) const {
    Duration latency{rng.between(config_.latency_min.ticks, config_.latency_max.ticks)};
    if (config_.spike_per_mille > 0 && rng.chance(config_.spike_per_mille, 1000))
      latency = latency + Duration{rng.between(0, config_.spike_max.ticks)};
    return latency;
  }
  bool sample_loss(Rng& rng) const {
    return config_.loss_per_million > 0 && rng.chance(config_.loss_per_million, 1'000'000);
  }
  bool sample_duplicate(Rng& rng) const {
    return config_.duplicate_per_million > 0 && rng.chance(config_.duplicate_per_million, 1'000'000);
  }

 private:
  std::size_t index(NodeId from, NodeId to) const {
    assert(from < node_count_);
    assert(to < node_count_);
    return static_cast<std::size_t>(from) * node_count_ + to;
  }

  NetworkConfig config_;
  std::size_t node_count_ = 0;
  std::vector<std::uint16_t> blocks_;
  std::vector<std::uint32_t> responses_to_lose_;
  std::uint64_t heal_epoch_ = 0;
};

}  // namespace faultline::sim
