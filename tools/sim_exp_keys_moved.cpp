// Keys moved per join against K/N: tools/sim_experiments.h.
#include <algorithm>
#include <cmath>
#include <string>

#include "dht/dht.h"
#include "tools/sim_exp_common.h"
#include "tools/sim_experiments.h"

namespace chord {

using sim_exp::GrowSettled;
using sim_exp::KeysBetween;
using sim_exp::kIdBits;
using sim_exp::Overlay;
using sim_exp::PredecessorIn;
using sim_exp::Ring;
using sim_exp::SortedKeyIds;
using sim_exp::SuccessorIndex;
using sim_exp::Tell;

namespace {

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
