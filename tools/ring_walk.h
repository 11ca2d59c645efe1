// RingWalk: a picture of a live ring, taken by walking successor pointers with chord.info.
//
// Used by create_chord to wait until the ring is correct and by the `chord` client to show it.
//
// Thread-safety: free functions; each call uses the given transport only.
#ifndef CHORD_TOOLS_RING_WALK_H_
#define CHORD_TOOLS_RING_WALK_H_

#include <string>
#include <vector>

#include "commands/transport.h"
#include "overlay/chord_protocol.h"

namespace chord {

struct RingMember {
  std::string id;  // hex, as the node prints it (ToHex of its ring size)
  std::string address;
  std::string predecessor;              // address, "" if none
  std::vector<std::string> successors;  // addresses
  NodeInfo info;                        // the whole chord.info answer
};

struct RingWalk {
  std::vector<RingMember> members;  // in ring order from the start node
  bool closed = false;              // the walk came back to the start node
  std::string problem;              // "" if the ring is correct (see CheckRing)
};

// Walks from `start` along first successors, at most `max_nodes` steps. Each node is asked with
// ChordStub::Info (ring size not known up front: each node's ids are read at the size it reports).
RingWalk WalkRing(Transport* transport, const std::string& start, size_t max_nodes);

// Empty if `walk` is a correct ring of exactly `expected` nodes (expected 0: any size): it
// closed, ids increase around the circle with one wrap, and each node's predecessor is the node
// before it. Otherwise a one-line description of the first problem.
std::string CheckRing(const RingWalk& walk, size_t expected);

}  // namespace chord

#endif  // CHORD_TOOLS_RING_WALK_H_
