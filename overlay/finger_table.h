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
  void Set(int i, const NodeRef& node);
  // Clears every finger that points at `address` (a node found dead).
  void Remove(const std::string& address);
  void Clear();

  // Adaptive fix-fingers asks whether a step changed the table. Comparing copies of all m
  // fingers cost more than the step itself in a large simulated ring, so the table instead
  // keeps, after Mark(), the value each finger had at the mark before its first change.
  // ChangedSinceMark() is true if any finger now differs from that value (a finger set and
  // set back counts as unchanged, as a comparison of copies would say), and ends the watch
  // until the next Mark(), so that an unwatched table keeps no values.
  void Mark();
  bool ChangedSinceMark();

  // Distinct fingers in (self, id), closest to id first: the next hops toward id.
  std::vector<NodeRef> ClosestPreceding(const Id& id) const;

 private:
  Id self_;
  int bits_;
  std::vector<Id> starts_;
  std::vector<std::optional<NodeRef>> nodes_;
  // Before finger i first changes after the mark, keeps its value at the mark.
  void KeepValueAtMark(int i);
  bool marked_ = false;
  std::vector<bool> kept_;  // by finger: its value at the mark is in at_mark_
  std::vector<std::pair<int, std::optional<NodeRef>>> at_mark_;
};

}  // namespace chord

#endif  // CHORD_OVERLAY_FINGER_TABLE_H_
