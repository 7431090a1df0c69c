// D4, transactional outbox with a polling relay. The order and its outbox row commit
// together (outbox.h). Relays poll pending outbox rows in id order, publish each,
// and mark it sent only after the broker's ack; a crash anywhere just makes a relay
// publish the same event (same id) again: at least once, never lost, never phantom.
// With several relays, each owns the keys that hash to it (per-key order) and claims
// its rows with SELECT ... FOR UPDATE, waiting for a row another transaction holds.
//
// The leased variant (outbox-polling-leased) runs each relay on its own node. The keys
// are cut into one slot per relay; a relay publishes a slot's rows only while it holds
// that slot's lease: a row of the relay_leases table carrying an owner, an expiry read
// from the owner's local clock, and a fencing token that grows with every new claim.
// A relay takes a lease only when it has expired (by its own clock, with a grace that
// covers a bounded clock skew) or is its own from before a restart; it marks rows sent
// only in a transaction that first renews the lease with its token, so after a
// takeover its marks are rejected (fenced). A pause longer than the lease, or a clock
// skew beyond the grace, lets two relays publish the same rows: each still publishes in
// id order and only marks with a current token, so the worst case is a duplicate of an
// event whose first append came from the relay that lost its lease, never a loss and
// never an out-of-order first application.
//
// The seeded bugs of this design are registered variants; each differs from the
// correct relay in the lines marked "Seeded bug".
#include <cassert>
#include <map>
#include <string>
#include <vector>

#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

enum class Flaw {
  none,
  reads_uncommitted,           // relay reads with READ UNCOMMITTED (NServiceBus.SqlServer PR #1277)
  unroutable_counted_sent,     // a failed publish is marked sent anyway (eventuate-tram-core #194)
  cleanup_by_context,          // deletes the batch's id range instead of the delivered ids (MassTransit #4990)
  concurrent_sends_per_key,    // publishes a batch concurrently: sends of one key overtake (MassTransit #3512)
  unlocked_claim,              // two relays each take every key, without a lock (open-bank-oss PR #1460)
  hook_before_outer_commit,    // an after-commit hook publishes before the outer commit (micronaut-core #10019)
  resubmit_without_ownership,  // a (re)started relay resubmits every pending row, claimed or not (spring-modulith #926)
  publish_without_ack,         // counts a publish done once sent, never waiting for the ack (abpframework/abp #24340)
};

// How relays keep two of them from publishing the same rows.
enum class Claiming {
  row_locks,  // SELECT ... FOR UPDATE held across the publish (relays on the service node)
  leases,     // a lease per key slot with a fencing token (relays on their own nodes)
};

// How a registered variant runs its relays, and for a seeded bug the correct design it
// was made from (same relays, same claiming, the marked lines undone).
struct Variant {
  Claiming claiming = Claiming::row_locks;
  std::uint32_t relays = 1;  // with row locks; the leased relays are always 2, on their own nodes
  std::string correct_twin;
};

namespace lease_tables {
inline constexpr const char* leases = "relay_leases";  // one row per key slot: owner, expiry, fencing token
}  // namespace lease_tables

// The lease timings of the leased relay, on the relay's local clock. The grace must
// exceed the clock skew the relays may have between them plus a network latency
// spike, so that without a pause an old holder has stopped publishing (publish_margin
// before its expiry) well before a new holder takes over.
struct LeaseSettings {
  sim::Duration lease = sim::Duration::millis(200);
  std::uint32_t polls_per_renewal = 10;  // a claim round every 10 polls (50 ms)
  sim::Duration takeover_grace = sim::Duration::millis(60);
  sim::Duration publish_margin = sim::Duration::millis(20);  // no publish starts this close to the expiry
};

// A lease this incarnation of a relay holds: its row, its token, and until when it
// holds it by its own clock (the expiry it wrote, never later).
struct HeldLease {
  std::int64_t row_id = 0;
  std::int64_t fencing_token = 0;
  sim::Instant valid_until;
};
using HeldLeases = std::map<std::uint32_t, HeldLease>;  // key slot -> lease

