// Simulated time: integer ticks owned by the simulator. One tick is one simulated
// microsecond. Instants and durations are distinct types so that adding two instants,
// or passing a duration where a deadline is expected, does not compile.
#pragma once

#include <compare>
#include <cstdint>

namespace faultline::sim {

struct Duration {
  std::int64_t ticks = 0;

  static constexpr Duration micros(std::int64_t n) { return {n}; }
  static constexpr Duration millis(std::int64_t n) { return {n * 1'000}; }
  static constexpr Duration seconds(std::int64_t n) { return {n * 1'000'000}; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration other) const { return {ticks + other.ticks}; }
  constexpr Duration operator-(Duration other) const { return {ticks - other.ticks}; }
  constexpr Duration operator*(std::int64_t factor) const { return {ticks * factor}; }
};

struct Instant {
  std::int64_t ticks = 0;

  constexpr auto operator<=>(const Instant&) const = default;
  constexpr Instant operator+(Duration d) const { return {ticks + d.ticks}; }
  constexpr Duration operator-(Instant other) const { return {ticks - other.ticks}; }
};

}  // namespace faultline::sim
