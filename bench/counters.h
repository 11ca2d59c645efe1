// The nodes' own transport counters (chord.stats) around a phase of chord-bench: a snapshot of
// every node before and after, and what the phase added, net of the snapshots' own calls and of
// the ring's background traffic (stabilize, fix-fingers, ...), measured in an idle window.
#ifndef CHORD_BENCH_COUNTERS_H_
#define CHORD_BENCH_COUNTERS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "commands/transport.h"
#include "overlay/chord_protocol.h"

namespace chord_bench {

// chord.stats of every node, in the order of the member list; nullopt for a node that did not
// answer (down, or too old to have chord.stats).
struct Snapshot {
  std::chrono::steady_clock::time_point taken;  // when the first node was asked
  std::vector<std::optional<chord::NodeStats>> nodes;
};

Snapshot TakeSnapshot(chord::Transport* transport, const std::vector<std::string>& members);

// What every node served between two snapshots, summed over the nodes. Each node counts a call
// once its answer is written, so the "before" snapshot's own call shows up in the window (one
// per node, taken off here) while the "after" one does not.
struct Served {
  double calls = 0;  // requests answered, the before-snapshot's own calls taken off
  double connections_accepted = 0;
  double threads_started = 0;
  double seconds = 0;  // between the two snapshots
};

// nullopt if some node did not answer either snapshot.
std::optional<Served> ServedBetween(const Snapshot& before, const Snapshot& after);

// Calls per second served by the whole ring between two snapshots with nothing else running:
// its own traffic. nullopt if some node did not answer either snapshot.
std::optional<double> BackgroundRate(const Snapshot& before, const Snapshot& after);

}  // namespace chord_bench

#endif  // CHORD_BENCH_COUNTERS_H_
