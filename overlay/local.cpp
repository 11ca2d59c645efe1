#include "overlay/local.h"

#include <algorithm>
#include <boost/log/trivial.hpp>
#include <thread>

#include "commands/auth.h"

namespace chord {
namespace {

std::string Short(const NodeRef& node, int bits) {
  return node.id.ToHex(bits).substr(0, 8) + "@" + node.address;
}

}  // namespace

Local::Local(OverlayOptions options, std::string address, Transport* transport,
             CommandRegistry* registry)
    : Local(options, address, Id::Hash(address, options.id_bits), transport, registry) {}

Local::Local(OverlayOptions options, std::string address, Id id, Transport* transport,
             CommandRegistry* registry)
    : options_(options),
      self_{id, std::move(address)},
      transport_(transport),
      peers_(transport, options.id_bits),
      successors_(self_, static_cast<size_t>(std::max(1, options.successors))),
      fingers_(id, options.id_bits),
      commands_(registry) {
  RegisterChordCommands(&commands_, options_.id_bits, this);
  AdaptChordTimeouts(transport_);
}

Local::~Local() = default;

// ---------------------------------------------------------------------------------------------
// State

bool Local::joined() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return joined_;
}

std::optional<NodeRef> Local::predecessor() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return predecessor_;
}

NodeRef Local::successor() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return successors_.First();
}

std::vector<NodeRef> Local::successors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return successors_.entries();
}

NodeInfo Local::Info() const {
  std::lock_guard<std::mutex> lock(mutex_);
  NodeInfo info;
  info.self = self_;
  info.bits = options_.id_bits;
  info.joined = joined_;
  info.predecessor = predecessor_;
  info.successors = successors_.entries();
  info.fingers.reserve(fingers_.size());
  info.finger_starts.reserve(fingers_.size());
  for (int i = 0; i < fingers_.size(); ++i) {
    info.fingers.push_back(fingers_.Get(i));
    info.finger_starts.push_back(fingers_.Start(i));
  }
  return info;
}

bool Local::Owns(const Id& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!predecessor_) return true;
  return InHalfOpenInterval(id, predecessor_->id, self_.id);
}

void Local::AddObserver(OverlayObserver* observer) {
  std::lock_guard<std::mutex> lock(observers_mutex_);
  observers_.push_back(observer);
}

void Local::RemoveObserver(OverlayObserver* observer) {
  std::lock_guard<std::mutex> lock(observers_mutex_);
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

void Local::SetPredecessor(const std::optional<NodeRef>& predecessor) {
  std::optional<NodeRef> before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (predecessor_ == predecessor) return;
    before = predecessor_;
    predecessor_ = predecessor;
  }
  BOOST_LOG_TRIVIAL(debug) << Short(self_, bits()) << ": predecessor "
                           << (predecessor ? Short(*predecessor, bits()) : "none");
  std::vector<OverlayObserver*> observers;
  {
    std::lock_guard<std::mutex> lock(observers_mutex_);
    observers = observers_;
  }
  for (auto* observer : observers) observer->OnPredecessorChanged(before, predecessor);
}

void Local::SetSuccessors(const std::vector<NodeRef>& nodes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!successors_.Assign(nodes)) return;
    const auto& list = successors_.entries();
    for (auto it = list.rbegin(); it != list.rend(); ++it) RememberLocked(it->address);
  }
  NotifySuccessorsChanged();
}

void Local::RememberLocked(const std::string& address) {
  if (address == self_.address) return;
  auto same = [&](const KnownMember& m) { return m.address == address; };
  known_.erase(std::remove_if(known_.begin(), known_.end(), same), known_.end());
  known_.insert(known_.begin(), KnownMember{address});
  if (known_.size() > kMaxKnownMembers) known_.resize(kMaxKnownMembers);
}

void Local::AddKnownMember(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  RememberLocked(address);
}

std::vector<std::string> Local::known_members() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> addresses;
  for (const auto& member : known_) addresses.push_back(member.address);
  return addresses;
}

void Local::NotifySuccessorsChanged() {
  std::vector<NodeRef> now = successors();
  std::vector<OverlayObserver*> observers;
  {
    std::lock_guard<std::mutex> lock(observers_mutex_);
    observers = observers_;
  }
  for (auto* observer : observers) observer->OnSuccessorsChanged(now);
}

void Local::ForgetFinger(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  fingers_.Remove(address);
}

