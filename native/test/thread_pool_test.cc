#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/fma_peak.h"
#include "../core/kernel_config.h"
#include "../core/scratch_arena.h"
#include "../core/thread_pool.h"
#include "test_framework.h"

using convnet::ThreadPool;

TEST(thread_pool_runs_every_task_once_1_to_4_threads) {
  ThreadPool& pool = ThreadPool::global();
  const int saved = pool.num_threads();
  for (int threads = 1; threads <= 4; ++threads) {
    pool.set_num_threads(threads);
    EXPECT(pool.num_threads() == threads);
    for (int64_t n : {0, 1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_participant{0};
      const int participants = pool.participants(n);
      EXPECT(participants >= 1 && participants <= threads);
      pool.parallel_for(n, [&](int64_t t, int p) {
        hits[static_cast<size_t>(t)].fetch_add(1);
        if (p < 0 || p >= participants) bad_participant.fetch_add(1);
      });
      for (auto& h : hits) EXPECT(h.load() == 1);
      EXPECT(bad_participant.load() == 0);
    }
    // parallel_range covers [0, n) exactly once.
    std::vector<std::atomic<int>> cover(100003);
    convnet::parallel_range(100003, 1000, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) cover[static_cast<size_t>(i)].fetch_add(1);
    });
    int wrong = 0;
    for (auto& c : cover) wrong += c.load() != 1;
    EXPECT(wrong == 0);
  }
  pool.set_num_threads(saved);
}

TEST(thread_pool_nested_calls_run_inline) {
  ThreadPool& pool = ThreadPool::global();
  const int saved = pool.num_threads();
  pool.set_num_threads(3);
  std::atomic<int> total{0}, nested_participants_ok{0};
  pool.parallel_for(6, [&](int64_t, int) {
    if (pool.participants(100) == 1) nested_participants_ok.fetch_add(1);
    pool.parallel_for(10, [&](int64_t, int p) { total.fetch_add(p == 0 ? 1 : 1000); });
  });
  EXPECT(total.load() == 60);
  EXPECT(nested_participants_ok.load() == 6);
  pool.set_num_threads(saved);
}

TEST(thread_pool_propagates_exceptions_and_survives) {
  ThreadPool& pool = ThreadPool::global();
  const int saved = pool.num_threads();
  pool.set_num_threads(4);
  bool caught = false;
  try {
    pool.parallel_for(64, [&](int64_t t, int) {
      if (t == 17) throw std::runtime_error("task 17");
    });
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "task 17";
  }
  EXPECT(caught);
  std::atomic<int> count{0};
  pool.parallel_for(64, [&](int64_t, int) { count.fetch_add(1); });
  EXPECT(count.load() == 64);
  pool.set_num_threads(saved);
}

TEST(scratch_arena_reuses_memory) {
  convnet::ScratchArena& arena = convnet::ScratchArena::local();
  size_t steady = 0;
  for (int round = 0; round < 4; ++round) {
    convnet::ScratchArena::Scope outer;
    float* a = arena.allocate_floats(1000);
    {
      convnet::ScratchArena::Scope inner;
      float* b = arena.allocate_floats(3 << 20);  // forces a second block
      EXPECT(reinterpret_cast<uintptr_t>(b) % convnet::ScratchArena::kAlignment == 0);
      b[(3 << 20) - 1] = 1.0f;
    }
    float* c = arena.allocate_floats(10);
    EXPECT(reinterpret_cast<uintptr_t>(a) % convnet::ScratchArena::kAlignment == 0);
    EXPECT(c != a);
    a[999] = 2.0f;
    if (round == 1) steady = arena.capacity();
    if (round > 1) EXPECT(arena.capacity() == steady);
  }
}

TEST(fma_peak_probe_every_isa) {
  for (convnet::Isa isa : convnet::available_isas()) {
    const double gflops = convnet::fma_peak_gflops(*convnet::kernel_config_for(isa), 1, 0.01);
    EXPECT_MSG(gflops > 0.1,
               std::string(convnet::isa_name(isa)) + " peak " + std::to_string(gflops));
  }
}
