// The one event queue of a simulation: a 4-ary min-heap ordered by (time, sequence),
// so events at the same instant run first-in, first-out.
//
// The heap holds 16-byte keys only; the callable of each event lives in a slot table
// and never moves while the heap is reordered. A key packs the sequence number in its
// high 40 bits and the slot in its low 24, so comparing (time, order) compares
// (time, sequence). Callables up to 24 bytes that are trivially copyable are stored
// inline (the common case: a pointer to a suspended coroutine's awaiter); larger
// ones are boxed (in the thread's frame pool).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "faultline/sim/frame_pool.h"
#include "faultline/sim/rng.h"
#include "faultline/sim/time.h"

namespace faultline::sim {

using NodeId = std::uint32_t;
inline constexpr NodeId world_node = 0;  // events owned by the simulator itself
inline constexpr std::uint32_t any_incarnation = 0xffffffffU;

// Who an event belongs to. An event of a node incarnation that has crashed is
// discarded unrun; an event of a paused node waits for the pause to end.
struct Owner {
  NodeId node = world_node;
  std::uint32_t incarnation = 0;
};

class EventQueue {
 public:
  static constexpr std::uint32_t slot_bits = 24;
  static constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;
  static constexpr std::uint64_t sequence_max = (std::uint64_t{1} << (64 - slot_bits)) - 1;

  struct Popped {
    Instant time;
    std::uint32_t slot;
  };

  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue() {
    for (const Key& key : heap_) destroy_slot(slot_of(key));
  }

  // Queues `callable` to run at `at`; returns its slot (valid until it runs or is
  // discarded or cancelled).
  template <typename F>
  std::uint32_t push(Instant at, Owner owner, F&& callable) {
    const std::uint32_t slot = allocate_slot();
    Payload& payload = slots_[slot];
    payload.owner = owner;
    using Callable = std::decay_t<F>;
    if constexpr (sizeof(Callable) <= inline_bytes && alignof(Callable) <= alignof(std::max_align_t) &&
                  std::is_trivially_copyable_v<Callable> && std::is_trivially_destructible_v<Callable>) {
      ::new (static_cast<void*>(payload.storage)) Callable(std::forward<F>(callable));
      payload.invoke = &invoke_inline<Callable>;
    } else {
      auto* boxed = ::new (box_allocate(sizeof(Callable))) Callable(std::forward<F>(callable));
      std::memcpy(payload.storage, &boxed, sizeof(boxed));
      payload.invoke = &invoke_heap<Callable, &box_delete<Callable>>;
    }
    push_key(at, slot);
    return slot;
  }

  // Queues an object made with `new` (usually pooled) that runs once, by its call
  // operator, and is then deleted; one discarded or cancelled is deleted unrun. `Owned`
  // may be a base class with a virtual destructor: one instantiation then serves every
  // type derived from it (the messages in flight).
  template <typename Owned>
  std::uint32_t push_owned(Instant at, Owner owner, Owned* object) {
    const std::uint32_t slot = allocate_slot();
    Payload& payload = slots_[slot];
    payload.owner = owner;
    std::memcpy(payload.storage, &object, sizeof(object));
    payload.invoke = &invoke_heap<Owned, &owned_delete<Owned>>;
    push_key(at, slot);
    return slot;
  }

  // Puts an already-allocated event back in the queue with a fresh sequence number
  // (used to release the events a paused node accumulated, in their original order).
  void repush(Instant at, std::uint32_t slot) { push_key(at, slot); }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Instant next_time() const {
    assert(!heap_.empty());
    return Instant{time_of(heap_.front())};
  }
  std::uint64_t pushes() const { return next_sequence_; }

  Popped pop() {
    assert(!heap_.empty());
    const Key top = heap_.front();
    const Key last = heap_.back();
    heap_.pop_back();
    position_[slot_of(top)] = 0;
    if (!heap_.empty()) sift_down(0, last);
    return {Instant{time_of(top)}, slot_of(top)};
  }

  // Removes a queued event unrun (a timeout whose call completed first) and frees its
  // slot. The order of the other events is unchanged. False if the slot is not in the
  // heap (a paused node holds it): it then stays, to run or be discarded as usual.
  bool cancel(std::uint32_t slot) {
    const std::uint32_t position = position_[slot];
    if (position == 0) return false;
    const std::size_t index = position - 1;
    position_[slot] = 0;
    const Key last = heap_.back();
    heap_.pop_back();
    if (index < heap_.size()) {
      if (index > 0 && before(last, heap_[(index - 1) / 4])) {
        sift_up(index, last);
      } else {
        sift_down(index, last);
      }
    }
    discard(slot);
    return true;
  }

  Owner owner(std::uint32_t slot) const { return slots_[slot].owner; }

  // Runs the event and frees its slot. The payload is copied out first: the callable
  // may push new events, which may grow the slot table.
  void run(std::uint32_t slot) {
    Payload local;
    std::memcpy(static_cast<void*>(&local), &slots_[slot], sizeof(Payload));
    free_.push_back(slot);
    local.invoke(local.storage, Action::run);
  }

