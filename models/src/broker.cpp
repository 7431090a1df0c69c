// The broker model and its producer client: see broker.h.
#include "faultline/models/broker.h"

#include <cassert>

namespace faultline::models {

Broker::Broker(sim::Context& context, BrokerSettings settings)
    : context_(context),
      settings_(settings),
      offset_log_(context.disk().get<sim::DurableLog<OffsetCommit>>("offsets")),
      session_log_(context.disk().get<sim::DurableLog<TransactionSession>>("transactions/sessions")),
      decision_log_(context.disk().get<sim::DurableLog<TransactionDecision>>("transactions/decisions")) {
  for (const OffsetCommit& commit : offset_log_.written())
    committed_offsets_[commit.group + "/" + commit.topic + "/" + std::to_string(commit.partition)] = commit.offset;
  for (const TransactionSession& session : session_log_.written()) {
    session_of_[session.transactional_id] = session.producer_id;
    transactional_id_of_[session.producer_id] = session.transactional_id;
  }
  // Idempotence survives a restart: the sequences are in the records themselves. So
  // do open transactions: a transactional record with no marker after it.
  context.disk().for_each([&](const std::string& name, sim::Durable& durable) {
    if (name.rfind("log/", 0) != 0) return;
    for (const StoredRecord& record : dynamic_cast<const sim::DurableLog<StoredRecord>&>(durable).written()) {
      if (record.producer_id != 0) {
        auto& last = last_sequence_[{record.producer_id, name}];
        last = std::max(last, record.sequence);
      }
      if (record.transaction == 0) continue;
      if (record.kind == RecordKind::data) {
        open_transactions_[record.transaction].first_offsets.try_emplace(name, record.offset);
      } else if (const auto open = open_transactions_.find(record.transaction); open != open_transactions_.end()) {
        open->second.first_offsets.erase(name);
        if (open->second.first_offsets.empty()) open_transactions_.erase(open);
      }
    }
  });
  // A transaction decided before the crash gets the rest of its markers; any other
  // open transaction is watched by the timeout again.
  std::map<std::uint64_t, RecordKind> decided;
  for (const TransactionDecision& decision : decision_log_.written()) {
    const auto open = open_transactions_.find(decision.producer_id);
    if (open == open_transactions_.end()) continue;
    const std::map<std::string, std::int64_t> decided_offsets(decision.first_offsets.begin(),
                                                              decision.first_offsets.end());
    bool covered = true;
    for (const auto& [log, first] : open->second.first_offsets) {
      const auto found = decided_offsets.find(log);
      covered = covered && found != decided_offsets.end() && found->second == first;
    }
    if (covered) decided[decision.producer_id] = decision.marker;
  }
  for (auto& [producer_id, open] : open_transactions_) {
    open.serial = next_serial_++;
    const auto decision = decided.find(producer_id);
    if (decision != decided.end()) {
      context_.spawn(end_transaction(producer_id, decision->second));
    } else {
      context_.spawn(expire_transaction(producer_id, open.serial));
    }
  }
}

std::string Broker::log_name(std::string_view topic, std::uint32_t partition) {
  return "log/" + std::string(topic) + "/" + std::to_string(partition);
}

std::map<std::string, std::vector<StoredRecord>> Broker::durable_logs(sim::Disk& disk) {
  std::map<std::string, std::vector<StoredRecord>> logs;
  disk.for_each([&](const std::string& name, sim::Durable& durable) {
    if (name.rfind("log/", 0) != 0) return;
    const auto records = dynamic_cast<const sim::DurableLog<StoredRecord>&>(durable).durable();
    auto& committed = logs[name];
    for (std::size_t offset = 0; offset < records.size(); ++offset) {
      const StoredRecord& record = records[offset];
      if (record.kind != RecordKind::data) continue;
      if (record.transaction != 0 && !committed_transaction(records, offset)) continue;
      committed.push_back(record);
    }
  });
  return logs;
}

namespace {

// The marker that ends the transaction of the record at `offset`, if any.
const StoredRecord* marker_of(std::span<const StoredRecord> log, std::size_t offset) {
  for (std::size_t later = offset + 1; later < log.size(); ++later)
    if (log[later].transaction == log[offset].transaction && log[later].kind != RecordKind::data) return &log[later];
  return nullptr;
}

}  // namespace

bool Broker::committed_transaction(std::span<const StoredRecord> log, std::size_t offset) {
  const StoredRecord* marker = marker_of(log, offset);
  return marker != nullptr && marker->kind == RecordKind::commit_marker;
}

std::int64_t Broker::last_stable_offset(std::string_view topic, std::uint32_t partition) {
  const std::string name = log_name(topic, partition);
  auto stable = static_cast<std::int64_t>(partition_log(topic, partition).synced_size());
  for (const auto& [producer_id, open] : open_transactions_)
    if (const auto first = open.first_offsets.find(name); first != open.first_offsets.end())
      stable = std::min(stable, first->second);
  return stable;
}

bool Broker::current_session(std::uint64_t producer_id) const {
  const auto transactional_id = transactional_id_of_.find(producer_id);
  return transactional_id != transactional_id_of_.end() && session_of_.at(transactional_id->second) == producer_id;
}

sim::Task<std::uint64_t> Broker::new_session(std::string transactional_id) {
  // Session ids are positions in the synced session log: a crash drops only ids never handed out.
  const auto producer_id = static_cast<std::uint64_t>(session_log_.size()) + 1;
  session_log_.append(TransactionSession{transactional_id, producer_id});
  session_of_[transactional_id] = producer_id;
  transactional_id_of_[producer_id] = transactional_id;
  co_await context_.sync(session_log_);
  co_return producer_id;
}

sim::Task<void> Broker::end_transaction(std::uint64_t producer_id, RecordKind marker) {
  const auto open = open_transactions_.find(producer_id);
  if (open == open_transactions_.end() || open->second.ending) co_return;
  open->second.ending = true;
  const std::uint64_t serial = open->second.serial;
  const std::map<std::string, std::int64_t> first_offsets = open->second.first_offsets;
  // The decision is durable before any marker: a crash in between leaves the
  // transaction decided, and the restarted broker writes the remaining markers.
  decision_log_.append(TransactionDecision{producer_id, marker, {first_offsets.begin(), first_offsets.end()}});
  co_await context_.sync(decision_log_);
  co_await context_.point("broker.transaction.after_decision");
  for (const auto& [name, first] : first_offsets) {
    auto& log = context_.disk().get<sim::DurableLog<StoredRecord>>(name);
    StoredRecord record{.offset = static_cast<std::int64_t>(log.size()), .appended_at = context_.now()};
    record.transaction = producer_id;
    record.kind = marker;
    log.append(std::move(record));
    co_await context_.sync(log);
  }
  // The transaction stays open (holding the LSO) until every marker is durable.
  const auto ended = open_transactions_.find(producer_id);
  if (ended != open_transactions_.end() && ended->second.serial == serial) open_transactions_.erase(ended);
}

sim::Task<void> Broker::expire_transaction(std::uint64_t producer_id, std::uint64_t serial) {
  co_await context_.sleep(settings_.transaction_timeout);
  const auto open = open_transactions_.find(producer_id);
  if (open == open_transactions_.end() || open->second.serial != serial || open->second.ending) co_return;
  // Fence the session first (Kafka bumps the producer epoch), so a late commit of the
  // aborted transaction is refused instead of acknowledged.
  const auto transactional_id = transactional_id_of_.find(producer_id);
  if (transactional_id != transactional_id_of_.end() && session_of_[transactional_id->second] == producer_id)
    co_await new_session(transactional_id->second);
  co_await end_transaction(producer_id, RecordKind::abort_marker);
}

sim::Task<InitTransactionsReply> Broker::init_transactions(InitTransactions& request) {
  // A new session of a transactional id fences the old one and aborts its open transaction.
  const auto previous = session_of_.find(request.transactional_id);
  const std::uint64_t fenced = previous == session_of_.end() ? 0 : previous->second;
  const std::uint64_t producer_id = co_await new_session(request.transactional_id);
  if (fenced != 0) co_await end_transaction(fenced, RecordKind::abort_marker);
  co_return InitTransactionsReply{.ok = true, .producer_id = producer_id};
}

sim::Task<EndTransactionReply> Broker::end_transaction_request(EndTransaction& request) {
  if (!current_session(request.producer_id))
    co_return EndTransactionReply{.ok = false, .error = broker_errors::producer_fenced};
  const auto open = open_transactions_.find(request.producer_id);
  if (open != open_transactions_.end() && open->second.ending)
    co_return EndTransactionReply{.ok = false, .error = broker_errors::concurrent_transactions};
  // No open transaction: nothing was produced in it, or this is the retry of an end
  // that completed (its reply was lost); either way it is done.
  if (open != open_transactions_.end())
    co_await end_transaction(request.producer_id, request.result == TransactionResult::commit
                                                      ? RecordKind::commit_marker
                                                      : RecordKind::abort_marker);
  co_return EndTransactionReply{.ok = true};
}

sim::DurableLog<StoredRecord>& Broker::partition_log(std::string_view topic, std::uint32_t partition) {
  for (const OpenLog& open : open_logs_)
    if (open.partition == partition && open.topic == topic) return *open.log;
  auto& log = context_.disk().get<sim::DurableLog<StoredRecord>>(log_name(topic, partition));
  open_logs_.push_back(OpenLog{std::string(topic), partition, &log});
  return log;
}

void Broker::serve() {
  context_.serve<Produce>([this](Produce&& request) { return produce(request); });
  context_.serve<Fetch>([this](Fetch&& request) { return fetch(request); });
  context_.serve<CommitOffset>([this](CommitOffset&& request) { return commit_offset(request); });
  context_.serve<FetchOffset>([this](FetchOffset&& request) { return fetch_offset(request); });
  context_.serve<InitTransactions>([this](InitTransactions&& request) { return init_transactions(request); });
  context_.serve<EndTransaction>([this](EndTransaction&& request) { return end_transaction_request(request); });
}

void append_batch(sim::DurableLog<StoredRecord>& log, Produce& request, const StoredRecord& shape) {
  const std::size_t count = 1 + request.more.size();
  for (std::size_t index = 0; index < count; ++index) {
    StoredRecord record = shape;
    record.offset = static_cast<std::int64_t>(log.size());
    record.event = std::move(index == 0 ? request.event : request.more[index - 1]);
    assert(index == 0 || record.event.key == log[log.size() - 1].event.key);
    if (record.sequence >= 0) record.sequence += static_cast<std::int64_t>(index);
    record.batch_remaining = static_cast<std::uint32_t>(count - 1 - index);
    log.append(std::move(record));
  }
}

sim::Task<ProduceReply> Broker::produce(Produce& request) {
  const std::uint32_t partition = partition_for(request.event.key, settings_.partitions);
  auto& log = partition_log(request.topic, partition);
  if (request.transaction != 0) co_return co_await produce_in_transaction(std::move(request), partition);
  if (request.producer_id != 0) {
    // An idempotent producer's retry of a record already appended is acknowledged, not appended.
    const auto last = last_sequence_.find({request.producer_id, log_name(request.topic, partition)});
    if (last != last_sequence_.end() && request.sequence <= last->second)
      co_return ProduceReply{.ok = true, .partition = partition, .offset = -1};
    last_sequence_[{request.producer_id, log_name(request.topic, partition)}] =
        request.sequence + static_cast<std::int64_t>(request.more.size());
  }
  const auto offset = static_cast<std::int64_t>(log.size());
  append_batch(
      log, request,
      StoredRecord{.producer_id = request.producer_id, .sequence = request.sequence, .appended_at = context_.now()});
  co_await context_.point("broker.produce.before_sync");
  co_await context_.sync(log);
  co_await context_.point("broker.produce.after_sync");
  co_return ProduceReply{.ok = true, .partition = partition, .offset = offset};
}

sim::Task<ProduceReply> Broker::produce_in_transaction(Produce request, std::uint32_t partition) {
  if (!current_session(request.transaction))
    co_return ProduceReply{.ok = false, .partition = partition, .error = broker_errors::producer_fenced};
  auto open = open_transactions_.find(request.transaction);
  if (open != open_transactions_.end() && open->second.ending)
    co_return ProduceReply{.ok = false, .partition = partition, .error = broker_errors::concurrent_transactions};
  if (open == open_transactions_.end()) {
    // The first record of a transaction starts it, and its timeout.
    open = open_transactions_.emplace(request.transaction, OpenTransaction{.serial = next_serial_++}).first;
    context_.spawn(expire_transaction(request.transaction, open->second.serial));
  }
  const std::string name = log_name(request.topic, partition);
  auto& log = partition_log(request.topic, partition);
  const auto offset = static_cast<std::int64_t>(log.size());
  open->second.first_offsets.try_emplace(name, offset);
  append_batch(log, request, StoredRecord{.appended_at = context_.now(), .transaction = request.transaction});
  co_await context_.point("broker.produce.before_sync");
  co_await context_.sync(log);
  co_await context_.point("broker.produce.after_sync");
  co_return ProduceReply{.ok = true, .partition = partition, .offset = offset};
}

sim::Task<FetchReply> Broker::fetch(Fetch& request) {
  // Consumers read only synced records: the high watermark of a single replica; a
  // read_committed consumer only below the last stable offset.
  const auto& log = partition_log(request.topic, request.partition);
  FetchReply reply{.ok = true};
  const auto end = request.isolation == ConsumerIsolation::read_committed
                       ? last_stable_offset(request.topic, request.partition)
                       : static_cast<std::int64_t>(log.synced_size());
  const auto records = log.written();
  std::int64_t offset = std::max<std::int64_t>(0, request.offset);
  for (; offset < end && reply.records.size() < request.max_records; ++offset) {
    const StoredRecord& record = records[static_cast<std::size_t>(offset)];
    if (record.kind != RecordKind::data) continue;
    // Below the LSO every transaction has its marker; read_committed delivers only committed ones.
    if (record.transaction != 0 && request.isolation == ConsumerIsolation::read_committed &&
        !committed_transaction(records, static_cast<std::size_t>(offset)))
      continue;
    reply.records.push_back(record);
  }
  reply.next_offset = offset;
  co_return reply;
}

sim::Task<CommitOffsetReply> Broker::commit_offset(CommitOffset& request) {
  offset_log_.append(OffsetCommit{request.group, request.topic, request.partition, request.offset});
  co_await context_.sync(offset_log_);
  committed_offsets_[request.group + "/" + request.topic + "/" + std::to_string(request.partition)] = request.offset;
  co_return CommitOffsetReply{.ok = true};
}

sim::Task<FetchOffsetReply> Broker::fetch_offset(FetchOffset& request) {
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

TransactionalProducer::TransactionalProducer(sim::Context& context, sim::NodeId broker, std::string transactional_id,
                                             PublishSettings settings)
    : context_(context), broker_(broker), transactional_id_(std::move(transactional_id)), settings_(settings) {}

sim::Task<Outcome> TransactionalProducer::init() {
  for (std::uint32_t attempt = 0; attempt < settings_.attempts; ++attempt) {
    if (attempt > 0) co_await context_.sleep(settings_.backoff);
    InitTransactions request{transactional_id_};
    const auto result = co_await context_.call(broker_, std::move(request), settings_.timeout);
    if (result.ok() && result->ok) {
      producer_id_ = result->producer_id;
      co_return Outcome::ok;
    }
  }
  co_return Outcome::failed;
}

sim::Task<Outcome> TransactionalProducer::send(std::string topic, Event event) {
  assert(producer_id_ != 0 && "init() first");
  Produce request{std::move(topic), std::move(event)};
  request.event.publisher = context_.node();
  request.event.publisher_incarnation = context_.incarnation();
  request.transaction = producer_id_;
  const auto result = co_await context_.call(broker_, std::move(request), settings_.timeout);
  if (result.ok()) co_return result->ok ? Outcome::ok : Outcome::failed;
  co_return result.status == sim::RpcStatus::unknown ? Outcome::unknown : Outcome::failed;
}

sim::Task<Outcome> TransactionalProducer::end(TransactionResult transaction_result) {
  assert(producer_id_ != 0 && "init() first");
  // Ending is idempotent at the broker, so it is retried after an unknown outcome too.
  Outcome outcome = Outcome::failed;
  for (std::uint32_t attempt = 0; attempt < settings_.attempts; ++attempt) {
    if (attempt > 0) co_await context_.sleep(settings_.backoff);
    EndTransaction request{producer_id_, transaction_result};
    const auto result = co_await context_.call(broker_, std::move(request), settings_.timeout);
    if (result.ok() && result->ok) co_return Outcome::ok;
    if (result.ok() && result->error == broker_errors::producer_fenced) co_return Outcome::failed;
    if (result.status == sim::RpcStatus::unknown) outcome = Outcome::unknown;
  }
  co_return outcome;
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
  std::vector<Event> events;
  events.push_back(std::move(event));
  return publish_batch(std::move(topic), std::move(events));
}

sim::Task<Outcome> Producer::publish_batch(std::string topic, std::vector<Event> events) {
  assert(!events.empty());
  Outcome outcome = Outcome::failed;
  const std::uint32_t partition =
      broker_.endpoints().replicated() ? partition_for(events.front().key, broker_.endpoints().partitions) : 0;
  for (std::uint32_t attempt = 0; attempt < settings_.attempts; ++attempt) {
    if (attempt > 0) co_await context_->sleep(settings_.backoff);
    std::optional<sim::NodeId> leader = broker_.known(partition);
    if (!leader) leader = co_await broker_.leader(*context_, partition);
    if (!leader) continue;  // the partition is offline, or its leader unknown: try again after the backoff
    Produce request{topic, events.front()};
    request.more.assign(events.begin() + 1, events.end());
    const auto stamp = [&](Event& event) {
      event.publisher = context_->node();
      event.publisher_incarnation = context_->incarnation();
      event.attempt = attempt + 1;
    };
    stamp(request.event);
    for (Event& event : request.more) stamp(event);
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
