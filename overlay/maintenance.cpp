#include "overlay/maintenance.h"

#include <algorithm>
#include <boost/log/trivial.hpp>

#include "commands/logger_before_threads.h"
#include "overlay/local.h"

namespace chord {

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Add(std::string name, std::chrono::milliseconds period,
                      std::function<void()> step) {
  if (thread_.joinable()) return;
  tasks_.push_back({std::move(name), period, std::move(step), {}});
}

void Maintenance::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  auto now = std::chrono::steady_clock::now();
  for (auto& task : tasks_) task.due = now + task.period;
  CreateLoggerBeforeThreads();
  thread_ = std::thread([this] { Run(); });
}

void Maintenance::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Maintenance::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.wait(lock, [this] { return stopping_; });
      break;
    }
    auto next = tasks_.front().due;
    for (const auto& task : tasks_) next = std::min(next, task.due);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    auto now = std::chrono::steady_clock::now();
    for (auto& task : tasks_) {
      if (task.due > now) continue;
      lock.unlock();
      try {
        task.step();
      } catch (const std::exception& e) {
        BOOST_LOG_TRIVIAL(error) << "maintenance step " << task.name << " failed: " << e.what();
      }
      lock.lock();
      task.due = std::chrono::steady_clock::now() + task.period;
      if (stopping_) break;
    }
  }
}

void AddOverlayMaintenance(Maintenance* maintenance, Local* local,
                           std::chrono::milliseconds stabilize,
                           std::chrono::milliseconds fix_fingers,
                           std::chrono::milliseconds check_predecessor) {
  maintenance->Add("stabilize", stabilize, [local] {
    if (local->joined()) local->Stabilize();
  });
  maintenance->Add("fix_fingers", fix_fingers, [local] {
    if (local->joined()) local->FixFingers();
  });
  maintenance->Add("check_predecessor", check_predecessor, [local] {
    if (local->joined()) local->CheckPredecessor();
  });
  maintenance->Add("check_membership", MembershipPeriod(stabilize), [local] {
    if (local->joined()) local->CheckMembership();
  });
}

std::chrono::milliseconds MembershipPeriod(std::chrono::milliseconds stabilize) {
  using std::chrono::milliseconds;
  return std::clamp(stabilize * 10, milliseconds(1000), milliseconds(10000));
}

}  // namespace chord
