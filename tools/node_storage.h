// The storage chord-node keeps its DHT records in: memory without --data-dir, else LevelDB in
// that directory, together with the node's identity (its address, hence its id, and the ring's
// id size) so that a node restarted on its directory comes back as the same member.
//
// Thread-safety: call from main only, before the node starts serving.
#ifndef CHORD_TOOLS_NODE_STORAGE_H_
#define CHORD_TOOLS_NODE_STORAGE_H_

#include <memory>
#include <string>

#include "dht/leveldb_storage.h"
#include "settings/settings.h"

namespace chord {

struct NodeStorage {
  std::unique_ptr<Storage> storage;
  LevelDbStorage* durable = nullptr;  // the same object when settings.data_dir is set
};

// Opens settings.data_dir (or memory). Errors: Refused when the directory is in use by another
// process or unusable (nothing in it was written).
Result<NodeStorage> OpenNodeStorage(const Settings& settings);

// Before the node binds: takes the port and id size kept in `storage` unless the settings give
// them (port_given, bits_given). A kept id size that differs from a given one is Refused (every
// key's id in the directory was computed with it). Sets *kept_port when the port came from the
// directory (the caller may fall back to a free port if it is taken), *kept_bits when the id
// size did (the ring must then use it too).
Status RestoreIdentity(const LevelDbStorage& storage, bool port_given, bool bits_given,
                       Settings* settings, bool* kept_port, bool* kept_bits);

// Once bound: records the node's address and id size. Errors: StorageFailed.
Status SaveIdentity(LevelDbStorage* storage, const std::string& address, int bits);

}  // namespace chord

#endif  // CHORD_TOOLS_NODE_STORAGE_H_