void Local::MarkDead(const std::string& address) {
  bool successors_changed = false;
  bool was_predecessor = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    successors_changed = successors_.Remove(address);
    fingers_.Remove(address);
    was_predecessor = predecessor_ && predecessor_->address == address;
  }
  BOOST_LOG_TRIVIAL(debug) << Short(self_, bits()) << ": " << address << " does not answer";
  if (was_predecessor) SetPredecessor(std::nullopt);
  if (successors_changed) NotifySuccessorsChanged();
}

// ---------------------------------------------------------------------------------------------
// Ring membership

Status Local::Create() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (joined_) return Status::Refused("already in a ring");
    joined_ = true;
    predecessor_.reset();
    successors_.Assign({});
    fingers_.Clear();
  }
  BOOST_LOG_TRIVIAL(info) << "created a ring as " << self_.id.ToHex(bits()) << " at "
                          << self_.address;
  return Status::Ok();
}

Result<NodeRef> Local::FindOwnSuccessor(const std::string& bootstrap) {
  auto ping = peers_.Ping(bootstrap);
  if (!ping.ok()) {
    return Status(ping.status().code(),
                  "cannot join through " + bootstrap + ": " + ping.status().message());
  }
  if (ping->bits != bits()) {
    return Status::Refused("cannot join through " + bootstrap + ": the ring uses " +
                           std::to_string(ping->bits) + "-bit ids, this node " +
                           std::to_string(bits()) + "-bit ids (--id-bits)");
  }
  auto found = peers_.FindSuccessor(bootstrap, self_.id);
  if (!found.ok()) {
    return Status(found.status().code(),
                  "cannot join through " + bootstrap + ": " + found.status().message());
  }
  return found->owner;
}

Status Local::Join(const std::string& bootstrap) {
  if (joined()) return Status::Refused("already in a ring");
  auto owner = FindOwnSuccessor(bootstrap);
  // A node restarted at once (kill -9, then the same address and id) may still be listed by
  // its predecessor; that one drops it within a few stabilize rounds, as this process does not
  // answer as a member. Wait for that, a bounded time.
  for (int attempt = 0; attempt < kRejoinAttempts && owner.ok() && owner->id == self_.id &&
                        owner->address == self_.address;
       ++attempt) {
    std::this_thread::sleep_for(kRejoinWait);
    owner = FindOwnSuccessor(bootstrap);
  }
  if (!owner.ok()) return owner.status();
  if (owner->id == self_.id) {
    if (owner->address != self_.address) {
      return Status::Refused("id " + self_.id.ToHex(bits()) + " is already taken by " +
                             owner->address);
    }
    return Status::Unavailable("the ring still lists " + self_.address +
                               " (an earlier run of this node); retry once it has noticed");
  }
  // Zave: adopt the successor only once it answers (with its id), and take its successor list.
  Status verified = Verify(owner.value());
  auto neighbors =
      verified.ok() ? peers_.GetNeighbors(owner->address) : Result<Neighbors>(verified);
  if (!neighbors.ok()) {
    // A refusal (a ring secret this node cannot prove) keeps its code: retrying will not help.
    return Status(
        neighbors.status().code() == ErrorCode::kRefused ? ErrorCode::kRefused
                                                         : ErrorCode::kUnavailable,
        "successor " + owner->address + " does not answer: " + neighbors.status().message());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (joined_) return Status::Refused("already in a ring");
    joined_ = true;
    predecessor_.reset();
    fingers_.Clear();
    successors_.Reset(owner.value(), neighbors->successors);
    fingers_.Set(0, owner.value());
    const auto& list = successors_.entries();
    for (auto it = list.rbegin(); it != list.rend(); ++it) RememberLocked(it->address);
    RememberLocked(bootstrap);
  }
  NotifySuccessorsChanged();
  peers_.Notify(owner->address, self_);
  BOOST_LOG_TRIVIAL(info) << "joined the ring through " << bootstrap << " as "
                          << self_.id.ToHex(bits()) << " at " << self_.address << "; successor "
                          << owner->address;
  return Status::Ok();
}

