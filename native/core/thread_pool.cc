#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace convnet {
namespace {

// True on pool workers and on any thread while it runs a parallel_for: nested calls run inline.
thread_local bool t_in_parallel_region = false;

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// How long a thread polls before it sleeps, for the next job (workers) or for the others to finish
// (the calling thread). A training step issues dozens of kernels a few microseconds to a
// millisecond apart, and waking a sleeping thread costs 10-50 microseconds (more in a VM), which
// would otherwise make small parallel kernels slower than serial ones.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Polls until done() or kSpin has passed; returns done().
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    // The clock is read every 64 polls: it costs more than a poll.
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

struct RegionGuard {
  bool saved;
  RegionGuard() : saved(t_in_parallel_region) { t_in_parallel_region = true; }
  ~RegionGuard() { t_in_parallel_region = saved; }
};

}  // namespace

struct ThreadPool::Job {
  TaskFn fn;
  void* ctx;
  int64_t n_tasks;
  int participants;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::exception_ptr error;
};

ThreadPool& ThreadPool::global() {
  // Never destroyed: workers may still be parked when the process exits, and joining them
  // from a static destructor would race with other teardown.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

ThreadPool::ThreadPool() : num_threads_(default_threads()) {}

int ThreadPool::num_threads() const { return num_threads_.load(); }

void ThreadPool::set_num_threads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  if (n == num_threads_ && workers_started_) return;
  stop_workers();
  num_threads_ = n;
  // Started here rather than on first use, so that a failure surfaces in setNumThreads.
  start_workers();
}

int ThreadPool::participants(int64_t n_tasks, int max_threads) const {
  if (t_in_parallel_region || n_tasks <= 1) return 1;
  int64_t p = std::min<int64_t>(num_threads_.load(), n_tasks);
  if (max_threads > 0) p = std::min<int64_t>(p, max_threads);
  return static_cast<int>(std::max<int64_t>(p, 1));
}

void ThreadPool::start_workers() {
  const int n = num_threads_.load();
  stop_ = false;
  workers_started_ = true;
  try {
    workers_.reserve(n - 1);
    for (int id = 1; id < n; ++id) workers_.emplace_back([this, id] { worker_loop(id); });
  } catch (const std::exception& e) {
    // Out of threads or memory: keep none of them and run single-threaded.
    const size_t started = workers_.size();
    stop_workers();
    num_threads_ = 1;
    workers_started_ = true;
    throw std::runtime_error("could not start " + std::to_string(n - 1) +
                             " worker threads (started " + std::to_string(started) +
                             "), running on 1 thread: " + e.what());
  }
}

void ThreadPool::stop_workers() {
  if (!workers_started_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  workers_started_ = false;
  stop_ = false;
}

void ThreadPool::run_tasks(Job& job, int participant) {
  for (;;) {
    const int64_t task = job.next.fetch_add(1, std::memory_order_relaxed);
    if (task >= job.n_tasks || job.failed.load(std::memory_order_relaxed)) return;
    try {
      job.fn(job.ctx, task, participant);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.error_mu);
      if (!job.error) job.error = std::current_exception();
      job.failed.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop(int id) {
  t_in_parallel_region = true;
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] {
      return stop_.load(std::memory_order_acquire) ||
             generation_.load(std::memory_order_acquire) != seen;
    });
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    if (stop_.load()) return;
    seen = generation_.load();
    Job* job = job_;
    if (job == nullptr || id >= job->participants) continue;
    lock.unlock();
    run_tasks(*job, id);
    // The last worker to finish wakes the caller if it went to sleep; the lock orders the
    // notification after the caller's check of pending_.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> done_lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t n_tasks, int max_threads, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  const int wanted = participants(n_tasks, max_threads);
  std::unique_lock<std::mutex> dispatch(dispatch_mu_, std::defer_lock);
  // Inline when one participant suffices, or when another thread (a second JS thread) holds
  // the pool: it stays correct, only slower.
  if (wanted <= 1 || !dispatch.try_lock()) {
    RegionGuard region;
    for (int64_t task = 0; task < n_tasks; ++task) fn(ctx, task, 0);
    return;
  }
  if (!workers_started_) start_workers();
  const int participants = std::min(wanted, num_threads_.load());

  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n_tasks = n_tasks;
  job.participants = participants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &job;
    pending_.store(participants - 1, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  work_cv_.notify_all();
  {
    RegionGuard region;
    run_tasks(job, 0);
  }
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return pending_.load() == 0; });
    job_ = nullptr;
  }
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace convnet
