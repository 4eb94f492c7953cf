#include "fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "thread_pool.h"

namespace convnet {
namespace {

using Clock = std::chrono::steady_clock;

// Sink for the probe's result, so the loop is not optimized away.
std::atomic<float> g_sink{0.0f};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

double fma_peak_gflops(const KernelConfig& config, int threads, double seconds) {
  const FmaPeakProbe probe = config.fma_peak;
  seconds = std::clamp(seconds, 0.001, 10.0);

  // Calibrate on one thread: grow the round count until a run takes a measurable time.
  int64_t rounds = 1 << 12;
  double elapsed = 0.0;
  for (;;) {
    const Clock::time_point start = Clock::now();
    g_sink.store(probe.run(rounds), std::memory_order_relaxed);
    elapsed = seconds_since(start);
    if (elapsed > 0.01 || rounds > (int64_t{1} << 40)) break;
    rounds *= 4;
  }
  rounds = std::max<int64_t>(1, int64_t(double(rounds) * seconds / elapsed));

  ThreadPool& pool = ThreadPool::global();
  const int participants = pool.participants(std::max(threads, 1));
  const Clock::time_point start = Clock::now();
  pool.parallel_for(participants, [&](int64_t, int) {
    g_sink.store(probe.run(rounds), std::memory_order_relaxed);
  });
  elapsed = seconds_since(start);
  const double flops = double(participants) * double(rounds) * double(probe.flops_per_round);
  return flops / elapsed * 1e-9;
}

}  // namespace convnet
