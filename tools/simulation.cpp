#include "tools/simulation.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "dht/memory_storage.h"

namespace chord {

namespace {

// Draws per node before giving up on a fresh id; only a nearly full id space gets close.
constexpr int kMaxIdDraws = 100000;
// The virtual wall clock starts here (ms since the epoch), so DHT versions look like real ones.
constexpr int64_t kEpochMs = 1767225600000;  // 2026-01-01

}  // namespace

Simulation::Simulation(OverlayOptions options, uint64_t seed, bool with_dht, DhtOptions dht_options)
    : options_(options),
      with_dht_(with_dht),
      dht_options_(std::move(dht_options)),
      random_(seed),
      transport_(&network_) {
  // The DHT reads the virtual clock. It never hears a heartbeat, so it never turns suspect: the
  // simulation freezes no node (a frozen node is the chaos test's business).
  dht_options_.now_ms = [this] { return kEpochMs + now_ms_; };
  dht_options_.steady_ms = [this] { return now_ms_; };
}

Simulation::~Simulation() {
  // Nothing may call into a Local while it is destroyed.
  for (auto& node : nodes_) network_.Detach(node->address);
}

Simulation::Node* Simulation::AddNode(const Id& id) {
  auto node = std::make_unique<Node>();
  node->address = "node-" + std::to_string(nodes_.size());
  node->local = std::make_unique<Local>(options_, node->address, id, &transport_, &node->registry);
  if (with_dht_) {
    node->dht = std::make_unique<Dht>(node->local.get(), &node->registry, dht_options_,
                                      std::make_unique<MemoryStorage>());
  }
  network_.Attach(node->address, &node->registry);
  used_ids_.insert(id);
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Result<Id> Simulation::FreshId() {
  // Ids come from the seed, not the address, so --seed varies the ring's shape too.
  for (int draw = 0; draw < kMaxIdDraws; ++draw) {
    Id candidate = Id::Hash("sim-id-" + std::to_string(random_()), options_.id_bits);
    if (!used_ids_.count(candidate)) return candidate;
  }
  return Status::Refused("no free id left after " + std::to_string(nodes_.size()) + " nodes");
}

Result<xmlrpc_c::value> Simulation::CountingTransport::Call(const std::string& address,
                                                            const std::string& method,
                                                            const xmlrpc_c::paramList& params) {
  Count(address);
  return network_->Deliver(address, method, params, "");
}

Result<std::any> Simulation::CountingTransport::CallAny(
    const std::string& address, const std::string& method, std::any& args,
    const std::function<xmlrpc_c::paramList()>& params) {
  Count(address);
  return network_->DeliverAny(address, method, args, params, "");
}

std::vector<Result<xmlrpc_c::value>> Simulation::CountingTransport::CallAll(
    const std::vector<CallSpec>& calls) {
  for (const auto& call : calls) Count(call.address);
  return network_->DeliverAll(calls, "");
}

void Simulation::TakeDown(Node* node) {
  // Down rather than detached: peers still holding its address see a dead node, as in a real
  // ring, and the Local stays valid until the simulation ends.
  network_.SetDown(node->address, true);
  transport_.SetDown(node->address);
  if (node->alive) live_by_id_.erase(node->local->self().id);
  node->alive = false;
  members_.erase(std::remove(members_.begin(), members_.end(), node), members_.end());
}

bool Simulation::Enter(Node* node) {
  Status status = members_.empty()
                      ? node->local->Create()
                      : node->local->Join(members_[random_() % members_.size()]->address);
  if (!status.ok()) {
    TakeDown(node);
    return false;
  }
  members_.push_back(node);
  live_by_id_[node->local->self().id] = node;
  const size_t index = nodes_.size() - 1;
  // Random phases: the nodes of a real ring do not stabilize in step.
  auto phase = [&](int period) { return int64_t(random_() % uint64_t(std::max(1, period))); };
  node->fix_fingers_wait = periods_.fix_fingers_ms;
  node->repair_wait = periods_.repair_ms;
  Schedule(index, Task::kStabilize, phase(periods_.stabilize_ms));
  Schedule(index, Task::kFixFingers, phase(periods_.fix_fingers_ms));
  Schedule(index, Task::kCheckPredecessor, phase(periods_.check_predecessor_ms));
  Schedule(index, Task::kCheckMembership, phase(periods_.check_membership_ms));
  if (with_dht_) Schedule(index, Task::kRepair, phase(periods_.repair_ms));
  return true;
}

Simulation::Node* Simulation::JoinOne() {
  auto id = FreshId();
  if (!id.ok()) return nullptr;
  Node* node = AddNode(*id);
  return Enter(node) ? node : nullptr;
}

Simulation::Node* Simulation::JoinSettled() {
  Node* node = JoinOne();
  if (node == nullptr) return nullptr;
  node->local->Stabilize();
  // Then the nodes before it, nearest first: the predecessor adopts the newcomer (its
  // successor's predecessor now), each one before copies a list that names it.
  auto at = live_by_id_.find(node->local->self().id);
  const int before = std::min(options_.successors, static_cast<int>(live_by_id_.size()) - 1);
  for (int i = 0; i < before; ++i) {
    if (at == live_by_id_.begin()) at = live_by_id_.end();
    --at;
    at->second->local->Stabilize();
  }
  return node;
}

void Simulation::LeaveNode(Node* node) {
  if (!node->alive) return;
  // A refused leave (not in a ring) cannot happen for a live joined node; the node is taken
  // down either way so that it is out of the experiment.
  node->local->Leave();
  TakeDown(node);
}

void Simulation::CrashNode(Node* node) {
  if (node->alive) TakeDown(node);
}

void Simulation::Schedule(size_t node, Task task, int64_t after_ms) {
  events_.push(Event{now_ms_ + after_ms, next_seq_++, node, task});
}

void Simulation::RunTask(size_t index, Task task) {
  Node* node = nodes_[index].get();
  Local& local = *node->local;
  // Errors are the protocol's business: a failed step is retried at its next turn.
  switch (task) {
    case Task::kStabilize:
      local.Stabilize();
      Schedule(index, task, periods_.stabilize_ms);
      break;
    case Task::kFixFingers: {
      // As Maintenance::AddAdaptive: quiet steps double the wait, a change resets it.
      local.MarkFingers();
      const bool failed = !local.FixFingers().ok();
      const bool changed = local.FingersChangedSinceMark() || failed;  // ends the watch
      node->fix_fingers_wait =
          changed ? periods_.fix_fingers_ms
                  : std::min(2 * node->fix_fingers_wait, periods_.fix_fingers_max_ms);
      Schedule(index, task, node->fix_fingers_wait);
      break;
    }
    case Task::kCheckPredecessor:
      local.CheckPredecessor();
      Schedule(index, task, periods_.check_predecessor_ms);
      break;
    case Task::kCheckMembership:
      local.CheckMembership();
      Schedule(index, task, periods_.check_membership_ms);
      break;
    case Task::kRepair: {
      bool busy = true;
      node->dht->RepairStep(&busy);
      node->repair_wait =
          busy ? periods_.repair_ms : std::min(2 * node->repair_wait, periods_.repair_max_ms);
      Schedule(index, task, node->repair_wait);
      break;
    }
  }
}

void Simulation::StabilizeRound() {
  const int64_t end = now_ms_ + periods_.stabilize_ms;
  while (!events_.empty() && events_.top().due < end) {
    Event event = events_.top();
    events_.pop();
    Node* node = nodes_[event.node].get();
    // A node that is down has no work any more; one that left the ring neither.
    if (!node->alive || !node->local->joined()) continue;
    now_ms_ = event.due;
    RunTask(event.node, event.task);
  }
  now_ms_ = end;
  ++rounds_;
}

Status Simulation::CanBuild(int count) const {
  if (!nodes_.empty()) return Status::Refused("the ring is already built");
  if (count < 1) return Status::Refused("a ring needs at least one node");
  if (options_.id_bits < 31 && count > (1 << options_.id_bits)) {
    return Status::Refused(std::to_string(count) + " nodes do not fit in " +
                           std::to_string(options_.id_bits) + "-bit ids");
  }
  return Status::Ok();
}

Result<int> Simulation::BuildRing(int count, int joins_per_round) {
  if (Status fits = CanBuild(count); !fits.ok()) return fits;
  int joined = 0;
  for (int i = 0; i < count; ++i) {
    auto id = FreshId();
    if (!id.ok()) return id.status();
    if (Enter(AddNode(*id))) ++joined;
    if (joins_per_round > 0 && joined % joins_per_round == 0) StabilizeRound();
    if ((i + 1) % 100 == 0) {
      Report("joined " + std::to_string(joined) + "/" + std::to_string(count));
    }
  }
  return joined;
}

Result<int> Simulation::GrowRing(int count, double rate) {
  if (Status fits = CanBuild(count); !fits.ok()) return fits;
  int joined = 0;
  int added = 0;
  while (added < count) {
    const int live = static_cast<int>(members_.size());
    const int batch = std::min(count - added, std::max(1, int(rate * live)));
    for (int i = 0; i < batch; ++i, ++added) {
      auto id = FreshId();
      if (!id.ok()) return id.status();
      if (Enter(AddNode(*id))) ++joined;
    }
    StabilizeRound();
    ++rounds_grown_;
    if (rounds_grown_ % 10 == 0) {
      Report("round " + std::to_string(rounds_grown_) + ": " + std::to_string(joined) + "/" +
             std::to_string(count) + " joined");
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
    if ((i + 1) % 500 == 0) {
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
  const uint64_t dead_before = calls_to_dead();
  for (int i = 0; i < count; ++i) {
    Id key = Id::Hash("sim-key-" + std::to_string(random_()), options_.id_bits);
    Node* from = live[random_() % live.size()];
    ++stats.lookups;
    const uint64_t dead_at_start = calls_to_dead();
    auto found = from->local->FindSuccessor(key);
    ++stats.timeouts[static_cast<int>(calls_to_dead() - dead_at_start)];
    if (found.ok()) {
      ++stats.answered;
      size_t owner = std::lower_bound(ids.begin(), ids.end(), key) - ids.begin();
      if (owner == ids.size()) owner = 0;  // past the largest id: wraps to the smallest
      if (found->owner == live[owner]->local->self()) ++stats.correct;
      hops.push_back(found->hops);
      ++stats.hops[found->hops];
    }
    if ((i + 1) % 5000 == 0)
      Report("lookups " + std::to_string(i + 1) + "/" + std::to_string(count));
  }
  stats.calls_per_lookup = double(network_.calls() - calls_before) / count;
  stats.timeouts_per_lookup = double(calls_to_dead() - dead_before) / count;
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
  for (Node* node : victims) CrashNode(node);
  return static_cast<int>(victims.size());
}

int Simulation::Leave(int count) {
  int left = 0;
  for (Node* node : PickVictims(count)) {
    if (node->local->joined()) ++left;
    LeaveNode(node);
  }
  return left;
}

void Simulation::SetDropRate(double rate) { network_.SetDropRate(rate, random_()); }

}  // namespace chord
