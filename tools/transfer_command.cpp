#include "tools/transfer_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "tools/load_dump.h"
#include "tools/progress.h"

namespace chord {
namespace {

std::string Rate(const TransferSummary& summary) {
  char text[160];
  const double rate = summary.seconds > 0 ? double(summary.keys) / summary.seconds : 0;
  std::snprintf(text, sizeof(text), "%llu keys in %.1f s (%.0f keys/s)",
                static_cast<unsigned long long>(summary.keys), summary.seconds, rate);
  return text;
}

// "load: 120000 keys, 12.0 of 110.0 MiB (10%), 40000 keys/s, 0 failed"
std::string LoadProgress(const TransferSummary& s, uint64_t total_bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.0f keys/s", s.seconds > 0 ? double(s.keys) / s.seconds : 0);
  return "load: " + std::to_string(s.keys) + " keys, " + ProgressLine::Bytes(s.bytes, total_bytes) +
         ", " + text + ", " + std::to_string(s.failed) + " failed";
}

int Load(const std::string& path, DhtClient* client, std::ostream& out, std::ostream& err,
         ProgressLine* line) {
  std::ifstream file;
  uint64_t total = 0;
  if (path != "-") {
    file.open(path, std::ios::binary | std::ios::ate);
    if (!file) {
      err << "chord: cannot read " << path << "\n";
      return 2;
    }
    total = uint64_t(file.tellg());
    file.seekg(0);
  }
  std::istream& in = path == "-" ? std::cin : file;
  auto summary = LoadKeys(client, in, LoadOptions{},
                          [&](const TransferSummary& s) { line->Show(LoadProgress(s, total)); });
  line->Done();
  if (!summary.ok()) {
    err << "chord: load: " << summary.status().message() << "\n";
    return 2;
  }
  out << "loaded " << Rate(summary.value()) << ", " << summary->failed << " failed\n";
  for (const std::string& error : summary->first_errors) err << "  failed: " << error << "\n";
  return summary->failed > 0 ? 1 : 0;
}

int Dump(Transport* transport, DhtClient* client, std::ostream& out, std::ostream& err,
         ProgressLine* line) {
  auto summary = DumpKeys(client, transport, out, [&](const TransferSummary& s) {
    line->Show("dump: " + std::to_string(s.keys) + " keys, " + ProgressLine::Bytes(s.bytes, 0));
  });
  line->Done();
  if (!summary.ok()) {
    err << "chord: dump: " << summary.status().message() << "\n";
    return 2;
  }
  err << "dumped " << Rate(summary.value());
  if (summary->skipped) err << ", " << summary->skipped << " skipped (newline or tab in them)";
  err << "\n";
  return 0;
}

}  // namespace

bool IsTransferCommand(const std::vector<std::string>& words) {
  return !words.empty() && (words[0] == "load" || words[0] == "dump");
}

int RunTransferCommand(const std::vector<std::string>& words, Transport* transport,
                       DhtClient* client, std::ostream& out, std::ostream& err,
                       std::ostream& progress_out, bool show_progress) {
  ProgressLine line(progress_out, show_progress);
  if (words[0] == "load") {
    if (words.size() != 2) {
      err << "chord: usage: chord load DATAFILE (lines key<TAB>value; - for standard input)\n";
      return 2;
    }
    return Load(words[1], client, out, err, &line);
  }
  if (words.size() != 1) {
    err << "chord: usage: chord dump (writes key<TAB>value lines to standard output)\n";
    return 2;
  }
  return Dump(transport, client, out, err, &line);
}

}  // namespace chord