  // Frees the slot without running the event (its owner crashed).
  void discard(std::uint32_t slot) {
    destroy_slot(slot);
    free_.push_back(slot);
  }

 private:
  static constexpr std::size_t inline_bytes = 24;
  enum class Action { run, destroy };

  // time << 64 | sequence << slot_bits | slot: one unsigned comparison orders by
  // (time, sequence). Simulated time is never negative.
  using Key = Uint128;
  struct Payload {
    Owner owner;
    void (*invoke)(void* storage, Action action);
    alignas(std::max_align_t) unsigned char storage[inline_bytes];
  };

  static std::uint32_t slot_of(Key key) { return static_cast<std::uint32_t>(key & slot_mask); }
  static std::int64_t time_of(Key key) { return static_cast<std::int64_t>(key >> 64); }
  static bool before(Key a, Key b) { return a < b; }

  template <typename Callable>
  static void invoke_inline(void* storage, Action action) {
    if (action == Action::run) (*std::launder(static_cast<Callable*>(storage)))();
  }
  // An event on the heap (a box, or an owned object): run once, then deleted by
  // `Delete`; or deleted unrun.
  template <typename Object, void (*Delete)(Object*) noexcept>
  static void invoke_heap(void* storage, Action action) {
    Object* object = nullptr;
    std::memcpy(&object, storage, sizeof(object));
    if (action == Action::run) {
      // Delete even if the callable throws: a programmer error propagates, but it must not leak.
      struct Deleter {
        Object* pointer;
        ~Deleter() { Delete(pointer); }
      } deleter{object};
      (*object)();
    } else {
      Delete(object);
    }
  }
  template <typename Owned>
  static void owned_delete(Owned* object) noexcept {
    delete object;
  }

  // Boxes come from the thread's frame pool (the queue lives and dies on one thread).
  static void* box_allocate(std::size_t size) {
#if FAULTLINE_FRAME_POOL
    return detail::FramePool::allocate(size);
#else
    return ::operator new(size);
#endif
  }
  template <typename Callable>
  static void box_delete(Callable* boxed) noexcept {
    boxed->~Callable();
#if FAULTLINE_FRAME_POOL
    detail::FramePool::release(boxed, sizeof(Callable));
#else
    ::operator delete(boxed);
#endif
  }

  void destroy_slot(std::uint32_t slot) {
    slots_[slot].invoke(slots_[slot].storage, Action::destroy);
  }

  std::uint32_t allocate_slot() {
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      return slot;
    }
    assert(slots_.size() < slot_mask && "more pending events than the queue can address");
    slots_.emplace_back();
    position_.push_back(0);
    return static_cast<std::uint32_t>(slots_.size() - 1);
  }

  void push_key(Instant at, std::uint32_t slot) {
    assert(next_sequence_ < sequence_max);
    assert(at.ticks >= 0);
    const Key key = (static_cast<Key>(at.ticks) << 64) | (next_sequence_++ << slot_bits) | slot;
    heap_.push_back(key);
    sift_up(heap_.size() - 1, key);
  }

  void place(std::size_t index, Key key) {
    heap_[index] = key;
    position_[slot_of(key)] = static_cast<std::uint32_t>(index + 1);
  }

  void sift_up(std::size_t index, Key key) {
    while (index > 0) {
      const std::size_t parent = (index - 1) / 4;
      if (!before(key, heap_[parent])) break;
      place(index, heap_[parent]);
      index = parent;
    }
    place(index, key);
  }

  // Places `key` (the former last element) in the hole left at `hole` by a removed
  // element. Bottom-up: the hole first sinks to a leaf along the smallest children
  // (picked without branches), then `key` rises from there. The last element usually
  // belongs near the bottom, so this saves most comparisons against it.
  void sift_down(std::size_t hole, Key key) {
    const std::size_t count = heap_.size();
    for (;;) {
      const std::size_t first = hole * 4 + 1;
      std::size_t best;
      if (first + 4 <= count) {
        const std::size_t low = first + static_cast<std::size_t>(heap_[first + 1] < heap_[first]);
        const std::size_t high = first + 2 + static_cast<std::size_t>(heap_[first + 3] < heap_[first + 2]);
        best = heap_[high] < heap_[low] ? high : low;
      } else if (first < count) {
        best = first;
        for (std::size_t child = first + 1; child < count; ++child)
          if (before(heap_[child], heap_[best])) best = child;
      } else {
        break;
      }
      place(hole, heap_[best]);
      hole = best;
    }
    sift_up(hole, key);
  }

  std::vector<Key> heap_;
  std::vector<Payload> slots_;
  std::vector<std::uint32_t> position_;  // per slot: its heap index + 1, or 0 when not in the heap
  std::vector<std::uint32_t> free_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace faultline::sim
