#include "dht/owner_map.h"

namespace chord {

void OwnerMap::Seed(const NodeInfo& info) {
  if (info.bits <= 0) return;
  if (bits_ != info.bits) nodes_.clear();  // another ring: ids of the old one mean nothing
  bits_ = info.bits;
  Add(info.self);
  if (info.predecessor) Add(*info.predecessor);
  for (const NodeRef& node : info.successors) Add(node);
  for (const auto& finger : info.fingers) {
    if (finger) Add(*finger);
  }
}

void OwnerMap::Learn(const std::string& id_hex, const std::string& address) {
  if (!ready() || address.empty()) return;
  auto id = Id::FromHex(id_hex, bits_);
  if (id.ok()) Add(NodeRef{id.value(), address});
}

void OwnerMap::Add(const NodeRef& node) {
  if (node.address.empty()) return;
  auto known = nodes_.find(node.id);
  if (known != nodes_.end()) {
    known->second = node.address;  // a node restarted on another port under the same id
    return;
  }
  if (nodes_.size() >= kMaxNodes) return;
  nodes_.emplace(node.id, node.address);
}

void OwnerMap::Forget(const std::string& address) {
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    it = it->second == address ? nodes_.erase(it) : std::next(it);
  }
}

std::string OwnerMap::Guess(const std::string& key) const {
  if (!ready() || nodes_.empty()) return "";
  auto owner = nodes_.lower_bound(Id::Hash(key, bits_));
  if (owner == nodes_.end()) owner = nodes_.begin();  // past the highest id: wraps around
  return owner->second;
}

}  // namespace chord
