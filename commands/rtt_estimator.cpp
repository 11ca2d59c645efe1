#include "commands/rtt_estimator.h"

#include <algorithm>
#include <cmath>

namespace chord {

RttEstimator::RttEstimator(Options options) : options_(options) {}

int RttEstimator::Clamp(double timeout_us) const {
  const double ms = std::ceil(timeout_us / 1000.0);
  return static_cast<int>(
      std::min<double>(options_.ceiling_ms, std::max<double>(options_.floor_ms, ms)));
}

int RttEstimator::TimeoutMs(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = estimates_.find(key);
  if (it == estimates_.end()) return std::min(options_.initial_ms, options_.ceiling_ms);
  return Clamp(it->second.srtt_us + 4 * it->second.rttvar_us);
}

void RttEstimator::Observe(const std::string& key, int64_t elapsed_us) {
  const double rtt_us = static_cast<double>(std::max<int64_t>(elapsed_us, 0));
  Sample(key, rtt_us, rtt_us / 2);
}

void RttEstimator::ObserveTimeout(const std::string& key, int timeout_ms) {
  const double cap_us = 1000.0 * std::max(options_.max_backoff_ms, options_.floor_ms);
  const double rtt_us = 1000.0 * std::max(timeout_ms, 0);
  if (rtt_us >= cap_us) return;  // already waiting as long as time-outs may make it
  // A first silent call doubles the wait for the next one (SRTT + 4 * SRTT/4), as TCP's first
  // back-off does, rather than the tripling a first real sample would give.
  Sample(key, rtt_us, rtt_us / 4);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = estimates_.find(key);
  if (it == estimates_.end()) return;
  Estimate& e = it->second;
  if (e.srtt_us + 4 * e.rttvar_us > cap_us) e.rttvar_us = std::max(0.0, (cap_us - e.srtt_us) / 4);
}

void RttEstimator::Sample(const std::string& key, double rtt_us, double first_rttvar_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = estimates_.find(key);
  if (found == estimates_.end()) {
    if (estimates_.size() >= options_.max_keys && !estimates_.empty()) {
      auto oldest = std::min_element(
          estimates_.begin(), estimates_.end(),
          [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      estimates_.erase(oldest);
    }
    Estimate first;
    first.srtt_us = rtt_us;
    first.rttvar_us = first_rttvar_us;
    first.used = ++tick_;
    estimates_.emplace(key, first);
    return;
  }
  Estimate& e = found->second;
  e.rttvar_us = 0.75 * e.rttvar_us + 0.25 * std::fabs(e.srtt_us - rtt_us);
  e.srtt_us = 0.875 * e.srtt_us + 0.125 * rtt_us;
  e.used = ++tick_;
}

}  // namespace chord
