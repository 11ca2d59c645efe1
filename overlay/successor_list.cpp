#include "overlay/successor_list.h"

#include <algorithm>

namespace chord {

bool SuccessorList::Reset(const NodeRef& head, const std::vector<NodeRef>& tail) {
  std::vector<NodeRef> nodes;
  nodes.reserve(tail.size() + 1);
  nodes.push_back(head);
  nodes.insert(nodes.end(), tail.begin(), tail.end());
  return Assign(nodes);
}

bool SuccessorList::Assign(const std::vector<NodeRef>& nodes) {
  std::vector<NodeRef> next;
  for (const auto& node : nodes) {
    if (next.size() >= capacity_) break;
    if (node.address == self_.address) break;  // wrapped around the ring
    bool repeat = std::any_of(next.begin(), next.end(),
                              [&](const NodeRef& n) { return n.address == node.address; });
    if (repeat) break;
    next.push_back(node);
  }
  if (next == entries_) return false;
  entries_ = std::move(next);
  return true;
}

bool SuccessorList::Remove(const std::string& address) {
  auto it = std::remove_if(entries_.begin(), entries_.end(),
                           [&](const NodeRef& n) { return n.address == address; });
  if (it == entries_.end()) return false;
  entries_.erase(it, entries_.end());
  return true;
}

}  // namespace chord