Status Local::Leave() {
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) return Status::Refused("not in a ring");
  }
  {
    std::vector<OverlayObserver*> observers;
    {
      std::lock_guard<std::mutex> lock(observers_mutex_);
      observers = observers_;
    }
    for (auto* observer : observers) observer->OnLeaving();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    predecessor = predecessor_;
    successors = successors_.entries();
    joined_ = false;
  }
  const LeavingNotice notice{self_, predecessor, successors};
  if (!successors.empty()) peers_.Leaving(successors.front().address, notice);
  if (predecessor && (successors.empty() || predecessor->address != successors.front().address)) {
    peers_.Leaving(predecessor->address, notice);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    predecessor_.reset();
    successors_.Assign({});
    fingers_.Clear();
  }
  BOOST_LOG_TRIVIAL(info) << self_.address << " left the ring";
  return Status::Ok();
}

Status Local::HandleLeaving(const LeavingNotice& notice) {
  const NodeRef& leaving = notice.leaving;
  if (leaving.address == self_.address) return Status::Refused("this node is not leaving");
  // A node leaves the ring before it sends its notices: one that still serves chord.neighbors
  // is a member, and the notice is forged (or very late). One that does not answer at all is
  // gone either way.
  if (peers_.GetNeighbors(leaving.address).ok()) {
    BOOST_LOG_TRIVIAL(warning) << Short(self_, bits()) << ": refused a leaving notice for "
                               << leaving.address << ", which is still in the ring";
    return Status::Refused(leaving.address + " is still in the ring");
  }
  bool was_successor = false;
  bool was_predecessor = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fingers_.Remove(leaving.address);
    verified_.erase(leaving.address);
    // Gone for good: calling it after a partition would only cost time-outs.
    known_.erase(std::remove_if(known_.begin(), known_.end(),
                                [&](const KnownMember& m) { return m.address == leaving.address; }),
                 known_.end());
    was_predecessor = predecessor_ && predecessor_->address == leaving.address;
    was_successor = successors_.First().address == leaving.address;
  }
  std::vector<NodeRef> next = was_successor ? ListAfterLeaving(notice) : successors();
  next.erase(std::remove_if(next.begin(), next.end(),
                            [&](const NodeRef& n) { return n.address == leaving.address; }),
             next.end());
  SetSuccessors(next);
  if (was_predecessor) {
    // The leaving node's predecessor becomes ours once it answers with its id, unless that is
    // ourselves (ring of two); else none until the real one notifies us.
    const auto& predecessor = notice.predecessor;
    const bool take = predecessor && predecessor->address != self_.address &&
                      predecessor->address != leaving.address && Verify(*predecessor).ok();
    SetPredecessor(take ? predecessor : std::nullopt);
  }
  return Status::Ok();
}

std::vector<NodeRef> Local::ListAfterLeaving(const LeavingNotice& notice) {
  // The leaving node's list starts right after it; its head becomes our successor, so it must
  // answer with its id. The rest are backups that stabilize replaces with the head's own list.
  for (const NodeRef& head : notice.successors) {
    if (head.address == notice.leaving.address) continue;
    if (head.address == self_.address || Verify(head).ok()) return notice.successors;
    break;
  }
  return successors();
}

bool Local::NotifyWouldChange(const NodeRef& node) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!joined_) return false;
  if (successors_.empty()) return true;
  if (!predecessor_) return true;
  return *predecessor_ != node && InOpenInterval(node.id, predecessor_->id, self_.id);
}

Status Local::HandleNotify(const NodeRef& node) {
  if (node.address == self_.address) return Status::Ok();
  AddKnownMember(node.address);
  // Steady state (the predecessor notifying again, a farther node) changes nothing: no call.
  if (!NotifyWouldChange(node)) return Status::Ok();
  // Each verification may wait out a time-out on a server worker: a flood of forged notifies
  // naming silent addresses must not take every worker.
  if (notify_checks_.fetch_add(1) >= kMaxNotifyChecks) {
    notify_checks_.fetch_sub(1);
    return Status::Refused("too many notifies being verified; retry later");
  }
  Status verified = Verify(node);
  notify_checks_.fetch_sub(1);
  if (!verified.ok()) {
    BOOST_LOG_TRIVIAL(warning) << Short(self_, bits()) << ": refused a notify from "
                               << Short(node, bits()) << ": " << verified.message();
    return Status::Refused("notify refused: " + verified.message());
  }
  std::optional<NodeRef> current;
  bool adopt_as_successor = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) return Status::Ok();
    current = predecessor_;
    // A node alone in its ring takes the first node that notifies it as its successor too.
    adopt_as_successor = successors_.empty();
  }
  if (!current || InOpenInterval(node.id, current->id, self_.id)) SetPredecessor(node);
  if (adopt_as_successor) SetSuccessors({node});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Verification

