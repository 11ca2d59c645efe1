// Simulation: a whole Chord ring inside one process, for teaching and experiments.
//
// Every node is a real Local (and, on request, a real Dht) serving the real chord.* and dht.*
// handlers over an InProcessNetwork, so the protocol under study is exactly the one chord-node
// runs; only the sockets and the clock are gone. Calls pass C++ values to the handlers
// (Transport::CallAny) instead of XML-RPC values.
//
// Time is virtual: each node has the maintenance tasks chord-node schedules (stabilize,
// fix-fingers, adaptive as in Maintenance, check-predecessor, check-membership and, with a
// DHT, repair), each due at its own virtual time, and a round advances the clock by one
// stabilize period, running only the tasks that fall due in it, in time order. Nothing runs
// on its own, so a run with a given seed is fully reproducible and rounds and RPCs are counted
// exactly.
//
// Thread-safety: not thread-safe; drive one Simulation from one thread. The library never
// prints: progress goes to an optional callback.
#ifndef CHORD_TOOLS_SIMULATION_H_
#define CHORD_TOOLS_SIMULATION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "commands/in_process_network.h"
#include "dht/dht.h"
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
  // Calls to dead nodes per lookup -> lookups with that count: each is a time-out in a real
  // ring (the paper's "timeouts per lookup").
  std::map<int, int> timeouts;
  double timeouts_per_lookup = 0;  // mean over all lookups
};

// Virtual periods of the maintenance tasks, in ms (chord-node's defaults).
struct SimPeriods {
  int stabilize_ms = 200;  // one round
  int fix_fingers_ms = 200;
  int fix_fingers_max_ms = 1600;  // adaptive: up to 8 periods while the fingers stay put
  int check_predecessor_ms = 500;
  int check_membership_ms = 2000;
  int repair_ms = 1000;  // DHT repair (with_dht only)
  int repair_max_ms = 4000;
};

class Simulation {
 public:
  // Progress messages of long phases, e.g. "stabilize round 40".
  using Progress = std::function<void(const std::string&)>;

  struct Node {
    std::string address;
    CommandRegistry registry;
    std::unique_ptr<Local> local;
    std::unique_ptr<Dht> dht;  // with_dht only; destroyed before the Local
    bool alive = true;         // false after a crash, a leave or a failed join
    int fix_fingers_wait = 0;  // the adaptive wait of fix-fingers, ms
    int repair_wait = 0;       // the adaptive wait of DHT repair, ms
    ~Node() { dht.reset(); }
  };

