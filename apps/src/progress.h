// The progress line of a long sweep, on stderr, and only when stderr is a terminal: runs
// done of the total, runs that violated an invariant so far, the rate and the time left.
// Redirected to a file or a pipe (CI), stderr stays empty; stdout never carries it.
// Wall time is read here, in the command, never inside the simulated world.
#pragma once

#include <chrono>
#include <cstdint>

namespace faultline::app {

class ProgressLine {
 public:
  explicit ProgressLine(std::uint64_t total_runs);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Runs done and failing over the whole sweep. Redraws at most ten times a second, and
  // must not be called from two threads at a time (the sweep calls it under its lock).
  void update(std::uint64_t done, std::uint64_t failing);
  // Erases the line, so the next output starts on a clean line.
  void clear();

 private:
  bool shown_ = false;  // stderr is a terminal
  bool drawn_ = false;
  std::uint64_t total_runs_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_drawn_;
};

}  // namespace faultline::app
