// The design registry and the list of built-in designs.
#include "faultline/models/design.h"

#include <cassert>

namespace faultline::models {

std::string event_id_for(std::int64_t command) {
  return "e" + std::to_string(command);
}

void DesignRegistry::add(std::shared_ptr<const Design> design) {
  assert(design != nullptr);
  assert(find(design->name()) == nullptr && "design names are unique");
  designs_.push_back(std::move(design));
}

const Design* DesignRegistry::find(std::string_view name) const {
  for (const auto& design : designs_)
    if (design->name() == name) return design.get();
  return nullptr;
}

std::vector<std::string> DesignRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& design : designs_) names.push_back(design->name());
  return names;
}

DesignRegistry builtin_designs() {
  DesignRegistry registry;
  registry.add(make_dual_write_db_first());
  registry.add(make_dual_write_publish_first());
  registry.add(make_publish_in_transaction());
  registry.add(make_outbox_polling());
  registry.add(make_outbox_cdc());
  registry.add(make_outbox_cdc_failover());
  registry.add(make_event_sourcing());
  for (auto& bug : make_outbox_polling_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_outbox_cdc_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_event_sourcing_bugs()) registry.add(std::move(bug));
  for (auto& bug : make_consumer_bugs()) registry.add(std::move(bug));
  return registry;
}

}  // namespace faultline::models
