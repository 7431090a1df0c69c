// Seeded consumer bugs: the correct outbox (outbox-polling, inbox consumer) with a
// consumer that differs in one setting, each the way a real consumer went wrong.
#include "faultline/models/outbox.h"

namespace faultline::models {
namespace {

class WithConsumer final : public Design {
 public:
  WithConsumer(std::shared_ptr<const Design> base, std::string name, ConsumerMode mode, std::string breaks,
               std::string summary)
      : base_(std::move(base)),
        name_(std::move(name)),
        mode_(mode),
        breaks_(std::move(breaks)),
        summary_(std::move(summary)) {}

  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  std::vector<std::string> claims() const override { return {}; }
  std::string expected_violation() const override { return breaks_; }
  Settings default_settings() const override {
    Settings settings = base_->default_settings();
    settings.consumer = mode_;  // Seeded bug: the consumer mode
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
  ConsumerMode mode_;
  std::string breaks_;
  std::string summary_;
};

}  // namespace

std::vector<std::shared_ptr<const Design>> make_consumer_bugs() {
  return {
      std::make_shared<WithConsumer>(make_outbox_polling(), "bug-consumer-commit-before-processing",
                                     ConsumerMode::commit_before_processing, "L",
                                     "consumer auto-commits its offset before processing"),
      std::make_shared<WithConsumer>(make_outbox_polling(), "bug-consumer-without-inbox",
                                     ConsumerMode::commit_after_processing, "EO",
                                     "consumer commits after processing but keeps no inbox: effects applied twice"),
  };
}

}  // namespace faultline::models
