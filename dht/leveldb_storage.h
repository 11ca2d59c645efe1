// LevelDbStorage: Storage in a LevelDB database in a directory (--data-dir), so that a node's
// records and tombstones survive a restart, a kill -9 included.
//
// Layout: records under "r" + the key's id (20 bytes, big-endian) + the key's bytes, so that
// LevelDB's bytewise order is the (id, key) ring order Range() scans; node metadata (identity)
// under "m" + name. A value is the entry's version, expiry and write time (8 bytes each,
// big-endian), one flags byte (tombstone, binary), then the value's bytes.
//
// Durability: writes go to LevelDB's log without fsync, so they survive the process dying
// (kill -9) but the last ones may be lost when the machine loses power; the replicas on other
// nodes hold them, and repair brings them back.
//
// Exclusive use: LevelDB locks the directory's LOCK file (fcntl) while open, so a second
// process cannot open the same directory: Open refuses it and touches nothing in it.
//
// Thread-safety: all methods are safe to call concurrently (LevelDB is; read-modify-writes are
// serialized by a mutex). Lifetime: the database is closed when the object is destroyed.
#ifndef CHORD_DHT_LEVELDB_STORAGE_H_
#define CHORD_DHT_LEVELDB_STORAGE_H_

#include <atomic>
#include <memory>
#include <mutex>

#include "dht/storage.h"

namespace leveldb {
class DB;
class Slice;
}  // namespace leveldb

namespace chord {

class LevelDbStorage : public Storage {
 public:
  // Opens (creating if missing) the database in `dir`, creating `dir` itself if needed.
  // Errors: Refused with what to do when the directory is in use by another process, cannot be
  // read or written, or does not hold a database of this format.
  static Result<std::unique_ptr<LevelDbStorage>> Open(const std::string& dir);
  ~LevelDbStorage() override;

  std::optional<Entry> Get(const Id& id, const std::string& key) const override;
  Result<bool> PutIfNewer(const Id& id, const std::string& key, const Entry& entry) override;
  Result<bool> Erase(const Id& id, const std::string& key, uint64_t version) override;
  std::vector<Record> Range(const Id& from, const Id& to,
                            const std::optional<RecordPosition>& after,
                            size_t limit) const override;
  size_t Count() const override { return count_.load(); }
  // One WriteBatch for all of them (one log append), under one hold of the write mutex.
  Status PutManyIfNewer(const std::vector<Record>& records, std::vector<bool>* stored,
                        std::vector<std::optional<Entry>>* replaced = nullptr) override;
  // Reads keys and the values' headers only (no value is copied).
  std::vector<RecordVersion> Versions(const Id& from, const Id& to,
                                      const std::optional<RecordPosition>& after,
                                      size_t limit) const override;

  // Node metadata (the identity a restart needs), by name; synced to disk when written.
  // Errors: StorageFailed.
  Result<std::optional<std::string>> ReadMeta(const std::string& name) const;
  Status WriteMeta(const std::string& name, const std::string& value);

 private:
  LevelDbStorage(std::unique_ptr<leveldb::DB> db, size_t count);
  // The walk of Range: calls visit(id, key, value bytes) on each record in order; a record
  // counts towards `limit` when visit returns true.
  template <typename Visit>
  void Scan(const Id& from, const Id& to, const std::optional<RecordPosition>& after, size_t limit,
            const Visit& visit) const;
  std::unique_ptr<leveldb::DB> db_;
  std::mutex write_mutex_;  // makes each read-compare-write of PutIfNewer and Erase atomic
  std::atomic<size_t> count_;
};

}  // namespace chord

#endif  // CHORD_DHT_LEVELDB_STORAGE_H_