Status Local::Verify(const NodeRef& node) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = verified_.find(node.address);
    if (it != verified_.end() && it->second.id == node.id && now - it->second.at < kVerifiedFor) {
      return Status::Ok();
    }
  }
  Status asked = AskIdentity(node);  // no lock held across the call
  if (asked.ok()) RememberVerified(node);
  return asked;
}

Status Local::AskIdentity(const NodeRef& node) {
  if (!options_.secret.empty()) {
    Status proved = AskProof(node);
    // A node of an older version has no chord.prove: its ping is all it can offer.
    if (proved.code() != ErrorCode::kUnknownCommand) return proved;
  }
  return AskPing(node);
}

Status Local::AskProof(const NodeRef& node) {
  const std::string challenge = NewNonce();  // fresh: an old answer cannot be replayed
  auto proved = peers_.Prove(node.address, challenge);
  if (!proved.ok()) {
    const ErrorCode code = proved.status().code();
    return Status(code == ErrorCode::kUnavailable || code == ErrorCode::kUnknownCommand
                      ? code
                      : ErrorCode::kRefused,
                  node.address + " does not prove its id: " + proved.status().message());
  }
  if (proved->first != node ||
      proved->second != NodeProof(options_.secret, node, bits(), challenge)) {
    return Status::Refused(node.address + " does not prove id " + node.id.ToHex(bits()));
  }
  return Status::Ok();
}

Status Local::AskPing(const NodeRef& node) {
  auto ping = peers_.Ping(node.address);
  if (!ping.ok()) {
    return Status(
        ping.status().code() == ErrorCode::kRefused ? ErrorCode::kRefused : ErrorCode::kUnavailable,
        node.address + " does not answer: " + ping.status().message());
  }
  if (ping->bits != bits() || ping->node.id != node.id) {
    return Status::Refused(node.address + " answers with id " + ping->node.id.ToHex(ping->bits) +
                           ", not " + node.id.ToHex(bits()));
  }
  return Status::Ok();
}

Result<std::string> Local::ServiceProve(const std::string& challenge) const {
  if (options_.secret.empty()) return Status::Refused("this ring has no secret");
  return NodeProof(options_.secret, self_, bits(), challenge);
}

void Local::RememberVerified(const NodeRef& node) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (verified_.size() >= kMaxVerified && !verified_.count(node.address)) {
    auto oldest = std::min_element(verified_.begin(), verified_.end(),
                                   [](auto& a, auto& b) { return a.second.at < b.second.at; });
    verified_.erase(oldest);
  }
  verified_[node.address] = VerifiedPair{node.id, now};
}

// ---------------------------------------------------------------------------------------------
// Lookup

LookupStep Local::LocalStep(const Id& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  LookupStep step;
  step.successors = successors_.entries();
  if (id == self_.id || (predecessor_ && InHalfOpenInterval(id, predecessor_->id, self_.id))) {
    step.done = true;
    step.nodes.push_back(self_);
    for (const auto& n : successors_.entries()) step.nodes.push_back(n);
    return step;
  }
  const std::vector<NodeRef>& list = successors_.entries();
  if (list.empty()) {
    step.done = true;
    step.nodes.push_back(self_);
    return step;
  }
  // The successor list covers (self, s_k] for its last entry s_k: an id in there is owned by
  // the first s_i with id in (s_{i-1}, s_i] (s_{-1} = self), with no hop. Only the part of the
  // list that goes round the ring in order counts: it stops before an entry that does not lie
  // in (s_{i-1}, self), which a list never holds once stabilized (it never holds self or a
  // repeat either), but a wrong order must not make one interval cover most of the ring.
  NodeRef previous = self_;
  for (size_t i = 0; i < list.size(); ++i) {
    const NodeRef& s = list[i];
    if (i > 0 && !InOpenInterval(s.id, previous.id, self_.id)) break;
    if (InHalfOpenInterval(id, previous.id, s.id)) {
      step.done = true;
      step.nodes.assign(list.begin() + long(i), list.end());  // the owner, then its successors
      return step;
    }
    previous = s;
  }
  // Next hops: fingers and successors that precede id, the closest to id first. The successors
  // make progress even when every finger is stale.
  step.nodes = fingers_.ClosestPreceding(id);
  for (const auto& n : successors_.entries()) {
    if (!InOpenInterval(n.id, self_.id, id)) continue;
    bool seen = std::any_of(step.nodes.begin(), step.nodes.end(),
                            [&](const NodeRef& m) { return m.address == n.address; });
    if (!seen) step.nodes.push_back(n);
  }
  std::sort(step.nodes.begin(), step.nodes.end(), [&](const NodeRef& a, const NodeRef& b) {
    // a before b if a is closer to id, i.e. b in (self, a).
    return InOpenInterval(b.id, self_.id, a.id);
  });
  return step;
}

