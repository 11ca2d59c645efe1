// MemoryStorage: Storage in a std::map, guarded by a mutex. Lost when the process ends (the
// DHT's replicas are what make a crash lose nothing).
//
// Thread-safety: all methods are safe to call concurrently.
#ifndef CHORD_DHT_MEMORY_STORAGE_H_
#define CHORD_DHT_MEMORY_STORAGE_H_

#include <map>
#include <mutex>

#include "dht/storage.h"

namespace chord {

class MemoryStorage : public Storage {
 public:
  std::optional<Entry> Get(const Id& id, const std::string& key) const override;
  Result<bool> PutIfNewer(const Id& id, const std::string& key, const Entry& entry) override;
  Result<bool> Erase(const Id& id, const std::string& key, uint64_t version) override;
  std::vector<Record> Range(const Id& from, const Id& to,
                            const std::optional<RecordPosition>& after,
                            size_t limit) const override;
  size_t Count() const override;
  std::vector<RecordVersion> Versions(const Id& from, const Id& to,
                                      const std::optional<RecordPosition>& after,
                                      size_t limit) const override;

 private:
  // Calls `visit` on the entries of Range(from, to, after, limit), in order, under the lock.
  template <typename Visit>
  void Scan(const Id& from, const Id& to, const std::optional<RecordPosition>& after, size_t limit,
            Visit&& visit) const;

  mutable std::mutex mutex_;
  std::map<RecordPosition, Entry> entries_;  // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_DHT_MEMORY_STORAGE_H_
