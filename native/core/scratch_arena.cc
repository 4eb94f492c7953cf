#include "scratch_arena.h"

#include <cstdlib>
#include <new>

namespace convnet {
namespace {

constexpr size_t kMinBlock = size_t{1} << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

char* allocate_block(size_t size) {
  void* p = nullptr;
#if defined(_MSC_VER)
  p = _aligned_malloc(size, ScratchArena::kAlignment);
#else
  if (posix_memalign(&p, ScratchArena::kAlignment, size) != 0) p = nullptr;
#endif
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}

void free_block(char* p) {
#if defined(_MSC_VER)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

}  // namespace

ScratchArena& ScratchArena::local() {
  thread_local ScratchArena arena;
  return arena;
}

ScratchArena::~ScratchArena() {
  for (Block& b : blocks_) free_block(b.data);
}

ScratchArena::Scope::Scope(ScratchArena& arena) : arena_(arena) {
  if (arena_.depth_++ == 0) arena_.coalesce();
  block_ = arena_.current_;
  used_ = arena_.blocks_.empty() ? 0 : arena_.blocks_[block_].used;
}

ScratchArena::Scope::~Scope() {
  for (size_t i = block_ + 1; i < arena_.blocks_.size(); ++i) arena_.blocks_[i].used = 0;
  if (!arena_.blocks_.empty()) arena_.blocks_[block_].used = used_;
  arena_.current_ = block_;
  --arena_.depth_;
}

// At the start of an outermost scope nothing is live, so several blocks left by an earlier
// growth are replaced by one block of their total size: steady state is a single block.
void ScratchArena::coalesce() {
  if (blocks_.size() <= 1) return;
  size_t total = 0;
  for (Block& b : blocks_) {
    total += b.size;
    free_block(b.data);
  }
  blocks_.clear();
  current_ = 0;
  blocks_.push_back({allocate_block(total), total, 0});
}

void* ScratchArena::allocate(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes, kAlignment);
  while (current_ < blocks_.size()) {
    Block& b = blocks_[current_];
    if (b.size - b.used >= bytes) {
      void* p = b.data + b.used;
      b.used += bytes;
      return p;
    }
    if (current_ + 1 == blocks_.size()) break;
    ++current_;
  }
  size_t size = bytes > kMinBlock ? bytes : kMinBlock;
  if (!blocks_.empty() && size < capacity()) size = round_up(capacity(), kAlignment);
  blocks_.push_back({allocate_block(size), size, bytes});
  current_ = blocks_.size() - 1;
  return blocks_.back().data;
}

size_t ScratchArena::capacity() const {
  size_t total = 0;
  for (const Block& b : blocks_) total += b.size;
  return total;
}

}  // namespace convnet
