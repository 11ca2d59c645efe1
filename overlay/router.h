// Router: calls an upper layer's commands on the node that owns an id or key, or on this node's
// successors. It is how a layer built outside the library (see examples/counter) spreads its
// work over the ring, using only Local and a Transport.
//
//   Router router(&host.local(), &host.registry());
//   auto reply = router.CallOnOwnerOfKey("apples", "counter.apply", MakeParams("apples", 1));
//   if (reply.ok()) use(reply->value, reply->owner, reply->hops);
//
// CallOnOwner looks the id up, then calls the command on the owner: through the registry when
// the owner is this node (no network round trip), through the Transport otherwise. The lookup
// does not ping the owner first (LookupOptions::confirm_owner): the call itself finds out
// whether it answers, and the first rule below is what the ping would have done. Ownership
// moves while nodes join, leave and fail, so the lookup may be stale; the router repairs that:
//   * the owner does not answer (Unavailable): the owner's successors, which the lookup
//     returned, take its range over, so the call goes to the next one (one more hop);
//   * the node called answers NotOwner (its predecessor now owns the id): the call follows
//     predecessors, asked with chord.neighbors, until a node accepts it (one hop each);
// and the whole lookup is retried up to max_attempts times. Owner-side commands opt in to the
// second rule by starting with `Status s = router.CheckOwner(id); if (!s.ok()) return s;`.
//
// Delivery is at least once: a call that timed out may have run before the retry, so routed
// commands should tolerate a repeat (be idempotent, or carry a version).
//
// Thread-safety: a Router holds no mutable state; every method is safe to call concurrently.
// Lifetime: `local` and `registry` are not owned and must outlive the router.
#ifndef CHORD_OVERLAY_ROUTER_H_
#define CHORD_OVERLAY_ROUTER_H_

#include <cstddef>
#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/command_registry.h"
#include "commands/status.h"
#include "overlay/id.h"
#include "overlay/local.h"
#include "overlay/node_ref.h"

namespace chord {

struct RouterOptions {
  int max_attempts = 4;   // lookups tried before CallOnOwner gives up
  int max_redirects = 8;  // NotOwner redirections followed per lookup
};

// The answer of a command run on the owner of an id.
struct RoutedReply {
  xmlrpc_c::value value;  // the command's result
  NodeRef owner;          // the node that ran it
  int hops = 0;           // lookup hops, plus one per node tried before the owner answered
};

// The outcome of a command run on one successor.
struct SuccessorReply {
  NodeRef node;
  Result<xmlrpc_c::value> reply;
};

class Router {
 public:
  // `local` is this node; `registry` is the registry it serves (for calls to itself).
  Router(Local* local, const CommandRegistry* registry, RouterOptions options = {});
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Runs `method` with `params` on the node that owns `id` (see above).
  // Errors: Refused if this node is not in a ring; the command's own non-ok Status (other than
  // Unavailable and NotOwner) as it returned it, without retrying; Unavailable, with the last
  // reason, if no owner answered within max_attempts lookups.
  Result<RoutedReply> CallOnOwner(const Id& id, const std::string& method,
                                  const xmlrpc_c::paramList& params) const;
  // The same for the owner of `key`, i.e. of Id::Hash(key, bits).
  Result<RoutedReply> CallOnOwnerOfKey(const std::string& key, const std::string& method,
                                       const xmlrpc_c::paramList& params) const;

  // Runs `method` on this node's first `count` live successors (for replication). A successor
  // that is unavailable is reported and the next one in the successor list is tried instead,
  // so the call reaches up to `count` nodes; any other answer, ok or not, counts as reached.
  // The calls go out as batches (Transport::CallAll, concurrent where the transport can): the
  // first `count` distinct successors together, then one batch per round of replacements.
  // Returns one entry per node tried, in successor-list order; this node itself is never
  // called, so a ring of n nodes yields at most n-1 entries. Never fails as a whole.
  std::vector<SuccessorReply> CallOnSuccessors(size_t count, const std::string& method,
                                               const xmlrpc_c::paramList& params) const;

  // Runs `method` on `node`: locally when it is this node, else through the Transport.
  // Errors: those of Transport::Call and of the command.
  Result<xmlrpc_c::value> Call(const NodeRef& node, const std::string& method,
                               const xmlrpc_c::paramList& params) const;

  // For owner-side commands: ok if this node owns `id` now. When it seems not to, the
  // predecessor is checked first (it may have failed, which hands its range to this node).
  // While it knows no predecessor it claims every id.
  // Errors: NotOwner (see below); Refused if this node is not in a ring.
  Status CheckOwner(const Id& id) const;
  // The id of `key` on this ring.
  Id KeyId(const std::string& key) const { return Id::Hash(key, local_->bits()); }

  // The status a node answers when it does not own `id` (ErrorCode::kNotOwner, fault code 7);
  // IsNotOwner recognizes it by its code, also after it crossed the wire as a fault.
  static Status NotOwner(const Id& id, int bits);
  static bool IsNotOwner(const Status& status);

  Local& local() const { return *local_; }

 private:
  // The predecessor of `node` as it reports it, or an error / NotFound if it knows none.
  Result<NodeRef> PredecessorOf(const NodeRef& node) const;

  Local* local_;
  const CommandRegistry* registry_;
  RouterOptions options_;
};

}  // namespace chord

#endif  // CHORD_OVERLAY_ROUTER_H_
