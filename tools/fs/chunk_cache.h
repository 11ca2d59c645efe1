// ChunkCache: the chunks of files read through chord-fs, fetched with several calls in flight
// and kept (least recently used first out) up to a byte budget.
//
// A chunk is cached under its content version (chunk prefix or name, the file's SHA-1, index),
// never under the path alone, so a file replaced elsewhere is never served stale: a reader that
// reopened it has the new manifest and asks for other entries. Reading chunk i starts fetches of
// the next `read_ahead` chunks, so a sequential reader finds them ready.
//
// Thread-safety: every method from any thread. Lifetime: the store and the pool must outlive
// the cache; the pool must be stopped (its jobs joined) before the cache is destroyed.
#ifndef CHORD_TOOLS_FS_CHUNK_CACHE_H_
#define CHORD_TOOLS_FS_CHUNK_CACHE_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "commands/status.h"
#include "commands/worker_pool.h"
#include "tools/fs/fs_store.h"

namespace chord {

class ChunkCache {
 public:
  ChunkCache(FsStore* store, WorkerPool* pool, size_t capacity_bytes, int read_ahead);

  // Copies up to `size` bytes at `offset` of the file `path` (version `info`) into `out`;
  // returns how many (0 at or past the end). Errors: those of FsStore::GetChunk, or
  // Unavailable if a chunk has the wrong size (the manifest and chunks do not match).
  Result<size_t> Read(const std::string& path, const DhtFileInfo& info, uint64_t offset,
                      size_t size, char* out);
  // Writes the whole file into `fd` from offset 0 (chunks fetched ahead as in Read).
  Status ReadAll(const std::string& path, const DhtFileInfo& info, int fd);

 private:
  struct Slot {
    bool ready = false;
    Status status;
    std::shared_ptr<const std::string> bytes;
    uint64_t last_use = 0;
  };
  static std::string SlotKey(const std::string& path, const DhtFileInfo& info, uint64_t index);
  // Starts fetching the chunk unless it is cached or on its way (mutex_ held).
  void StartFetch(const std::string& path, const DhtFileInfo& info, uint64_t index);
  // Waits for the chunk, fetching it if needed.
  Result<std::shared_ptr<const std::string>> Chunk(const std::string& path, const DhtFileInfo& info,
                                                   uint64_t index);
  void Evict();  // mutex_ held: drops the least recently used ready chunks beyond the budget

  FsStore* store_;
  WorkerPool* pool_;
  const size_t capacity_bytes_;
  const int read_ahead_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::string, Slot> slots_;  // guarded by mutex_
  size_t bytes_ = 0;                   // guarded by mutex_: bytes of the ready slots
  uint64_t clock_ = 0;                 // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_TOOLS_FS_CHUNK_CACHE_H_
