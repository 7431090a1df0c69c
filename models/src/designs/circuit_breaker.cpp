// outbox-polling behind a circuit breaker. A service that sees its database fail
// repeatedly stops sending it work for a while (the breaker opens), then lets one
// command through as a probe (half-open): success closes the breaker, failure opens it
// again for another wait. Refused commands fail at once, with nothing written, and the
// client may try again. The relay and the consumer are outbox-polling's.
//
// The seeded bug (opossum #119, "Flaws in handling of HALF_OPEN state": when the single
// half-open probe fails, nothing re-opens the circuit or restarts its timer, so "all
// requests remain perpetually rejected") keeps every claim but W: after the faults
// heal, the service refuses every write until something restarts it.
#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

enum class Flaw {
  none,
  stuck_half_open,  // a failed probe leaves the breaker half-open with its probe spent (opossum #119)
};

struct BreakerSettings {
  std::uint32_t failures_to_open = 5;                  // consecutive failed or unknown writes
  sim::Duration open_for = sim::Duration::millis(50);  // before the next probe
};

struct Breaker {
  enum class State { closed, open, half_open };
  State state = State::closed;
  std::uint32_t consecutive_failures = 0;
  sim::Instant opened_at;
  bool probe_in_flight = false;
};

class CircuitBreakerOutbox final : public Design {
 public:
  CircuitBreakerOutbox(std::string name, Flaw flaw, std::string breaks, std::string summary)
      : base_(make_outbox_polling()),
        name_(std::move(name)),
        flaw_(flaw),
        breaks_(std::move(breaks)),
        summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override {
    return flaw_ == Flaw::none ? base_->claims() : std::vector<std::string>{};
  }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override {
    return flaw_ == Flaw::none ? std::string() : std::string("outbox-polling-circuit-breaker");
  }
  Settings default_settings() const override { return base_->default_settings(); }
  std::vector<std::string> points() const override { return base_->points(); }
  void start(ServiceEnv& env) const override { base_->start(env); }
  void start_relay(ServiceEnv& env, std::uint32_t relay_index) const override { base_->start_relay(env, relay_index); }

  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    const BreakerSettings settings;
    Breaker& breaker = env.state<Breaker>();
    if (breaker.state == Breaker::State::open && env.context.now() - breaker.opened_at >= settings.open_for) {
      breaker.state = Breaker::State::half_open;
      breaker.probe_in_flight = false;
    }
    const bool refuse = breaker.state == Breaker::State::open ||
                        (breaker.state == Breaker::State::half_open && breaker.probe_in_flight);
    if (refuse) {
      env.context.note("service.breaker-refused", "command " + std::to_string(command.command));
      co_return PlaceOrderReply{Outcome::failed};
    }
    const bool probe = breaker.state == Breaker::State::half_open;
    if (probe) breaker.probe_in_flight = true;

    // The breaker is the service's failure policy: each command is one attempt.
    const PlaceOrderReply reply =
        co_await write_order_with_outbox(env, std::move(command), OutboxDispatch::relay_only, WriteRetrying::fail_fast);

    if (reply.outcome == Outcome::ok) {
      breaker = Breaker{};
      co_return reply;
    }
    if (probe) {
      // Seeded bug: the failed probe neither reopens the breaker nor frees its probe.
      if (flaw_ == Flaw::stuck_half_open) co_return reply;
      open(env, breaker);
      co_return reply;
    }
    if (breaker.state == Breaker::State::closed && ++breaker.consecutive_failures >= settings.failures_to_open)
      open(env, breaker);
    co_return reply;
  }

 private:
  static void open(ServiceEnv& env, Breaker& breaker) {
    breaker.state = Breaker::State::open;
    breaker.opened_at = env.context.now();
    breaker.probe_in_flight = false;
    env.context.note("service.breaker-opened", "");
  }

  std::shared_ptr<const Design> base_;
  std::string name_;
  Flaw flaw_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::vector<std::shared_ptr<const Design>> make_circuit_breaker_designs() {
  return {std::make_shared<CircuitBreakerOutbox>(
              "outbox-polling-circuit-breaker", Flaw::none, "",
              "outbox-polling behind a circuit breaker: 5 failed writes open it for 50 ms, then one probe "
              "closes it or opens it again"),
          std::make_shared<CircuitBreakerOutbox>(
              "bug-breaker-stuck-half-open", Flaw::stuck_half_open, "W",
              "outbox-polling-circuit-breaker whose failed probe leaves the breaker half-open for good: every "
              "later write is refused (opossum #119)")};
}

}  // namespace faultline::models