bool Local::ConfirmAlive(const NodeRef& candidate) {
  Status alive = PingTwice(candidate.address).status();
  if (alive.ok()) return true;
  if (alive.code() == ErrorCode::kUnavailable) ForgetFinger(candidate.address);
  return false;
}

Result<PingReply> Local::PingTwice(const std::string& address) const {
  Result<PingReply> last = peers_.Ping(address);
  if (!last.ok()) last = peers_.Ping(address);
  return last;
}

Result<LookupResult> Local::FindSuccessor(const Id& id, LookupOptions options) {
  if (!joined()) return Status::Refused(self_.address + " is not in a ring");
  // Each node asked so far leaves a frame: its next-hop candidates (best last) and its successor
  // list. A dead candidate is skipped for the next one; a node whose candidates are all dead or
  // already asked falls back on its successor list (the owner is then the first live successor
  // past the id's dead predecessors), and only then does the lookup backtrack.
  struct Frame {
    NodeRef node;
    std::vector<NodeRef> candidates;
    std::vector<NodeRef> successors;
  };
  std::vector<Frame> frames;
  std::vector<std::string> dead = options.avoid;
  std::vector<std::string> asked{self_.address};
  auto is_in = [](const std::vector<std::string>& set, const std::string& address) {
    return std::find(set.begin(), set.end(), address) != set.end();
  };
  auto push_frame = [&](const NodeRef& node, LookupStep step) {
    if (step.done) {
      // Every node of the chain is dead, or the chain is stale (else the lookup would have
      // ended). The node's successors before the id lead on: the closest one's list reaches
      // past the dead ones (the chain can be short: an owner late in the list comes with few
      // successors), and knows the nodes this list has not learnt of yet.
      step.nodes.clear();
      for (const auto& s : step.successors) {
        if (InOpenInterval(s.id, node.id, id)) step.nodes.insert(step.nodes.begin(), s);
      }
    }
    std::reverse(step.nodes.begin(), step.nodes.end());
    frames.push_back({node, std::move(step.nodes), std::move(step.successors)});
  };
  int hops = 0;
  // An answer that named one of options.not_owners: the lookup goes on, and returns it only if
  // it finds nothing better (the node may own the id by now, if its predecessor died).
  std::optional<LookupResult> stale;
  // The first live node of `chain` owns the id (the ones before it died); confirms it answers
  // unless the caller does that with its own call (options.confirm_owner). Nodes found dead on
  // the way are passed over either way. None if every node is dead, or if the owner named is
  // one that said it is not (a stale chain).
  auto owner_from = [&](const std::vector<NodeRef>& chain) -> std::optional<LookupResult> {
    for (size_t i = 0; i < chain.size(); ++i) {
      const NodeRef& candidate = chain[i];
      if (is_in(dead, candidate.address)) continue;
      if (is_in(options.not_owners, candidate.address)) {
        if (!stale) stale = LookupResult{candidate, hops, {chain.begin() + long(i), chain.end()}};
        return std::nullopt;
      }
      if (options.confirm_owner && candidate.address != self_.address &&
          !is_in(asked, candidate.address) && !ConfirmAlive(candidate)) {
        dead.push_back(candidate.address);
        continue;
      }
      LookupResult result;
      result.owner = candidate;
      result.hops = hops;
      result.successors.assign(chain.begin() + i, chain.end());
      return result;
    }
    return std::nullopt;
  };

  LookupStep step = LocalStep(id);
  if (step.done) {
    if (auto result = owner_from(step.nodes)) return *result;
  }
  push_frame(self_, std::move(step));
  std::string last_error;
  for (int attempts = 0; attempts < 4 * options_.max_lookup_hops + 16; ++attempts) {
    // Choose the best untried live candidate, falling back and backtracking as described.
    std::optional<NodeRef> next;
    while (!frames.empty() && !next) {
      Frame& frame = frames.back();
      while (!frame.candidates.empty() && !next) {
        NodeRef candidate = frame.candidates.back();
        frame.candidates.pop_back();
        if (!is_in(dead, candidate.address) && !is_in(asked, candidate.address)) next = candidate;
      }
      if (next) break;
      std::vector<NodeRef> past_id;
      for (const auto& s : frame.successors) {
        if (!InOpenInterval(s.id, frame.node.id, id)) past_id.push_back(s);
      }
      if (auto result = owner_from(past_id)) return *result;
      frames.pop_back();
    }
    if (!next) {
      if (stale) return *stale;
      return Status::Unavailable("lookup of " + id.ToHex(bits()) + " found no live node toward it" +
                                 (last_error.empty() ? "" : " (last error: " + last_error + ")"));
    }
    if (hops >= options_.max_lookup_hops) {
      if (stale) return *stale;
      return Status::Unavailable("lookup of " + id.ToHex(bits()) + " gave up after " +
                                 std::to_string(hops) + " hops");
    }
    asked.push_back(next->address);
    auto remote = peers_.Step(next->address, id);
    if (!remote.ok()) {
      last_error = remote.status().message();
      // Only the finger is forgotten here: successors and predecessor are judged by
      // stabilize and check-predecessor, so a single lost call cannot cut the ring.
      if (remote.status().code() == ErrorCode::kUnavailable) ForgetFinger(next->address);
      dead.push_back(next->address);
      continue;
    }
    ++hops;
    if (remote->done) {
      if (auto result = owner_from(remote->nodes)) return *result;
    }
    push_frame(*next, std::move(remote.value()));
  }
  if (stale) return *stale;
  return Status::Unavailable("lookup of " + id.ToHex(bits()) + " did not converge");
}

