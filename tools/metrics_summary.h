// The per-command figures of a node's metrics text (GET /metrics, chord.metrics), summed over
// nodes, for `chord stats`.
//
// Thread-safety: stateless functions and a plain value type.
#ifndef CHORD_TOOLS_METRICS_SUMMARY_H_
#define CHORD_TOOLS_METRICS_SUMMARY_H_

#include <cstdint>
#include <map>
#include <string>

namespace chord {

struct CommandFigures {
  uint64_t calls = 0;
  uint64_t faults = 0;
  double seconds = 0;  // summed latency
};

// Adds the chord_calls_total, chord_call_faults_total and chord_call_duration_seconds_sum
// samples of `text` (Prometheus text format) into *figures, by command. Lines it does not know
// are skipped.
void AddCallFigures(const std::string& text, std::map<std::string, CommandFigures>* figures);

}  // namespace chord

#endif  // CHORD_TOOLS_METRICS_SUMMARY_H_
