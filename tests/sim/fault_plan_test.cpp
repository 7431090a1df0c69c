// Checks the random fault plan generator: a plan is a function of the generator's
// seed; a plan only names the nodes and points it was given, at times inside the
// horizon and hits inside the bound; each kind's count stays within its profile's
// maximum (and over many seeds, every kind a profile allows does appear); the
// "none" profile gives empty plans. Also checks the fault kind names round-trip,
// since plans are stored and replayed as text.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "faultline/sim/faults.h"
#include "kernel_test_support.h"

namespace faultline::sim {
namespace {

using test_support::at_millis;

PlanTargets example_targets() {
  return PlanTargets{.nodes = {"service", "db", "broker"},
                     .points = {"service.after_commit", "relay.after_publish"},
                     .horizon = at_millis(2000),
                     .point_hits_max = 4};
}

FaultPlan plan_for(std::uint64_t seed, const FaultProfile& profile, const PlanTargets& targets) {
  Rng rng(seed);
  return generate_plan(rng, profile, targets);
}

std::string text_of(const FaultPlan& plan) {
  std::string text;
  for (const Fault& fault : plan.faults) text += describe(fault) + "; ";
  return text;
}

const FaultProfile& profile_named(std::string_view name) {
  const FaultProfile* profile = find_fault_profile(name);
  EXPECT_NE(profile, nullptr) << "no built-in fault profile named " << name;
  return profile != nullptr ? *profile : fault_profiles().front();
}

TEST(FaultPlanGenerator, TheSameSeedGivesTheSamePlan) {
  const PlanTargets targets = example_targets();
  std::set<std::string> distinct;
  for (const FaultProfile& profile : fault_profiles()) {
    for (std::uint64_t seed = 1; seed <= 100; ++seed) {
      const FaultPlan first = plan_for(seed, profile, targets);
      const FaultPlan second = plan_for(seed, profile, targets);
      ASSERT_EQ(first, second) << "profile " << profile.name << ", seed " << seed;
      distinct.insert(profile.name + ": " + text_of(first));
    }
  }
  // And the seed matters: 100 seeds of the default profile are not one plan.
  EXPECT_GT(std::count_if(distinct.begin(), distinct.end(),
                          [](const std::string& text) { return text.starts_with("default: "); }),
            80);
}

TEST(FaultPlanGenerator, PlansNameOnlyTheGivenNodesAndPointsWithinTheirBounds) {
  const PlanTargets targets = example_targets();
  const std::set<std::string> nodes(targets.nodes.begin(), targets.nodes.end());
  const std::set<std::string> points(targets.points.begin(), targets.points.end());
  for (const FaultProfile& profile : fault_profiles()) {
    std::set<FaultKind> kinds_seen;
    for (std::uint64_t seed = 1; seed <= 500; ++seed) {
      const FaultPlan plan = plan_for(seed, profile, targets);
      std::map<FaultKind, std::uint32_t> per_kind;
      for (const Fault& fault : plan.faults) {
        SCOPED_TRACE("profile " + profile.name + ", seed " + std::to_string(seed) + ": " + describe(fault));
        kinds_seen.insert(fault.kind);
        ++per_kind[fault.kind];
        if (!fault.node.empty()) {
          EXPECT_TRUE(nodes.contains(fault.node));
        }
        if (!fault.peer.empty()) {
          EXPECT_TRUE(nodes.contains(fault.peer));
        }
        for (const std::string& member : fault.group) EXPECT_TRUE(nodes.contains(member));
        if (fault.point.empty()) {
          EXPECT_GE(fault.at.ticks, 0);
          EXPECT_LT(fault.at, targets.horizon);
          if (fault.kind != FaultKind::partition && fault.kind != FaultKind::heal) {
            EXPECT_FALSE(fault.node.empty());
          }
        } else {
          EXPECT_TRUE(points.contains(fault.point));
          EXPECT_GE(fault.hit, 1U);
          EXPECT_LE(fault.hit, targets.point_hits_max);
        }
        if (fault.kind == FaultKind::one_way) {
          EXPECT_NE(fault.node, fault.peer);
        }
        if (fault.kind == FaultKind::partition) {
          EXPECT_FALSE(fault.group.empty());
        }
        if (fault.kind == FaultKind::pause) {
          EXPECT_LE(fault.duration, profile.pause_max);
        }
        if (fault.kind == FaultKind::crash) {
          EXPECT_LE(fault.duration, profile.downtime_max);
        }
        if (fault.kind == FaultKind::clock_skew) {
          EXPECT_NE(fault.skew.ticks, 0);
          EXPECT_LE(fault.skew, profile.skew_max);
          EXPECT_GE(fault.skew, Duration{} - profile.skew_max);
        }
      }
      EXPECT_LE(per_kind[FaultKind::crash], profile.crashes_max + profile.point_crashes_max);
      EXPECT_LE(per_kind[FaultKind::pause], profile.pauses_max);
      EXPECT_LE(per_kind[FaultKind::isolate] + per_kind[FaultKind::one_way] + per_kind[FaultKind::partition],
                profile.partitions_max);
      EXPECT_LE(per_kind[FaultKind::lose_responses], profile.lost_responses_max);
      EXPECT_LE(per_kind[FaultKind::crash_with_disk_loss], profile.disk_lies_max);
      EXPECT_LE(per_kind[FaultKind::clock_skew], profile.clock_skews_max);
    }
    // Over 500 seeds every kind the profile allows shows up at least once.
    EXPECT_EQ(kinds_seen.contains(FaultKind::crash), profile.crashes_max + profile.point_crashes_max > 0)
        << profile.name;
    EXPECT_EQ(kinds_seen.contains(FaultKind::pause), profile.pauses_max > 0) << profile.name;
    EXPECT_EQ(kinds_seen.contains(FaultKind::isolate), profile.partitions_max > 0) << profile.name;
    EXPECT_EQ(kinds_seen.contains(FaultKind::lose_responses), profile.lost_responses_max > 0) << profile.name;
    EXPECT_EQ(kinds_seen.contains(FaultKind::crash_with_disk_loss), profile.disk_lies_max > 0) << profile.name;
    EXPECT_EQ(kinds_seen.contains(FaultKind::clock_skew), profile.clock_skews_max > 0) << profile.name;
  }
}

TEST(FaultPlanGenerator, PointFaultsNeedPointsAndTimedFaultsNeedNodes) {
  PlanTargets no_points = example_targets();
  no_points.points.clear();
  for (std::uint64_t seed = 1; seed <= 200; ++seed)
    for (const Fault& fault : plan_for(seed, profile_named("crashes"), no_points).faults)
      EXPECT_TRUE(fault.point.empty()) << describe(fault);

  PlanTargets no_nodes = example_targets();
  no_nodes.nodes.clear();
  for (std::uint64_t seed = 1; seed <= 200; ++seed)
    EXPECT_TRUE(plan_for(seed, profile_named("default"), no_nodes).faults.empty());
}

TEST(FaultPlanGenerator, TheNoneProfileGivesAnEmptyPlan) {
  const FaultProfile& none = profile_named("none");
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    const FaultPlan plan = plan_for(seed, none, example_targets());
    ASSERT_TRUE(plan.faults.empty()) << "seed " << seed << ": " << text_of(plan);
  }
}

TEST(FaultPlanGenerator, FaultKindNamesRoundTrip) {
  for (const FaultKind kind :
       {FaultKind::crash, FaultKind::pause, FaultKind::partition, FaultKind::isolate, FaultKind::one_way,
        FaultKind::heal, FaultKind::lose_responses, FaultKind::crash_with_disk_loss, FaultKind::clock_skew}) {
    const std::string_view name = to_string(kind);
    EXPECT_NE(name, "?");
    EXPECT_EQ(fault_kind_from_string(name), kind) << name;
  }
  EXPECT_FALSE(fault_kind_from_string("meteor").has_value());
}

TEST(FaultPlanGenerator, TheDefaultAndClocksProfilesSkewClocksBothWays) {
  // Leases and gap timeouts read local clocks: the default profile must reach a clock
  // that runs ahead and one that runs behind, within its bounded magnitude.
  for (const std::string_view name : {"default", "clocks"}) {
    const FaultProfile& profile = profile_named(name);
    bool ahead = false;
    bool behind = false;
    for (std::uint64_t seed = 1; seed <= 500; ++seed)
      for (const Fault& fault : plan_for(seed, profile, example_targets()).faults) {
        if (fault.kind != FaultKind::clock_skew) continue;
        ahead = ahead || fault.skew.ticks > 0;
        behind = behind || fault.skew.ticks < 0;
      }
    EXPECT_TRUE(ahead) << name;
    EXPECT_TRUE(behind) << name;
  }
}

}  // namespace
}  // namespace faultline::sim