// ---------------------------------------------------------------------------------------------
// Maintenance

Status Local::Stabilize() {
  NodeRef successor;
  std::optional<NodeRef> own_predecessor;
  std::vector<NodeRef> backups;  // other nodes we know, for a node whose list ran dry
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) return Status::Refused("not in a ring");
    successor = successors_.First();
    own_predecessor = predecessor_;
    // Only a node without a successor needs them; gathering them every round was a large part
    // of a big simulated ring's stabilize cost.
    for (int i = 0; successor.address == self_.address && i < fingers_.size(); ++i) {
      const auto& finger = fingers_.Get(i);
      // Alone, the fingers name this node itself: it is no way back (and answers, which must
      // not count as reaching a successor, nor its absence as a cut).
      if (finger && finger->address != self_.address &&
          std::find(backups.begin(), backups.end(), *finger) == backups.end()) {
        backups.push_back(*finger);
      }
    }
  }
  if (successor.address == self_.address) {
    // Alone (or every successor failed): a known predecessor or finger is the way back.
    if (own_predecessor && own_predecessor->address != self_.address) {
      backups.insert(backups.begin(), *own_predecessor);
    }
    for (const auto& candidate : backups) {
      auto neighbors = peers_.GetNeighbors(candidate.address);
      if (!neighbors.ok() || !Verify(candidate).ok()) {
        MarkDead(candidate.address);
        continue;
      }
      SetSuccessors({candidate});
      successor = candidate;
      break;
    }
    if (successor.address == self_.address) {
      if (!backups.empty()) rounds_without_successor_.fetch_add(1);  // none of them answered
      return Status::Ok();
    }
  }
  // The successor (perhaps a backup that just moved up the list) must be who it claims to be.
  if (Verify(successor).code() == ErrorCode::kRefused) {
    MarkDead(successor.address);
    return Status::Refused("successor " + successor.address + " answers with another id");
  }
  Result<Neighbors> neighbors = Status::Unavailable("not asked");
  for (int attempt = 0; attempt < 2 && !neighbors.ok(); ++attempt) {  // two tries, as above
    neighbors = peers_.GetNeighbors(successor.address);
  }
  if (!neighbors.ok()) {
    MarkDead(successor.address);
    rounds_without_successor_.fetch_add(1);
    return Status::Unavailable("successor " + successor.address +
                               " does not answer: " + neighbors.status().message());
  }
  rounds_without_successor_.store(0);
  std::vector<NodeRef> next;
  // A node joined between us and our successor: adopt it only once it answers (Zave). Several
  // may have joined in that gap at once, so walk back through their predecessors, a bounded
  // number of steps, to converge in one round instead of one node per round.
  std::optional<NodeRef> x = neighbors->predecessor;
  for (int walked = 0; walked < options_.successors && x && x->address != self_.address &&
                       InOpenInterval(x->id, self_.id, successor.id);
       ++walked) {
    Status verified = Verify(*x);
    auto closer = verified.ok() ? peers_.GetNeighbors(x->address) : Result<Neighbors>(verified);
    if (!closer.ok()) {
      BOOST_LOG_TRIVIAL(debug) << self_.address << ": candidate successor " << x->address
                               << " does not answer";
      break;
    }
    successor = *x;
    next.assign(1, *x);
    next.insert(next.end(), closer->successors.begin(), closer->successors.end());
    x = closer->predecessor;
  }
  if (next.empty()) {
    next.push_back(successor);
    next.insert(next.end(), neighbors->successors.begin(), neighbors->successors.end());
  }
  SetSuccessors(next);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fingers_.Set(0, successors_.First());
  }
  // A successor that already names this node as its predecessor has nothing to learn from a
  // notify (and then the walk above adopted no one): an idle ring's stabilize costs one call.
  if (neighbors->predecessor && neighbors->predecessor->address == self_.address) {
    return Status::Ok();
  }
  Status notified = peers_.Notify(successor.address, self_);
  if (notified.code() == ErrorCode::kUnavailable) {
    MarkDead(successor.address);
  }
  return Status::Ok();
}