  // `seed` drives every random choice (node ids, join points, lookup keys, victims, task
  // phases). With `dht` every node also runs a Dht (memory storage, `dht_options`).
  Simulation(OverlayOptions options, uint64_t seed, bool with_dht = false,
             DhtOptions dht_options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  void set_progress(Progress progress) { progress_ = std::move(progress); }
  void set_periods(const SimPeriods& periods) { periods_ = periods; }
  const SimPeriods& periods() const { return periods_; }

  // Builds a ring of `count` nodes with distinct ids: the first creates it, each other joins
  // through a random node already in the ring. After every `joins_per_round` joins one round
  // runs; 0 runs none, so all joins meet a ring that has not stabilized at all (the hardest
  // case, as with concurrent joins). Returns the nodes that joined; a join that fails is
  // counted as not joined and that node is taken down. Call once, on an empty simulation.
  // Errors: Refused if `count` < 1, exceeds the id space, or the ring is not empty.
  Result<int> BuildRing(int count, int joins_per_round);

  // Grows a ring of `count` nodes over time: each round, `rate` of the live ring (at least one
  // node) joins through random members, then the round runs. Returns the nodes that joined;
  // rounds_grown() tells how many rounds it took. Errors: as BuildRing.
  Result<int> GrowRing(int count, double rate);
  int rounds_grown() const { return rounds_grown_; }

  // One round: the clock advances by one stabilize period, running every task due in it.
  void StabilizeRound();
  // Rounds until CheckRing() passes; returns the rounds used (0 if it already did), or -1 if
  // `max_rounds` were not enough.
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

  // --- single steps, for churn schedules (tools/sim_churn.h) ---
  // A new node joins through a random live member (creates the ring if there is none). The
  // node, or nullptr if the join failed (the node is then down).
  Node* JoinOne();
  // `node` leaves gracefully (its DHT hands its keys over first), then stops answering.
  void LeaveNode(Node* node);
  // `node` stops answering with no notice.
  void CrashNode(Node* node);
  // A new node joins as JoinOne does, then only the nodes its arrival concerns stabilize: the
  // newcomer, then its predecessor and the r - 1 nodes before it, nearest first, so that a
  // correct ring is correct again with the newcomer in every successor list that should name
  // it, without a round. The protocol's own steps, run only where they have work: the fastest
  // way to build a large correct ring (O(log N + r) calls a join instead of a round of every
  // node's maintenance). No virtual time passes. The node, or nullptr as JoinOne.
  Node* JoinSettled();

  int live_count() const { return static_cast<int>(Sorted().size()); }
  uint64_t calls() const { return network_.calls(); }
  // Calls made to nodes that were down (crashed or gone): each a time-out in a real ring.
  uint64_t calls_to_dead() const { return transport_.calls_to_dead(); }
  int64_t now_ms() const { return now_ms_; }
  int rounds() const { return rounds_; }
  std::mt19937_64& random() { return random_; }
  // The successor of `id` among live nodes: the node that should own it.
  NodeRef TrueOwner(const Id& id) const;
  // Live joined nodes in id order.
  std::vector<Node*> Sorted() const;
  // Every node ever added, live or not, in the order added.
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

 private:
  enum class Task { kStabilize, kFixFingers, kCheckPredecessor, kCheckMembership, kRepair };
  struct Event {
    int64_t due;
    uint64_t seq;  // ties run in the order scheduled
    size_t node;   // index in nodes_
    Task task;
    bool operator>(const Event& other) const {
      return due != other.due ? due > other.due : seq > other.seq;
    }
  };

  // The in-process transport, counting calls to nodes that are down.
  class CountingTransport : public Transport {
   public:
    explicit CountingTransport(InProcessNetwork* network) : network_(network) {}
    Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                                 const xmlrpc_c::paramList& params) override;
    Result<std::any> CallAny(const std::string& address, const std::string& method, std::any& args,
                             const std::function<xmlrpc_c::paramList()>& params) override;
    std::vector<Result<xmlrpc_c::value>> CallAll(const std::vector<CallSpec>& calls) override;
    void SetDown(const std::string& address) { down_.insert(address); }
    uint64_t calls_to_dead() const { return calls_to_dead_.load(); }

   private:
    void Count(const std::string& address) { calls_to_dead_ += down_.count(address); }
    InProcessNetwork* network_;
    std::unordered_set<std::string> down_;    // written by TakeDown only, before any call to it
    std::atomic<uint64_t> calls_to_dead_{0};  // atomic: a Dht may call from its own thread
  };

  Node* AddNode(const Id& id);
  // A fresh random id not used before. Errors: Refused when none is left.
  Result<Id> FreshId();
  // Makes `node` create or join the ring; on success schedules its tasks at random phases.
  bool Enter(Node* node);
  // Refused if a ring was built already or `count` nodes cannot be (none, or more than ids).
  Status CanBuild(int count) const;
  void Schedule(size_t node, Task task, int64_t after_ms);
  void RunTask(size_t index, Task task);
  void TakeDown(Node* node);
  // Picks `count` distinct random live nodes, leaving at least one alive.
  std::vector<Node*> PickVictims(int count);
  void Report(const std::string& message) const {
    if (progress_) progress_(message);
  }

  OverlayOptions options_;
  bool with_dht_;
  DhtOptions dht_options_;
  SimPeriods periods_;
  std::mt19937_64 random_;
  InProcessNetwork network_;
  CountingTransport transport_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Node*> members_;  // joined at some point and not known to be down; for join points
  std::set<Id> used_ids_;
  std::map<Id, Node*> live_by_id_;  // joined and not taken down, in ring order
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t next_seq_ = 0;
  int64_t now_ms_ = 0;
  int rounds_ = 0;
  int rounds_grown_ = 0;
  Progress progress_;
};

}  // namespace chord

#endif  // CHORD_TOOLS_SIMULATION_H_
