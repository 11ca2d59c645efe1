#include "overlay/finger_table.h"

namespace chord {

FingerTable::FingerTable(const Id& self, int bits)
    : self_(self), bits_(bits), nodes_(bits), kept_(bits) {
  starts_.reserve(bits);
  for (int i = 0; i < bits; ++i) starts_.push_back(self.AddPowerOfTwo(i, bits));
}

void FingerTable::Set(int i, const NodeRef& node) {
  if (nodes_[i] == node) return;
  KeepValueAtMark(i);
  nodes_[i] = node;
}

void FingerTable::Remove(const std::string& address) {
  for (int i = 0; i < bits_; ++i) {
    if (nodes_[i] && nodes_[i]->address == address) {
      KeepValueAtMark(i);
      nodes_[i].reset();
    }
  }
}

void FingerTable::Clear() {
  for (int i = 0; i < bits_; ++i) {
    if (nodes_[i]) {
      KeepValueAtMark(i);
      nodes_[i].reset();
    }
  }
}

void FingerTable::Mark() {
  marked_ = true;
  for (const auto& kept : at_mark_) kept_[kept.first] = false;
  at_mark_.clear();
}

bool FingerTable::ChangedSinceMark() {
  bool changed = false;
  for (const auto& [i, value] : at_mark_) changed = changed || nodes_[i] != value;
  for (const auto& kept : at_mark_) kept_[kept.first] = false;
  // Frees the room too: a new node's first step changes nearly every finger, and that much
  // room kept by every node was a third of a big simulated ring's memory.
  std::vector<std::pair<int, std::optional<NodeRef>>>().swap(at_mark_);
  marked_ = false;
  return changed;
}

void FingerTable::KeepValueAtMark(int i) {
  if (!marked_ || kept_[i]) return;
  kept_[i] = true;
  at_mark_.emplace_back(i, nodes_[i]);
}

std::vector<NodeRef> FingerTable::ClosestPreceding(const Id& id) const {
  std::vector<NodeRef> out;
  for (int i = bits_ - 1; i >= 0; --i) {
    const auto& node = nodes_[i];
    if (!node) continue;
    // Runs of fingers name the same node: its answer is the one its neighbour above just got
    // (outside the interval, or already listed).
    if (i + 1 < bits_ && nodes_[i + 1] == node) continue;
    if (!InOpenInterval(node->id, self_, id)) continue;
    if (!out.empty() && out.back() == *node) continue;
    bool seen = false;
    for (const auto& n : out) seen = seen || n == *node;
    if (!seen) out.push_back(*node);
  }
  return out;
}

}  // namespace chord
