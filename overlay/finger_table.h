// FingerTable: the m routing shortcuts of one node. Finger i points at the first node that
// succeeds start(i) = self + 2^i (mod 2^m). Entries may be empty (not yet fixed) or stale (the
// node died): lookups route around both.
//
// Thread-safety: none; Local guards it with its own mutex.
#ifndef CHORD_OVERLAY_FINGER_TABLE_H_
#define CHORD_OVERLAY_FINGER_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "overlay/node_ref.h"

namespace chord {

class FingerTable {
 public:
  FingerTable(const Id& self, int bits);

  int size() const { return bits_; }
  // self + 2^i mod 2^m, for 0 <= i < size().
  const Id& Start(int i) const { return starts_[i]; }
  const std::optional<NodeRef>& Get(int i) const { return nodes_[i]; }
  void Set(int i, const NodeRef& node) { nodes_[i] = node; }
  // Clears every finger that points at `address` (a node found dead).
  void Remove(const std::string& address);
  void Clear();

  // Distinct fingers in (self, id), closest to id first: the next hops toward id.
  std::vector<NodeRef> ClosestPreceding(const Id& id) const;

 private:
  Id self_;
  int bits_;
  std::vector<Id> starts_;
  std::vector<std::optional<NodeRef>> nodes_;
};

}  // namespace chord

#endif  // CHORD_OVERLAY_FINGER_TABLE_H_
