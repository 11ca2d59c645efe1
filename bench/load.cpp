#include "bench/load.h"

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

namespace chord_bench {
namespace {

using Clock = std::chrono::steady_clock;

// One client thread's share of the results.
struct Share {
  std::vector<double> latencies_ms;
  long hops = 0;
  int failures = 0;
  std::string first_error;
};

// While alive, rewrites "label done/count" on stderr every 100 ms (when enabled); clears the
// line when destroyed, so that what follows on the terminal starts on a clean line.
class ProgressLine {
 public:
  ProgressLine(const Load& load, const std::atomic<int>* done) : load_(load), done_(done) {
    if (load.progress) thread_ = std::thread([this] { Run(); });
  }
  ~ProgressLine() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::cerr << '\r' << std::string(width_, ' ') << '\r' << std::flush;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      std::string line =
          load_.label + " " + std::to_string(done_->load()) + "/" + std::to_string(load_.count);
      width_ = std::max(width_, line.size());
      std::cerr << '\r' << line << std::flush;
    }
  }

  const Load& load_;
  const std::atomic<int>* done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  size_t width_ = 0;   // of the longest line written (written by the thread, read after join)
  std::thread thread_;
};

// One client thread: takes operations until none is left or the deadline has passed.
void Client(chord::DhtClient* client, const Load& load, int t, Clock::time_point end,
            std::atomic<int>* next, std::atomic<int>* done, Share* share) {
  std::mt19937 random(1234 + t);
  for (int i = (*next)++; i < load.count && Clock::now() < end; i = (*next)++) {
    const std::string& node = load.targets[random() % load.targets.size()];
    auto begin = Clock::now();
    auto answer = load.operation(client, node, load.first + i);
    share->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    ++*done;
    if (answer.ok()) {
      share->hops += answer.value();
    } else if (share->failures++ == 0) {
      share->first_error = answer.status().ToString();
    }
  }
}

void Merge(const Share& share, LoadResult* result) {
  result->latencies_ms.insert(result->latencies_ms.end(), share.latencies_ms.begin(),
                              share.latencies_ms.end());
  result->succeeded += int(share.latencies_ms.size()) - share.failures;
  result->hops += share.hops;
  result->failures += share.failures;
  if (result->first_error.empty()) result->first_error = share.first_error;
}

}  // namespace

LoadResult RunLoad(const std::vector<std::unique_ptr<chord::DhtClient>>& clients,
                   const Load& load) {
  std::atomic<int> next{0}, done{0};
  std::vector<Share> shares(size_t(load.threads));
  auto start = Clock::now();
  double seconds = 0;
  {
    ProgressLine progress(load, &done);
    std::vector<std::thread> threads;
    for (int t = 0; t < load.threads; ++t) {
      threads.emplace_back(Client, clients[size_t(t)].get(), std::cref(load), t,
                           start + load.deadline, &next, &done, &shares[size_t(t)]);
    }
    for (auto& thread : threads) thread.join();
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }  // clears the progress line
  LoadResult result;
  result.seconds = seconds;
  for (const auto& share : shares) Merge(share, &result);
  if (int skipped = load.count - done.load(); skipped > 0) {
    result.failures += skipped;
    if (!result.first_error.empty()) result.first_error += "; ";
    result.first_error += "phase deadline passed: " + std::to_string(skipped) + " of " +
                          std::to_string(load.count) + " operations not run";
  }
  return result;
}

}  // namespace chord_bench
