// The Chord paper's experiments (Stoica et al., IEEE/ACM ToN 2003, section V), run on the
// simulator's real Local and Dht nodes or, for key placement, on the ids alone:
//
//   path length        lookup hops (mean, 1st and 99th percentile) for N = 2^a .. 2^b (Fig. 10)
//   keys per node      keys per process with 100 keys a process, with v virtual nodes each
//                      (Figs. 8, 9)
//   failures           failed lookups and time-outs per lookup after a fraction p of the nodes
//                      crash at once, before any repair (Fig. 13 and its table)
//   keys moved         keys that change owner when one node joins, against K/N
//
// Each returns rows of figures; chord-sim prints them as Markdown tables and
// bench/paper_figures.py draws them. The library never prints: progress goes to a callback.
// One file each: tools/sim_exp_{path_length,keys_per_node,failures,keys_moved}.cpp, with the
// helpers they share in tools/sim_exp_common.{h,cpp}.
//
// Thread-safety: each function is reentrant (it owns its Simulation); none may be called
// concurrently with the same Progress callback unless that callback is thread-safe.
#ifndef CHORD_TOOLS_SIM_EXPERIMENTS_H_
#define CHORD_TOOLS_SIM_EXPERIMENTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "commands/status.h"

namespace chord {

using ExperimentProgress = std::function<void(const std::string&)>;

// Mean and nearest-rank 1st/99th percentiles of a sample.
struct Spread {
  double mean = 0;
  double p1 = 0;
  double p99 = 0;
  double max = 0;
};
Spread SpreadOf(std::vector<double> sample);

// --- lookup path length ---
struct PathLengthOptions {
  int min_log2 = 4;   // first ring size 2^min_log2
  int max_log2 = 14;  // last ring size 2^max_log2
  int lookups = 10000;
  int successors = 8;
  uint64_t seed = 1;
};
struct PathLengthRow {
  int nodes = 0;
  int lookups = 0;
  Spread hops;         // remote nodes asked per lookup (0: the asking node answered itself)
  double correct = 0;  // fraction of lookups that found the true owner
};
// One ring grows by JoinSettled (always correct); at each power of two its fingers are all
// fixed and the lookups run. Errors: Internal if the ring is not correct at a measurement.
Result<std::vector<PathLengthRow>> RunPathLength(const PathLengthOptions& options,
                                                 const ExperimentProgress& progress);

// --- keys per node, with virtual nodes ---
struct KeysPerNodeOptions {
  int processes = 10000;
  int keys_per_process = 100;
  std::vector<int> virtual_nodes = {1, 2, 5, 10, 16, 20};
  uint64_t seed = 1;
};
struct KeysPerNodeRow {
  int virtual_nodes = 0;
  int processes = 0;
  int keys = 0;
  Spread keys_per_process;
};
// Consistent hashing as the ring places keys: process i has ids SHA-1("proc-S-i#j") for
// j < v, key k is SHA-1("key-S-k"), and a key belongs to the process owning its successor id.
std::vector<KeysPerNodeRow> RunKeysPerNode(const KeysPerNodeOptions& options,
                                           const ExperimentProgress& progress);

// --- simultaneous failures ---
struct FailureOptions {
  int nodes = 1000;
  int successors = 20;  // 2 log2 N for 1,000 nodes, as the paper
  std::vector<double> fractions = {0.1, 0.2, 0.3, 0.4, 0.5};
  int lookups = 10000;
  uint64_t seed = 1;
};
struct FailureRow {
  double fraction = 0;
  int live = 0;
  int lookups = 0;
  int failed = 0;   // lookups that did not return the live owner (no answer or a wrong one)
  Spread timeouts;  // calls to crashed nodes per lookup
  Spread hops;      // of the answered lookups
};
// For each fraction: a fresh correct ring with fixed fingers, then that fraction of its nodes
// crashes at once and the lookups run at once, before any maintenance round. Errors:
// Internal if a ring is not correct before the crash.
Result<std::vector<FailureRow>> RunFailures(const FailureOptions& options,
                                            const ExperimentProgress& progress);

// --- keys moved per join ---
struct KeysMovedOptions {
  int nodes = 1000;   // ring size before the joins (ids only)
  int keys = 100000;  // K
  int joins = 50;
  int dht_nodes = 100;  // the same with real Dht nodes (1 replica) in a simulated ring
  int dht_keys = 10000;
  int dht_joins = 50;
  int settle_rounds = 25;  // rounds after each DHT join for the hand-over (repair up to 4 s)
  uint64_t seed = 1;
};
struct KeysMovedRun {
  std::string method;  // "ownership" or "dht"
  int nodes = 0;       // before the joins
  int keys = 0;
  std::vector<double> moved;     // per join
  std::vector<double> expected;  // per join: K / N, N counting the newcomer
  std::vector<double> exact;     // per join: keys in (predecessor, newcomer], from the ids
};
// "ownership": the keys whose successor changes, counted on the ids. "dht": records the Dht
// nodes received (counters().records_received) over each join and its settle rounds, with
// every key written once before the joins. Errors: Internal if the DHT ring never settles.
Result<std::vector<KeysMovedRun>> RunKeysMoved(const KeysMovedOptions& options,
                                               const ExperimentProgress& progress);

}  // namespace chord

#endif  // CHORD_TOOLS_SIM_EXPERIMENTS_H_
