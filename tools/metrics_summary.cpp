#include "tools/metrics_summary.h"

#include <cstdlib>
#include <sstream>

namespace chord {
namespace {

// The value of label `command` in a sample line (its escapes undone); false if it has none.
bool CommandLabel(const std::string& line, std::string* command) {
  static const std::string kLabel = "command=\"";
  size_t at = line.find(kLabel);
  if (at == std::string::npos) return false;
  command->clear();
  for (size_t i = at + kLabel.size(); i < line.size(); ++i) {
    if (line[i] == '"') return true;
    if (line[i] == '\\' && i + 1 < line.size()) {
      ++i;
      *command += line[i] == 'n' ? '\n' : line[i];
      continue;
    }
    *command += line[i];
  }
  return false;
}

double SampleValue(const std::string& line) {
  size_t space = line.rfind(' ');
  return space == std::string::npos ? 0 : std::strtod(line.c_str() + space + 1, nullptr);
}

}  // namespace

void AddCallFigures(const std::string& text, std::map<std::string, CommandFigures>* figures) {
  std::istringstream in(text);
  std::string line, command;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || !CommandLabel(line, &command)) continue;
    if (line.rfind("chord_calls_total{", 0) == 0) {
      (*figures)[command].calls += uint64_t(SampleValue(line));
    } else if (line.rfind("chord_call_faults_total{", 0) == 0) {
      (*figures)[command].faults += uint64_t(SampleValue(line));
    } else if (line.rfind("chord_call_duration_seconds_sum{", 0) == 0) {
      (*figures)[command].seconds += SampleValue(line);
    }
  }
}

}  // namespace chord
