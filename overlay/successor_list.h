// SuccessorList: the next r nodes clockwise from this one, nearest first.
//
// It never contains the node itself: an empty list means the node believes it is alone, and
// then its successor is itself. A ring smaller than r+1 nodes simply gives a shorter list.
//
// Thread-safety: none; Local guards it with its own mutex.
#ifndef CHORD_OVERLAY_SUCCESSOR_LIST_H_
#define CHORD_OVERLAY_SUCCESSOR_LIST_H_

#include <string>
#include <vector>

#include "overlay/node_ref.h"

namespace chord {

class SuccessorList {
 public:
  SuccessorList(NodeRef self, size_t capacity) : self_(std::move(self)), capacity_(capacity) {}

  // The successor: the first entry, or the node itself when the list is empty.
  const NodeRef& First() const { return entries_.empty() ? self_ : entries_.front(); }
  const std::vector<NodeRef>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t capacity() const { return capacity_; }

  // Replaces the list by `head` followed by `tail` (a successor's own list), stopping at the
  // node itself or a repeat, truncated to capacity. Returns true if the list changed.
  bool Reset(const NodeRef& head, const std::vector<NodeRef>& tail);
  // Replaces the list by `nodes` with the same rules. Returns true if the list changed.
  bool Assign(const std::vector<NodeRef>& nodes);
  // Drops `address` wherever it is; later entries shift up. Returns true if it was there.
  bool Remove(const std::string& address);

 private:
  NodeRef self_;
  size_t capacity_;
  std::vector<NodeRef> entries_;
};

}  // namespace chord

#endif  // CHORD_OVERLAY_SUCCESSOR_LIST_H_