Status Local::FixFingers() {
  int index;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) return Status::Refused("not in a ring");
    index = next_finger_;
  }
  Id start = fingers_.Start(index);  // starts are immutable after construction
  // Confirmed: a finger serves many lookups, so a dead one adopted here would cost each of them
  // a failed call until one forgets it; one ping in the background is cheaper.
  auto found = FindSuccessor(start);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!found.ok()) {
    next_finger_ = (index + 1) % fingers_.size();
    return found.status();
  }
  const NodeRef& owner = found->owner;
  fingers_.Set(index, owner);
  // Every following finger whose start lies before that node lands on the same node.
  int next = index + 1;
  while (next < fingers_.size() && owner.address != self_.address &&
         InHalfOpenInterval(fingers_.Start(next), self_.id, owner.id)) {
    fingers_.Set(next, owner);
    ++next;
  }
  next_finger_ = next % fingers_.size();
  return Status::Ok();
}

void Local::MarkFingers() {
  std::lock_guard<std::mutex> lock(mutex_);
  fingers_.Mark();
}

bool Local::FingersChangedSinceMark() {
  std::lock_guard<std::mutex> lock(mutex_);
  return fingers_.ChangedSinceMark();
}

Status Local::FixAllFingers() {
  Status last;
  for (int i = 0; i < bits(); ++i) {
    Status status = FixFingers();
    if (!status.ok()) last = status;
    std::lock_guard<std::mutex> lock(mutex_);
    if (next_finger_ == 0) break;
  }
  return last;
}

Status Local::CheckPredecessor() {
  auto predecessor = this->predecessor();
  if (!predecessor) return Status::Ok();
  // Two tries before declaring it dead: one lost call must not cost the ring a pointer.
  auto ping = PingTwice(predecessor->address);
  if (ping.status().code() == ErrorCode::kUnavailable) {
    MarkDead(predecessor->address);
    return Status::Unavailable("predecessor " + predecessor->address + " does not answer");
  }
  if (!ping.ok()) return Status::Ok();
  if (ping->bits != bits() || ping->node.id != predecessor->id) {
    // Another node at that address (or a pointer that was never right): forget it; the real
    // predecessor notifies this node on its next stabilize.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      verified_.erase(predecessor->address);
    }
    if (this->predecessor() == predecessor) SetPredecessor(std::nullopt);
    return Status::Refused("predecessor " + predecessor->address + " answers with another id");
  }
  RememberVerified(*predecessor);  // it answered with its id: no need to ask again soon
  return Status::Ok();
}

