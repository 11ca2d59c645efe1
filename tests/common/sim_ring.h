// SimRing: a ring of Local nodes on an InProcessNetwork, for tests. Nodes are stepped by hand
// (no maintenance threads), so every test is deterministic in its rounds and needs no sleeps.
#ifndef CHORD_TESTS_COMMON_SIM_RING_H_
#define CHORD_TESTS_COMMON_SIM_RING_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "commands/in_process_network.h"
#include "overlay/local.h"

namespace chord {
namespace testing {

struct SimNode {
  std::string address;
  std::unique_ptr<InProcessTransport> transport;  // calls from this node (partitions apply)
  CommandRegistry registry;
  std::unique_ptr<Local> local;
  std::unique_ptr<OverlayObserver> layer;  // an upper layer (e.g. the DHT); destroyed first
  bool alive = true;                       // false after a crash or a leave
};

class SimRing {
 public:
  explicit SimRing(OverlayOptions options) : options_(options), transport_(&network_) {}
  ~SimRing() {
    for (auto& node : nodes_) network_.Detach(node->address);
  }

  // Called for every new node before it is attached, e.g. to add an upper layer.
  void set_on_add(std::function<void(SimNode*)> on_add) { on_add_ = std::move(on_add); }

  // Adds a node (not yet in a ring) and attaches it to the network; its id is the hash of its
  // name unless given.
  SimNode* AddNode(std::optional<Id> id = std::nullopt) {
    auto node = std::make_unique<SimNode>();
    node->address = "node-" + std::to_string(next_name_++);
    node->transport = std::make_unique<InProcessTransport>(&network_, node->address);
    Transport* transport = node->transport.get();
    node->local =
        id ? std::make_unique<Local>(options_, node->address, *id, transport, &node->registry)
           : std::make_unique<Local>(options_, node->address, transport, &node->registry);
    if (on_add_) on_add_(node.get());
    network_.Attach(node->address, &node->registry);
    std::lock_guard<std::mutex> lock(mutex_);
    nodes_.push_back(std::move(node));
    return nodes_.back().get();
  }

  // Cuts `node` off from every other node (both ways) or, with cut false, heals that cut. The
  // node keeps running: it still steps and counts as live (Live()).
  void CutOff(SimNode* node, bool cut) { network_.SetGroup(node->address, cut ? 1 : 0); }

  // Crash: the node stops answering, with no notice to anyone.
  void Crash(SimNode* node) {
    network_.SetDown(node->address, true);
    node->alive = false;
  }

  std::vector<SimNode*> Live() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<SimNode*> live;
    for (auto& node : nodes_) {
      if (node->alive && node->local->joined()) live.push_back(node.get());
    }
    return live;
  }

  // Live joined nodes in id order.
  std::vector<SimNode*> Sorted() {
    auto live = Live();
    std::sort(live.begin(), live.end(),
              [](SimNode* a, SimNode* b) { return a->local->self().id < b->local->self().id; });
    return live;
  }

  // One maintenance round: every live node stabilizes and checks its predecessor.
  void StabilizeRound() {
    for (auto* node : Live()) {
      node->local->CheckPredecessor();
      node->local->Stabilize();
    }
  }

  void FixAllFingers() {
    for (auto* node : Live()) node->local->FixAllFingers();
  }

  // Empty if every successor, predecessor and successor list is right; else the first error.
  std::string CheckRing() { return CheckRing(Sorted()); }

  // The same for a ring made of `members` alone (e.g. one side of a partition).
  std::string CheckRing(std::vector<SimNode*> sorted) {
    std::sort(sorted.begin(), sorted.end(),
              [](SimNode* a, SimNode* b) { return a->local->self().id < b->local->self().id; });
    const size_t n = sorted.size();
    for (size_t i = 0; i < n; ++i) {
      Local& local = *sorted[i]->local;
      const NodeRef& want_succ = sorted[(i + 1) % n]->local->self();
      const NodeRef& want_pred = sorted[(i + n - 1) % n]->local->self();
      std::ostringstream where;
      where << local.self().address << " (#" << i << "): ";
      if (n == 1) {
        if (local.successor() != local.self()) return where.str() + "alone but has a successor";
        continue;
      }
      if (local.successor() != want_succ) {
        return where.str() + "successor " + local.successor().address + ", want " +
               want_succ.address;
      }
      auto pred = local.predecessor();
      if (!pred || *pred != want_pred) {
        return where.str() + "predecessor " + (pred ? pred->address : "none") + ", want " +
               want_pred.address;
      }
      auto list = local.successors();
      size_t want_len = std::min<size_t>(options_.successors, n - 1);
      if (list.size() != want_len) {
        return where.str() + "successor list has " + std::to_string(list.size()) +
               " entries, want " + std::to_string(want_len);
      }
      for (size_t k = 0; k < want_len; ++k) {
        if (list[k] != sorted[(i + 1 + k) % n]->local->self()) {
          return where.str() + "successor list entry " + std::to_string(k) + " is wrong";
        }
      }
    }
    return "";
  }

  // Rounds of stabilize until CheckRing() passes; returns the rounds used, or -1 if `max_rounds`
  // were not enough.
  int StabilizeUntilCorrect(int max_rounds) {
    for (int round = 0; round <= max_rounds; ++round) {
      if (CheckRing().empty()) return round;
      StabilizeRound();
    }
    return -1;
  }

  // The true owner of `id` among live nodes.
  NodeRef TrueOwner(const Id& id) {
    auto sorted = Sorted();
    for (auto* node : sorted) {
      if (!(node->local->self().id < id)) return node->local->self();
    }
    return sorted.front()->local->self();
  }

  InProcessNetwork& network() { return network_; }
  Transport* transport() { return &transport_; }
  const OverlayOptions& options() const { return options_; }

 private:
  OverlayOptions options_;
  InProcessNetwork network_;
  InProcessTransport transport_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  int next_name_ = 0;
  std::function<void(SimNode*)> on_add_;
};

}  // namespace testing
}  // namespace chord

#endif  // CHORD_TESTS_COMMON_SIM_RING_H_
