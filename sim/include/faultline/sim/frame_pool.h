// A per-thread free list for the small blocks a simulation allocates and frees by the
// thousand per run: coroutine frames and pending RPC calls. A simulation runs on one
// thread from start to end (parallelism is across runs), so each block is freed on
// the thread that allocated it and the lists need no locks. Blocks are rounded up to
// a multiple of 64 bytes; larger ones go to the global allocator.
//
// Under AddressSanitizer the pool steps aside, so every block is a real allocation
// and a use after free is still caught.
#pragma once

#include <array>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define FAULTLINE_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULTLINE_FRAME_POOL 0
#endif
#endif
#ifndef FAULTLINE_FRAME_POOL
#define FAULTLINE_FRAME_POOL 1
#endif

namespace faultline::sim::detail {

class FramePool {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 32;  // blocks up to 2 KiB are pooled

  FramePool() = default;
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;
  ~FramePool();

  // The calling thread's pool. Out of line (frame_pool.cpp): inlined, g++ 12 sees a
  // block that ::operator new returned reach Pooled::operator delete and reports a
  // mismatched pair.
  static void* allocate(std::size_t size);
  static void release(void* pointer, std::size_t size) noexcept;

 private:
  struct Block {
    Block* next;
  };
  static std::size_t class_of(std::size_t size) { return (size + granule - 1) / granule; }

  static FramePool& local();

  std::array<Block*, classes> free_{};
};

// Class-level allocation functions for the pooled types.
struct Pooled {
#if FAULTLINE_FRAME_POOL
  static void* operator new(std::size_t size) {
    return FramePool::allocate(size);
  }
  static void operator delete(void* pointer, std::size_t size) noexcept {
    FramePool::release(pointer, size);
  }
#endif
};

}  // namespace faultline::sim::detail
