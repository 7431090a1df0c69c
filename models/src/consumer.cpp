// The consumer model: see consumer.h.
#include "faultline/models/consumer.h"

namespace faultline::models {

Consumer::Consumer(sim::Context& context, sim::NodeId broker, ConsumerSettings settings)
    : context_(context),
      broker_(broker),
      settings_(std::move(settings)),
      effects_(context.disk().get<sim::DurableLog<AppliedEffect>>(effects_name)) {}

void Consumer::start() { context_.spawn(run()); }

std::vector<AppliedEffect> Consumer::durable_effects(const sim::Disk& disk) {
  const auto* effects = disk.find<sim::DurableLog<AppliedEffect>>(effects_name);
  if (effects == nullptr) return {};
  return {effects->durable().begin(), effects->durable().end()};
}

sim::Task<void> Consumer::run() {
  // Resume every partition from the group's committed offset (earliest if none).
  std::vector<std::int64_t> positions(settings_.partitions, -1);
  for (;;) {
    bool progressed = false;
    for (std::uint32_t partition = 0; partition < settings_.partitions; ++partition) {
      if (positions[partition] < 0) {
        FetchOffset request{settings_.group, settings_.topic, partition};
        const auto committed = co_await context_.call(broker_, std::move(request), settings_.timeout);
        if (!committed.ok()) continue;
        positions[partition] = committed->offset < 0 ? 0 : committed->offset;
      }
      if (co_await poll_partition(partition, positions[partition])) progressed = true;
    }
    if (!progressed) co_await context_.sleep(settings_.poll_interval);
  }
}

sim::Task<bool> Consumer::poll_partition(std::uint32_t partition, std::int64_t& position) {
  Fetch fetch{settings_.topic, partition, position, settings_.batch};
  const auto fetched = co_await context_.call(broker_, std::move(fetch), settings_.timeout);
  if (!fetched.ok() || fetched->records.empty()) co_return false;
  for (const StoredRecord& record : fetched->records) {
    co_await context_.point("consumer.before_apply");
    effects_.append(AppliedEffect{settings_.group, record.event, partition, record.offset});
    co_await context_.sync(effects_);
    co_await context_.point("consumer.after_apply");
    position = record.offset + 1;
  }
  // Commit after processing: a crash before this line redelivers the batch.
  CommitOffset commit{settings_.group, settings_.topic, partition, position};
  const auto committed = co_await context_.call(broker_, std::move(commit), settings_.timeout);
  if (committed.ok()) co_await context_.point("consumer.after_commit_offset");
  co_return true;
}

}  // namespace faultline::models
