// CallMetrics: what a server counts per command for GET /metrics (Prometheus text format):
// calls, faults by code, and a latency histogram.
//
// Commands are labelled by name. Only names the caller vouches for (registered commands) should
// be recorded as themselves: a client could otherwise grow the table without bound by calling
// made-up names; the server records those under kUnknownCommand.
//
// Thread-safety: Record and Write may be called from any thread at once (one mutex, held only
// to update or copy counters). Lifetime: owned by the server.
#ifndef CHORD_COMMANDS_CALL_METRICS_H_
#define CHORD_COMMANDS_CALL_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

#include "commands/status.h"

namespace chord {

class CallMetrics {
 public:
  // The label of calls to names that are not registered commands.
  static constexpr const char* kUnknownCommand = "(unknown)";
  // Upper bounds of the latency buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  void Record(const std::string& command, ErrorCode code, double seconds);
  // chord_calls_total, chord_call_faults_total and chord_call_duration_seconds, with their
  // HELP and TYPE lines.
  void Write(std::ostream& out) const;

 private:
  struct PerCommand {
    uint64_t calls = 0;
    std::map<ErrorCode, uint64_t> faults;
    std::array<uint64_t, kBuckets.size()> buckets{};  // not cumulative: one bucket per call
    double seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, PerCommand> commands_;  // guarded by mutex_
};

// A Prometheus label value: backslash, double quote and newline escaped.
std::string PrometheusLabel(const std::string& value);

// One metric of a single unlabelled sample, with its HELP and TYPE lines. `type` is "counter"
// or "gauge".
void WriteMetric(std::ostream& out, const char* name, const char* type, const char* help,
                 int64_t value);

}  // namespace chord

#endif  // CHORD_COMMANDS_CALL_METRICS_H_
