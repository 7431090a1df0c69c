// The signal handler and its flag. They are process-wide by nature (a signal is delivered
// to the process), which is why they live here, in the command, outside the simulated world.
#include "interrupt.h"

#include <cassert>

#include "faultline/reports/output_file.h"

namespace faultline::app {
namespace {

static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler may only touch lock-free atomics");
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler may only touch lock-free atomics");

std::atomic<bool> interrupt_requested{false};
std::atomic<int> interrupt_signal{0};
std::atomic<bool> handlers_installed{false};

extern "C" void request_interrupt(int signal_number) {
  interrupt_signal.store(signal_number);
  interrupt_requested.store(true);
}

}  // namespace

InterruptRequests::InterruptRequests() {
  [[maybe_unused]] const bool already = handlers_installed.exchange(true);
  assert(!already && "one InterruptRequests at a time");
  interrupt_requested.store(false);
  interrupt_signal.store(0);
  struct sigaction action {};
  action.sa_handler = request_interrupt;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the first signal asks for a clean stop, a second one kills as usual.
  // SA_RESTART: a write to the terminal in progress is resumed, not failed with EINTR.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  // A signal the shell told us to ignore (a background job's SIGINT) stays ignored.
  sigaction(SIGINT, nullptr, &previous_interrupt_);
  sigaction(SIGTERM, nullptr, &previous_terminate_);
  if (previous_interrupt_.sa_handler != SIG_IGN) sigaction(SIGINT, &action, nullptr);
  if (previous_terminate_.sa_handler != SIG_IGN) sigaction(SIGTERM, &action, nullptr);
  // Wall time is right here: this is the process's stop, outside the simulated world.
  // The watcher starts with the interrupt signals blocked and keeps them so, so they are
  // always delivered to the threads that do the work: a second Ctrl-C held back while a
  // report is written (reports::SignalsHeld) must not end the process through this one.
  const reports::SignalsHeld held_in_the_watcher;
  watcher_ = std::thread([this] {
    constexpr auto poll_interval = std::chrono::milliseconds(20);
    while (!done_.load() && !interrupt_requested.load()) std::this_thread::sleep_for(poll_interval);
    const auto abandon_at = std::chrono::steady_clock::now() + abandon_grace;
    while (!done_.load() && std::chrono::steady_clock::now() < abandon_at) std::this_thread::sleep_for(poll_interval);
    if (!done_.load()) abandon_.store(true);
  });
}

InterruptRequests::~InterruptRequests() {
  done_.store(true);
  watcher_.join();
  sigaction(SIGINT, &previous_interrupt_, nullptr);
  sigaction(SIGTERM, &previous_terminate_, nullptr);
  handlers_installed.store(false);
}

const std::atomic<bool>& InterruptRequests::flag() const {
  return interrupt_requested;
}

const char* InterruptRequests::signal_name() const {
  switch (interrupt_signal.load()) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

}  // namespace faultline::app
