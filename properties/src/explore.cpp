// Systematic search: the baseline's coverage, every crash site, ordered pairs of sites.
#include "faultline/properties/explore.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>
#include <set>

#include "faultline/models/world.h"
#include "faultline/properties/runner.h"
#include "faultline/sim/faults.h"
#include "faultline/sim/trace.h"

namespace faultline::properties {
namespace {

// One hit of a named point in a run's safety phase, as the trace tells it.
struct PointHit {
  std::string point;
  std::uint32_t hit = 0;  // counted over every node, like a planned point fault counts
  std::string node;
  bool after_first_fault = false;  // reached after the run's first fault struck
};

// The hits a planned fault can strike at: every "point" record before the liveness
// phase begins (faults are disarmed from then on).
std::vector<PointHit> safety_phase_hits(const std::vector<sim::TraceRecord>& trace) {
  std::vector<PointHit> hits;
  std::map<std::string, std::uint32_t> counts;
  bool fault_struck = false;
  for (const auto& record : trace) {
    if (record.kind == "liveness") break;
    if (record.kind == "fault") fault_struck = true;
    if (record.kind != "point") continue;
    const std::uint32_t hit = ++counts[record.detail];
    hits.push_back(
        PointHit{.point = record.detail, .hit = hit, .node = record.node, .after_first_fault = fault_struck});
  }
  return hits;
}

sim::Fault crash_at(const std::string& point, std::uint32_t hit, sim::Duration downtime) {
  // An empty node: the node that reaches the point is the one that crashes.
  return sim::Fault{.kind = sim::FaultKind::crash, .point = point, .hit = hit, .duration = downtime};
}

// What a run found, if it counts as a failure: a claimed invariant broken, or else the
// violation a positive control must be caught with.
struct Finding {
  const Violation* violation = nullptr;
  bool breaks_claim = false;
};

std::optional<Finding> finding_of(const RunVerdict& verdict, const models::Design& design) {
  if (const Violation* broken = verdict.failed_claim(design)) return Finding{broken, true};
  const std::string expected = design.expected_violation();
  if (!expected.empty())
    if (const Violation* shown = verdict.checks.first(expected)) return Finding{shown, false};
  return std::nullopt;
}

class Explorer {
 public:
  Explorer(const models::Design& design, const ExploreOptions& options) : design_(design), options_(options) {
    result_.design = design.name();
    result_.seed = options.seed;
    result_.commands = options.workload.commands;
    result_.depth = options.depth;
    result_.restart_downtime = options.restart_downtime;
    result_.claimed = design.claims();
    result_.expected_violation = design.expected_violation();
  }

  ExploreResult run() {
    const models::Observation baseline = try_scenario(scenario_with({}), sim::TraceCapture::full, 0);
    result_.baseline_failed = last_run_failed_;
    const std::vector<PointHit> baseline_hits = safety_phase_hits(baseline.trace);
    record_coverage(baseline_hits);

    // Depth 1: every site, in the order the baseline reaches them, in each crash mode.
    struct FirstCrash {
      sim::Fault fault;
      std::vector<PointHit> later_hits;  // sites reached after it, for depth 2
    };
    std::vector<FirstCrash> first_crashes;
    const bool pairs = options_.depth == ExploreDepth::crash_pairs;
    for (const PointHit& site : baseline_hits) {
      if (site.hit > options_.hits_per_point_max) continue;
      ++result_.crash_sites_tried;
      ExploredPoint& explored = point_entry(site.point);
      ++explored.sites_tried;
      for (const sim::Duration downtime : {options_.restart_downtime, sim::Duration{}}) {
        const bool restarts = downtime.ticks > 0;
        const sim::Fault fault = crash_at(site.point, site.hit, downtime);
        const auto capture = pairs && restarts ? sim::TraceCapture::full : sim::TraceCapture::hash_only;
        const models::Observation observation = try_scenario(scenario_with({fault}), capture, 1);
        if (last_run_failed_) ++explored.failing_runs;
        if (!(pairs && restarts)) continue;
        FirstCrash first{.fault = fault, .later_hits = {}};
        for (PointHit& hit : safety_phase_hits(observation.trace)) {
          if (result_.points.end() == find_point(hit.point)) recovery_points_.insert(hit.point);
          if (hit.after_first_fault) first.later_hits.push_back(std::move(hit));
        }
        first_crashes.push_back(std::move(first));
      }
    }
    result_.points_after_crashes = recovery_points_.size();
    if (!pairs) return std::move(result_);

    // Depth 2: every ordered pair (first crash, a site reached after it), or an evenly
    // spaced selection of them when there are more than the budget.
    struct Pair {
      const sim::Fault* first;
      const PointHit* second;
    };
    std::vector<Pair> all_pairs;
    for (const FirstCrash& first : first_crashes)
      for (const PointHit& second : first.later_hits) all_pairs.push_back(Pair{&first.fault, &second});
    result_.pairs_total = all_pairs.size();
    const std::size_t chosen = std::min(all_pairs.size(), options_.pairs_max);
    for (std::size_t index = 0; index < chosen; ++index) {
      const Pair& pair = all_pairs[index * all_pairs.size() / chosen];
      const sim::Fault second = crash_at(pair.second->point, pair.second->hit, options_.restart_downtime);
      try_scenario(scenario_with({*pair.first, second}), sim::TraceCapture::hash_only, 2);
      ++result_.pairs_tried;
    }
    return std::move(result_);
  }

