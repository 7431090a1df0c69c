// A consumer group member that reads every partition of a topic, applies each event
// to its own durable effect store, and commits the group offset after processing
// (at-least-once: a crash between the effect and the offset commit redelivers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultline/models/broker.h"
#include "faultline/sim/simulation.h"

namespace faultline::models {

// One application of an event by a consumer: the consumer's observable effect.
struct AppliedEffect {
  std::string group;
  Event event;
  std::uint32_t partition = 0;
  std::int64_t offset = 0;
};

struct ConsumerSettings {
  std::string group = "projection";
  std::string topic = "orders";
  std::uint32_t partitions = 4;
  std::uint32_t batch = 32;
  sim::Duration poll_interval = sim::Duration::millis(5);
  sim::Duration timeout = sim::Duration::millis(50);
};

class Consumer {
 public:
  static constexpr std::string_view effects_name = "consumer.effects";

  Consumer(sim::Context& context, sim::NodeId broker, ConsumerSettings settings);
  void start();

  // The effects that survived on `disk`: ground truth for the checkers.
  static std::vector<AppliedEffect> durable_effects(const sim::Disk& disk);

 private:
  sim::Task<void> run();
  sim::Task<bool> poll_partition(std::uint32_t partition, std::int64_t& position);

  sim::Context& context_;
  sim::NodeId broker_;
  ConsumerSettings settings_;
  sim::DurableLog<AppliedEffect>& effects_;
};

}  // namespace faultline::models
