#include "overlay/node_ref.h"

#include "commands/value_util.h"

namespace chord {

std::ostream& operator<<(std::ostream& out, const NodeRef& node) {
  return out << node.address << " (" << node.id.ToHex(160).substr(0, 10) << ")";
}

xmlrpc_c::value NodeToValue(const NodeRef& node, int bits) {
  return MakeStruct({{"id", xmlrpc_c::value_string(node.id.ToHex(bits))},
                     {"address", xmlrpc_c::value_string(node.address)}});
}

xmlrpc_c::value NodesToValue(const std::vector<NodeRef>& nodes, int bits) {
  std::vector<xmlrpc_c::value> values;
  values.reserve(nodes.size());
  for (const auto& node : nodes) values.push_back(NodeToValue(node, bits));
  return xmlrpc_c::value_array(values);
}

Result<NodeRef> NodeFromValue(const xmlrpc_c::value& value, int bits) {
  auto hex = StructString(value, "id");
  if (!hex.ok()) return hex.status();
  auto address = StructString(value, "address");
  if (!address.ok()) return address.status();
  auto id = Id::FromHex(hex.value(), bits);
  if (!id.ok()) return id.status();
  if (address.value().empty()) return Status::BadArgument("node address is empty");
  return NodeRef{id.value(), address.value()};
}

Result<std::vector<NodeRef>> NodesFromValue(const xmlrpc_c::value& array, int bits) {
  if (array.type() != xmlrpc_c::value::TYPE_ARRAY) {
    return Status::BadArgument("expected an array of nodes");
  }
  std::vector<NodeRef> nodes;
  for (const auto& item : xmlrpc_c::value_array(array).vectorValueValue()) {
    auto node = NodeFromValue(item, bits);
    if (!node.ok()) return node.status();
    nodes.push_back(node.value());
  }
  return nodes;
}

}  // namespace chord
