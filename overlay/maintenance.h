// Maintenance: the one background thread that runs a node's periodic steps.
//
// It only schedules: each task is a bounded step method (Local::Stabilize, a DHT repair step,
// ...) called every `period`. Tests call the same steps directly instead of starting it.
//
// Thread-safety: Add() before Start(); Start() and Stop() from the owning thread. Stop() is
// idempotent, wakes the thread at once and joins it; the destructor calls Stop().
#ifndef CHORD_OVERLAY_MAINTENANCE_H_
#define CHORD_OVERLAY_MAINTENANCE_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chord {

class Local;

class Maintenance {
 public:
  Maintenance() = default;
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Runs `step` every `period` once started. Ignored after Start().
  void Add(std::string name, std::chrono::milliseconds period, std::function<void()> step);
  void Start();
  void Stop();

 private:
  struct Task {
    std::string name;
    std::chrono::milliseconds period;
    std::function<void()> step;
    std::chrono::steady_clock::time_point due;
  };
  void Run();

  std::vector<Task> tasks_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

// Adds Local's stabilize, fix-fingers and check-predecessor steps at the given periods, and its
// check-membership step (the way back after a partition) at MembershipPeriod(stabilize).
void AddOverlayMaintenance(Maintenance* maintenance, Local* local,
                           std::chrono::milliseconds stabilize,
                           std::chrono::milliseconds fix_fingers,
                           std::chrono::milliseconds check_predecessor);

// Ten stabilize periods, within 1..10 s: often enough that a healed partition closes within
// seconds, rarely enough that its one call (to a member that may be cut off, so a time-out)
// costs the ring nothing.
std::chrono::milliseconds MembershipPeriod(std::chrono::milliseconds stabilize);

}  // namespace chord

#endif  // CHORD_OVERLAY_MAINTENANCE_H_
