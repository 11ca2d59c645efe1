#include "overlay/router.h"

#include <algorithm>
#include <boost/log/trivial.hpp>
#include <set>

namespace chord {
Router::Router(Local* local, const CommandRegistry* registry, RouterOptions options)
    : local_(local), registry_(registry), options_(options) {}

Status Router::NotOwner(const Id& id, int bits) {
  return Status::NotOwner("not the owner of " + id.ToHex(bits));
}

bool Router::IsNotOwner(const Status& status) { return status.code() == ErrorCode::kNotOwner; }

Status Router::CheckOwner(const Id& id) const {
  if (!local_->joined()) return Status::Refused(local_->self().address + " is not in a ring");
  if (!local_->Owns(id)) {
    // A dead predecessor would leave its range to this node: make sure before turning away.
    local_->CheckPredecessor();
    if (!local_->Owns(id)) return NotOwner(id, local_->bits());
  }
  // A node that knows no predecessor claims every id (Local::Owns), also one sent here through
  // a successor list that has not yet learnt of a newer node before this one. Confirming such a
  // call with a lookup of its own was tried and removed: just after a crash the lookup, made
  // before the ring has noticed, named another node and turned the rightful successor away
  // (examples/counter's crash test failed one run in three).
  return Status::Ok();
}

Result<xmlrpc_c::value> Router::Call(const NodeRef& node, const std::string& method,
                                     const xmlrpc_c::paramList& params) const {
  if (node.address == local_->self().address) return registry_->Dispatch(method, params);
  return local_->transport()->Call(node.address, method, params);
}

Result<NodeRef> Router::PredecessorOf(const NodeRef& node) const {
  if (node.address == local_->self().address) {
    auto predecessor = local_->predecessor();
    if (!predecessor) return Status::NotFound(node.address + " has no predecessor");
    return *predecessor;
  }
  auto neighbors = local_->peers().GetNeighbors(node.address);
  if (!neighbors.ok()) return neighbors.status();
  if (!neighbors->predecessor) return Status::NotFound(node.address + " has no predecessor");
  return *neighbors->predecessor;
}

Result<RoutedReply> Router::CallOnOwner(const Id& id, const std::string& method,
                                        const xmlrpc_c::paramList& params) const {
  if (!local_->joined()) return Status::Refused(local_->self().address + " is not in a ring");
  const int bits = local_->bits();
  Status last = Status::Unavailable("no lookup succeeded");
  // No confirmation ping: the call below is the check, and an owner that does not answer
  // passes its turn to the next node of the chain, which is what the ping would have done.
  // Nodes that did not answer are passed over by the next lookups: the chain of a lookup can
  // be as short as the owner alone (when it came last in a successor list). Nodes that said
  // NotOwner make the next lookups distrust an answer that names them.
  LookupOptions lookup_options;
  lookup_options.confirm_owner = false;
  for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
    if (attempt > 0) {
      BOOST_LOG_TRIVIAL(debug) << method << " for " << id.ToHex(bits) << ": attempt " << attempt + 1
                               << " after " << last.ToString();
    }
    auto lookup = local_->FindSuccessor(id, lookup_options);
    if (!lookup.ok()) {
      if (lookup.status().code() == ErrorCode::kRefused) return lookup.status();
      last = lookup.status();
      continue;
    }
    // The owner, then the nodes that take its range over if it is down.
    std::vector<NodeRef> chain = lookup->successors;
    if (chain.empty() || chain.front() != lookup->owner) {
      chain.insert(chain.begin(), lookup->owner);
    }
    int hops = lookup->hops;
    size_t in_chain = 0;  // chain[in_chain] is the target while no redirect was taken
    bool redirected = false;
    int redirects = 0;
    NodeRef target = chain.front();
    // Each pass either moves along the chain or follows a redirect, so this ends within
    // chain.size() + max_redirects passes.
    while (true) {
      auto reply = Call(target, method, params);
      if (reply.ok()) return RoutedReply{reply.value(), target, hops};
      last = reply.status();
      if (IsNotOwner(last)) {
        // The lookup was stale: the target's predecessor (or one before it) owns the id now.
        // A later lookup that names the target again is stale too.
        lookup_options.not_owners.push_back(target.address);
        if (redirects++ >= options_.max_redirects) break;
        auto predecessor = PredecessorOf(target);
        if (!predecessor.ok() || predecessor->address == target.address) break;
        target = predecessor.value();
        redirected = true;
        ++hops;
        continue;
      }
      if (last.code() != ErrorCode::kUnavailable) return last;  // the command's own answer
      if (target.address != local_->self().address) {
        lookup_options.avoid.push_back(target.address);
      }
      if (redirected || ++in_chain >= chain.size()) break;
      target = chain[in_chain];
      ++hops;
    }
  }
  return Status::Unavailable("no owner of " + id.ToHex(bits) + " answered " + method +
                             " (last: " + last.ToString() + ")");
}

Result<RoutedReply> Router::CallOnOwnerOfKey(const std::string& key, const std::string& method,
                                             const xmlrpc_c::paramList& params) const {
  return CallOnOwner(KeyId(key), method, params);
}

std::vector<SuccessorReply> Router::CallOnSuccessors(size_t count, const std::string& method,
                                                     const xmlrpc_c::paramList& params) const {
  // In a small ring the successor list wraps around to this node and repeats nodes.
  std::vector<NodeRef> nodes;
  std::set<std::string> seen{local_->self().address};
  for (const NodeRef& node : local_->successors()) {
    if (seen.insert(node.address).second) nodes.push_back(node);
  }
  // The first `count` go out in one batch; each that is unavailable passes its turn to the next
  // unused successor, all of them in the next batch. The same nodes are tried as if they were
  // called one by one, in the same order, in as many rounds as there are rounds of failures.
  std::vector<SuccessorReply> replies;
  size_t reached = 0;
  size_t next = 0;
  while (reached < count && next < nodes.size()) {
    const size_t batch = std::min(count - reached, nodes.size() - next);
    std::vector<CallSpec> calls;
    calls.reserve(batch);
    for (size_t i = 0; i < batch; ++i) calls.push_back({nodes[next + i].address, method, params});
    auto results = local_->transport()->CallAll(calls);
    for (size_t i = 0; i < batch; ++i) {
      Result<xmlrpc_c::value> reply =
          i < results.size() ? std::move(results[i])
                             : Result<xmlrpc_c::value>(Status::Unavailable("no result"));
      if (reply.ok() || reply.status().code() != ErrorCode::kUnavailable) ++reached;
      replies.push_back(SuccessorReply{nodes[next + i], std::move(reply)});
    }
    next += batch;
  }
  return replies;
}

}  // namespace chord
