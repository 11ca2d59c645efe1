#include "tools/sim_invariants.h"

#include <unordered_map>

namespace chord {
namespace {

std::string Name(const NodeRef& node) { return node.address; }

// The index of each member's best successor: -1 if its list names no live member.
std::vector<int> BestSuccessors(const std::vector<MemberState>& members,
                                const std::unordered_map<std::string, int>& index,
                                InvariantReport* report) {
  std::vector<int> best(members.size(), -1);
  for (size_t i = 0; i < members.size(); ++i) {
    const MemberState& member = members[i];
    if (member.successors.empty()) {
      best[i] = int(i);  // alone, as far as it knows
      continue;
    }
    for (const NodeRef& s : member.successors) {
      auto it = index.find(s.address);
      if (it != index.end() && members[size_t(it->second)].self.id == s.id) {
        best[i] = it->second;
        break;
      }
    }
    if (best[i] < 0) {
      report->violations.push_back("LiveSuccessor: " + Name(member.self) +
                                   " has no live member in its successor list");
    }
  }
  return best;
}

void CheckListOrder(const MemberState& member, InvariantReport* report) {
  const auto& list = member.successors;
  for (size_t i = 0; i < list.size(); ++i) {
    const bool ordered = i == 0 ? list[0].id != member.self.id
                                : InOpenInterval(list[i].id, list[i - 1].id, member.self.id);
    if (!ordered) {
      report->violations.push_back("OrderedSuccessorLists: " + Name(member.self) + "'s entry " +
                                   std::to_string(i) + " (" + Name(list[i]) + ") is out of order");
      return;
    }
  }
}

}  // namespace

InvariantReport CheckInvariants(const std::vector<MemberState>& members) {
  InvariantReport report;
  if (members.empty()) return report;
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < members.size(); ++i) index[members[i].self.address] = int(i);
  const std::vector<int> best = BestSuccessors(members, index, &report);
  for (const MemberState& member : members) CheckListOrder(member, &report);

  // Colour the functional graph: 0 unvisited, 1 on the current path, 2 done. ring_of[i] is the
  // ring a member's path ends in (-1: a member without a live successor on the way).
  const size_t n = members.size();
  std::vector<int> state(n, 0), ring_of(n, -2), path;
  std::vector<std::vector<int>> rings;
  for (size_t start = 0; start < n; ++start) {
    if (state[start] != 0) continue;
    path.clear();
    int at = int(start);
    while (at >= 0 && state[size_t(at)] == 0) {
      state[size_t(at)] = 1;
      path.push_back(at);
      at = best[size_t(at)];
    }
    int ends_in = -1;
    if (at >= 0 && state[size_t(at)] == 1) {
      // A new cycle: from `at` to the end of the path.
      std::vector<int> cycle;
      for (size_t k = 0; k < path.size(); ++k) {
        if (path[k] == at) cycle.assign(path.begin() + long(k), path.end());
      }
      ends_in = int(rings.size());
      rings.push_back(cycle);
    } else if (at >= 0) {
      ends_in = ring_of[size_t(at)];
    }
    for (int member : path) {
      state[size_t(member)] = 2;
      ring_of[size_t(member)] = ends_in;
    }
  }
  report.rings = int(rings.size());
  if (rings.empty()) {
    report.violations.push_back("AtLeastOneRing: no cycle of best successors");
    return report;
  }
  if (rings.size() > 1) {
    std::string which;
    for (const auto& ring : rings) {
      which += (which.empty() ? "" : ", ") + Name(members[size_t(ring[0])].self) + " (" +
               std::to_string(ring.size()) + " members)";
    }
    report.violations.push_back("AtMostOneRing: " + std::to_string(rings.size()) +
                                " rings: " + which);
  }
  const std::vector<int>& ring = rings[0];
  report.ring_size = int(ring.size());
  for (const auto& cycle : rings) {
    int wraps = 0;
    for (int member : cycle) {
      const Id& here = members[size_t(member)].self.id;
      const Id& next = members[size_t(best[size_t(member)])].self.id;
      if (!(here < next)) ++wraps;
    }
    if (wraps != 1) {
      report.violations.push_back("OrderedRing: the ring through " +
                                  Name(members[size_t(cycle[0])].self) + " goes round " +
                                  std::to_string(wraps) + " times");
    }
  }
  std::vector<bool> on_ring(n, false);
  for (const auto& cycle : rings) {
    for (int member : cycle) on_ring[size_t(member)] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (on_ring[i]) continue;
    ++report.appendages;
    if (ring_of[i] < 0) {
      report.violations.push_back("ConnectedAppendages: " + Name(members[i].self) +
                                  " does not reach a ring");
    }
  }
  return report;
}

}  // namespace chord
