#include "bench/counters.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace chord_bench {

constexpr size_t kSnapshotThreads = 32;  // nodes asked at once

Snapshot TakeSnapshot(chord::Transport* transport, const std::vector<std::string>& members) {
  Snapshot snapshot;
  snapshot.nodes.resize(members.size());
  const chord::ChordStub stub(transport, 0);
  std::atomic<size_t> next{0};
  auto ask = [&] {
    for (size_t i = next++; i < members.size(); i = next++) {
      auto stats = stub.Stats(members[i]);
      if (stats.ok()) snapshot.nodes[i] = stats.value();
    }
  };
  // Every node at about the same time, so that the window is the same for all of them.
  snapshot.taken = std::chrono::steady_clock::now();
  std::vector<std::thread> askers;
  for (size_t t = 0; t < std::min(members.size(), kSnapshotThreads); ++t) askers.emplace_back(ask);
  for (auto& asker : askers) asker.join();
  return snapshot;
}

std::optional<Served> ServedBetween(const Snapshot& before, const Snapshot& after) {
  Served served;
  for (size_t i = 0; i < before.nodes.size() && i < after.nodes.size(); ++i) {
    if (!before.nodes[i] || !after.nodes[i]) return std::nullopt;
    const chord::NodeStats& b = *before.nodes[i];
    const chord::NodeStats& a = *after.nodes[i];
    served.calls += double(a.calls_served - b.calls_served - 1);
    served.connections_accepted += double(a.connections_accepted - b.connections_accepted);
    served.threads_started += double(a.server_threads_started - b.server_threads_started);
  }
  served.seconds = std::chrono::duration<double>(after.taken - before.taken).count();
  return served;
}

std::optional<double> BackgroundRate(const Snapshot& before, const Snapshot& after) {
  auto served = ServedBetween(before, after);
  if (!served || served->seconds <= 0) return std::nullopt;
  return std::max(0.0, served->calls / served->seconds);
}

}  // namespace chord_bench
