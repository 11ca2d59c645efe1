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
  // Runs `step` every `period`, or less often while it finds nothing to do: a step that returns
  // false (nothing changed) doubles the wait before the next one, up to `max_period`; one that
  // returns true brings it back to `period`. An idle ring then costs little, and a changing one
  // is tended as often as before. Ignored after Start().
  void AddAdaptive(std::string name, std::chrono::milliseconds period,
                   std::chrono::milliseconds max_period, std::function<bool()> step);
  void Start();
  void Stop();

  // The wait after a step of an adaptive task: `period` if it changed something, else twice the
  // last `wait`, at most `max_period`.
  static std::chrono::milliseconds NextWait(std::chrono::milliseconds wait,
                                            std::chrono::milliseconds period,
                                            std::chrono::milliseconds max_period, bool changed);

 private:
  struct Task {
    std::string name;
    std::chrono::milliseconds period;      // the wait after a step that changed something
    std::chrono::milliseconds max_period;  // the longest wait after quiet steps
    std::function<bool()> step;            // true: something changed
    std::chrono::milliseconds wait;        // the wait before the next step
    std::chrono::steady_clock::time_point due;
  };
  void Run();

  std::vector<Task> tasks_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

// Adds Local's stabilize, fix-fingers and check-predecessor steps at the given periods (fix-fingers
// adaptive, up to 8 periods apart while the fingers stay put), and its check-membership step
// (the way back after a partition) at MembershipPeriod(stabilize).
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
