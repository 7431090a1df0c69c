// The broker model and its producer client: see broker.h.
#include "faultline/models/broker.h"

#include <cassert>

namespace faultline::models {

Broker::Broker(sim::Context& context, BrokerSettings settings)
    : context_(context),
      settings_(settings),
      offset_log_(context.disk().get<sim::DurableLog<OffsetCommit>>("offsets")) {
  for (const OffsetCommit& commit : offset_log_.written())
    committed_offsets_[commit.group + "/" + commit.topic + "/" + std::to_string(commit.partition)] = commit.offset;
  // Idempotence survives a restart: the sequences are in the records themselves.
  context.disk().for_each([&](const std::string& name, sim::Durable& durable) {
    if (name.rfind("log/", 0) != 0) return;
    for (const StoredRecord& record : dynamic_cast<const sim::DurableLog<StoredRecord>&>(durable).written())
      if (record.producer_id != 0) {
        auto& last = last_sequence_[{record.producer_id, name}];
        last = std::max(last, record.sequence);
      }
  });
}

std::string Broker::log_name(std::string_view topic, std::uint32_t partition) {
  return "log/" + std::string(topic) + "/" + std::to_string(partition);
}

std::map<std::string, std::vector<StoredRecord>> Broker::durable_logs(sim::Disk& disk) {
  std::map<std::string, std::vector<StoredRecord>> logs;
  disk.for_each([&](const std::string& name, sim::Durable& durable) {
    if (name.rfind("log/", 0) != 0) return;
    const auto& log = dynamic_cast<const sim::DurableLog<StoredRecord>&>(durable);
    logs[name].assign(log.durable().begin(), log.durable().end());
  });
  return logs;
}

sim::DurableLog<StoredRecord>& Broker::partition_log(std::string_view topic, std::uint32_t partition) {
  return context_.disk().get<sim::DurableLog<StoredRecord>>(log_name(topic, partition));
}

void Broker::serve() {
  context_.serve<Produce>([this](Produce request) { return produce(std::move(request)); });
  context_.serve<Fetch>([this](Fetch request) { return fetch(std::move(request)); });
  context_.serve<CommitOffset>([this](CommitOffset request) { return commit_offset(std::move(request)); });
  context_.serve<FetchOffset>([this](FetchOffset request) { return fetch_offset(std::move(request)); });
}

sim::Task<ProduceReply> Broker::produce(Produce request) {
  const std::uint32_t partition = partition_for(request.event.key, settings_.partitions);
  auto& log = partition_log(request.topic, partition);
  if (request.producer_id != 0) {
    // An idempotent producer's retry of a record already appended is acknowledged, not appended.
    const auto last = last_sequence_.find({request.producer_id, log_name(request.topic, partition)});
    if (last != last_sequence_.end() && request.sequence <= last->second)
      co_return ProduceReply{.ok = true, .partition = partition, .offset = -1};
    last_sequence_[{request.producer_id, log_name(request.topic, partition)}] = request.sequence;
  }
  const auto offset = static_cast<std::int64_t>(log.size());
  log.append(StoredRecord{offset, std::move(request.event), request.producer_id, request.sequence, context_.now()});
  co_await context_.point("broker.produce.before_sync");
  co_await context_.sync(log);
  co_await context_.point("broker.produce.after_sync");
  co_return ProduceReply{.ok = true, .partition = partition, .offset = offset};
}

sim::Task<FetchReply> Broker::fetch(Fetch request) {
  // Consumers read only synced records: the high watermark of a single replica.
  const auto& log = partition_log(request.topic, request.partition);
  FetchReply reply{.ok = true};
  const auto end = static_cast<std::int64_t>(log.synced_size());
  for (std::int64_t offset = std::max<std::int64_t>(0, request.offset);
       offset < end && reply.records.size() < request.max_records; ++offset)
    reply.records.push_back(log[static_cast<std::size_t>(offset)]);
  co_return reply;
}

sim::Task<CommitOffsetReply> Broker::commit_offset(CommitOffset request) {
  offset_log_.append(OffsetCommit{request.group, request.topic, request.partition, request.offset});
  co_await context_.sync(offset_log_);
  committed_offsets_[request.group + "/" + request.topic + "/" + std::to_string(request.partition)] = request.offset;
  co_return CommitOffsetReply{.ok = true};
}

sim::Task<FetchOffsetReply> Broker::fetch_offset(FetchOffset request) {
  const auto found =
      committed_offsets_.find(request.group + "/" + request.topic + "/" + std::to_string(request.partition));
  const auto& log = partition_log(request.topic, request.partition);
  co_return FetchOffsetReply{.ok = true,
                             .offset = found == committed_offsets_.end() ? -1 : found->second,
                             .log_end = static_cast<std::int64_t>(log.synced_size())};
}

LeaderCache::LeaderCache(BrokerEndpoints endpoints)
    : endpoints_(std::move(endpoints)), leaders_(endpoints_.partitions) {
  assert(!endpoints_.replicas.empty());
  assert(!endpoints_.replicated() || endpoints_.controller.has_value());
}

std::optional<sim::NodeId> LeaderCache::known(std::uint32_t partition) const {
  if (!endpoints_.replicated()) return endpoints_.replicas.front();
  assert(partition < leaders_.size());
  return leaders_[partition];
}

sim::Task<std::optional<sim::NodeId>> LeaderCache::leader(sim::Context& context, std::uint32_t partition) {
  if (const auto node = known(partition)) co_return node;
  Metadata request;
  const auto result = co_await context.call(*endpoints_.controller, std::move(request), sim::Duration::millis(50));
  if (!result.ok()) co_return std::nullopt;
  assert(result->leaders.size() == leaders_.size());
  leaders_ = result->leaders;
  co_return leaders_[partition];
}

void LeaderCache::forget(std::uint32_t partition) {
  if (endpoints_.replicated()) leaders_[partition].reset();
}

bool appended_despite(const std::string& error) {
  return error == broker_errors::not_enough_replicas_after_append || error == broker_errors::request_timed_out ||
         error == broker_errors::lost_leadership_after_append;
}

sim::Task<void> Producer::send_without_waiting(sim::Context& context, sim::NodeId broker, Produce request,
                                               sim::Duration timeout) {
  co_await context.call(broker, std::move(request), timeout);
}

sim::Task<Outcome> Producer::publish(std::string topic, Event event) {
  Outcome outcome = Outcome::failed;
  const std::uint32_t partition =
      broker_.endpoints().replicated() ? partition_for(event.key, broker_.endpoints().partitions) : 0;
  for (std::uint32_t attempt = 0; attempt < settings_.attempts; ++attempt) {
    if (attempt > 0) co_await context_->sleep(settings_.backoff);
    std::optional<sim::NodeId> leader = broker_.known(partition);
    if (!leader) leader = co_await broker_.leader(*context_, partition);
    if (!leader) continue;  // the partition is offline, or its leader unknown: try again after the backoff
    Produce request{topic, event};
    request.event.publisher = context_->node();
    request.event.publisher_incarnation = context_->incarnation();
    request.event.attempt = attempt + 1;
    request.acks = acks_;
    if (acks_ == ProducerAcks::none) {
      // acks=0: sent, and counted as published; whether it arrives nobody learns.
      context_->spawn(send_without_waiting(*context_, *leader, std::move(request), settings_.timeout));
      co_return Outcome::ok;
    }
    const auto result = co_await context_->call(*leader, std::move(request), settings_.timeout);
    if (result.ok() && result->ok) co_return Outcome::ok;
    if (!result.ok() || result->error == broker_errors::not_leader) broker_.forget(partition);
    // An unknown attempt may have appended: the overall outcome stays unknown unless a
    // later attempt is acknowledged.
    if (result.status == sim::RpcStatus::unknown) outcome = Outcome::unknown;
    if (result.ok() && appended_despite(result->error)) outcome = Outcome::unknown;
  }
  co_return outcome;
}

BufferedProducer::BufferedProducer(sim::Context& context, sim::NodeId broker, BufferedProducerSettings settings)
    : BufferedProducer(context, BrokerEndpoints{.replicas = {broker}, .partitions = settings.partitions}, settings) {}

BufferedProducer::BufferedProducer(sim::Context& context, BrokerEndpoints broker, BufferedProducerSettings settings)
    : context_(context),
      broker_(std::move(broker)),
      settings_(settings),
      // One session per incarnation: a restarted producer is a new producer.
      producer_id_(settings.idempotent ? (std::uint64_t{context.node()} << 32 | context.incarnation()) + 1 : 0) {
  context_.spawn(sender());
}

bool BufferedProducer::send(std::string topic, Event event, std::function<void(Outcome)> on_ack) {
  if (queued_.size() >= settings_.buffer_max) return false;
  Produce request{std::move(topic), std::move(event)};
  request.event.publisher = context_.node();
  request.event.publisher_incarnation = context_.incarnation();
  if (producer_id_ != 0) {
    const std::string log = Broker::log_name(request.topic, partition_for(request.event.key, settings_.partitions));
    request.producer_id = producer_id_;
    request.sequence = next_sequence_[log]++;
  }
  queued_.push_back(Queued{std::move(request), std::move(on_ack), context_.now() + settings_.linger});
  return true;
}

sim::Task<void> BufferedProducer::flush() {
  while (pending() > 0) co_await context_.sleep(sim::Duration::millis(1));
}

sim::Task<void> BufferedProducer::sender() {
  for (;;) {
    if (queued_.empty() || in_flight_ >= settings_.max_in_flight || queued_.front().ready > context_.now()) {
      co_await context_.sleep(sim::Duration::millis(1));
      continue;
    }
    Queued record = std::move(queued_.front());
    queued_.pop_front();
    ++in_flight_;
    context_.spawn(deliver(std::move(record)));
  }
}

sim::Task<void> BufferedProducer::deliver(Queued record) {
  Outcome outcome = Outcome::failed;
  const std::uint32_t partition = partition_for(record.request.event.key, settings_.partitions);
  for (std::uint32_t attempt = 0; attempt < settings_.attempts; ++attempt) {
    std::optional<sim::NodeId> leader = broker_.known(partition);
    if (!leader) leader = co_await broker_.leader(context_, partition);
    if (!leader) {
      co_await context_.sleep(sim::Duration::millis(5));  // no leader yet: wait for an election
      continue;
    }
    Produce request = record.request;
    request.event.attempt = attempt + 1;
    const auto result = co_await context_.call(*leader, std::move(request), settings_.timeout);
    if (result.ok() && result->ok) {
      outcome = Outcome::ok;
      break;
    }
    if (!result.ok() || result->error == broker_errors::not_leader) broker_.forget(partition);
    if (result.status == sim::RpcStatus::unknown) outcome = Outcome::unknown;
    if (result.ok() && appended_despite(result->error)) outcome = Outcome::unknown;
  }
  --in_flight_;
  if (record.on_ack) record.on_ack(outcome);
}

}  // namespace faultline::models
