// RapidCheck generators for scenarios: a workload size, a seed, and a fault plan
// aimed at the design's nodes and named points. They shrink the way a reader wants a
// counterexample: fewer faults (the plan is a container), fewer commands, faults
// earlier (times shrink toward zero), first hits of a point rather than later ones.
//
// Header-only: only the test suites (and users' suites) link RapidCheck.
#pragma once

#include <rapidcheck.h>

#include <string>
#include <vector>

#include "faultline/models/design.h"
#include "faultline/models/world.h"

namespace faultline::properties::gen {

struct ScenarioBounds {
  std::uint32_t commands_max = 20;
  std::size_t faults_max = 6;
};

inline rc::Gen<sim::Fault> fault(std::vector<std::string> nodes, std::vector<std::string> points,
                                 std::int64_t horizon_us, std::uint32_t commands) {
  using rc::gen::inRange;
  const auto node = rc::gen::elementOf(nodes);
  const auto time =
      rc::gen::map(inRange<std::int64_t>(0, horizon_us), [](std::int64_t at) { return sim::Instant{at}; });
  const auto length =
      rc::gen::map(inRange<std::int64_t>(1'000, 300'000), [](std::int64_t us) { return sim::Duration{us}; });
  const auto downtime =
      rc::gen::map(inRange<std::int64_t>(0, 200'000), [](std::int64_t us) { return sim::Duration{us}; });

  std::vector<rc::Gen<sim::Fault>> choices;
  choices.push_back(rc::gen::apply(
      [](std::string point, std::uint32_t hit, sim::Duration down) {
        return sim::Fault{.kind = sim::FaultKind::crash, .point = std::move(point), .hit = hit, .duration = down};
      },
      rc::gen::elementOf(points), inRange<std::uint32_t>(1, commands + 1), downtime));
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string target, sim::Duration down) {
        return sim::Fault{.kind = sim::FaultKind::crash, .at = at, .node = std::move(target), .duration = down};
      },
      time, node, downtime));
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string target, sim::Duration span) {
        return sim::Fault{.kind = sim::FaultKind::pause, .at = at, .node = std::move(target), .duration = span};
      },
      time, node, length));
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string target, sim::Duration span) {
        return sim::Fault{.kind = sim::FaultKind::isolate, .at = at, .node = std::move(target), .duration = span};
      },
      time, node, length));
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string from, std::string to, sim::Duration span) {
        sim::Fault fault{.kind = sim::FaultKind::one_way, .at = at, .node = std::move(from), .duration = span};
        fault.peer = std::move(to);
        return fault;
      },
      time, node, node, length));
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string target, std::uint32_t count) {
        return sim::Fault{.kind = sim::FaultKind::lose_responses, .at = at, .node = std::move(target), .count = count};
      },
      time, node, inRange<std::uint32_t>(1, 4)));
  // A node's clock steps ahead or behind by up to 200 ms; it shrinks toward no skew.
  choices.push_back(rc::gen::apply(
      [](sim::Instant at, std::string target, std::int64_t skew_us) {
        sim::Fault fault{.kind = sim::FaultKind::clock_skew, .at = at, .node = std::move(target)};
        fault.skew = sim::Duration{skew_us};
        return fault;
      },
      time, node, inRange<std::int64_t>(-200'000, 200'001)));
  return rc::gen::join(rc::gen::elementOf(choices));
}

// Scenarios for `design`, with a plan of at most `bounds.faults_max` faults. The
// workload size and the plan are drawn independently, so each shrinks on its own:
// a fault aimed past the last command simply never strikes.
inline rc::Gen<models::Scenario> scenario(const models::Design& design, ScenarioBounds bounds = {}) {
  std::vector<std::string> points = design.points();
  for (auto& point : models::model_points()) points.push_back(point);
  const std::string name = design.name();
  const models::Settings settings = design.default_settings();
  const models::Workload widest{.commands = bounds.commands_max};
  const std::int64_t horizon_us = widest.spacing_max.ticks * bounds.commands_max + 1;
  return rc::gen::apply(
      [name, settings](std::uint32_t commands, std::uint64_t seed, std::vector<sim::Fault> faults) {
        models::Scenario scenario{
            .design = name, .seed = seed, .profile = "", .workload = {.commands = commands}, .settings = settings};
        scenario.plan.faults = std::move(faults);
        return scenario;
      },
      rc::gen::inRange<std::uint32_t>(1, bounds.commands_max + 1), rc::gen::inRange<std::uint64_t>(1, 1'000'000),
      // The size bounds how many faults the plan holds; each fault is then drawn at
      // full size, so its times and durations span their whole ranges.
      rc::gen::resize(static_cast<int>(bounds.faults_max),
                      rc::gen::container<std::vector<sim::Fault>>(rc::gen::resize(
                          100, fault(models::fault_targets(settings), points, horizon_us, bounds.commands_max)))));
}

}  // namespace faultline::properties::gen
