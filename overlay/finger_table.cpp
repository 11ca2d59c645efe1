#include "overlay/finger_table.h"

namespace chord {

FingerTable::FingerTable(const Id& self, int bits) : self_(self), bits_(bits), nodes_(bits) {
  starts_.reserve(bits);
  for (int i = 0; i < bits; ++i) starts_.push_back(self.AddPowerOfTwo(i, bits));
}

void FingerTable::Remove(const std::string& address) {
  for (auto& node : nodes_) {
    if (node && node->address == address) node.reset();
  }
}

void FingerTable::Clear() {
  for (auto& node : nodes_) node.reset();
}

std::vector<NodeRef> FingerTable::ClosestPreceding(const Id& id) const {
  std::vector<NodeRef> out;
  for (int i = bits_ - 1; i >= 0; --i) {
    const auto& node = nodes_[i];
    if (!node || !InOpenInterval(node->id, self_, id)) continue;
    if (!out.empty() && out.back() == *node) continue;
    bool seen = false;
    for (const auto& n : out) seen = seen || n == *node;
    if (!seen) out.push_back(*node);
  }
  return out;
}

}  // namespace chord
