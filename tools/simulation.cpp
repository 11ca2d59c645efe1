#include "tools/simulation.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

namespace chord {

namespace {

// Draws per node before giving up on a fresh id; only a nearly full id space gets close.
constexpr int kMaxIdDraws = 100000;

}  // namespace

Simulation::Simulation(OverlayOptions options, uint64_t seed)
    : options_(options), random_(seed), transport_(&network_) {}

Simulation::~Simulation() {
  // Nothing may call into a Local while it is destroyed.
  for (auto& node : nodes_) network_.Detach(node->address);
}

Simulation::Node* Simulation::AddNode(const Id& id) {
  auto node = std::make_unique<Node>();
  node->address = "node-" + std::to_string(nodes_.size());
  node->local = std::make_unique<Local>(options_, node->address, id, &transport_, &node->registry);
  network_.Attach(node->address, &node->registry);
  used_ids_.insert(id);
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

void Simulation::TakeDown(Node* node) {
  // Down rather than detached: peers still holding its address see a dead node, as in a real
  // ring, and the Local stays valid until the simulation ends.
  network_.SetDown(node->address, true);
  node->alive = false;
}

Result<int> Simulation::BuildRing(int count, int joins_per_round) {
  if (!nodes_.empty()) return Status::Refused("the ring is already built");
  if (count < 1) return Status::Refused("a ring needs at least one node");
  if (options_.id_bits < 31 && count > (1 << options_.id_bits)) {
    return Status::Refused(std::to_string(count) + " nodes do not fit in " +
                           std::to_string(options_.id_bits) + "-bit ids");
  }
  std::vector<Node*> members;
  int joined = 0;
  for (int i = 0; i < count; ++i) {
    // Ids come from the seed, not the address, so --seed varies the ring's shape too.
    std::optional<Id> id;
    for (int draw = 0; draw < kMaxIdDraws && !id; ++draw) {
      Id candidate = Id::Hash("sim-id-" + std::to_string(random_()), options_.id_bits);
      if (!used_ids_.count(candidate)) id = candidate;
    }
    if (!id) return Status::Refused("no free id left after " + std::to_string(i) + " nodes");
    Node* node = AddNode(*id);
    Status status = members.empty()
                        ? node->local->Create()
                        : node->local->Join(members[random_() % members.size()]->address);
    if (!status.ok()) {
      TakeDown(node);
      continue;
    }
    members.push_back(node);
    ++joined;
    if (joins_per_round > 0 && joined % joins_per_round == 0) StabilizeRound();
    if ((i + 1) % 100 == 0) {
      Report("joined " + std::to_string(joined) + "/" + std::to_string(count));
    }
  }
  return joined;
}

std::vector<Simulation::Node*> Simulation::Sorted() const {
  std::vector<Node*> live;
  for (const auto& node : nodes_) {
    if (node->alive && node->local->joined()) live.push_back(node.get());
  }
  std::sort(live.begin(), live.end(),
            [](Node* a, Node* b) { return a->local->self().id < b->local->self().id; });
  return live;
}

void Simulation::StabilizeRound() {
  for (Node* node : Sorted()) {
    // Errors are the protocol's business: a failed step is retried by the next round.
    node->local->CheckPredecessor();
    node->local->Stabilize();
  }
}

int Simulation::StabilizeUntilCorrect(int max_rounds) {
  for (int round = 0; round <= max_rounds; ++round) {
    if (CheckRing().empty()) return round;
    if (round == max_rounds) break;
    StabilizeRound();
    if ((round + 1) % 10 == 0) Report("stabilize round " + std::to_string(round + 1));
  }
  return -1;
}

void Simulation::FixAllFingers() {
  auto live = Sorted();
  for (size_t i = 0; i < live.size(); ++i) {
    live[i]->local->FixAllFingers();
    if ((i + 1) % 200 == 0) {
      Report("fixed fingers of " + std::to_string(i + 1) + "/" + std::to_string(live.size()));
    }
  }
}

std::string Simulation::CheckRing() const {
  auto sorted = Sorted();
  const size_t n = sorted.size();
  if (n == 0) return "no live node";
  for (size_t i = 0; i < n; ++i) {
    const Local& local = *sorted[i]->local;
    const std::string where = local.self().address + " (#" + std::to_string(i) + "): ";
    if (n == 1) {
      if (local.successor() != local.self()) return where + "alone but has a successor";
      continue;
    }
    const NodeRef& want_succ = sorted[(i + 1) % n]->local->self();
    const NodeRef& want_pred = sorted[(i + n - 1) % n]->local->self();
    if (local.successor() != want_succ) {
      return where + "successor " + local.successor().address + ", want " + want_succ.address;
    }
    auto pred = local.predecessor();
    if (!pred || *pred != want_pred) {
      return where + "predecessor " + (pred ? pred->address : "none") + ", want " +
             want_pred.address;
    }
    auto list = local.successors();
    const size_t want_len = std::min<size_t>(static_cast<size_t>(options_.successors), n - 1);
    if (list.size() != want_len) {
      return where + "successor list has " + std::to_string(list.size()) + " entries, want " +
             std::to_string(want_len);
    }
    for (size_t k = 0; k < want_len; ++k) {
      if (list[k] != sorted[(i + 1 + k) % n]->local->self()) {
        return where + "successor list entry " + std::to_string(k) + " is wrong";
      }
    }
  }
  return "";
}

NodeRef Simulation::TrueOwner(const Id& id) const {
  auto sorted = Sorted();
  if (sorted.empty()) return NodeRef();
  for (Node* node : sorted) {
    if (!(node->local->self().id < id)) return node->local->self();
  }
  return sorted.front()->local->self();
}

LookupStats Simulation::RunLookups(int count) {
  LookupStats stats;
  auto live = Sorted();
  if (live.empty() || count <= 0) return stats;
  // The ring does not change during the lookups, so the owners are found by binary search on
  // one sorted snapshot instead of a sort per lookup.
  std::vector<Id> ids;
  for (Node* node : live) ids.push_back(node->local->self().id);
  std::vector<int> hops;
  const uint64_t calls_before = network_.calls();
  for (int i = 0; i < count; ++i) {
    Id key = Id::Hash("sim-key-" + std::to_string(random_()), options_.id_bits);
    Node* from = live[random_() % live.size()];
    ++stats.lookups;
    auto found = from->local->FindSuccessor(key);
    if (found.ok()) {
      ++stats.answered;
      size_t owner = std::lower_bound(ids.begin(), ids.end(), key) - ids.begin();
      if (owner == ids.size()) owner = 0;  // past the largest id: wraps to the smallest
      if (found->owner == live[owner]->local->self()) ++stats.correct;
      hops.push_back(found->hops);
      ++stats.hops[found->hops];
    }
    if ((i + 1) % 2000 == 0)
      Report("lookups " + std::to_string(i + 1) + "/" + std::to_string(count));
  }
  stats.calls_per_lookup = double(network_.calls() - calls_before) / count;
  if (!hops.empty()) {
    std::sort(hops.begin(), hops.end());
    double total = 0;
    for (int h : hops) total += h;
    stats.mean_hops = total / hops.size();
    stats.p50_hops = hops[(hops.size() - 1) / 2];
    // Nearest-rank percentile: the smallest value at or above 99% of the samples.
    size_t rank = static_cast<size_t>(std::ceil(0.99 * hops.size()));
    stats.p99_hops = hops[std::max<size_t>(rank, 1) - 1];
    stats.max_hops = hops.back();
  }
  return stats;
}

std::vector<Simulation::Node*> Simulation::PickVictims(int count) {
  auto live = Sorted();
  std::shuffle(live.begin(), live.end(), random_);
  const size_t spare = live.empty() ? 0 : live.size() - 1;
  live.resize(std::min(spare, static_cast<size_t>(std::max(0, count))));
  return live;
}

int Simulation::Crash(int count) {
  auto victims = PickVictims(count);
  for (Node* node : victims) TakeDown(node);
  return static_cast<int>(victims.size());
}

int Simulation::Leave(int count) {
  int left = 0;
  for (Node* node : PickVictims(count)) {
    // A refused leave (not in a ring) cannot happen for a live joined node; count only real
    // leaves. The node is taken down either way so that it is out of the experiment.
    if (node->local->Leave().ok()) ++left;
    TakeDown(node);
  }
  return left;
}

void Simulation::SetDropRate(double rate) { network_.SetDropRate(rate, random_()); }

}  // namespace chord
