// Scenarios as JSON, both ways. Reading is strict: an unknown key, a wrong type, a
// negative time or an unknown fault kind is an error that names the problem, so a
// typo in a hand-written scenario never silently becomes a different run.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "faultline/models/design.h"
#include "faultline/models/scenario.h"

namespace faultline::properties {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string scenario_to_json(const models::Scenario& scenario);
// Throws ScenarioError with a one-line message. A scenario without "settings" gets
// its design's default settings when `designs` knows the design.
models::Scenario scenario_from_json(std::string_view text, const models::DesignRegistry* designs = nullptr);

}  // namespace faultline::properties
