// Storage: where a node keeps the DHT entries it holds (as owner or as replica).
//
// The DHT only talks to this interface, so a durable engine can replace MemoryStorage without
// touching the protocol. Records are ordered by (key id, key) so that the DHT can move and
// repair whole ranges of the ring in bounded batches.
//
// Engines: MemoryStorage (dht/memory_storage.h; tests, nodes without --data-dir) and
// LevelDbStorage (dht/leveldb_storage.h; --data-dir). Reads of a durable engine that fail are
// logged and answered as a miss (repair fetches the key again from its replicas).
//
// Thread-safety: implementations must be safe to call from many threads at once.
#ifndef CHORD_DHT_STORAGE_H_
#define CHORD_DHT_STORAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands/status.h"
#include "overlay/id.h"

namespace chord {

struct Entry {
  std::string value;          // bytes, exactly as stored
  bool binary = false;        // stored as XML-RPC base64 (true) or string (false)
  uint64_t version = 0;       // newest wins when copies meet
  bool tombstone = false;     // a remove: kept so that repair cannot bring the key back
  int64_t expires_at_ms = 0;  // wall-clock ms since the epoch; 0 = never expires
  int64_t written_at_ms = 0;  // when this version was written (tombstone collection)
};

struct Record {
  Id id;  // id of the key
  std::string key;
  Entry entry;
};

// A position in (id, key) order, for resuming a range scan.
using RecordPosition = std::pair<Id, std::string>;

// What repair compares of a record: where it is and which version, not its value.
struct RecordVersion {
  Id id;
  std::string key;
  uint64_t version = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual std::optional<Entry> Get(const Id& id, const std::string& key) const = 0;
  // Stores `entry` unless an entry of the same or a newer version is there. Returns true if
  // stored. Errors: StorageFailed when the engine could not apply the write (nothing may be
  // acknowledged then).
  virtual Result<bool> PutIfNewer(const Id& id, const std::string& key, const Entry& entry) = 0;
  // Removes the entry if its version is at most `version` (so a newer write is never lost).
  // Returns true if removed. Errors: StorageFailed as above.
  virtual Result<bool> Erase(const Id& id, const std::string& key, uint64_t version) = 0;
  // Up to `limit` records whose id lies in the ring interval (from, to] (from == to: the whole
  // ring), in ring order starting after `from`, resuming after `after` if given.
  virtual std::vector<Record> Range(const Id& from, const Id& to,
                                    const std::optional<RecordPosition>& after,
                                    size_t limit) const = 0;
  virtual size_t Count() const = 0;
  // PutIfNewer for many records, applied as one write where the engine can (LevelDB: one
  // WriteBatch), which a bulk load or a transfer needs: a write per key costs several times
  // more. (*stored)[i] tells whether records[i] was stored, (*replaced)[i] (if `replaced` is
  // given) the entry it replaced. A key twice in `records` is compared with its earlier copy.
  // Errors: StorageFailed (then none of them may be acknowledged). The default calls Get and
  // PutIfNewer for each record.
  virtual Status PutManyIfNewer(const std::vector<Record>& records, std::vector<bool>* stored,
                                std::vector<std::optional<Entry>>* replaced = nullptr) {
    stored->assign(records.size(), false);
    if (replaced) replaced->assign(records.size(), std::nullopt);
    for (size_t i = 0; i < records.size(); ++i) {
      const Record& r = records[i];
      std::optional<Entry> before = replaced ? Get(r.id, r.key) : std::nullopt;
      auto put = PutIfNewer(r.id, r.key, r.entry);
      if (!put.ok()) return put.status();
      (*stored)[i] = put.value();
      if (replaced && put.value()) (*replaced)[i] = std::move(before);
    }
    return Status::Ok();
  }
  // As Range, without the values: an engine that can skip reading them should. The default
  // calls Range.
  virtual std::vector<RecordVersion> Versions(const Id& from, const Id& to,
                                              const std::optional<RecordPosition>& after,
                                              size_t limit) const {
    std::vector<RecordVersion> out;
    for (auto& r : Range(from, to, after, limit)) {
      out.push_back({r.id, std::move(r.key), r.entry.version});
    }
    return out;
  }
};

}  // namespace chord

#endif  // CHORD_DHT_STORAGE_H_
