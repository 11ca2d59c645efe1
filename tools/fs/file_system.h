// FileSystem: the operations of chord-fs on paths and open handles, answering 0 (or a byte
// count) or -errno as FUSE wants, on top of FsStore (the DHT model) and ChunkCache (reads).
//
// Close-to-open consistency, as NFS: open() always fetches the file's manifest, so it sees every
// version closed before it; writes go to a local copy of the file (a temp file, unlinked at
// once) and are stored on flush (close), fsync or the last release: chunks under a fresh prefix,
// several in flight, then the manifest in one set. A file open twice in one mount shares one
// state, so both handles see each other's writes. Attributes and directory records of paths not
// open here are cached for `attr_ms` (the kernel is told not to cache them, so that open() and
// readdir() can always go to the ring); the kernel keeps a file's pages across opens only while
// its version is unchanged.
//
// Errors: not found -> ENOENT, ring unreachable (after FsStore's retries) -> EIO, a name the DHT
// refuses (too long, not UTF-8) -> EINVAL, what the file system does not do -> the errno POSIX
// has for it (see the adapter).
//
// Thread-safety: every method from any thread (FUSE's multi-threaded loop). Lifetime: Start()
// before the first operation, Stop() after the last one (joins the worker threads); the store
// must outlive the file system.
#ifndef CHORD_TOOLS_FS_FILE_SYSTEM_H_
#define CHORD_TOOLS_FS_FILE_SYSTEM_H_

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "commands/worker_pool.h"
#include "tools/fs/chunk_cache.h"
#include "tools/fs/fs_store.h"

namespace chord {

struct FileSystemOptions {
  size_t cache_bytes = 64 << 20;  // chunk cache budget
  int read_ahead = 8;             // chunks fetched ahead of a reader
  int uploads_in_flight = 8;      // chunk writes in flight while storing a file
  int attr_ms = 1000;             // life of cached attributes and directory records
  std::string temp_dir = "/tmp";  // where local copies of written files live (unlinked)
};

int ErrnoOf(const Status& status);

class FileSystem {
 public:
  FileSystem(FsStore* store, FileSystemOptions options);
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  Status Start();  // starts the workers, creates the root directory if the ring has none
  void Stop();

  // `handle` 0: none (path only).
  int GetAttr(const std::string& path, uint64_t handle, struct stat* st);
  int Access(const std::string& path);
  int ReadDir(const std::string& path, std::vector<std::string>* names);
  int Mkdir(const std::string& path, mode_t mode);
  int Rmdir(const std::string& path);
  int Unlink(const std::string& path);
  int Rename(const std::string& from, const std::string& to, bool no_replace);
  int Symlink(const std::string& target, const std::string& path);
  int ReadLink(const std::string& path, std::string* target);
  int Chmod(const std::string& path, mode_t mode);
  int SetMtime(const std::string& path, int64_t mtime_ns);
  int Truncate(const std::string& path, uint64_t handle, off_t size);
  int Create(const std::string& path, mode_t mode, uint64_t* handle);
  int Open(const std::string& path, int flags, uint64_t* handle, bool* keep_cache);
  int Read(uint64_t handle, char* buffer, size_t size, off_t offset);  // bytes or -errno
  int Write(uint64_t handle, const char* buffer, size_t size, off_t offset);
  int Flush(uint64_t handle);  // close() and fsync()
  int Release(uint64_t handle);

 private:
  struct OpenFile;
  struct Handle;
  struct Attr {
    char type = 'f';
    uint64_t size = 0;
    uint32_t mode = 0644;
    int64_t mtime_ns = 0;
    uint32_t links = 1;
  };
  template <typename T>
  struct Cached {
    T value;
    std::chrono::steady_clock::time_point expires;
  };

  int Lookup(const std::string& path, Attr* attr, std::string* link_target = nullptr);
  Result<FsDir> CachedDir(const std::string& path, bool fresh);
  Result<DhtFileInfo> CachedManifest(const std::string& path, bool fresh);
  void Forget(const std::string& path);  // drops cached records of path and its parent
  std::shared_ptr<OpenFile> Opened(const std::string& path);
  int OpenWith(const std::string& path, const DhtFileInfo& info, int flags, uint64_t* handle,
               bool* keep_cache);
  int Materialize(OpenFile* file, bool empty);  // file->mutex held
  int Upload(OpenFile* file);                   // file->mutex held
  struct Flight;
  // Until at most `at_most` chunk writes are in flight (or one failed, if at_most > 0); false if
  // that takes longer than any chunk write may.
  bool WaitFlight(Flight* flight, int at_most);
  // Stores the chunks of the local copy `fd` as `info` names them, several in flight; returns
  // their SHA-1.
  Result<std::string> StoreChunks(int fd, const std::string& path, const DhtFileInfo& info);
  Status MoveTree(const std::string& from, const std::string& to);
  // Replaces the entry `from` by `entry` (named as `to`) in the parent directories.
  Status MoveEntry(const std::string& from, const std::string& to, const FsEntry& entry);
  void MoveOpenFiles(const std::string& from, const std::string& to);
  void DropChunksLater(const std::string& path, const DhtFileInfo& info);
  DhtFileInfo EmptyFile(uint32_t mode) const;
  static std::string Version(const DhtFileInfo& info);

  FsStore* store_;
  const FileSystemOptions options_;
  const int64_t mounted_ns_;
  WorkerPool pool_;
  ChunkCache cache_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<OpenFile>> open_;  // guarded by mutex_
  std::map<std::string, std::string> kernel_version_;      // guarded by mutex_
  std::map<std::string, Cached<FsDir>> dirs_;              // guarded by mutex_
  std::map<std::string, Cached<DhtFileInfo>> manifests_;   // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_TOOLS_FS_FILE_SYSTEM_H_
