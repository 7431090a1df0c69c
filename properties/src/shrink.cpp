// Greedy shrinking of a failing scenario (see shrink.h): faults first, in chunks, then each
// remaining fault earlier, then the workload, repeated until a whole pass changes nothing,
// since fewer commands can make a fault unnecessary, an earlier fault can make commands
// unnecessary, and so on.
#include "faultline/properties/shrink.h"

#include <algorithm>
#include <cassert>
#include <cstddef>

#include "faultline/properties/runner.h"

namespace faultline::properties {
namespace {

class Shrinker {
 public:
  Shrinker(const models::Design& design, const std::string& invariant, std::uint64_t runs_max)
      : design_(design), invariant_(invariant), runs_max_(runs_max) {}

  std::uint64_t runs() const { return runs_; }
  bool exhausted() const { return runs_ >= runs_max_; }

  // Runs the candidate; true when it still violates the invariant.
  bool still_fails(const models::Scenario& candidate) {
    assert(!exhausted());
    ++runs_;
    return run_once(candidate, design_).checks.violated(invariant_);
  }

  // Removes chunks of faults, the largest chunks first (half the plan, then a quarter, ...).
  // Returns true when a fault went.
  bool drop_faults(models::Scenario& current) {
    bool changed = false;
    for (std::size_t chunk = current.plan.faults.size(); chunk >= 1 && !exhausted(); chunk /= 2) {
      std::size_t start = 0;
      while (start < current.plan.faults.size() && !exhausted()) {
        models::Scenario candidate = current;
        auto& faults = candidate.plan.faults;
        const std::size_t end = std::min(faults.size(), start + chunk);
        faults.erase(faults.begin() + static_cast<std::ptrdiff_t>(start),
                     faults.begin() + static_cast<std::ptrdiff_t>(end));
        if (still_fails(candidate)) {
          current = std::move(candidate);
          changed = true;  // the same start now names the next chunk
        } else {
          start += chunk;
        }
      }
      chunk = std::min(chunk, current.plan.faults.size());
    }
    return changed;
  }

  // Moves each fault earlier: a timed fault toward time zero, a fault at a named point
  // toward its first hit. Returns true when a fault moved.
  bool move_faults_earlier(models::Scenario& current) {
    bool changed = false;
    for (std::size_t index = 0; index < current.plan.faults.size() && !exhausted(); ++index) {
      const sim::Fault& fault = current.plan.faults[index];
      if (fault.point.empty()) {
        changed = lower(current, fault.at.ticks, 0,
                        [index](models::Scenario& candidate, std::int64_t at_us) {
                          candidate.plan.faults[index].at = sim::Instant{at_us};
                        }) ||
                  changed;
      } else {
        changed = lower(current, fault.hit, 1,
                        [index](models::Scenario& candidate, std::int64_t hit) {
                          candidate.plan.faults[index].hit = static_cast<std::uint32_t>(hit);
                        }) ||
                  changed;
      }
    }
    return changed;
  }

  // Lowers the command count toward one. Returns true when it went down.
  bool drop_commands(models::Scenario& current) {
    return lower(current, current.workload.commands, 1, [](models::Scenario& candidate, std::int64_t commands) {
      candidate.workload.commands = static_cast<std::uint32_t>(commands);
    });
  }

 private:
  // Lowers one number of the scenario from `value` toward `floor` as RapidCheck shrinks an
  // integer: the largest cut first (straight to the floor), then halving the cut, and after
  // each cut that still fails, again from the largest cut of the new value. `set` writes
  // the number into a candidate. Returns true when the number went down.
  template <typename Set>
  bool lower(models::Scenario& current, std::int64_t value, std::int64_t floor, Set set) {
    bool changed = false;
    std::int64_t cut = value - floor;
    while (cut >= 1 && !exhausted()) {
      models::Scenario candidate = current;
      set(candidate, value - cut);
      if (still_fails(candidate)) {
        current = std::move(candidate);
        value -= cut;
        changed = true;
        cut = value - floor;
      } else {
        cut /= 2;
      }
    }
    return changed;
  }

  const models::Design& design_;
  const std::string& invariant_;
  std::uint64_t runs_max_ = 0;
  std::uint64_t runs_ = 0;
};

}  // namespace

ShrinkOutcome shrink_scenario(const models::Scenario& failing, const models::Design& design,
                              const std::string& invariant, std::uint64_t runs_max) {
  assert(runs_max >= 1);
  Shrinker shrinker(design, invariant, runs_max);
  models::Scenario current = failing;
  current.profile = "";  // no longer the plan the profile drew for this seed
  const bool fails = shrinker.still_fails(current);
  assert(fails && "shrink_scenario needs a scenario that violates the invariant");
  (void)fails;
  for (bool changed = true; changed && !shrinker.exhausted();) {
    changed = shrinker.drop_faults(current);
    changed = shrinker.move_faults_earlier(current) || changed;
    changed = shrinker.drop_commands(current) || changed;
  }
  return ShrinkOutcome{.scenario = std::move(current), .runs = shrinker.runs()};
}

}  // namespace faultline::properties
