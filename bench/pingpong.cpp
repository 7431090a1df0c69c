// The kernel ping-pong benchmark (see the benchmark spec): P processes on one node,
// each sleeping a pseudo-random delay and folding its wake-up time into a checksum.
// It uses the kernel exactly as the models do: a node, root coroutines spawned on its
// context, and `co_await context.sleep(...)` through the same event queue.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "faultline/sim/simulation.h"

namespace {

using faultline::sim::Context;
using faultline::sim::Duration;
using faultline::sim::Task;

struct Bench {
  std::uint64_t prng_state = 0x1234567;
  std::uint64_t wakeups_left = 0;
  std::uint64_t checksum = 0;
  std::vector<std::uint64_t> state;

  Duration delay() {
    return Duration{static_cast<std::int64_t>(1 + (faultline::sim::splitmix64_next(prng_state) & 1023))};
  }
};

Task<void> process(Context& context, Bench& bench, std::uint32_t index, Duration first_sleep) {
  std::uint32_t payload = index * 7 + 1;
  co_await context.sleep(first_sleep);
  while (bench.wakeups_left > 0) {
    --bench.wakeups_left;
    const auto now = static_cast<std::uint64_t>(context.now().ticks);
    bench.state[index] += payload;
    bench.checksum = (bench.checksum ^ (now + index)) * 0x100000001b3ULL;
    payload += 1;
    if (bench.wakeups_left == 0) break;
    co_await context.sleep(bench.delay());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kernel-pingpong N P\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long long wakeups = std::strtoull(argv[1], &end, 10);
  if (*end != '\0' || wakeups == 0) {
    std::fprintf(stderr, "kernel-pingpong: N must be a positive integer, got '%s'\n", argv[1]);
    return 2;
  }
  const unsigned long long processes = std::strtoull(argv[2], &end, 10);
  if (*end != '\0' || processes == 0 || processes > 1'000'000) {
    std::fprintf(stderr, "kernel-pingpong: P must be an integer in [1, 1000000], got '%s'\n", argv[2]);
    return 2;
  }

  Bench bench;
  bench.wakeups_left = wakeups;
  bench.state.assign(processes, 0);
  faultline::sim::Simulation simulation({.seed = 1});
  simulation.add_node("pingpong", [&](Context& context) {
    // The first P draws are the initial sleeps, in process order.
    for (std::uint32_t index = 0; index < processes; ++index) {
      const Duration first = bench.delay();
      context.spawn(process(context, bench, index, first));
    }
  });
  simulation.start();
  // Wall time is measured here, outside the simulated world.
  const auto started = std::chrono::steady_clock::now();
  while (bench.wakeups_left > 0 && simulation.step()) {
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("checksum: %016llx\n", static_cast<unsigned long long>(bench.checksum));
  std::printf("events_per_second: %.0f\n", static_cast<double>(wakeups) / seconds);
  return 0;
}