// Relay i's home slot is slot i: it creates that slot's lease and claims it first; it
// takes the other slots only once their leases expired.
enum class SlotRole { home, other };

std::string slot_key(std::uint32_t slot) {
  return "slot-" + std::to_string(slot);
}

struct RelaySettings {
  sim::Duration poll_interval = sim::Duration::millis(5);
  std::uint32_t batch = 16;
};

class OutboxPolling final : public Design {
 public:
  OutboxPolling(std::string name, Flaw flaw, std::string breaks, std::string summary, Variant variant = {})
      : name_(std::move(name)),
        flaw_(flaw),
        breaks_(std::move(breaks)),
        summary_(std::move(summary)),
        claiming_(variant.claiming),
        relays_(variant.relays),
        correct_twin_(std::move(variant.correct_twin)) {
    assert((flaw_ == Flaw::none) == correct_twin_.empty() && "every seeded bug names its correct twin");
    assert(relays_ >= 1);
  }

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    if (flaw_ != Flaw::none) return {};
    return {"L", "P", "A", "O", "EO", "E", "ND", "W"};
  }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override { return correct_twin_; }
  Settings default_settings() const override {
    Settings settings{.consumer = ConsumerMode::inbox, .relays = relays_};
    if (claiming_ == Claiming::leases) {
      settings.relays = 2;
      settings.relay_placement = RelayPlacement::own_nodes;
    }
    return settings;
  }
  std::vector<std::string> points() const override {
    std::vector<std::string> points{"service.before_commit", "service.after_commit", "relay.after_select",
                                    "relay.after_publish_ack", "relay.after_mark_sent"};
    if (claiming_ == Claiming::leases) points.push_back("relay.after_claim");
    return points;
  }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    const OutboxDispatch dispatch =
        flaw_ == Flaw::hook_before_outer_commit ? OutboxDispatch::inner_commit_hook : OutboxDispatch::relay_only;
    return write_order_with_outbox(env, std::move(command), dispatch);
  }

  void start(ServiceEnv& env) const override {
    if (env.settings.relay_placement != RelayPlacement::service) return;
    for (std::uint32_t relay_index = 0; relay_index < env.settings.relays; ++relay_index) start_relay(env, relay_index);
  }

  void start_relay(ServiceEnv& env, std::uint32_t relay_index) const override {
    if (claiming_ == Claiming::leases) {
      env.context.spawn(leased_relay(env, relay_index));
    } else {
      env.context.spawn(relay(env, relay_index));
    }
  }

 private:
  sim::Task<void> relay(ServiceEnv& env, std::uint32_t relay_index) const {
    const RelaySettings settings;
    auto& context = env.context;
    const std::uint32_t relays = env.settings.relays;
    const Isolation isolation =
        flaw_ == Flaw::reads_uncommitted ? Isolation::read_uncommitted : Isolation::read_committed;  // Seeded bug
    // A relay waits for a row another transaction holds (a dead relay's, until the
    // database reaps it): skipping it would let a later event of its key overtake it.
    const bool unlocked = flaw_ == Flaw::unlocked_claim || flaw_ == Flaw::reads_uncommitted;  // Seeded bugs
    const LockMode lock = unlocked ? LockMode::none : LockMode::for_update;
    // Seeded bug (publish_without_ack): the relay's producer counts a publish done as
    // soon as it is sent (acks=0, or a send whose delivery report nobody reads), so a
    // row is marked sent whether or not the broker ever appended its event. The plain
    // broker of the design's settings is the one it sends to.
    Producer fire_and_forget(context, BrokerEndpoints{.replicas = {env.broker}}, PublishSettings{}, ProducerAcks::none);
    Producer& producer = flaw_ == Flaw::publish_without_ack ? fire_and_forget : env.producer;
    for (;;) {
      co_await context.sleep(settings.poll_interval);
      auto tx = co_await env.db.begin(isolation);
      if (!tx.ok()) continue;
      DbFilter filter{.state = outbox_state::pending, .limit = settings.batch, .lock = lock};
      if (flaw_ != Flaw::unlocked_claim) {  // Seeded bug: every relay takes every key.
        filter.key_partitions = relays;
        filter.key_partition = relay_index;
      }
      auto rows = co_await tx.value.select(tables::outbox, std::move(filter));
      if (!rows.ok() || rows.value.empty()) {
        co_await tx.value.abort();
        continue;
      }
      co_await context.point("relay.after_select");
      if (flaw_ == Flaw::concurrent_sends_per_key) {
        co_await publish_concurrently(env, tx.value, rows.value);  // Seeded bug
      } else {
        co_await publish_in_order(env, producer, tx.value, rows.value);
      }
      const auto committed = co_await tx.value.commit();
      if (committed.ok()) co_await context.point("relay.after_mark_sent");
    }
  }

  // Publishes rows one by one and marks each sent after its ack; stops at the first
  // failure so a later event of a key never overtakes an earlier one.
  sim::Task<void> publish_in_order(ServiceEnv& env, Producer& producer, DbTransaction& tx,
                                   const std::vector<Row>& rows) const {
    for (const Row& row : rows) {
      Event event = event_of_outbox_row(row);
      const Outcome published = co_await producer.publish(env.topic, std::move(event));
      if (published != Outcome::ok && flaw_ != Flaw::unroutable_counted_sent) break;  // Seeded bug: no break
      co_await env.context.point("relay.after_publish_ack");
      if (flaw_ == Flaw::cleanup_by_context) continue;
      const auto marked = co_await tx.update(tables::outbox, row.id, outbox_state::sent, outbox_state::pending);
      if (!marked.ok()) break;
    }
    if (flaw_ == Flaw::cleanup_by_context && !rows.empty()) {
      // Seeded bug: clean up "everything up to the batch's last id" instead of the
      // delivered ids; a row with a lower id that committed meanwhile goes unsent.
      DbFilter range{.state = outbox_state::pending};
      auto pending = co_await tx.select(tables::outbox, std::move(range));
      if (!pending.ok()) co_return;
      for (const Row& row : pending.value)
        if (row.id <= rows.back().id) co_await tx.update(tables::outbox, row.id, outbox_state::sent, std::nullopt);
    }
  }

  // Seeded bug: every row of the batch is sent at once; retries reorder one key's events.
  sim::Task<void> publish_concurrently(ServiceEnv& env, DbTransaction& tx, const std::vector<Row>& rows) const {
    auto outcomes = std::make_shared<std::vector<Outcome>>(rows.size(), Outcome::unknown);
    auto remaining = std::make_shared<std::size_t>(rows.size());
    for (std::size_t index = 0; index < rows.size(); ++index)
      env.context.spawn(send_one(env, rows[index], outcomes, remaining, index));
    while (*remaining > 0) co_await env.context.sleep(sim::Duration::millis(1));
    for (std::size_t index = 0; index < rows.size(); ++index)
      if ((*outcomes)[index] == Outcome::ok)
        co_await tx.update(tables::outbox, rows[index].id, outbox_state::sent, outbox_state::pending);
  }

  static sim::Task<void> send_one(ServiceEnv& env, Row row, std::shared_ptr<std::vector<Outcome>> outcomes,
                                  std::shared_ptr<std::size_t> remaining, std::size_t index) {
    Event event = event_of_outbox_row(row);
    (*outcomes)[index] = co_await env.producer.publish(env.topic, std::move(event));
    --*remaining;
  }

  // ---- The leased relay ----

  sim::Task<void> leased_relay(ServiceEnv& env, std::uint32_t relay_index) const {
    const RelaySettings settings;
    const LeaseSettings lease_settings;
    auto& context = env.context;
    const std::uint32_t slots = env.settings.relays;
    // One attempt per publish: a retry goes through the lease check again, so a relay
    // never re-sends after its lease may have passed to another.
    Producer producer(context, env.broker, PublishSettings{.attempts = 1});
    HeldLeases held;  // volatile: a restarted relay holds nothing until it claims again
    // The lease owner: the node and the relay instance (two relays can share the service node).
    const std::string owner = context.name() + "#" + std::to_string(relay_index + 1);
    if (flaw_ == Flaw::resubmit_without_ownership) co_await resubmit_incomplete(env, producer);  // Seeded bug
    for (std::uint32_t poll = 0;; ++poll) {
      co_await context.sleep(settings.poll_interval);
      if (poll % lease_settings.polls_per_renewal == 0) {
        // Its home slot first, then the others, which it takes only once they expired.
        for (std::uint32_t offset = 0; offset < slots; ++offset)
          co_await claim_slot(env, owner, held, (relay_index + offset) % slots,
                              offset == 0 ? SlotRole::home : SlotRole::other, lease_settings);
      }
      std::vector<std::uint32_t> holding;
      for (const auto& [slot, lease] : held) holding.push_back(slot);
      for (const std::uint32_t slot : holding)
        co_await publish_slot(env, producer, owner, held, slot, slots, lease_settings);
    }
  }

  // Takes or renews the lease of `slot`: renews it if this incarnation holds its current
  // token, takes it if it expired (by this relay's clock, past the grace) or was this
  // node's before a restart, and leaves it alone otherwise.
  static sim::Task<void> claim_slot(ServiceEnv& env, std::string owner, HeldLeases& held, std::uint32_t slot,
                                    SlotRole role, const LeaseSettings& lease_settings) {
    auto& context = env.context;
    const sim::Instant started = context.local_now();
    const sim::Instant expiry = started + lease_settings.lease;
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return;
    DbFilter filter{.key = slot_key(slot)};
    auto rows = co_await tx.value.select(lease_tables::leases, std::move(filter));
    if (!rows.ok()) {
      co_await tx.value.abort();
      co_return;
    }
    if (rows.value.empty() && role != SlotRole::home) {
      // Only a slot's home relay creates its lease row, so that a slow start of a relay
      // does not leave both slots to the other one for good.
      co_await tx.value.abort();
      co_return;
    }
    if (rows.value.empty()) {
      // The slot's first claim ever creates its lease row, held by this relay; a
      // concurrent creation (a restarted incarnation's) fails on the unique key.
      Row lease_row{.key = slot_key(slot)};
      lease_row.unique_key = slot_key(slot);
      lease_row.owner = owner;
      lease_row.lease_expiry = expiry;
      lease_row.fencing_token = 1;
      const auto inserted = co_await tx.value.insert(lease_tables::leases, std::move(lease_row));
      if (!inserted.ok()) {
        co_await tx.value.abort();
        co_return;
      }
      const auto committed = co_await tx.value.commit();
      if (committed.ok()) held[slot] = HeldLease{inserted.value, 1, expiry};
      co_return;
    }
    const Row current = rows.value.front();
    const auto mine = held.find(slot);
    const bool renewing =
        mine != held.end() && current.owner == owner && current.fencing_token == mine->second.fencing_token;
    if (!renewing) held.erase(slot);  // taken over meanwhile, or never ours
    DbClaim claim{.table = lease_tables::leases, .id = current.id, .owner = owner, .lease_expiry = expiry};
    if (renewing) {
      claim.kind = ClaimKind::renew;
      claim.expected_fencing_token = mine->second.fencing_token;
    } else {
      const bool expired = current.lease_expiry + lease_settings.takeover_grace <= started;
      if (!expired && current.owner != owner) {
        co_await tx.value.abort();
        co_return;
      }
      claim.kind = ClaimKind::take;
      claim.expired_at_or_before = sim::Instant{started.ticks - lease_settings.takeover_grace.ticks};
    }
    const auto claimed = co_await tx.value.claim(std::move(claim));
    if (!claimed.ok() || claimed.value.affected == 0) {
      co_await tx.value.abort();
      if (renewing && claimed.ok()) held.erase(slot);  // the token is no longer current
      co_return;
    }
    co_await context.point("relay.after_claim");
    const auto committed = co_await tx.value.commit();
    // A renewal whose commit failed or ended unknown keeps the expiry it had: the
    // relay never assumes more than it knows was written.
    if (committed.ok()) held[slot] = HeldLease{current.id, claimed.value.fencing_token, expiry};
  }

  // Publishes the pending rows of a slot this relay holds, in id order, each only while
  // the lease has `publish_margin` left by the relay's clock; then marks the acked rows
  // sent in a transaction that first renews the lease with its token (the fence).
  sim::Task<void> publish_slot(ServiceEnv& env, Producer& producer, std::string owner, HeldLeases& held,
                               std::uint32_t slot, std::uint32_t slots, const LeaseSettings& lease_settings) const {
    const RelaySettings settings;
    auto& context = env.context;
    const auto found = held.find(slot);
    if (found == held.end()) co_return;
    const HeldLease lease = found->second;
    const auto lease_left = [&] { return context.local_now() + lease_settings.publish_margin < lease.valid_until; };
    if (!lease_left()) co_return;
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return;
    DbFilter filter{
        .state = outbox_state::pending, .limit = settings.batch, .key_partitions = slots, .key_partition = slot};
    auto rows = co_await tx.value.select(tables::outbox, std::move(filter));
    if (!rows.ok() || rows.value.empty()) {
      co_await tx.value.abort();
      co_return;
    }
    co_await context.point("relay.after_select");
    std::vector<std::int64_t> acked;
    for (const Row& row : rows.value) {
      if (!lease_left()) break;  // checked at the instant the publish is sent
      Event event = event_of_outbox_row(row);
      const Outcome published = co_await producer.publish(env.topic, std::move(event));
      if (published != Outcome::ok) break;  // a later event of the key must not overtake it
      co_await context.point("relay.after_publish_ack");
      acked.push_back(row.id);
    }
    if (acked.empty()) {
      co_await tx.value.abort();
      co_return;
    }
    const sim::Instant renewed_at = context.local_now();
    DbClaim fence{.table = lease_tables::leases,
                  .id = lease.row_id,
                  .kind = ClaimKind::renew,
                  .owner = owner,
                  .lease_expiry = renewed_at + lease_settings.lease,
                  .expected_fencing_token = lease.fencing_token};
    const auto fenced = co_await tx.value.claim(std::move(fence));
    if (!fenced.ok() || fenced.value.affected == 0) {
      // Another relay took the slot over: nothing of this batch may be marked by us.
      if (fenced.ok()) {
        context.note("relay.fenced", slot_key(slot) + " token " + std::to_string(lease.fencing_token));
        held.erase(slot);
      }
      co_await tx.value.abort();
      co_return;
    }
    for (const std::int64_t id : acked) {
      const auto marked = co_await tx.value.update(tables::outbox, id, outbox_state::sent, outbox_state::pending);
      if (!marked.ok()) {
        co_await tx.value.abort();
        co_return;
      }
    }
    const auto committed = co_await tx.value.commit();
    if (!committed.ok()) co_return;
    co_await context.point("relay.after_mark_sent");
    const auto still = held.find(slot);
    if (still != held.end() && still->second.fencing_token == lease.fencing_token)
      still->second.valid_until = renewed_at + lease_settings.lease;
  }

  // Seeded bug: at (re)start, every incomplete publication is resubmitted and marked
  // sent, with no ownership predicate: rows of a slot another live relay holds and is
  // publishing right now are appended a second time.
  sim::Task<void> resubmit_incomplete(ServiceEnv& env, Producer& producer) const {
    auto& context = env.context;
    auto tx = co_await env.db.begin();
    if (!tx.ok()) co_return;
    DbFilter filter{.state = outbox_state::pending};
    auto rows = co_await tx.value.select(tables::outbox, std::move(filter));
    if (!rows.ok()) {
      co_await tx.value.abort();
      co_return;
    }
    for (const Row& row : rows.value) {
      Event event = event_of_outbox_row(row);
      const Outcome published = co_await producer.publish(env.topic, std::move(event));
      if (published != Outcome::ok) break;
      co_await context.point("relay.after_publish_ack");
      const auto marked = co_await tx.value.update(tables::outbox, row.id, outbox_state::sent, outbox_state::pending);
      if (!marked.ok()) break;
    }
    co_await tx.value.commit();
  }

  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
  Claiming claiming_;
  std::uint32_t relays_;
  std::string correct_twin_;
};

}  // namespace

