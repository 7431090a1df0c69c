// Fault kinds by name, the built-in fault profiles, and the random plan generator.
#include "faultline/sim/faults.h"

#include <algorithm>
#include <array>
#include <utility>

namespace faultline::sim {
namespace {

constexpr std::array<std::pair<FaultKind, std::string_view>, 9> kind_names{{
    {FaultKind::crash, "crash"},
    {FaultKind::pause, "pause"},
    {FaultKind::partition, "partition"},
    {FaultKind::isolate, "isolate"},
    {FaultKind::one_way, "one-way"},
    {FaultKind::heal, "heal"},
    {FaultKind::lose_responses, "lose-responses"},
    {FaultKind::crash_with_disk_loss, "crash-with-disk-loss"},
    {FaultKind::clock_skew, "clock-skew"},
}};

std::string milliseconds(Duration length) {
  // A clock skew can be negative: the sign goes in front of the magnitude.
  const std::string sign = length.ticks < 0 ? "-" : "";
  const std::int64_t magnitude = length.ticks < 0 ? -length.ticks : length.ticks;
  const std::int64_t whole = magnitude / 1000;
  const std::int64_t tenths = (magnitude % 1000) / 100;
  return sign + std::to_string(whole) + (tenths != 0 ? "." + std::to_string(tenths) : "") + " ms";
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  for (const auto& [known, name] : kind_names)
    if (known == kind) return name;
  return "?";
}

std::optional<FaultKind> fault_kind_from_string(std::string_view text) {
  for (const auto& [kind, name] : kind_names)
    if (name == text) return kind;
  return std::nullopt;
}

const std::vector<FaultProfile>& fault_profiles() {
  static const std::vector<FaultProfile> profiles = [] {
    std::vector<FaultProfile> list;
    list.push_back(FaultProfile{.name = "default",
                                .description = "crashes (timed and at named points), pauses, partitions, lost replies, "
                                               "a clock skew of at most 20 ms",
                                .crashes_max = 3,
                                .point_crashes_max = 2,
                                .pauses_max = 2,
                                .partitions_max = 2,
                                .lost_responses_max = 3,
                                .clock_skews_max = 1});
    list.push_back(FaultProfile{.name = "crashes",
                                .description = "process crashes only, timed and at named points",
                                .crashes_max = 4,
                                .point_crashes_max = 3});
    list.push_back(FaultProfile{.name = "network",
                                .description = "partitions, lost replies and pauses; no crashes",
                                .pauses_max = 2,
                                .partitions_max = 4,
                                .lost_responses_max = 5});
    list.push_back(FaultProfile{.name = "durability",
                                .description = "the default profile plus disks that lose synced writes on a crash",
                                .crashes_max = 3,
                                .point_crashes_max = 2,
                                .pauses_max = 2,
                                .partitions_max = 2,
                                .lost_responses_max = 3,
                                .disk_lies_max = 2,
                                .clock_skews_max = 1});
    list.push_back(FaultProfile{.name = "clocks",
                                .description = "clock skews of up to 200 ms, with pauses and lost replies; no crashes",
                                .pauses_max = 2,
                                .lost_responses_max = 3,
                                .clock_skews_max = 3,
                                .skew_max = Duration::millis(200)});
    list.push_back(FaultProfile{.name = "none", .description = "no faults at all"});
    return list;
  }();
  return profiles;
}

const FaultProfile* find_fault_profile(std::string_view name) {
  for (const auto& profile : fault_profiles())
    if (profile.name == name) return &profile;
  return nullptr;
}

FaultPlan generate_plan(Rng& rng, const FaultProfile& profile, const PlanTargets& targets) {
  FaultPlan plan;
  if (targets.nodes.empty() || targets.horizon.ticks <= 0) return plan;
  // Swarm testing: the seed first draws how many faults of each kind this run gets.
  const auto draw_count = [&](std::uint32_t max) {
    return max == 0 ? 0U : static_cast<std::uint32_t>(rng.below(max + 1));
  };
  const std::uint32_t crashes = draw_count(profile.crashes_max);
  const std::uint32_t point_crashes = targets.points.empty() ? 0 : draw_count(profile.point_crashes_max);
  const std::uint32_t pauses = draw_count(profile.pauses_max);
  const std::uint32_t partitions = draw_count(profile.partitions_max);
  const std::uint32_t lost = draw_count(profile.lost_responses_max);
  const std::uint32_t disk_lies = draw_count(profile.disk_lies_max);

  const auto any_node = [&] { return targets.nodes[rng.below(targets.nodes.size())]; };
  const auto any_time = [&] { return Instant{rng.between(0, targets.horizon.ticks - 1)}; };
  const auto downtime = [&] {
    // One crash in four stays down until the liveness phase.
    if (rng.chance(1, 4)) return Duration{};
    return Duration{rng.between(Duration::millis(1).ticks, profile.downtime_max.ticks)};
  };

  for (std::uint32_t i = 0; i < crashes; ++i)
    plan.faults.push_back(
        Fault{.kind = FaultKind::crash, .at = any_time(), .node = any_node(), .duration = downtime()});
  for (std::uint32_t i = 0; i < point_crashes; ++i) {
    Fault fault{.kind = FaultKind::crash, .duration = downtime()};
    fault.point = targets.points[rng.below(targets.points.size())];
    fault.hit = static_cast<std::uint32_t>(rng.between(1, std::max<std::uint32_t>(1, targets.point_hits_max)));
    plan.faults.push_back(std::move(fault));
  }
  for (std::uint32_t i = 0; i < pauses; ++i) {
    plan.faults.push_back(Fault{.kind = FaultKind::pause,
                                .at = any_time(),
                                .node = any_node(),
                                .duration = Duration{rng.between(Duration::millis(1).ticks, profile.pause_max.ticks)}});
  }
  for (std::uint32_t i = 0; i < partitions; ++i) {
    const Duration length{rng.between(Duration::millis(1).ticks, profile.partition_max.ticks)};
    switch (rng.below(3)) {
      case 0:
        plan.faults.push_back(
            Fault{.kind = FaultKind::isolate, .at = any_time(), .node = any_node(), .duration = length});
        break;
      case 1: {
        Fault fault{.kind = FaultKind::one_way, .at = any_time(), .node = any_node(), .duration = length};
        fault.peer = any_node();
        if (fault.peer == fault.node) fault.kind = FaultKind::isolate;
        plan.faults.push_back(std::move(fault));
        break;
      }
      default: {
        Fault fault{.kind = FaultKind::partition, .at = any_time(), .duration = length};
        for (const auto& node : targets.nodes)
          if (rng.chance(1, 2)) fault.group.push_back(node);
        if (fault.group.empty()) fault.group.push_back(any_node());
        plan.faults.push_back(std::move(fault));
      }
    }
  }
  for (std::uint32_t i = 0; i < lost; ++i) {
    plan.faults.push_back(Fault{.kind = FaultKind::lose_responses,
                                .at = any_time(),
                                .node = any_node(),
                                .count = static_cast<std::uint32_t>(rng.between(1, 3))});
  }
  for (std::uint32_t i = 0; i < disk_lies; ++i) {
    plan.faults.push_back(Fault{.kind = FaultKind::crash_with_disk_loss,
                                .at = any_time(),
                                .node = any_node(),
                                .duration = downtime(),
                                .count = static_cast<std::uint32_t>(rng.between(1, 3))});
  }
  // Drawn last, and only by profiles that have them, so adding the kind left the
  // other kinds' draws of every other profile as they were.
  const std::uint32_t skews = draw_count(profile.clock_skews_max);
  for (std::uint32_t i = 0; i < skews; ++i) {
    Fault fault{.kind = FaultKind::clock_skew, .at = any_time(), .node = any_node()};
    const std::int64_t magnitude =
        rng.between(Duration::millis(1).ticks, std::max(Duration::millis(1).ticks, profile.skew_max.ticks));
    fault.skew = Duration{rng.chance(1, 2) ? magnitude : -magnitude};
    plan.faults.push_back(std::move(fault));
  }
  return plan;
}

std::string describe(const Fault& fault) {
  std::string text(to_string(fault.kind));
  if (!fault.node.empty()) text += " " + fault.node;
  if (!fault.point.empty()) {
    if (fault.node.empty()) text += " the node";
    text += " at " + fault.point + " (hit " + std::to_string(fault.hit) + ")";
  }
  switch (fault.kind) {
    case FaultKind::crash:
    case FaultKind::crash_with_disk_loss:
      if (fault.kind == FaultKind::crash_with_disk_loss)
        text += ", losing its last " + std::to_string(fault.count) + " synced writes";
      text += fault.duration.ticks > 0 ? ", restart after " + milliseconds(fault.duration) : ", down until liveness";
      break;
    case FaultKind::pause:
      text += " for " + milliseconds(fault.duration);
      break;
    case FaultKind::partition: {
      text += " {";
      for (std::size_t i = 0; i < fault.group.size(); ++i) text += (i ? "," : "") + fault.group[i];
      text += "} from the rest for " + milliseconds(fault.duration);
      break;
    }
    case FaultKind::isolate:
      text += " for " + milliseconds(fault.duration);
      break;
    case FaultKind::one_way:
      text += " -> " + fault.peer + " for " + milliseconds(fault.duration);
      break;
    case FaultKind::heal:
      break;
    case FaultKind::lose_responses:
      text += ": next " + std::to_string(fault.count) + " replies lost";
      break;
    case FaultKind::clock_skew:
      text += ": local clock " + std::string(fault.skew.ticks < 0 ? "behind" : "ahead") + " by " +
              milliseconds(Duration{fault.skew.ticks < 0 ? -fault.skew.ticks : fault.skew.ticks});
      break;
  }
  return text;
}

}  // namespace faultline::sim