 private:
  models::Scenario scenario_with(std::vector<sim::Fault> faults) const {
    models::Scenario scenario{.design = design_.name(),
                              .seed = options_.seed,
                              .profile = "",
                              .workload = options_.workload,
                              .settings = design_.default_settings()};
    scenario.plan.faults = std::move(faults);
    return scenario;
  }

  std::vector<ExploredPoint>::iterator find_point(const std::string& point) {
    return std::find_if(result_.points.begin(), result_.points.end(),
                        [&](const ExploredPoint& entry) { return entry.point == point; });
  }

  ExploredPoint& point_entry(const std::string& point) {
    const auto found = find_point(point);
    assert(found != result_.points.end() && "every site comes from the baseline's coverage");
    return *found;
  }

  void record_coverage(const std::vector<PointHit>& hits) {
    std::map<std::string, ExploredPoint> by_name;
    for (const PointHit& hit : hits) {
      ExploredPoint& entry = by_name[hit.point];
      entry.point = hit.point;
      ++entry.hits;
      if (std::find(entry.nodes.begin(), entry.nodes.end(), hit.node) == entry.nodes.end())
        entry.nodes.push_back(hit.node);
    }
    for (auto& [name, entry] : by_name) result_.points.push_back(std::move(entry));
    result_.crash_sites_total = hits.size();
    std::set<std::string> declared;
    for (const auto& point : design_.points()) declared.insert(point);
    for (const auto& point : models::model_points()) declared.insert(point);
    for (const auto& point : declared)
      if (by_name.count(point) == 0) result_.points_not_reached.push_back(point);
  }

  // Runs one scenario with `faults_planned` point crashes, judges it and keeps it when it fails.
  models::Observation try_scenario(const models::Scenario& scenario, sim::TraceCapture capture,
                                   std::size_t faults_planned) {
    models::Observation observation = models::run_scenario(scenario, design_, capture);
    ++result_.runs;
    result_.events += observation.events;
    // A planned crash at a site the same prefix reached must strike; if it does not,
    // the design is not deterministic and the search's findings cannot be trusted.
    if (observation.faults.size() != faults_planned) ++result_.faults_not_struck;

    const RunVerdict verdict = judge(observation);
    const std::optional<Finding> finding = finding_of(verdict, design_);
    last_run_failed_ = finding.has_value();
    if (!finding) return observation;
    ++result_.failing_runs;
    if (finding->breaks_claim) ++result_.claim_breaking_runs;
    if (!finding->breaks_claim) ++result_.expected_violation_runs;
    if (result_.failures.size() >= options_.failures_kept_max) return observation;

    const std::vector<sim::TraceRecord>* trace = &observation.trace;
    models::Observation traced;
    if (capture != sim::TraceCapture::full) {
      traced = models::run_scenario(scenario, design_, sim::TraceCapture::full, models::AfterBound::stop);
      trace = &traced.trace;
    }
    result_.failures.push_back(ExploreFailure{.scenario = scenario,
                                              .invariant = finding->violation->invariant,
                                              .explanation = finding->violation->explanation,
                                              .story = story_from_trace(*trace, verdict.checks),
                                              .trace_hash = sim::hash_hex(observation.trace_hash),
                                              .breaks_claim = finding->breaks_claim});
    return observation;
  }

  const models::Design& design_;
  const ExploreOptions& options_;
  ExploreResult result_;
  std::set<std::string> recovery_points_;
  bool last_run_failed_ = false;
};

}  // namespace

bool ExploreResult::expectations_held() const {
  if (claim_breaking_runs > 0) return false;
  return expected_violation.empty() || expected_violation_runs > 0;
}

ExploreResult explore(const models::Design& design, const ExploreOptions& options) {
  assert(options.workload.commands > 0);
  assert(options.restart_downtime.ticks > 0 && "a zero downtime means down until liveness, the other crash mode");
  return Explorer(design, options).run();
}

std::string describe_plan(const models::Scenario& scenario) {
  if (scenario.plan.faults.empty()) return "no faults";
  std::string text;
  for (const auto& fault : scenario.plan.faults) text += (text.empty() ? "" : "; then ") + sim::describe(fault);
  return text;
}

}  // namespace faultline::properties
