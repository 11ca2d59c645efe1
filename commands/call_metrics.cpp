#include "commands/call_metrics.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace chord {

void CallMetrics::Record(const std::string& command, ErrorCode code, double seconds) {
  const size_t bucket =
      size_t(std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  PerCommand& counters = commands_[command];
  ++counters.calls;
  if (code != ErrorCode::kOk) ++counters.faults[code];
  if (bucket < kBuckets.size()) ++counters.buckets[bucket];
  counters.seconds += seconds;
}

std::string PrometheusLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void WriteMetric(std::ostream& out, const char* name, const char* type, const char* help,
                 int64_t value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << value << "\n";
}

void CallMetrics::Write(std::ostream& out) const {
  std::map<std::string, PerCommand> commands;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands = commands_;
  }
  std::ostringstream text;
  text << std::setprecision(9);
  text << "# HELP chord_calls_total Calls answered, by command.\n"
          "# TYPE chord_calls_total counter\n";
  for (const auto& [name, c] : commands) {
    text << "chord_calls_total{command=\"" << PrometheusLabel(name) << "\"} " << c.calls << "\n";
  }
  text << "# HELP chord_call_faults_total Calls answered with a fault, by command and code.\n"
          "# TYPE chord_call_faults_total counter\n";
  for (const auto& [name, c] : commands) {
    for (const auto& [code, count] : c.faults) {
      text << "chord_call_faults_total{command=\"" << PrometheusLabel(name) << "\",code=\""
           << ErrorCodeName(code) << "\"} " << count << "\n";
    }
  }
  text << "# HELP chord_call_duration_seconds Time from a request's arrival to its answer.\n"
          "# TYPE chord_call_duration_seconds histogram\n";
  for (const auto& [name, c] : commands) {
    const std::string label = "command=\"" + PrometheusLabel(name) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += c.buckets[i];
      text << "chord_call_duration_seconds_bucket{" << label << ",le=\"" << kBuckets[i] << "\"} "
           << cumulative << "\n";
    }
    text << "chord_call_duration_seconds_bucket{" << label << ",le=\"+Inf\"} " << c.calls << "\n"
         << "chord_call_duration_seconds_sum{" << label << "} " << c.seconds << "\n"
         << "chord_call_duration_seconds_count{" << label << "} " << c.calls << "\n";
  }
  out << text.str();
}

}  // namespace chord
