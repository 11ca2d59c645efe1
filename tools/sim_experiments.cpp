#include "tools/sim_experiments.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "dht/dht.h"
#include "tools/simulation.h"

namespace chord {

namespace {

constexpr int kIdBits = 160;

void Tell(const ExperimentProgress& progress, const std::string& message) {
  if (progress) progress(message);
}

// Nearest rank: the smallest value at or above `q` of the sorted sample.
double Rank(const std::vector<double>& sorted, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

// Expands a histogram (value -> count) into a sample.
std::vector<double> Sample(const std::map<int, int>& histogram) {
  std::vector<double> sample;
  for (const auto& [value, count] : histogram) sample.insert(sample.end(), count, value);
  return sample;
}

OverlayOptions Overlay(int successors) {
  OverlayOptions options;
  options.id_bits = kIdBits;
  options.successors = successors;
  return options;
}

// Grows `sim` to `count` live nodes by JoinSettled. False if a join failed.
bool GrowSettled(Simulation* sim, int count, const ExperimentProgress& progress) {
  // live_count() sorts the whole ring: once, not per join.
  for (int live = sim->live_count(); live < count; ++live) {
    if (sim->JoinSettled() == nullptr) return false;
    if ((live + 1) % 1000 == 0) {
      Tell(progress, "joined " + std::to_string(live + 1) + "/" + std::to_string(count));
    }
  }
  return true;
}

// The ids in ring order and, for each, the index of what it stands for.
using Ring = std::vector<std::pair<Id, int>>;

// Index in `ring` (sorted) of the successor of `id`.
size_t SuccessorIndex(const Ring& ring, const Id& id) {
  auto at = std::lower_bound(
      ring.begin(), ring.end(), id,
      [](const std::pair<Id, int>& entry, const Id& key) { return entry.first < key; });
  return at == ring.end() ? 0 : static_cast<size_t>(at - ring.begin());
}

// Keys of `keys` (sorted) in (after, upto] on the circle.
int KeysBetween(const std::vector<Id>& keys, const Id& after, const Id& upto) {
  auto count = [&](const Id& low, const Id& high) {  // in (low, high], low < high
    return static_cast<int>(std::upper_bound(keys.begin(), keys.end(), high) -
                            std::upper_bound(keys.begin(), keys.end(), low));
  };
  if (after < upto) return count(after, upto);
  // Wraps past zero: (after, max] and [0, upto].
  return static_cast<int>(keys.end() - std::upper_bound(keys.begin(), keys.end(), after)) +
         static_cast<int>(std::upper_bound(keys.begin(), keys.end(), upto) - keys.begin());
}

std::vector<Id> SortedKeyIds(int count, const std::string& prefix) {
  std::vector<Id> keys;
  keys.reserve(count);
  for (int k = 0; k < count; ++k) keys.push_back(Id::Hash(prefix + std::to_string(k), kIdBits));
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The live id just before `id` in `ring` (sorted, without `id`).
const Id& PredecessorIn(const Ring& ring, const Id& id) {
  const size_t next = SuccessorIndex(ring, id);
  return ring[next == 0 ? ring.size() - 1 : next - 1].first;
}

KeysMovedRun MovedByOwnership(const KeysMovedOptions& options) {
  KeysMovedRun run;
  run.method = "ownership";
  run.nodes = options.nodes;
  run.keys = options.keys;
  const std::string seed = std::to_string(options.seed);
  const std::vector<Id> keys = SortedKeyIds(options.keys, "key-" + seed + "-");
  Ring ring;
  for (int i = 0; i < options.nodes; ++i) {
    ring.emplace_back(Id::Hash("node-" + seed + "-" + std::to_string(i), kIdBits), i);
  }
  std::sort(ring.begin(), ring.end());
  for (int j = 0; j < options.joins; ++j) {
    const Id id = Id::Hash("joiner-" + seed + "-" + std::to_string(j), kIdBits);
    // Exactly the keys in (predecessor, newcomer] change owner: from the successor to it.
    const double moved = KeysBetween(keys, PredecessorIn(ring, id), id);
    ring.insert(ring.begin() + SuccessorIndex(ring, id), {id, options.nodes + j});
    run.moved.push_back(moved);
    run.exact.push_back(moved);
    run.expected.push_back(double(options.keys) / ring.size());
  }
  return run;
}

uint64_t RecordsReceived(const Simulation& sim) {
  uint64_t total = 0;
  for (const auto& node : sim.nodes()) {
    if (node->dht) total += node->dht->counters().records_received;
  }
  return total;
}

Result<KeysMovedRun> MovedByDht(const KeysMovedOptions& options,
                                const ExperimentProgress& progress) {
  KeysMovedRun run;
  run.method = "dht";
  run.nodes = options.dht_nodes;
  run.keys = options.dht_keys;
  DhtOptions dht;
  dht.replicas = 1;  // ownership only: every record received is a key changing owner
  Simulation sim(Overlay(8), options.seed, /*with_dht=*/true, dht);
  if (!GrowSettled(&sim, options.dht_nodes, progress)) {
    return Status::Internal("a join failed while building the DHT ring");
  }
  sim.FixAllFingers();
  std::vector<Id> key_ids;
  const auto live = sim.Sorted();
  for (int k = 0; k < options.dht_keys; ++k) {
    const std::string key = "key-" + std::to_string(k);
    auto written = live[sim.random()() % live.size()]->dht->Set(key, DhtValue{"v", false});
    if (!written.ok())
      return Status::Internal("write of " + key + ": " + written.status().message());
    key_ids.push_back(Id::Hash(key, kIdBits));
  }
  std::sort(key_ids.begin(), key_ids.end());
  // Let the ring's repair find nothing to do before counting.
  for (int round = 0; round < options.settle_rounds; ++round) sim.StabilizeRound();
  for (int j = 0; j < options.dht_joins; ++j) {
    Ring ring;
    for (Simulation::Node* node : sim.Sorted()) ring.emplace_back(node->local->self().id, 0);
    const uint64_t before = RecordsReceived(sim);
    Simulation::Node* node = sim.JoinSettled();
    if (node == nullptr) return Status::Internal("a join failed");
    for (int round = 0; round < options.settle_rounds; ++round) sim.StabilizeRound();
    if (!sim.CheckRing().empty()) return Status::Internal("ring not correct: " + sim.CheckRing());
    const Id& id = node->local->self().id;
    run.moved.push_back(double(RecordsReceived(sim) - before));
    run.exact.push_back(KeysBetween(key_ids, PredecessorIn(ring, id), id));
    run.expected.push_back(double(options.dht_keys) / sim.live_count());
    Tell(progress, "DHT join " + std::to_string(j + 1) + "/" + std::to_string(options.dht_joins));
  }
  return run;
}

}  // namespace

Spread SpreadOf(std::vector<double> sample) {
  Spread spread;
  if (sample.empty()) return spread;
  std::sort(sample.begin(), sample.end());
  double total = 0;
  for (double value : sample) total += value;
  spread.mean = total / sample.size();
  spread.p1 = Rank(sample, 0.01);
  spread.p99 = Rank(sample, 0.99);
  spread.max = sample.back();
  return spread;
}

Result<std::vector<PathLengthRow>> RunPathLength(const PathLengthOptions& options,
                                                 const ExperimentProgress& progress) {
  std::vector<PathLengthRow> rows;
  Simulation sim(Overlay(options.successors), options.seed);
  for (int log2 = options.min_log2; log2 <= options.max_log2; ++log2) {
    const int nodes = 1 << log2;
    if (!GrowSettled(&sim, nodes, progress)) {
      return Status::Internal("a join failed at " + std::to_string(sim.live_count()) + " nodes");
    }
    if (std::string error = sim.CheckRing(); !error.empty()) {
      return Status::Internal(std::to_string(nodes) + " nodes: ring not correct: " + error);
    }
    Tell(progress, "fixing fingers of " + std::to_string(nodes) + " nodes");
    sim.FixAllFingers();
    Tell(progress, "lookups on " + std::to_string(nodes) + " nodes");
    LookupStats stats = sim.RunLookups(options.lookups);
    PathLengthRow row;
    row.nodes = nodes;
    row.lookups = stats.lookups;
    row.hops = SpreadOf(Sample(stats.hops));
    row.correct = stats.lookups ? double(stats.correct) / stats.lookups : 0;
    rows.push_back(row);
  }
  return rows;
}

std::vector<KeysPerNodeRow> RunKeysPerNode(const KeysPerNodeOptions& options,
                                           const ExperimentProgress& progress) {
  const std::string seed = std::to_string(options.seed);
  const int key_count = options.processes * options.keys_per_process;
  Tell(progress, "hashing " + std::to_string(key_count) + " keys");
  const std::vector<Id> keys = SortedKeyIds(key_count, "key-" + seed + "-");
  std::vector<KeysPerNodeRow> rows;
  for (int v : options.virtual_nodes) {
    Tell(progress, std::to_string(v) + " virtual nodes per process");
    Ring ring;
    ring.reserve(size_t(options.processes) * v);
    for (int p = 0; p < options.processes; ++p) {
      const std::string address = "proc-" + seed + "-" + std::to_string(p) + "#";
      for (int j = 0; j < v; ++j)
        ring.emplace_back(Id::Hash(address + std::to_string(j), kIdBits), p);
    }
    std::sort(ring.begin(), ring.end());
    std::vector<double> per_process(options.processes, 0);
    // Keys and ids both sorted: one merge walk gives every key's successor id.
    size_t at = 0;
    for (const Id& key : keys) {
      while (at < ring.size() && ring[at].first < key) ++at;
      ++per_process[ring[at == ring.size() ? 0 : at].second];
    }
    KeysPerNodeRow row;
    row.virtual_nodes = v;
    row.processes = options.processes;
    row.keys = key_count;
    row.keys_per_process = SpreadOf(std::move(per_process));
    rows.push_back(row);
  }
  return rows;
}

Result<std::vector<FailureRow>> RunFailures(const FailureOptions& options,
                                            const ExperimentProgress& progress) {
  std::vector<FailureRow> rows;
  for (size_t i = 0; i < options.fractions.size(); ++i) {
    const double fraction = options.fractions[i];
    Simulation sim(Overlay(options.successors), options.seed + i);
    Tell(progress, "p = " + std::to_string(fraction) + ": building the ring");
    if (!GrowSettled(&sim, options.nodes, progress)) return Status::Internal("a join failed");
    if (std::string error = sim.CheckRing(); !error.empty()) {
      return Status::Internal("ring not correct before the crash: " + error);
    }
    sim.FixAllFingers();
    sim.Crash(static_cast<int>(std::lround(fraction * options.nodes)));
    Tell(progress, "p = " + std::to_string(fraction) + ": lookups");
    LookupStats stats = sim.RunLookups(options.lookups);
    FailureRow row;
    row.fraction = fraction;
    row.live = sim.live_count();
    row.lookups = stats.lookups;
    row.failed = stats.lookups - stats.correct;
    row.timeouts = SpreadOf(Sample(stats.timeouts));
    row.hops = SpreadOf(Sample(stats.hops));
    rows.push_back(row);
  }
  return rows;
}

Result<std::vector<KeysMovedRun>> RunKeysMoved(const KeysMovedOptions& options,
                                               const ExperimentProgress& progress) {
  std::vector<KeysMovedRun> runs;
  runs.push_back(MovedByOwnership(options));
  if (options.dht_joins > 0) {
    auto dht = MovedByDht(options, progress);
    if (!dht.ok()) return dht.status();
    runs.push_back(std::move(*dht));
  }
  return runs;
}

}  // namespace chord
