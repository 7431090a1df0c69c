// Seeded consumer bugs: the correct outbox (outbox-polling, inbox consumer) with a
// consumer that differs in one setting, each the way a real consumer went wrong.
#include <functional>

#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

class WithConsumer final : public Design {
 public:
  WithConsumer(std::shared_ptr<const Design> base, std::string name, std::function<void(Settings&)> flaw,
               std::string breaks, std::string summary)
      : base_(std::move(base)),
        name_(std::move(name)),
        flaw_(std::move(flaw)),
        breaks_(std::move(breaks)),
        summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return breaks_; }
  std::string correct_twin() const override { return base_->name(); }
  Settings default_settings() const override {
    Settings settings = base_->default_settings();
    flaw_(settings);  // Seeded bug: one consumer setting
    return settings;
  }
  std::vector<std::string> points() const override { return base_->points(); }
  sim::Task<PlaceOrderReply> place_order(ServiceEnv& env, PlaceOrder command) const override {
    return base_->place_order(env, std::move(command));
  }
  void start(ServiceEnv& env) const override { base_->start(env); }

 private:
  std::shared_ptr<const Design> base_;
  std::string name_;
  std::function<void(Settings&)> flaw_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::vector<std::shared_ptr<const Design>> make_consumer_bugs() {
  const auto outbox = make_outbox_polling();
  return {
      std::make_shared<WithConsumer>(
          outbox, "bug-consumer-commit-before-processing",
          [](Settings& settings) { settings.consumer = ConsumerMode::commit_before_processing; }, "L",
          "consumer auto-commits its offset before processing"),
      std::make_shared<WithConsumer>(
          outbox, "bug-consumer-without-inbox",
          [](Settings& settings) { settings.consumer = ConsumerMode::commit_after_processing; }, "EO",
          "consumer commits after processing but keeps no inbox: effects applied twice"),
      std::make_shared<WithConsumer>(
          outbox, "bug-offset-reset-latest", [](Settings& settings) { settings.offset_reset = OffsetReset::latest; },
          "L", "a consumer group without a committed offset starts at the latest record"),
      std::make_shared<WithConsumer>(
          outbox, "bug-dedup-retention-short", [](Settings& settings) { settings.inbox = InboxKeeping::expiring; },
          "EO", "inbox dedup ids expire before the redelivery window ends"),
      std::make_shared<WithConsumer>(
          outbox, "bug-projection-checkpoint-separate",
          [](Settings& settings) { settings.inbox = InboxKeeping::separate_transaction; }, "EO",
          "projection and its checkpoint (the dedup id) committed in separate transactions"),
  };
}

}  // namespace faultline::models
