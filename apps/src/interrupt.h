// Stopping a sweep cleanly on SIGINT (Ctrl-C) or SIGTERM: the handler only sets an atomic
// flag (all a signal handler may safely do), the sweep takes no new seed once it is set,
// and the command writes the report of the runs that finished. The runs in flight get a
// short grace (abandon_grace) to finish; then a watcher thread raises the abandon flag,
// on which the kernel abandons them mid-run (sim/abandon.h), so even a single long run
// stops within a second (Kubernetes sends SIGTERM and kills 30 s later). The handler
// disarms itself, so a second Ctrl-C ends the process at once, without a report.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace faultline::app {

// Catches SIGINT and SIGTERM while it lives; restores the previous handlers when it goes.
// One at a time.
class InterruptRequests {
 public:
  InterruptRequests();
  ~InterruptRequests();
  InterruptRequests(const InterruptRequests&) = delete;
  InterruptRequests& operator=(const InterruptRequests&) = delete;

  // How long the runs in flight may take to finish once a signal arrived, before they
  // are abandoned: short runs finish (and their counterexamples get written up), a long
  // run does not hold the stop back.
  static constexpr std::chrono::milliseconds abandon_grace{250};

  // True once a signal arrived; the sweep polls it (properties::SweepOptions::stop).
  const std::atomic<bool>& flag() const;
  // True from abandon_grace after a signal; for sim::AbandonScope.
  const std::atomic<bool>& abandon_flag() const { return abandon_; }
  bool requested() const { return flag().load(); }
  // "SIGINT" or "SIGTERM", once one arrived.
  const char* signal_name() const;

 private:
  struct sigaction previous_interrupt_ {};
  struct sigaction previous_terminate_ {};
  std::atomic<bool> abandon_{false};
  std::atomic<bool> done_{false};
  // Watches the signal flag and raises abandon_ abandon_grace after it (a signal handler
  // cannot start a timer).
  std::thread watcher_;
};

}  // namespace faultline::app
