#include "commands/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <csignal>

#include "commands/logger_before_threads.h"

namespace chord {

WorkerPool::WorkerPool(std::string name, int min_threads, int max_threads)
    : name_(std::move(name)),
      min_threads_(std::max(1, min_threads)),
      max_threads_(std::max(std::max(1, min_threads), max_threads)) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_) return;
  running_ = true;
  for (int i = 0; i < min_threads_; ++i) StartThread();
}

void WorkerPool::StartThread() {
  CreateLoggerBeforeThreads();
  ++stats_.threads_started;
  threads_.emplace_back([this] { Run(); });
  pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
}

void WorkerPool::Submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!running_) return;
  queue_.push_back(std::move(job));
  // Every waiting job needs an idle thread, or a new one while the pool may still grow.
  if (idle_ < int(queue_.size()) && int(threads_.size()) < max_threads_) {
    StartThread();
  } else {
    work_.notify_one();
  }
}

void WorkerPool::Run() {
  // Writing to a peer that hung up must fail with EPIPE, never kill the process.
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    ++idle_;
    work_.wait(lock, [this] { return !running_ || !queue_.empty(); });
    --idle_;
    if (!running_) return;
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // whatever the job holds is released outside the lock
    lock.lock();
    ++stats_.jobs;
  }
}

WorkerPool::Stats WorkerPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats stats = stats_;
  stats.threads = int(threads_.size());
  stats.busy = int(threads_.size()) - idle_;
  return stats;
}

void WorkerPool::Stop() {
  std::vector<std::thread> threads;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    threads.swap(threads_);
    dropped.swap(queue_);
  }
  work_.notify_all();
  for (auto& thread : threads) thread.join();
  // `dropped` goes out of scope here, outside the lock.
}

}  // namespace chord
