// OverlayObserver: how an upper layer (the DHT, a user's layer) hears about overlay changes.
//
// Callbacks run synchronously on the thread that made the change (a maintenance step, an RPC
// handler, Leave), never while Local holds its lock, so an observer may call back into Local or
// make RPCs. They should return promptly: maintenance waits for them.
#ifndef CHORD_OVERLAY_OVERLAY_OBSERVER_H_
#define CHORD_OVERLAY_OVERLAY_OBSERVER_H_

#include <optional>
#include <vector>

#include "overlay/node_ref.h"

namespace chord {

class OverlayObserver {
 public:
  virtual ~OverlayObserver() = default;
  // The predecessor changed, so this node's key range (predecessor, self] changed.
  // Either side may be empty (no known predecessor).
  virtual void OnPredecessorChanged(const std::optional<NodeRef>& /*before*/,
                                    const std::optional<NodeRef>& /*after*/) {}
  // The successor list changed (a join, a leave or a failure next to this node).
  virtual void OnSuccessorsChanged(const std::vector<NodeRef>& /*successors*/) {}
  // The node is about to leave gracefully: hand state over now. Called before the neighbours
  // are told; the ring pointers are still in place.
  virtual void OnLeaving() {}
};

}  // namespace chord

#endif  // CHORD_OVERLAY_OVERLAY_OBSERVER_H_
