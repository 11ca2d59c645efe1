// WorkerPool: runs jobs on a set of threads that grows with the load and is kept until Stop().
//
// Jobs may block (a command handler that calls other nodes), so a job never waits for a busy
// pool to free up while it can still grow: Submit() starts one more thread when no thread is
// idle, up to max_threads; beyond that jobs queue. Threads are not ended while the pool runs, so
// a steady load starts no thread at all (stats().threads_started stays put).
//
// Thread-safety: Submit() and stats() from any thread, Start() and Stop() from the owner.
// Lifetime: Stop() (idempotent, also run by the destructor) drops the jobs still queued, waits
// for the running ones to return and joins every thread. Submit() after Stop() drops the job.
#ifndef CHORD_COMMANDS_WORKER_POOL_H_
#define CHORD_COMMANDS_WORKER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chord {

class WorkerPool {
 public:
  struct Stats {
    uint64_t jobs = 0;             // jobs run to their end
    uint64_t threads_started = 0;  // Start()'s threads included
    int threads = 0;
    int busy = 0;  // threads running a job now
  };

  // `name` is given to the threads (as seen by top -H); at most 15 characters are kept.
  WorkerPool(std::string name, int min_threads, int max_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();  // starts min_threads threads
  void Stop();
  void Submit(std::function<void()> job);
  Stats stats() const;

 private:
  void StartThread();  // with mutex_ held
  void Run();

  const std::string name_;
  const int min_threads_;
  const int max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  std::vector<std::thread> threads_;         // guarded by mutex_
  int idle_ = 0;                             // guarded by mutex_
  bool running_ = false;                     // guarded by mutex_
  Stats stats_;                              // guarded by mutex_ (threads, busy computed)
};

}  // namespace chord

#endif  // CHORD_COMMANDS_WORKER_POOL_H_
