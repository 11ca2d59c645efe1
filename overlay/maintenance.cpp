#include "overlay/maintenance.h"

#include <algorithm>
#include <boost/log/trivial.hpp>

#include "commands/logger_before_threads.h"
#include "overlay/local.h"

namespace chord {

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Add(std::string name, std::chrono::milliseconds period,
                      std::function<void()> step) {
  AddAdaptive(std::move(name), period, period, [step = std::move(step)] {
    step();
    return true;
  });
}

void Maintenance::AddAdaptive(std::string name, std::chrono::milliseconds period,
                              std::chrono::milliseconds max_period, std::function<bool()> step) {
  if (thread_.joinable()) return;
  tasks_.push_back(
      {std::move(name), period, std::max(period, max_period), std::move(step), period, {}});
}

void Maintenance::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  auto now = std::chrono::steady_clock::now();
  for (auto& task : tasks_) {
    task.wait = task.period;
    task.due = now + task.period;
  }
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
      bool changed = true;
      try {
        changed = task.step();
      } catch (const std::exception& e) {
        BOOST_LOG_TRIVIAL(error) << "maintenance step " << task.name << " failed: " << e.what();
      }
      lock.lock();
      task.wait = NextWait(task.wait, task.period, task.max_period, changed);
      task.due = std::chrono::steady_clock::now() + task.wait;
      if (stopping_) break;
    }
  }
}

std::chrono::milliseconds Maintenance::NextWait(std::chrono::milliseconds wait,
                                                std::chrono::milliseconds period,
                                                std::chrono::milliseconds max_period,
                                                bool changed) {
  return changed ? period : std::clamp(wait * 2, period, std::max(period, max_period));
}

void AddOverlayMaintenance(Maintenance* maintenance, Local* local,
                           std::chrono::milliseconds stabilize,
                           std::chrono::milliseconds fix_fingers,
                           std::chrono::milliseconds check_predecessor) {
  maintenance->Add("stabilize", stabilize, [local] {
    if (local->joined()) local->Stabilize();
  });
  // Fingers only speed lookups up (successors keep them correct), so a ring whose fingers stay
  // put is checked less often: up to 8 periods apart.
  maintenance->AddAdaptive("fix_fingers", fix_fingers, 8 * fix_fingers, [local] {
    if (!local->joined()) return false;
    local->MarkFingers();
    const bool failed = !local->FixFingers().ok();
    const bool changed = local->FingersChangedSinceMark();  // ends the watch either way
    return failed || changed;  // a failure means something is wrong: look again soon
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
