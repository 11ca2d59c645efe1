// Zave's invariants of a Chord ring ("How to Make Chord Correct", P. Zave, 2017), checked on a
// snapshot of the members' pointers.
//
// A member is a live node in the ring. Its best successor is the first entry of its successor
// list that is a live member (itself when the list is empty: it believes it is alone). Following
// best successors from any member ends in a cycle; the members on cycles form rings, the others
// are appendages. The invariants:
//   AtLeastOneRing       there is a ring;
//   AtMostOneRing        there is only one;
//   OrderedRing          going round the ring passes the id circle's zero exactly once;
//   ConnectedAppendages  every appendage reaches the ring through best successors;
//   OrderedSuccessorLists each list goes round the circle from its owner without passing it:
//                        entry i+1 lies in (entry i, owner);
//   LiveSuccessor        every member with a non-empty list has a live member in it.
//
// Thread-safety: stateless functions.
#ifndef CHORD_TOOLS_SIM_INVARIANTS_H_
#define CHORD_TOOLS_SIM_INVARIANTS_H_

#include <optional>
#include <string>
#include <vector>

#include "overlay/node_ref.h"

namespace chord {

// One member's pointers, as read at the moment of the check.
struct MemberState {
  NodeRef self;
  std::vector<NodeRef> successors;
  std::optional<NodeRef> predecessor;
};

struct InvariantReport {
  std::vector<std::string> violations;  // one line each, naming the invariant and the nodes
  int rings = 0;                        // cycles of best successors
  int ring_size = 0;                    // members on the (first) ring
  int appendages = 0;                   // members on no ring
  bool ok() const { return violations.empty(); }
};

// Checks every invariant above on `members` (all live members, in any order; ids distinct).
InvariantReport CheckInvariants(const std::vector<MemberState>& members);

}  // namespace chord

#endif  // CHORD_TOOLS_SIM_INVARIANTS_H_
