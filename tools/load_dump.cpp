#include "tools/load_dump.h"

#include <chrono>

#include "tools/ring_walk.h"
#include "tools/shell_output.h"

namespace chord {
namespace {

constexpr int kDumpPage = 4096;            // records asked per dht.owned call
constexpr size_t kMaxRingNodes = 1 << 16;  // bound on the ring walk of a dump

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Fail(TransferSummary* summary, const std::string& key, const Status& status) {
  ++summary->failed;
  if (summary->first_errors.size() < TransferSummary::kMaxErrorsKept) {
    summary->first_errors.push_back(key + ": " + status.ToString());
  }
}

// Sets one round of items and counts the outcome.
void SetRound(DhtClient* client, const std::vector<DhtSetItem>& items, TransferSummary* summary) {
  std::vector<Status> results = client->SetMany(items);
  for (size_t i = 0; i < items.size(); ++i) {
    if (results[i].ok()) {
      ++summary->keys;
    } else {
      Fail(summary, items[i].key, results[i]);
    }
  }
}

// Pages through the records `member` owns, writing each as a line.
Status DumpMember(DhtClient* client, const std::string& member, std::ostream& out,
                  TransferSummary* summary, const TransferProgress& progress,
                  std::chrono::steady_clock::time_point start) {
  std::string after;
  while (true) {
    auto page = client->Owned(member, after, kDumpPage);
    if (!page.ok()) return page.status();
    for (const auto& record : page->records) {
      const std::string& value = record.value.bytes;
      if (record.key.find_first_of("\t\n") != std::string::npos ||
          value.find('\n') != std::string::npos) {
        ++summary->skipped;
        continue;
      }
      out << record.key << '\t' << value << '\n';
      ++summary->keys;
      summary->bytes += record.key.size() + value.size() + 2;
    }
    if (!out) return Status::BadArgument("cannot write the output");
    summary->seconds = SecondsSince(start);
    if (progress) progress(*summary);
    if (!page->more || page->records.empty()) return Status::Ok();
    after = page->records.back().key;
  }
}

}  // namespace

Result<TransferSummary> LoadKeys(DhtClient* client, std::istream& in, const LoadOptions& options,
                                 const TransferProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  TransferSummary summary;
  std::vector<DhtSetItem> round;
  round.reserve(options.keys_per_round);
  std::string line;
  uint64_t number = 0;
  auto send = [&] {
    SetRound(client, round, &summary);
    round.clear();
    summary.seconds = SecondsSince(start);
    if (progress) progress(summary);
  };
  while (std::getline(in, line)) {
    ++number;
    summary.bytes += line.size() + 1;
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      Fail(&summary, "line " + std::to_string(number), Status::BadArgument("no tab after the key"));
      continue;
    }
    std::string value = line.substr(tab + 1);
    const bool binary = !shell_internal::TravelsAsString(value);
    round.push_back({line.substr(0, tab), DhtValue{std::move(value), binary}, options.ttl_s});
    if (round.size() >= options.keys_per_round) send();
  }
  if (in.bad()) return Status::BadArgument("cannot read the input");
  if (!round.empty()) send();
  summary.seconds = SecondsSince(start);
  return summary;
}

Result<TransferSummary> DumpKeys(DhtClient* client, Transport* transport, std::ostream& out,
                                 const TransferProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  std::string first;
  auto info = client->Info("", &first);
  if (!info.ok()) return info.status();
  RingWalk walk = WalkRing(transport, first, kMaxRingNodes);
  if (!walk.closed) {
    return Status::Unavailable("the ring walk from " + first +
                               " did not come back (is the ring changing?): " + walk.problem);
  }
  TransferSummary summary;
  for (const RingMember& member : walk.members) {
    Status dumped = DumpMember(client, member.address, out, &summary, progress, start);
    if (!dumped.ok()) {
      return Status(dumped.code(), "dumping the keys of " + member.address + ": " +
                                       dumped.message() + " (the output is incomplete)");
    }
  }
  out.flush();
  summary.seconds = SecondsSince(start);
  return summary;
}

}  // namespace chord
