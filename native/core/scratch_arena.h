// Per-thread scratch memory (packing buffers, im2col columns) reused across calls: a bump
// allocator whose memory is kept when a scope ends, so steady-state calls allocate nothing.
#ifndef CONVNET_CORE_SCRATCH_ARENA_H_
#define CONVNET_CORE_SCRATCH_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace convnet {

class ScratchArena {
 public:
  static constexpr size_t kAlignment = 64;

  // The calling thread's arena.
  static ScratchArena& local();

  // Everything allocated inside a Scope is released (kept for reuse) when it ends. Pointers
  // stay valid until then: the arena grows by adding blocks, never by moving them.
  class Scope {
   public:
    explicit Scope(ScratchArena& arena = local());
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ScratchArena& arena_;
    size_t block_;
    size_t used_;
  };

  // kAlignment-aligned, uninitialized; only valid inside a Scope. Throws std::bad_alloc.
  void* allocate(size_t bytes);
  float* allocate_floats(int64_t count) {
    return static_cast<float*>(allocate(static_cast<size_t>(count) * sizeof(float)));
  }

  size_t capacity() const;  // bytes held, for tests

  ScratchArena() = default;
  ~ScratchArena();
  ScratchArena(const ScratchArena&) = delete;
  ScratchArena& operator=(const ScratchArena&) = delete;

 private:
  struct Block {
    char* data;
    size_t size;
    size_t used;
  };
  void coalesce();

  std::vector<Block> blocks_;
  size_t current_ = 0;  // block that allocations come from
  int depth_ = 0;       // open scopes
};

}  // namespace convnet

#endif  // CONVNET_CORE_SCRATCH_ARENA_H_
