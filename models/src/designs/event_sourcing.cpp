// D6, event sourcing. The change *is* the event: placing an order appends an event
// to its stream in the event store, with an expected version (optimistic
// concurrency: the stream's version row is bumped conditionally, and the event's
// (stream, version) is unique). A subscription reads the store in id order below the
// id horizon (the lowest id a transaction in flight still holds), so a slow commit
// is never skipped; it publishes each event and checkpoints its position after the
// broker's ack.
//
// Its seeded bugs are registered variants; each differs from it in the lines marked
// "Seeded bug".
#include <algorithm>

#include "faultline/models/design.h"
#include "write_retries.h"

namespace faultline::models {
namespace {

namespace store {
inline constexpr const char* streams = "streams";
inline constexpr const char* events = tables::events;
inline constexpr const char* checkpoints = "checkpoints";
}  // namespace store

enum class Flaw {
  none,
  non_atomic_version_check,   // reads the version, then appends unconditionally (CJSCommonPlatform #356)
  gap_held_forever,           // waits for every missing id, even one a rollback lost (Eventuous PR #588, Marten #3503)
  gap_released_by_timestamp,  // skips a gap once the rows after it look old enough (AxonFramework #4829)
};

// How long the timestamp-based subscription waits for a missing id before it gives
// the id up as rolled back. The default fault profile pauses nodes for 1 to 500 ms
// and the network delays one message in two hundred by up to 30 ms, while a typical
// append commits within a few milliseconds: 10 ms is longer than a typical commit,
// yet most pauses hold a commit open for longer, and so does a latency spike on a
// commit's messages, which makes even runs without faults reach the bug now and then.
constexpr sim::Duration gap_timeout = sim::Duration::millis(10);

class EventSourcing final : public Design {
 public:
  EventSourcing(std::string name, Flaw flaw, std::string breaks, std::string summary)
      : name_(std::move(name)), flaw_(flaw), breaks_(std::move(breaks)), summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    if (flaw_ != Flaw::none) return {};
    return {"L", "P", "A", "O", "EO", "E", "V", "ND", "W"};
  }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override { return flaw_ == Flaw::none ? std::string() : "event-sourcing"; }
  Settings default_settings() const override { return Settings{.consumer = ConsumerMode::inbox}; }
  std::vector<std::string> points() const override {
    return {"es.after_read_version", "es.before_commit", "es.after_commit", "subscription.after_publish_ack",
            "subscription.after_checkpoint"};
  }

  // A concurrency conflict (another append took the expected version first) is
  // retried with a fresh version, like any transaction that ended without committing.
  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    WriteRetries retries(env.context);
    for (;;) {
      const WriteAttempt attempt = co_await append(env, command);
      if (attempt.end == AttemptEnd::final || !co_await retries.another_attempt()) co_return attempt.reply;
    }
  }

  void start(ServiceEnv& env) const override { env.context.spawn(subscription(env)); }

 private:
  sim::Task<WriteAttempt> append(ServiceEnv& env, const PlaceOrder& command) const {
    auto& context = env.context;
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return WriteAttempt{PlaceOrderReply{Outcome::failed}, AttemptEnd::transient};
    std::int64_t version = 0;
    if (flaw_ == Flaw::non_atomic_version_check) {
      // Seeded bug: the expected version is read, but nothing makes the append conditional on it.
      DbFilter of_stream{.key = command.key};
      auto events = co_await tx.value.select(store::events, std::move(of_stream));
      if (!events.ok()) co_return co_await roll_back(tx.value);
      for (const Row& event : events.value) version = std::max(version, event.version);
      co_await context.point("es.after_read_version");
    } else {
      DbFilter of_stream{.key = command.key};
      auto stream = co_await tx.value.select(store::streams, std::move(of_stream));
      if (!stream.ok()) co_return co_await roll_back(tx.value);
      co_await context.point("es.after_read_version");
      if (stream.value.empty()) {
        Row head{.key = command.key, .state = static_cast<std::int64_t>(command.items)};
        head.unique_key = command.key;
        const auto created = co_await tx.value.insert(store::streams, std::move(head));
        // A concurrent first append created the stream first (unique violation).
        if (!created.ok()) co_return co_await roll_back(tx.value);
      } else {
        version = stream.value.front().state;
        const std::int64_t new_version = version + static_cast<std::int64_t>(command.items);
        const auto bumped = co_await tx.value.update(store::streams, stream.value.front().id, new_version, version);
        // No row affected: another append bumped the version first (a conflict).
        if (!bumped.ok() || bumped.value == 0) co_return co_await roll_back(tx.value);
      }
    }
    // One event per line item, at the versions after the expected one.
    for (const Event& announced : events_of_change(command, 0)) {
      Row event{.key = command.key, .command = command.command, .message_id = announced.message_id};
      event.version = version + announced.index_in_change;
      event.index_in_change = announced.index_in_change;
      event.events_in_change = announced.events_in_change;
      // The event's timestamp, taken before the commit. With per-node clock skew this
      // becomes the service's local clock reading instead of the simulator's time.
      event.written_at = context.now();
      if (flaw_ == Flaw::none) event.unique_key = command.key + "#" + std::to_string(event.version);
      const auto appended = co_await tx.value.insert(store::events, std::move(event));
      if (!appended.ok()) co_return co_await roll_back(tx.value);
    }
    co_await context.point("es.before_commit");
    const auto committed = co_await tx.value.commit();
    // A refused commit (a unique violation: a conflict) committed nothing; one whose
    // answer never came may have.
    if (committed.outcome == Outcome::failed)
      co_return WriteAttempt{PlaceOrderReply{Outcome::failed}, AttemptEnd::transient};
    if (!committed.ok()) co_return WriteAttempt{PlaceOrderReply{committed.outcome}};
    co_await context.point("es.after_commit");
    co_return WriteAttempt{PlaceOrderReply{Outcome::ok, 0}};
  }

