#include "tools/ring_walk.h"

namespace chord {

RingWalk WalkRing(Transport* transport, const std::string& start, size_t max_nodes) {
  RingWalk walk;
  const ChordStub stub(transport, 0);
  std::string at = start;
  for (size_t step = 0; step < max_nodes; ++step) {
    auto info = stub.Info(at);
    if (!info.ok()) {
      walk.problem = at + " does not answer: " + info.status().message();
      return walk;
    }
    RingMember member;
    member.id = info->self.id.ToHex(info->bits);
    member.address = info->self.address;
    if (info->predecessor) member.predecessor = info->predecessor->address;
    for (const auto& s : info->successors) member.successors.push_back(s.address);
    member.info = std::move(info.value());
    walk.members.push_back(std::move(member));
    const RingMember& added = walk.members.back();
    std::string next = added.successors.empty() ? added.address : added.successors.front();
    if (next == start) {
      walk.closed = true;
      return walk;
    }
    at = next;
  }
  walk.problem =
      "the walk did not come back to " + start + " within " + std::to_string(max_nodes) + " nodes";
  return walk;
}

std::string CheckRing(const RingWalk& walk, size_t expected) {
  if (!walk.problem.empty()) return walk.problem;
  if (!walk.closed) return "the ring is not closed";
  const auto& m = walk.members;
  const size_t n = m.size();
  if (expected && n != expected) {
    return "the ring has " + std::to_string(n) + " of " + std::to_string(expected) + " nodes";
  }
  int wraps = 0;
  for (size_t i = 0; i < n; ++i) {
    const RingMember& next = m[(i + 1) % n];
    if (n > 1 && !(m[i].id < next.id)) ++wraps;
    if (n > 1 && next.predecessor != m[i].address) {
      return next.address + " has predecessor " +
             (next.predecessor.empty() ? "none" : next.predecessor) + ", want " + m[i].address;
    }
  }
  if (n > 1 && wraps != 1) return "ids are not in ring order (" + std::to_string(wraps) + " wraps)";
  return "";
}

}  // namespace chord