std::shared_ptr<const Design> make_outbox_polling() {
  return std::make_shared<OutboxPolling>(
      "outbox-polling", Flaw::none, "",
      "order and outbox row in one transaction; relays poll, publish, then mark sent (inbox consumer)");
}

std::shared_ptr<const Design> make_outbox_polling_leased() {
  return std::make_shared<OutboxPolling>(
      "outbox-polling-leased", Flaw::none, "",
      "outbox polled by 2 relays on their own nodes, each slot of keys under a lease with a fencing token",
      Variant{.claiming = Claiming::leases});
}

std::shared_ptr<const Design> make_outbox_polling_2_relays() {
  return std::make_shared<OutboxPolling>(
      "outbox-polling-2-relays", Flaw::none, "",
      "outbox polled by 2 relays on the service node, each taking the keys that hash to it, rows claimed FOR UPDATE",
      Variant{.relays = 2});
}

std::vector<std::shared_ptr<const Design>> make_outbox_polling_bugs() {
  const Variant one_relay{.correct_twin = "outbox-polling"};
  const std::shared_ptr<const Design> outbox = make_outbox_polling();
  Settings asynchronous_commit = outbox->default_settings();
  // Seeded bug: the database acknowledges a commit before its log record is synced
  // (PostgreSQL synchronous_commit=off); a crash drops the unsynced suffix.
  asynchronous_commit.db_commit = CommitMode::asynchronous;
  return {
      std::make_shared<OutboxPolling>("bug-relay-reads-uncommitted", Flaw::reads_uncommitted, "P",
                                      "outbox relay reading uncommitted rows (NServiceBus.SqlServer PR #1277)",
                                      one_relay),
      std::make_shared<OutboxPolling>("bug-unroutable-counted-sent", Flaw::unroutable_counted_sent, "L",
                                      "failed publish marked sent (eventuate-tram-core #194)", one_relay),
      std::make_shared<OutboxPolling>("bug-cleanup-by-context", Flaw::cleanup_by_context, "L",
                                      "cleanup by id range instead of delivered ids (MassTransit #4990)", one_relay),
      std::make_shared<OutboxPolling>("bug-concurrent-sends-per-key", Flaw::concurrent_sends_per_key, "O",
                                      "concurrent in-flight sends per key (MassTransit #3512, KAFKA-16300)", one_relay),
      std::make_shared<OutboxPolling>("bug-unlocked-claim", Flaw::unlocked_claim, "ND",
                                      "two relays claim rows without a lock (open-bank-oss PR #1460)",
                                      Variant{.relays = 2, .correct_twin = "outbox-polling-2-relays"}),
      std::make_shared<OutboxPolling>("bug-hook-before-outer-commit", Flaw::hook_before_outer_commit, "P",
                                      "after-commit hook fires before the outer commit (micronaut-core #10019)",
                                      one_relay),
      std::make_shared<OutboxPolling>("bug-resubmit-without-ownership", Flaw::resubmit_without_ownership, "ND",
                                      "a (re)started relay resubmits rows another live relay is publishing "
                                      "(spring-modulith #926)",
                                      Variant{.claiming = Claiming::leases, .correct_twin = "outbox-polling-leased"}),
      std::make_shared<OutboxPolling>("bug-publish-without-ack", Flaw::publish_without_ack, "ALO",
                                      "relay marks a row sent once its publish is sent, without waiting for the "
                                      "broker's ack: a lost produce is never retried (abpframework/abp #24340)",
                                      one_relay),
      with_settings(outbox, "bug-asynchronous-commit", asynchronous_commit, {}, "A",
                    "outbox-polling on a database with asynchronous commit: an acknowledged order is lost when "
                    "the database crashes before its log is synced (kubeblocks-addons #126)"),
  };
}

}  // namespace faultline::models