Status Local::CheckMembership() {
  bool alone = false;
  std::vector<std::string> members;  // known members to ask, this call's turn first
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) return Status::Refused("not in a ring");
    alone = successors_.empty();
    const auto& list = successors_.entries();
    for (size_t i = 0; i < known_.size(); ++i) {
      KnownMember& member = known_[(next_known_ + i) % known_.size()];
      const std::string& address = member.address;
      // Alone, every member is worth a try at once: there is nothing else to do.
      if (!alone && member.wait > 0) {
        --member.wait;
        continue;
      }
      bool neighbour = std::any_of(list.begin(), list.end(),
                                   [&](const NodeRef& n) { return n.address == address; }) ||
                       (predecessor_ && predecessor_->address == address);
      if (!neighbour) members.push_back(address);
    }
    ++next_known_;
  }
  if (!alone) return members.empty() ? Status::Ok() : MergeWith(members.front());
  // Two at most: a member that is cut off too costs a connect time-out, and maintenance waits.
  Status last;
  for (size_t i = 0; i < members.size() && i < 2; ++i) {
    last = RejoinThrough(members[i]);
    if (last.ok()) return last;
  }
  return last;
}

void Local::RecordCheck(const std::string& member, const Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& known : known_) {
    if (known.address != member) continue;
    if (status.code() != ErrorCode::kUnavailable) {
      known.failures = 0;
    } else {
      known.failures = std::min(known.failures + 1, 5);
      known.wait = 1 << known.failures;  // 2, 4, ... 32 turns
    }
  }
}

Status Local::RejoinThrough(const std::string& member) {
  auto owner = FindOwnSuccessor(member);
  if (!owner.ok()) return owner.status();
  // The ring already names this node (or its id is taken): nothing to adopt. A node that lists
  // this one as successor notifies it on its next stabilize, which ends the solitude.
  if (owner->id == self_.id) return Status::Ok();
  Status adopted = AdoptSuccessor(*owner);
  if (adopted.ok()) {
    BOOST_LOG_TRIVIAL(info) << Short(self_, bits()) << ": was alone; rejoined through " << member
                            << ", successor " << owner->address;
  }
  return adopted;
}

Status Local::MergeWith(const std::string& member) {
  auto found = peers_.FindSuccessor(member, self_.id);
  RecordCheck(member, found.status());
  if (!found.ok()) return found.status();
  const NodeRef& owner = found->owner;
  if (found->bits != bits() || owner.id == self_.id) return Status::Ok();  // same ring (or foreign)
  const NodeRef successor = this->successor();
  if (owner.address == successor.address) {
    // That ring skips this node on the way to our own successor: telling the successor is what
    // stabilize does anyway, and it puts this node back in front of it.
    return peers_.Notify(owner.address, self_);
  }
  BOOST_LOG_TRIVIAL(info) << Short(self_, bits()) << ": " << member << " names "
                          << Short(owner, bits()) << " as owner of this node's id: merging";
  if (InOpenInterval(owner.id, self_.id, successor.id)) return AdoptSuccessor(owner);
  // A node further on: it takes this node as predecessor if none of its ring is closer, and its
  // old predecessor then finds this node through stabilize.
  return peers_.Notify(owner.address, self_);
}

Status Local::AdoptSuccessor(const NodeRef& node) {
  // Zave: a successor is adopted only once it answers (with its id), with its successor list.
  Status verified = Verify(node);
  if (!verified.ok()) return verified;
  auto neighbors = peers_.GetNeighbors(node.address);
  if (!neighbors.ok()) return neighbors.status();
  std::vector<NodeRef> next{node};
  next.insert(next.end(), neighbors->successors.begin(), neighbors->successors.end());
  SetSuccessors(next);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fingers_.Set(0, successors_.First());
  }
  Status notified = peers_.Notify(node.address, self_);
  return notified.code() == ErrorCode::kUnavailable ? notified : Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Served commands (declared in chord_protocol.h)

Result<FoundOwner> Local::ServiceFindSuccessor(const Id& id) {
  // Confirmed: the caller gets the owner alone, with no successors to fall over to if it is
  // dead (a client, or a node joining through this one, which adopts it as its successor).
  auto found = FindSuccessor(id);
  if (!found.ok()) return found.status();
  return FoundOwner{found->owner, found->hops, bits()};
}

Result<LookupStep> Local::ServiceStep(const Id& id) {
  if (!joined()) return Status::Unavailable(self_.address + " is not in a ring");
  return LocalStep(id);
}

Result<Neighbors> Local::ServiceNeighbors() {
  if (!joined()) return Status::Unavailable(self_.address + " is not in a ring");
  std::lock_guard<std::mutex> lock(mutex_);
  return Neighbors{predecessor_, successors_.entries()};
}

}  // namespace chord
