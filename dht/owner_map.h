// OwnerMap: a client's picture of the ring, so that a keyed call can go straight to the node
// that owns the key instead of a random member that would forward it.
//
// The map holds the nodes the client has heard of (from one member's chord.info, then from the
// owner named in every answer) ordered by id. The guessed owner of a key is the first known
// node at or after the key's id, which is the true owner once every node between is known. A
// wrong guess costs what a random member costs (the node forwards the call, and its answer
// names the true owner, which is then learnt); a guessed node that is down is forgotten.
// Nothing here is trusted for correctness: the node that receives a call always checks
// ownership itself.
//
// Thread-safety: not thread-safe (owned by one DhtClient, which is not either).
#ifndef CHORD_DHT_OWNER_MAP_H_
#define CHORD_DHT_OWNER_MAP_H_

#include <cstddef>
#include <map>
#include <string>

#include "overlay/chord_protocol.h"
#include "overlay/id.h"

namespace chord {

class OwnerMap {
 public:
  // At most this many nodes are remembered: a client of a huge ring keeps the part it uses.
  static constexpr size_t kMaxNodes = 4096;

  // True once the ring's id size is known (from Seed); until then nothing is guessed.
  bool ready() const { return bits_ > 0; }
  // Learns the id size and every node one member knows of.
  void Seed(const NodeInfo& info);
  // Learns a node named in an answer ("hex id", "host:port"); ignores a malformed one.
  void Learn(const std::string& id_hex, const std::string& address);
  // Forgets a node that did not answer.
  void Forget(const std::string& address);
  // The address of the node believed to own `key`; empty when nothing is known.
  std::string Guess(const std::string& key) const;
  size_t size() const { return nodes_.size(); }

 private:
  void Add(const NodeRef& node);

  int bits_ = 0;
  std::map<Id, std::string> nodes_;  // id -> address
};

}  // namespace chord

#endif  // CHORD_DHT_OWNER_MAP_H_
