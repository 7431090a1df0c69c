// Runs independent pieces of work on several threads and hands their results to one fold
// strictly in index order, so what the fold builds does not depend on the number of
// threads. The sweep (seeds in seed order) and the hunt (searches in search order) share it.
// Internal to the properties library.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "faultline/sim/abandon.h"

namespace faultline::properties::detail {

// Finished runs that wait for an earlier seed to be folded, per thread: a slow seed holds
// back at most this many finished verdicts per thread before the other threads wait too.
constexpr std::uint64_t verdicts_waiting_per_job_max = 64;

// Runs `work(index)` for every index in [0, count) on `jobs` threads (the calling thread is
// one of them) and hands each result to `fold(index, result)` in index order, one call at a
// time. Once `stop` reads true no new index is taken; every index taken is finished and
// folded, so the indices folded are always a prefix. Returns how many were folded. An
// exception from `work` or `fold` stops the other threads and is rethrown here.
//
// The calling thread's abandon flag (sim/abandon.h) holds in every thread that runs
// work. Once it reads true no new index is taken either; a run abandoned on it
// (sim::RunAbandoned) is not folded, nor is any index after it: the indices folded are
// still a prefix.
template <typename Result, typename Work, typename Fold>
std::uint64_t for_each_in_order(std::uint64_t count, std::size_t jobs, const std::atomic<bool>* stop, Work work,
                                Fold fold) {
  assert(jobs >= 1);
  const std::uint64_t waiting_max = verdicts_waiting_per_job_max * jobs;
  std::mutex mutex;
  std::condition_variable folded;
  std::uint64_t next_to_take = 0;
  std::uint64_t next_to_fold = 0;
  std::map<std::uint64_t, Result> finished;  // finished but not yet folded, by index
  std::exception_ptr failure;
  bool abandoned = false;
  const std::atomic<bool>* abandon = sim::abandon_flag();

  const auto stopped = [&] {
    return abandoned || (stop != nullptr && stop->load()) || (abandon != nullptr && abandon->load());
  };
  const auto worker = [&] {
    const sim::AbandonScope abandon_here(abandon);
    for (;;) {
      std::uint64_t index = 0;
      {
        std::unique_lock lock(mutex);
        folded.wait(lock, [&] {
          return failure != nullptr || stopped() || next_to_take >= count || next_to_take < next_to_fold + waiting_max;
        });
        if (failure != nullptr || stopped() || next_to_take >= count) return;
        index = next_to_take++;
      }
      try {
        Result result = work(index);
        std::lock_guard lock(mutex);
        finished.emplace(index, std::move(result));
        while (failure == nullptr && !finished.empty() && finished.begin()->first == next_to_fold) {
          auto node = finished.extract(finished.begin());
          fold(node.key(), std::move(node.mapped()));
          ++next_to_fold;
        }
      } catch (const sim::RunAbandoned&) {
        std::lock_guard lock(mutex);
        abandoned = true;
      } catch (...) {
        std::lock_guard lock(mutex);
        if (failure == nullptr) failure = std::current_exception();
      }
      folded.notify_all();
    }
  };

  const std::size_t threads =
      static_cast<std::size_t>(std::min<std::uint64_t>(jobs, std::max<std::uint64_t>(count, 1)));
  // Threads run whole simulations side by side, never inside one: each run is a pure
  // function of its seed, and the fold above takes results in seed order, so the
  // report does not depend on scheduling.
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (std::size_t helper = 1; helper < threads; ++helper) helpers.emplace_back(worker);
  worker();
  for (auto& helper : helpers) helper.join();

  if (failure != nullptr) std::rethrow_exception(failure);
  if (abandoned) {
    // What finished after the abandoned index waits for it forever: it is dropped.
    assert(next_to_fold < next_to_take && "an abandoned index is never folded");
    return next_to_fold;
  }
  assert(finished.empty() && "every index taken is folded");
  assert(next_to_fold == next_to_take);
  return next_to_fold;
}

}  // namespace faultline::properties::detail
