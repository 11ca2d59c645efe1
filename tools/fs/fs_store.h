// FsStore: the file-system model of chord-fs kept in the DHT, without FUSE.
//
// A path "/a/b/f" of the mount is the DHT name "a/b/f": a regular file is a put-file manifest at
// that key (dht/dht_client.h), so `chord put-file X a/b/f` and `chord get-file a/b/f Y` see the
// same files as the mount. chord-fs writes each version of a file under a fresh chunk prefix
// ("chord-fs/data/<64 random bits>") and replaces the manifest last, in one dht.set: a reader
// sees the old file or the new one, never a mix, and the last writer to finish wins whole-file.
// A directory is a record at "chord-fs/dir:/a/b" (binary value): its mode, mtime and entries
// (name, type, and a symlink's target). The root record is created by the first mount. A
// change to a directory holds its lock, a key added with dht.add ("...#lock", 10 s ttl, so a
// crashed holder cannot block it for longer), so two mounts never lose each other's entries.
//
// Calls go to the entry node if one is given, else to a random member; when the node asked does
// not answer, to the other members (DhtClient's fail-over). Faults: every call is retried on
// "unavailable" (a dead member, an owner that just crashed and whose successor has not taken over
// yet) until the options' time-out, then fails Unavailable.
//
// Thread-safety: every method is safe from any number of threads (each call borrows its own
// DhtClient). Lifetime: the Transport must outlive the store.
#ifndef CHORD_TOOLS_FS_FS_STORE_H_
#define CHORD_TOOLS_FS_FS_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "commands/status.h"
#include "commands/transport.h"
#include "dht/dht_client.h"

namespace chord {

struct FsStoreOptions {
  size_t chunk_bytes = 256 * 1024;  // chunk size of the files the mount writes
  int timeout_ms = 15000;           // how long an operation retries an unavailable ring
  int lock_ttl_s = 10;              // life of a directory lock whose holder died
  std::string entry;                // member asked first ("": a random member each call)
  bool direct = true;               // chunks go straight to their owner (found by dht.locate)
};

struct FsEntry {
  char type = 'f';     // 'f' file, 'd' directory, 'l' symlink
  std::string name;    // one path component
  std::string target;  // symlinks only
};

struct FsDir {
  uint32_t mode = 0755;
  int64_t mtime_ns = 0;
  std::vector<FsEntry> entries;

  const FsEntry* Find(const std::string& name) const;
  bool Erase(const std::string& name);  // false if absent
  void Put(FsEntry entry);              // adds or replaces
};

// The record's bytes and their parse. Errors: BadArgument if `bytes` is not a directory record.
std::string EncodeDir(const FsDir& dir);
Result<FsDir> DecodeDir(const std::string& bytes);

// "/a/b" -> "a/b" (the file's DHT name); "/a/b" -> "chord-fs/dir:/a/b" (its directory record).
std::string FileKey(const std::string& path);
std::string DirKey(const std::string& path);
// "/a/b" -> "/a" and "b"; "/a" -> "/" and "a".
std::string ParentPath(const std::string& path);
std::string BaseName(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);
int64_t NowNs();

class FsStore {
 public:
  FsStore(Transport* transport, std::vector<std::string> members, FsStoreOptions options);

  // Creates the root directory record if there is none.
  Status EnsureRoot();

  // Files. GetManifest: NotFound if there is no such key, BadArgument if it is not a manifest.
  Result<DhtFileInfo> GetManifest(const std::string& path);
  Status PutManifest(const std::string& path, const DhtFileInfo& info);
  Status RemoveManifest(const std::string& path);
  // Chunk `index` of the file `path` described by `info`. NotFound if it is missing (the file
  // was replaced and its old chunks dropped).
  Result<std::string> GetChunk(const std::string& path, const DhtFileInfo& info, uint64_t index);
  Status PutChunk(const std::string& key, const std::string& bytes);
  // Best effort: chunks of a version nobody refers to any more.
  void RemoveChunks(const std::string& path, const DhtFileInfo& info);
  // A fresh chunk prefix for a new version of a file.
  std::string NewChunkPrefix();
  // The version `info` of the file `path` with its chunks under a prefix of their own: a file
  // stored by put-file has them under its name, which a rename would leave behind (and a later
  // put-file of the old name would overwrite), so they are copied to a fresh prefix.
  Result<DhtFileInfo> OwnChunks(const std::string& path, DhtFileInfo info);

  // Directories. GetDir: NotFound if there is no record.
  Result<FsDir> GetDir(const std::string& path);
  Status PutDir(const std::string& path, const FsDir& dir);
  Status RemoveDir(const std::string& path);
  // Reads the record of `path` under its lock, lets `change` edit it (and do other calls), and
  // writes it back if `change` returned ok (with mtime now, unless `change` set one). NotFound
  // if there is no record.
  Status UpdateDir(const std::string& path, const std::function<Status(FsDir*)>& change);

  // Lists the file stored at DHT name `name` (by `chord put-file`) in the mount's tree: the
  // directories of "a/b/c" are created if missing and "c" is added to "/a/b". Errors:
  // BadArgument if `name` is no path (an empty, "." or ".." component, or under chord-fs/);
  // NotFound if a component is a file; any error of the ring.
  Status LinkFile(const std::string& name);

  const FsStoreOptions& options() const { return options_; }

 private:
  class Lease;
  // A client for one call; returned to the pool by the Lease.
  std::unique_ptr<DhtClient> Borrow();
  void Return(std::unique_ptr<DhtClient> client);
  // Runs `call` until it does not fail as unavailable or the time-out passes.
  template <typename T>
  Result<T> Retry(const std::function<Result<T>(DhtClient*, const std::string& via)>& call);
  // The entry node, unless it failed in the last few seconds ("": any member).
  std::string Entry();
  void EntryFailed(const std::string& entry);
  Result<DhtValue> GetValue(const std::string& key);  // NotFound if absent
  Status SetValue(const std::string& key, const DhtValue& value, int ttl_s = 0);
  Status RemoveKey(const std::string& key);
  Status Lock(const std::string& key, const std::string& token);
  // The owner of `key` if options_.direct ("" if not, or unknown): a chunk sent there saves
  // the entry node receiving and forwarding its bytes.
  std::string OwnerOf(const std::string& key);

  Transport* transport_;
  const std::vector<std::string> members_;
  const FsStoreOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<DhtClient>> idle_;            // guarded by mutex_
  uint64_t seed_ = 0;                                       // guarded by mutex_
  std::chrono::steady_clock::time_point entry_down_until_;  // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_TOOLS_FS_FS_STORE_H_
