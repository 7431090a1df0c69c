// The floor of the kernel ping-pong benchmark (see the benchmark spec): the same
// work as kernel-pingpong with nothing but what the pattern needs, to show what the
// kernel's generality costs. Minimal C++20 coroutines wait on a hand-written 4-ary
// min-heap of 128-bit keys, time << 64 | sequence << 24 | slot, so one unsigned
// comparison orders by (time, sequence) and ties run first-in, first-out. No
// faultline code: no nodes, owners, incarnations, trace or Asio.
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>
#include <vector>

namespace {

__extension__ using Key = unsigned __int128;

std::uint64_t splitmix64_next(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The event loop: one pending wake-up per suspended coroutine.
class Scheduler {
 public:
  std::int64_t now() const { return now_; }
  bool empty() const { return heap_.empty(); }

  void wake_at(std::int64_t at, std::coroutine_handle<> waiter) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      assert(slots_.size() < slot_mask);
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    slots_[slot] = waiter;
    assert(sequence_ < (std::uint64_t{1} << (64 - slot_bits)));
    const Key key = (static_cast<Key>(at) << 64) | (sequence_++ << slot_bits) | slot;
    heap_.push_back(key);
    sift_up(heap_.size() - 1, key);
  }

  // Pops the earliest wake-up and resumes its coroutine.
  void run_one() {
    const Key top = heap_.front();
    const Key last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(last);
    now_ = static_cast<std::int64_t>(top >> 64);
    const auto slot = static_cast<std::uint32_t>(top & slot_mask);
    free_.push_back(slot);
    slots_[slot].resume();
  }

 private:
  static constexpr unsigned slot_bits = 24;
  static constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;

  void sift_up(std::size_t index, Key key) {
    while (index > 0) {
      const std::size_t parent = (index - 1) / 4;
      if (!(key < heap_[parent])) break;
      heap_[index] = heap_[parent];
      index = parent;
    }
    heap_[index] = key;
  }

  // The hole left by the root sinks along the smallest children to a leaf; the
  // former last key then rises from there (it usually belongs near the bottom).
  void sift_down(Key key) {
    const std::size_t count = heap_.size();
    std::size_t hole = 0;
    for (;;) {
      const std::size_t first = hole * 4 + 1;
      std::size_t smallest;
      if (first + 4 <= count) {
        const std::size_t left = first + static_cast<std::size_t>(heap_[first + 1] < heap_[first]);
        const std::size_t right = first + 2 + static_cast<std::size_t>(heap_[first + 3] < heap_[first + 2]);
        smallest = heap_[right] < heap_[left] ? right : left;
      } else if (first < count) {
        smallest = first;
        for (std::size_t child = first + 1; child < count; ++child)
          if (heap_[child] < heap_[smallest]) smallest = child;
      } else {
        break;
      }
      heap_[hole] = heap_[smallest];
      hole = smallest;
    }
    sift_up(hole, key);
  }

  std::vector<Key> heap_;
  std::vector<std::coroutine_handle<>> slots_;
  std::vector<std::uint32_t> free_;
  std::uint64_t sequence_ = 0;
  std::int64_t now_ = 0;
};

// A process: starts at once, runs until its first sleep, and is destroyed by its owner.
struct Process {
  struct promise_type {
    Process get_return_object() { return Process{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };

  explicit Process(std::coroutine_handle<promise_type> handle) : handle(handle) {}
  Process(Process&& other) noexcept : handle(std::exchange(other.handle, {})) {}
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process& operator=(Process&&) = delete;
  ~Process() {
    if (handle) handle.destroy();
  }

  std::coroutine_handle<promise_type> handle;
};

struct Sleep {
  Scheduler& scheduler;
  std::int64_t ticks;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) const { scheduler.wake_at(scheduler.now() + ticks, waiter); }
  void await_resume() const noexcept {}
};

struct Bench {
  std::uint64_t prng_state = 0x1234567;
  std::uint64_t wakeups_left = 0;
  std::uint64_t checksum = 0;
  std::vector<std::uint64_t> state;

  std::int64_t delay() { return static_cast<std::int64_t>(1 + (splitmix64_next(prng_state) & 1023)); }
};

Process process(Scheduler& scheduler, Bench& bench, std::uint32_t index) {
  std::uint32_t payload = index * 7 + 1;
  co_await Sleep{scheduler, bench.delay()};
  while (bench.wakeups_left > 0) {
    --bench.wakeups_left;
    const auto now = static_cast<std::uint64_t>(scheduler.now());
    bench.state[index] += payload;
    bench.checksum = (bench.checksum ^ (now + index)) * 0x100000001b3ULL;
    payload += 1;
    if (bench.wakeups_left == 0) break;
    co_await Sleep{scheduler, bench.delay()};
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kernel-pingpong-floor N P\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long long wakeups = std::strtoull(argv[1], &end, 10);
  if (*end != '\0' || wakeups == 0) {
    std::fprintf(stderr, "kernel-pingpong-floor: N must be a positive integer, got '%s'\n", argv[1]);
    return 2;
  }
  const unsigned long long processes = std::strtoull(argv[2], &end, 10);
  if (*end != '\0' || processes == 0 || processes > 1'000'000) {
    std::fprintf(stderr, "kernel-pingpong-floor: P must be an integer in [1, 1000000], got '%s'\n", argv[2]);
    return 2;
  }

  Bench bench;
  bench.wakeups_left = wakeups;
  bench.state.assign(processes, 0);
  Scheduler scheduler;
  std::vector<Process> running;
  running.reserve(processes);
  // Each process draws its first delay as it is created, in process order.
  for (std::uint32_t index = 0; index < processes; ++index) running.push_back(process(scheduler, bench, index));
  // Wall time is measured here, outside the simulated world.
  const auto started = std::chrono::steady_clock::now();
  while (bench.wakeups_left > 0 && !scheduler.empty()) scheduler.run_one();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("checksum: %016llx\n", static_cast<unsigned long long>(bench.checksum));
  std::printf("events_per_second: %.0f\n", static_cast<double>(wakeups) / seconds);
  return 0;
}
