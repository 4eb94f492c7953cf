// One persistent pool of worker threads for the whole process. Workers sleep on a condition
// variable between calls; no thread is created per call, and libuv's pool is never used.
#ifndef CONVNET_CORE_THREAD_POOL_H_
#define CONVNET_CORE_THREAD_POOL_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace convnet {

class ThreadPool {
 public:
  static ThreadPool& global();

  // Total threads that run a parallel_for, the calling thread included.
  int num_threads() const;
  // Resizes the pool (n >= 1). Waits for a parallel_for in flight on another thread.
  void set_num_threads(int n);

  // How many participants a parallel_for over n_tasks (capped at max_threads when > 0) would
  // use from the calling thread: 1 inside another parallel_for (nested calls run inline).
  int participants(int64_t n_tasks, int max_threads = 0) const;

  // Calls fn(task, participant) once for every task in [0, n_tasks), with participant in
  // [0, participants(n_tasks, max_threads)); the calling thread is participant 0. Returns when
  // all tasks are done. Tasks are handed out dynamically. Runs inline (participant 0) when
  // nested, when one participant suffices, or when another thread is using the pool. The
  // first exception thrown by a task is rethrown here after all participants stop.
  template <class F>
  void parallel_for(int64_t n_tasks, F&& fn, int max_threads = 0) {
    using Fn = std::remove_reference_t<F>;
    run(
        n_tasks, max_threads,
        [](void* ctx, int64_t task, int participant) {
          (*static_cast<Fn*>(ctx))(task, participant);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  using TaskFn = void (*)(void* ctx, int64_t task, int participant);
  struct Job;

  ThreadPool();
  void run(int64_t n_tasks, int max_threads, TaskFn fn, void* ctx);
  void worker_loop(int id);
  void stop_workers();   // requires dispatch_mu_
  void start_workers();  // requires dispatch_mu_
  static void run_tasks(Job& job, int participant);

  std::mutex dispatch_mu_;  // one parallel_for (or resize) at a time
  std::atomic<int> num_threads_;
  bool workers_started_ = false;
  std::vector<std::thread> workers_;

  std::mutex mu_;  // guards job_ and the condition variables' waits
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  // Written under mu_; also read without it by threads that spin before they sleep.
  std::atomic<uint64_t> generation_{0};
  Job* job_ = nullptr;
  std::atomic<int> pending_{0};  // workers still running job_
  std::atomic<bool> stop_{false};
};

// Splits [0, n) into at most one chunk per thread (none smaller than `grain`, except the last)
// and calls fn(begin, end) for each, in parallel.
template <class F>
void parallel_range(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  ThreadPool& pool = ThreadPool::global();
  const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
  const int64_t chunks = std::min<int64_t>(max_chunks, pool.participants(max_chunks));
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  pool.parallel_for(chunks, [&](int64_t c, int) { fn(n * c / chunks, n * (c + 1) / chunks); });
}

}  // namespace convnet

#endif  // CONVNET_CORE_THREAD_POOL_H_
