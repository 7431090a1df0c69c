// The thread's abandon flag: see abandon.h for why it is the thread's.
#include "faultline/sim/abandon.h"

namespace faultline::sim {
namespace {

thread_local const std::atomic<bool>* thread_abandon_flag = nullptr;

}  // namespace

AbandonScope::AbandonScope(const std::atomic<bool>* flag) : previous_(thread_abandon_flag) {
  thread_abandon_flag = flag;
}

AbandonScope::~AbandonScope() {
  thread_abandon_flag = previous_;
}

const std::atomic<bool>* abandon_flag() {
  return thread_abandon_flag;
}

}  // namespace faultline::sim
