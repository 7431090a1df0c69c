// The consumer model: see consumer.h.
#include "faultline/models/consumer.h"

#include <map>

namespace faultline::models {

namespace {

// The effects-table row of an inbox consumer's application: the event it applied (its
// message id and the change it announces) and the offset it came from.
Row effect_row(const StoredRecord& record) {
  Row effect{.key = record.event.key, .command = record.event.command, .message_id = record.event.message_id};
  effect.index_in_change = record.event.index_in_change;
  effect.events_in_change = record.event.events_in_change;
  effect.version = record.offset;
  return effect;
}

}  // namespace

std::string_view to_string(ConsumerMode mode) {
  switch (mode) {
    case ConsumerMode::commit_before_processing:
      return "commit-before";
    case ConsumerMode::commit_after_processing:
      return "commit-after";
    case ConsumerMode::inbox:
      return "inbox";
  }
  return "?";
}

Consumer::Consumer(sim::Context& context, sim::NodeId broker, sim::NodeId database, ConsumerSettings settings,
                   DeliverySink* sink)
    : Consumer(context, BrokerEndpoints{.replicas = {broker}, .partitions = settings.partitions}, database,
               std::move(settings), sink) {}

Consumer::Consumer(sim::Context& context, BrokerEndpoints broker, sim::NodeId database, ConsumerSettings settings,
                   DeliverySink* sink)
    : context_(context),
      broker_(std::move(broker)),
      coordinator_(broker_.endpoints().replicas.front()),
      database_(context, database, settings.timeout),
      settings_(std::move(settings)),
      effects_(context.disk().get<sim::DurableLog<AppliedEffect>>(effects_name)),
      sink_(sink) {}

void Consumer::start() {
  context_.spawn(run());
  if (settings_.mode == ConsumerMode::inbox && settings_.inbox == InboxKeeping::expiring)
    context_.spawn(expire_inbox());
}

sim::Task<void> Consumer::expire_inbox() {
  // Dedup ids older than the retention are deleted: a redelivery after that applies
  // the event again.
  for (;;) {
    co_await context_.sleep(settings_.inbox_retention);
    auto tx = co_await database_.begin();
    if (!tx.ok()) continue;
    DbFilter everything;
    auto seen = co_await tx.value.select(consumer_tables::inbox, std::move(everything));
    if (!seen.ok()) {
      co_await tx.value.abort();
      continue;
    }
    for (const Row& row : seen.value)
      if (context_.now().ticks - row.version >= settings_.inbox_retention.ticks)
        co_await tx.value.erase(consumer_tables::inbox, row.id);
    co_await tx.value.commit();
  }
}

std::vector<AppliedEffect> Consumer::durable_effects(const sim::Disk& disk) {
  const auto* effects = disk.find<sim::DurableLog<AppliedEffect>>(effects_name);
  if (effects == nullptr) return {};
  return {effects->durable().begin(), effects->durable().end()};
}

std::vector<AppliedEffect> Consumer::durable_effects_in_database(const sim::Disk& database_disk,
                                                                 const std::string& group) {
  std::vector<AppliedEffect> effects;
  const auto rows = Database::durable_table(database_disk, consumer_tables::effects);
  if (rows.empty()) return effects;
  // An inbox effect was applied when its transaction committed: the commit time of the
  // write-ahead record that inserted it.
  std::map<std::int64_t, sim::Instant> inserted_at;
  if (const auto* wal = database_disk.find<sim::DurableLog<WalRecord>>(Database::wal_name))
    for (const WalRecord& record : wal->durable())
      for (const Write& write : record.writes)
        if (write.kind == WriteKind::insert && write.table == consumer_tables::effects)
          inserted_at.emplace(write.row.id, record.committed_at);
  for (const auto& [id, row] : rows) {
    const auto committed = inserted_at.find(id);
    Event event{row.message_id, row.key, row.command, 0, row.index_in_change, row.events_in_change};
    effects.push_back(AppliedEffect{group, std::move(event), 0, row.version,
                                    committed == inserted_at.end() ? sim::Instant{} : committed->second});
  }
  return effects;
}

sim::Task<void> Consumer::run() {
  // Resume every partition this member owns from the group's committed offset
  // (earliest if none).
  std::vector<std::int64_t> positions(settings_.partitions, -1);
  for (;;) {
    bool progressed = false;
    for (std::uint32_t partition = 0; partition < settings_.partitions; ++partition) {
      if (partition % settings_.instances != settings_.instance) continue;
      if (positions[partition] < 0) {
        FetchOffset request{settings_.group, settings_.topic, partition};
        const auto committed = co_await context_.call(coordinator_, std::move(request), settings_.timeout);
        if (!committed.ok()) continue;
        if (committed->offset >= 0) {
          positions[partition] = committed->offset;
        } else {
          positions[partition] = settings_.offset_reset == OffsetReset::earliest ? 0 : committed->log_end;
        }
      }
      if (co_await poll_partition(partition, positions[partition])) progressed = true;
    }
    if (!progressed) co_await context_.sleep(settings_.poll_interval);
  }
}

sim::Task<bool> Consumer::commit_offset(std::uint32_t partition, std::int64_t position) {
  CommitOffset commit{settings_.group, settings_.topic, partition, position};
  const auto committed = co_await context_.call(coordinator_, std::move(commit), settings_.timeout);
  if (!committed.ok() && sink_ != nullptr)
    sink_->unfinished.push_back(UnfinishedStep{context_.name(), partition, context_.now()});
  if (committed.ok() && sink_ != nullptr)
    sink_->commits.push_back(
        AcknowledgedOffsetCommit{settings_.group, context_.name(), partition, position, context_.now()});
  if (committed.ok()) co_await context_.point("consumer.after_commit_offset");
  co_return committed.ok();
}

sim::Task<bool> Consumer::apply(const StoredRecord& record, std::uint32_t partition) {
  if (sink_ != nullptr)
    sink_->deliveries.push_back(Delivery{settings_.group, context_.name(), context_.incarnation(), partition,
                                         record.offset, record.event.message_id, record.event.command,
                                         record.event.index_in_change, record.event.events_in_change, context_.now()});
  co_await context_.point("consumer.before_apply");
  if (settings_.mode != ConsumerMode::inbox) {
    effects_.append(AppliedEffect{settings_.group, record.event, partition, record.offset, context_.now()});
    co_await context_.sync(effects_);
    co_await context_.point("consumer.after_apply");
    co_return true;
  }
  // The inbox: the dedup id and the effect commit together, or neither does.
  auto tx = co_await database_.begin();
  if (!tx.ok()) co_return false;
  // The inbox knows a message by its id, as a real inbox does: the same change
  // published again under another id is not recognised (and EO tells).
  Row seen{.key = record.event.key, .command = record.event.command, .message_id = record.event.message_id};
  seen.unique_key = settings_.group + "/" + record.event.message_id;
  seen.version = context_.now().ticks;  // when it was first seen, for an expiring inbox
  if (settings_.inbox == InboxKeeping::separate_transaction) {
    // The projection and its checkpoint in two transactions: a crash between them
    // leaves an effect without its dedup id.
    DbFilter already{.key = record.event.key};
    auto inbox = co_await tx.value.select(consumer_tables::inbox, std::move(already));
    if (!inbox.ok()) {
      co_await tx.value.abort();
      co_return false;
    }
    for (const Row& row : inbox.value)
      if (row.unique_key == seen.unique_key) {
        co_await tx.value.abort();
        co_return true;
      }
    Row effect = effect_row(record);
    const auto applied = co_await tx.value.insert(consumer_tables::effects, std::move(effect));
    if (!applied.ok()) {
      co_await tx.value.abort();
      co_return false;
    }
    const auto projected = co_await tx.value.commit();
    if (!projected.ok()) co_return false;
    co_await context_.point("consumer.after_apply");
    auto checkpoint = co_await database_.begin();
    if (!checkpoint.ok()) co_return false;
    const auto noted = co_await checkpoint.value.insert(consumer_tables::inbox, std::move(seen));
    if (!noted.ok()) {
      co_await checkpoint.value.abort();
      co_return noted.error == "unique violation";
    }
    const auto checkpointed = co_await checkpoint.value.commit();
    co_return checkpointed.ok();
  }
  const auto first_time = co_await tx.value.insert(consumer_tables::inbox, std::move(seen));
  if (!first_time.ok()) {
    co_await tx.value.abort();
    // Already in the inbox: applied before, nothing to do.
    co_return first_time.error == "unique violation";
  }
  Row effect = effect_row(record);
  const auto applied = co_await tx.value.insert(consumer_tables::effects, std::move(effect));
  if (!applied.ok()) {
    co_await tx.value.abort();
    co_return false;
  }
  const auto committed = co_await tx.value.commit();
  if (committed.ok()) co_await context_.point("consumer.after_apply");
  // A unique violation at commit means another attempt got there first: applied.
  co_return committed.ok() || committed.error == "unique violation";
}

sim::Task<bool> Consumer::poll_partition(std::uint32_t partition, std::int64_t& position) {
  std::optional<sim::NodeId> leader = broker_.known(partition);
  if (!leader) leader = co_await broker_.leader(context_, partition);
  if (!leader) co_return false;
  Fetch fetch{settings_.topic, partition, position, settings_.batch};
  fetch.isolation = settings_.isolation;
  const auto fetched = co_await context_.call(*leader, std::move(fetch), settings_.timeout);
  if (!fetched.ok() || !fetched->error.empty()) broker_.forget(partition);
  if (!fetched.ok()) co_return false;
  if (fetched->records.empty()) {
    // Only transaction markers or aborted records: move past them.
    if (fetched->next_offset <= position) co_return false;
    position = fetched->next_offset;
    co_return true;
  }
  const std::int64_t batch_end = std::max(fetched->records.back().offset + 1, fetched->next_offset);
  if (settings_.mode == ConsumerMode::commit_before_processing) {
    // C1: progress first. A crash while applying the batch skips the rest of it.
    if (!co_await commit_offset(partition, batch_end)) co_return false;
  }
  bool all_applied = true;
  for (const StoredRecord& record : fetched->records) {
    const bool applied = co_await apply(record, partition);
    if (!applied) {
      all_applied = false;
      if (sink_ != nullptr) sink_->unfinished.push_back(UnfinishedStep{context_.name(), partition, context_.now()});
      break;
    }
    position = record.offset + 1;
  }
  // Markers and aborted records after the last record returned are passed too.
  if (all_applied) position = std::max(position, fetched->next_offset);
  if (settings_.mode == ConsumerMode::commit_before_processing) {
    position = batch_end;
    co_return true;
  }
  // Commit after processing: a crash before this line redelivers the batch.
  co_await commit_offset(partition, position);
  co_return true;
}

}  // namespace faultline::models
