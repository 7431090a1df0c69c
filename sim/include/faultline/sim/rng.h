// The run's pseudo-random generator: xoshiro256** seeded through splitmix64.
// Written in-house, with its own bounded ranges and integer ratios, because the
// standard library's distributions produce different numbers on different
// implementations, and a seed must mean the same run everywhere.
#pragma once

#include <cassert>
#include <cstdint>

namespace faultline::sim {

__extension__ using Uint128 = unsigned __int128;

// splitmix64: used to seed xoshiro and to derive independent streams. Exposed
// because the kernel ping-pong benchmark specifies it.
constexpr std::uint64_t splitmix64_next(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& word : state_) word = splitmix64_next(sm);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound), without modulo bias (Lemire's multiply-shift with rejection).
  std::uint64_t below(std::uint64_t bound) {
    assert(bound > 0);
    Uint128 product = static_cast<Uint128>(next()) * bound;
    auto low = static_cast<std::uint64_t>(product);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<Uint128>(next()) * bound;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  // Uniform in [low, high], both ends included.
  std::int64_t between(std::int64_t low, std::int64_t high) {
    assert(low <= high);
    // In unsigned arithmetic: high - low may exceed the signed range.
    const std::uint64_t span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low) + 1;
    if (span == 0) return static_cast<std::int64_t>(next());  // the full 64-bit range
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + below(span));
  }

  // True with probability numerator / denominator, as an exact integer ratio.
  bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    assert(denominator > 0);
    assert(numerator <= denominator);
    if (numerator == 0) return false;
    return below(denominator) < numerator;
  }

  // An independent stream for one component, so that adding draws in one
  // component does not shift the numbers every other component sees.
  Rng split() {
    std::uint64_t seed = next();
    return Rng(splitmix64_next(seed));
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_[4];
};

}  // namespace faultline::sim
