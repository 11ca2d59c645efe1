// NodeRef: how one node names another: its id and its "HOST:PORT" address.
//
// On the wire a NodeRef is a struct {id: hex string, address: string} (overlay/chord_protocol.h).
// Thread-safety: a plain value type.
#ifndef CHORD_OVERLAY_NODE_REF_H_
#define CHORD_OVERLAY_NODE_REF_H_

#include <ostream>
#include <string>
#include <vector>

#include "overlay/id.h"

namespace chord {

struct NodeRef {
  Id id;
  std::string address;

  bool operator==(const NodeRef& other) const { return id == other.id && address == other.address; }
  bool operator!=(const NodeRef& other) const { return !(*this == other); }
};

// "address (id prefix)" for logs and test messages.
std::ostream& operator<<(std::ostream& out, const NodeRef& node);

}  // namespace chord

#endif  // CHORD_OVERLAY_NODE_REF_H_
