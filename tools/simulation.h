// Simulation: a whole Chord ring inside one process, for teaching and experiments.
//
// Every node is a real Local serving the real chord.* handlers over an InProcessNetwork, so the
// protocol under study is exactly the one chord-node runs; only the sockets are gone. Nothing
// runs on its own: the caller steps maintenance rounds by hand, which makes a run with a given
// seed fully reproducible and lets it count rounds and RPCs exactly.
//
// Thread-safety: not thread-safe; drive one Simulation from one thread. The library never
// prints: progress goes to an optional callback.
#ifndef CHORD_TOOLS_SIMULATION_H_
#define CHORD_TOOLS_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "commands/in_process_network.h"
#include "overlay/local.h"

namespace chord {

struct LookupStats {
  int lookups = 0;          // lookups attempted
  int answered = 0;         // lookups that returned an owner
  int correct = 0;          // answers equal to the true owner among live nodes
  std::map<int, int> hops;  // hop count -> answered lookups with that count
  double mean_hops = 0;     // over answered lookups
  int p50_hops = 0;         // median hop count
  int p99_hops = 0;         // 99th percentile hop count
  int max_hops = 0;
  double calls_per_lookup = 0;  // RPCs delivered (or attempted) per lookup, all included
};

class Simulation {
 public:
  // Progress messages of long phases, e.g. "stabilize round 40".
  using Progress = std::function<void(const std::string&)>;

  // `seed` drives every random choice (node ids, join points, lookup keys, victims).
  Simulation(OverlayOptions options, uint64_t seed);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  void set_progress(Progress progress) { progress_ = std::move(progress); }

  // Builds a ring of `count` nodes with distinct ids: the first creates it, each other joins
  // through a random node already in the ring. After every `joins_per_round` joins one
  // maintenance round runs; 0 runs none, so all joins meet a ring that has not stabilized at
  // all (the hardest case, as with concurrent joins). Returns the nodes that joined; a join
  // that fails is counted as not joined and that node is taken down. Call once, on an empty
  // simulation. Errors: Refused if `count` < 1, exceeds the id space, or the ring is not empty.
  Result<int> BuildRing(int count, int joins_per_round);

  // One maintenance round: every live node checks its predecessor, then stabilizes.
  void StabilizeRound();
  // Rounds of maintenance until CheckRing() passes; returns the rounds used (0 if it already
  // did), or -1 if `max_rounds` were not enough.
  int StabilizeUntilCorrect(int max_rounds);
  // Every live node refreshes its whole finger table.
  void FixAllFingers();
  // "" if every live node's successor, predecessor and successor list is right; else the first
  // error found.
  std::string CheckRing() const;

  // `count` lookups of random ids, each from a random live node, checked against TrueOwner.
  LookupStats RunLookups(int count);

  // Crashes `count` random live nodes: they stop answering with no notice. Returns how many
  // were crashed (fewer if fewer than `count` + 1 nodes are live: one always survives).
  int Crash(int count);
  // `count` random live nodes leave gracefully, then stop answering. Returns how many left.
  int Leave(int count);
  // Every RPC from now on is dropped with probability `rate` (0..1).
  void SetDropRate(double rate);

  int live_count() const { return static_cast<int>(Sorted().size()); }
  uint64_t calls() const { return network_.calls(); }
  // The successor of `id` among live nodes: the node that should own it.
  NodeRef TrueOwner(const Id& id) const;

 private:
  struct Node {
    std::string address;
    CommandRegistry registry;
    std::unique_ptr<Local> local;
    bool alive = true;  // false after a crash, a leave or a failed join
  };

  Node* AddNode(const Id& id);
  void TakeDown(Node* node);
  // Live joined nodes in id order.
  std::vector<Node*> Sorted() const;
  // Picks `count` distinct random live nodes, leaving at least one alive.
  std::vector<Node*> PickVictims(int count);
  void Report(const std::string& message) const {
    if (progress_) progress_(message);
  }

  OverlayOptions options_;
  std::mt19937_64 random_;
  InProcessNetwork network_;
  InProcessTransport transport_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::set<Id> used_ids_;
  Progress progress_;
};

}  // namespace chord

#endif  // CHORD_TOOLS_SIMULATION_H_
