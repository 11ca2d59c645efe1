// NodeRef: how one node names another: its id and its "HOST:PORT" address.
//
// On the wire a NodeRef is a struct {id: hex string, address: string}.
// Thread-safety: a plain value type.
#ifndef CHORD_OVERLAY_NODE_REF_H_
#define CHORD_OVERLAY_NODE_REF_H_

#include <ostream>
#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>

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

xmlrpc_c::value NodeToValue(const NodeRef& node, int bits);
xmlrpc_c::value NodesToValue(const std::vector<NodeRef>& nodes, int bits);
// Errors: BadArgument if the struct lacks id/address or the id is malformed for `bits`.
Result<NodeRef> NodeFromValue(const xmlrpc_c::value& value, int bits);
Result<std::vector<NodeRef>> NodesFromValue(const xmlrpc_c::value& array, int bits);

}  // namespace chord

#endif  // CHORD_OVERLAY_NODE_REF_H_
