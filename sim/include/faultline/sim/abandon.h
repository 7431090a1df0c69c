// Abandoning a run in flight when the process is told to stop (SIGINT, SIGTERM): the
// kernel's run loop checks a flag before every event and, once it reads true, throws
// RunAbandoned out of Simulation::run_until, so the run ends within an event instead of
// after its last one. Whoever ran it (the sweep) drops the run: it is not reported.
//
// The flag is the thread's, set by an AbandonScope around the runs of that thread,
// because the stop request belongs to the process, not to the simulated world: it never
// changes what a run does, it only ends the run. Without a scope (the default, every
// test and every replay) nothing is checked and nothing is thrown.
#pragma once

#include <atomic>
#include <exception>

namespace faultline::sim {

// Thrown out of Simulation::run_until once the thread's abandon flag reads true.
class RunAbandoned : public std::exception {
 public:
  const char* what() const noexcept override { return "the run was abandoned: the process was told to stop"; }
};

// Makes `flag` (may be nullptr: never abandon) the calling thread's abandon flag while it
// lives; restores the previous one when it goes.
class AbandonScope {
 public:
  explicit AbandonScope(const std::atomic<bool>* flag);
  ~AbandonScope();
  AbandonScope(const AbandonScope&) = delete;
  AbandonScope& operator=(const AbandonScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

// The calling thread's abandon flag, or nullptr.
const std::atomic<bool>* abandon_flag();

}  // namespace faultline::sim