  // The subscription: publishes events in id order (per stream, ids follow commit
  // order: the stream row's lock is held from the version bump to the commit), but
  // only below the id horizon, the lowest id a transaction in flight still holds, so
  // a slow commit is never skipped. It checkpoints the last id after the acks.
  sim::Task<void> subscription(ServiceEnv& env) const {
    auto& context = env.context;
    std::optional<std::int64_t> position;
    std::int64_t checkpoint_row = 0;
    for (;;) {
      co_await context.sleep(sim::Duration::millis(5));
      auto tx = co_await env.db.begin();
      if (!tx.ok()) continue;
      if (!position) {
        DbFilter everything;
        auto saved = co_await tx.value.select(store::checkpoints, std::move(everything));
        if (!saved.ok()) {
          co_await tx.value.abort();
          continue;
        }
        position = saved.value.empty() ? 0 : saved.value.front().state;
        checkpoint_row = saved.value.empty() ? 0 : saved.value.front().id;
      }
      DbFilter after_position{.id_after = *position, .limit = 64};
      auto scanned = co_await tx.value.scan(store::events, std::move(after_position));
      if (!scanned.ok()) {
        co_await tx.value.abort();
        continue;
      }
      bool failed = false;
      std::int64_t published_up_to = *position;
      for (const Row& row : scanned.value.rows) {
        if (!final_row(row, published_up_to, scanned.value.id_horizon, context.now())) break;
        Event event{row.message_id, row.key, row.command, 0, row.index_in_change, row.events_in_change};
        if (co_await env.producer.publish(env.topic, std::move(event)) != Outcome::ok) {
          failed = true;
          break;
        }
        co_await context.point("subscription.after_publish_ack");
        published_up_to = row.id;
      }
      if (published_up_to > *position) {
        // Checkpoint what was acked, durably, in the store itself.
        *position = published_up_to;
        if (checkpoint_row == 0) {
          Row checkpoint{.key = "subscription", .state = published_up_to};
          checkpoint.unique_key = "subscription";
          const auto inserted = co_await tx.value.insert(store::checkpoints, std::move(checkpoint));
          if (inserted.ok()) checkpoint_row = inserted.value;
        } else {
          co_await tx.value.update(store::checkpoints, checkpoint_row, published_up_to, std::nullopt);
        }
      }
      const auto committed = co_await tx.value.commit();
      if (committed.ok() && !failed) co_await context.point("subscription.after_checkpoint");
      // After a failure the saved checkpoint is the truth again.
      if (failed || !committed.ok()) {
        position.reset();
        checkpoint_row = 0;
      }
    }
  }

  // Whether the subscription may publish `row`, the first row after the id it
  // published last: only below the id horizon, where no transaction in flight can
  // still commit a lower id.
  bool final_row(const Row& row, std::int64_t published_up_to, std::int64_t id_horizon, sim::Instant now) const {
    const bool follows_without_gap = row.id == published_up_to + 1;
    switch (flaw_) {
      case Flaw::gap_held_forever:
        // Seeded bug: a missing id is taken for a commit still in flight, but an id
        // lost to a rolled-back append never commits: the subscription waits forever.
        return follows_without_gap;
      case Flaw::gap_released_by_timestamp:
        // Seeded bug: no horizon; a gap is given up once the row after it is older
        // than the timeout, by a timestamp its writer took before committing. A
        // commit slower than the timeout lands below the position: never published.
        return follows_without_gap || now - row.written_at >= gap_timeout;
      case Flaw::none:
      case Flaw::non_atomic_version_check:
        break;
    }
    return row.id < id_horizon;
  }

  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::shared_ptr<const Design> make_event_sourcing() {
  return std::make_shared<EventSourcing>(
      "event-sourcing", Flaw::none, "",
      "append to the event store with an expected version; a gap-safe subscription publishes (inbox consumer)");
}

std::vector<std::shared_ptr<const Design>> make_event_sourcing_bugs() {
  return {
      std::make_shared<EventSourcing>("bug-non-atomic-version-check", Flaw::non_atomic_version_check, "V",
                                      "expected-version check not atomic with the append (CJSCommonPlatform #356)"),
      std::make_shared<EventSourcing>(
          "bug-gap-held-forever", Flaw::gap_held_forever, "E",
          "subscription waits for an id a rolled-back append lost (Eventuous PR #588, Marten #3503)"),
      std::make_shared<EventSourcing>(
          "bug-gap-released-by-timestamp", Flaw::gap_released_by_timestamp, "L",
          "subscription skips a gap by a timestamp taken before the commit (AxonFramework #4829)"),
  };
}

}  // namespace faultline::models
