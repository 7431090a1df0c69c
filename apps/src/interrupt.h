// Stopping a sweep cleanly on SIGINT (Ctrl-C) or SIGTERM: the handler only sets an atomic
// flag (all a signal handler may safely do), the sweep takes no new seed once it is set,
// finishes the runs in flight, and the command writes the report of the runs that finished.
// The handler disarms itself, so a second Ctrl-C ends the process at once, without a report.
#pragma once

#include <atomic>
#include <csignal>

namespace faultline::app {

// Catches SIGINT and SIGTERM while it lives; restores the previous handlers when it goes.
// One at a time.
class InterruptRequests {
 public:
  InterruptRequests();
  ~InterruptRequests();
  InterruptRequests(const InterruptRequests&) = delete;
  InterruptRequests& operator=(const InterruptRequests&) = delete;

  // True once a signal arrived; the sweep polls it (properties::SweepOptions::stop).
  const std::atomic<bool>& flag() const;
  bool requested() const { return flag().load(); }
  // "SIGINT" or "SIGTERM", once one arrived.
  const char* signal_name() const;

 private:
  struct sigaction previous_interrupt_ {};
  struct sigaction previous_terminate_ {};
};

}  // namespace faultline::app
