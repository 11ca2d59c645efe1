// Keys per process with virtual nodes (the paper's Figs. 8, 9): tools/sim_experiments.h.
#include <algorithm>
#include <cmath>
#include <string>

#include "tools/sim_exp_common.h"
#include "tools/sim_experiments.h"

namespace chord {

using sim_exp::kIdBits;
using sim_exp::Ring;
using sim_exp::SortedKeyIds;
using sim_exp::Tell;

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

}  // namespace chord
