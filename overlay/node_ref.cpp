#include "overlay/node_ref.h"

namespace chord {

std::ostream& operator<<(std::ostream& out, const NodeRef& node) {
  return out << node.address << " (" << node.id.ToHex(160).substr(0, 10) << ")";
}

}  // namespace chord
