// RttEstimator: per-peer round-trip estimates that set each call's time-out, as TCP (RFC 6298)
// and the Bamboo DHT do (Rhea et al., "Handling Churn in a DHT", USENIX 2004).
//
// Each key (a peer, or a peer and a kind of call) keeps a smoothed round trip SRTT and its mean
// deviation RTTVAR: on the first sample R, SRTT = R and RTTVAR = R/2; then
// RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| and SRTT = 7/8 SRTT + 1/8 R. The time-out is
// SRTT + 4 RTTVAR, clamped between Options::floor_ms and Options::ceiling_ms. A key not seen yet
// gets Options::initial_ms (TCP's conservative 1 s).
//
// A call that times out gave no sample (the answer never came). It counts as a sample equal to
// the time-out it had (for a key with no estimate yet: the next time-out is twice this one): the
// estimate grows by at most 2x per time-out in a row (a gentler Karn back-off), so a peer that
// is merely slower than its estimate is soon waited for long enough to answer. Time-outs alone
// never take it past Options::max_backoff_ms, so a peer that stays silent (frozen, or dead and
// not yet dropped) costs each call at most that, not the ceiling. Answers bring it back down;
// answers slower than max_backoff_ms raise it up to the ceiling.
//
// The floor keeps a peer whose answers have been very fast (loopback: well under 1 ms) from
// being declared dead by a pause of the scheduler; the ceiling is the fixed call time-out.
//
// Thread-safety: every method is safe from any number of threads at once.
#ifndef CHORD_COMMANDS_RTT_ESTIMATOR_H_
#define CHORD_COMMANDS_RTT_ESTIMATOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace chord {

class RttEstimator {
 public:
  struct Options {
    int floor_ms = 200;         // no time-out shorter than this
    int ceiling_ms = 5000;      // nor longer than this (the fixed call time-out)
    int initial_ms = 1000;      // for a key with no sample yet (at most ceiling_ms)
    int max_backoff_ms = 1000;  // time-outs raise the time-out up to this (within the bounds)
    size_t max_keys = 4096;     // beyond this, the least recently used estimate is forgotten
  };

  explicit RttEstimator(Options options);
  RttEstimator(const RttEstimator&) = delete;
  RttEstimator& operator=(const RttEstimator&) = delete;

  // The time-out for the next call under `key`, in ms.
  int TimeoutMs(const std::string& key) const;
  // An answer under `key` came after `elapsed_us`.
  void Observe(const std::string& key, int64_t elapsed_us);
  // A call under `key` had no answer within `timeout_ms`.
  void ObserveTimeout(const std::string& key, int timeout_ms);

  const Options& options() const { return options_; }

 private:
  struct Estimate {
    double srtt_us = 0;
    double rttvar_us = 0;
    uint64_t used = 0;  // the tick of the last sample, for forgetting the least recently used
  };

  // One round trip under `key`; a new key starts with RTTVAR = first_rttvar_us.
  void Sample(const std::string& key, double rtt_us, double first_rttvar_us);
  int Clamp(double timeout_us) const;

  const Options options_;
  mutable std::mutex mutex_;
  std::map<std::string, Estimate> estimates_;  // guarded by mutex_
  uint64_t tick_ = 0;                          // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_COMMANDS_RTT_ESTIMATOR_H_
