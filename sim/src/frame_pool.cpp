// The per-thread block pool: see frame_pool.h.
#include "faultline/sim/frame_pool.h"

#include <new>

namespace faultline::sim::detail {

FramePool::~FramePool() {
  for (std::size_t index = 0; index < classes; ++index)
    while (Block* block = free_[index]) {
      free_[index] = block->next;
      ::operator delete(block);
    }
}

void* FramePool::allocate(std::size_t size) {
  FramePool& pool = local();
  const std::size_t index = class_of(size);
  if (index >= classes) return ::operator new(size);
  if (Block* block = pool.free_[index]) {
    pool.free_[index] = block->next;
    return block;
  }
  const std::size_t rounded = index * granule;
  return ::operator new(rounded);
}

void FramePool::release(void* pointer, std::size_t size) noexcept {
  FramePool& pool = local();
  const std::size_t index = class_of(size);
  if (index >= classes) {
    ::operator delete(pointer);
    return;
  }
  pool.free_[index] = ::new (pointer) Block{pool.free_[index]};
}

FramePool& FramePool::local() {
  thread_local FramePool pool;
  return pool;
}

}  // namespace faultline::sim::detail
