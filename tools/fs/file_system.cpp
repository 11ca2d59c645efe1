#include "tools/fs/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <iostream>

namespace chord {

// One file open in this mount, shared by its handles.
struct FileSystem::OpenFile {
  std::mutex mutex;
  std::string path;   // guarded by mutex_ of the FileSystem (renames move it)
  DhtFileInfo info;   // the version opened or last stored
  int temp_fd = -1;   // the local copy once written or truncated
  uint64_t size = 0;  // of the local copy
  int64_t mtime_ns = 0;
  bool dirty = false;  // the local copy differs from `info`
  bool unlinked = false;
  int handles = 0;  // guarded by mutex_ of the FileSystem
  ~OpenFile() {
    if (temp_fd >= 0) close(temp_fd);
  }
};

struct FileSystem::Handle {
  std::shared_ptr<OpenFile> file;
};

namespace {

// A Status carrying an errno through FsStore::UpdateDir's callback.
Status Errno(int error) { return Status(ErrorCode::kRefused, std::to_string(error)); }

// A directory's link count as on a local disk (find and fts rely on it): ".", its name in the
// parent, and ".." of each subdirectory.
uint32_t Links(const FsDir& dir) {
  return 2 + uint32_t(std::count_if(dir.entries.begin(), dir.entries.end(),
                                    [](const FsEntry& e) { return e.type == 'd'; }));
}

void FillStat(char type, uint64_t size, uint32_t mode, int64_t mtime_ns, uint32_t links,
              struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_mode = (type == 'd' ? S_IFDIR : type == 'l' ? S_IFLNK : S_IFREG) | (mode & 07777);
  st->st_nlink = links;
  st->st_size = off_t(size);
  st->st_blksize = 128 * 1024;
  st->st_blocks = blkcnt_t((size + 511) / 512);
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_mtim.tv_sec = time_t(mtime_ns / 1000000000);
  st->st_mtim.tv_nsec = long(mtime_ns % 1000000000);
  st->st_atim = st->st_ctim = st->st_mtim;
}

}  // namespace

int ErrnoOf(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return 0;
    case ErrorCode::kNotFound:
      return ENOENT;
    case ErrorCode::kBadArgument:
      return EINVAL;
    case ErrorCode::kRefused:  // an errno from Errno(), or the ring refused us
      if (!status.message().empty() && isdigit(static_cast<unsigned char>(status.message()[0]))) {
        return std::atoi(status.message().c_str());
      }
      return EACCES;
    default:
      return EIO;
  }
}

FileSystem::FileSystem(FsStore* store, FileSystemOptions options)
    : store_(store),
      options_(options),
      mounted_ns_(NowNs()),
      pool_("chord-fs", 2, 32),
      cache_(store, &pool_, options.cache_bytes, options.read_ahead) {}

FileSystem::~FileSystem() { Stop(); }

Status FileSystem::Start() {
  pool_.Start();
  return store_->EnsureRoot();
}

void FileSystem::Stop() { pool_.Stop(); }

std::string FileSystem::Version(const DhtFileInfo& info) {
  return info.chunk_prefix + "|" + info.sha1 + "|" + std::to_string(info.size);
}

DhtFileInfo FileSystem::EmptyFile(uint32_t mode) const {
  DhtFileInfo info;
  info.chunk_bytes = store_->options().chunk_bytes;
  info.sha1 = Sha1().HexDigest();
  info.mode = S_IFREG | (mode & 07777);  // never 0, which would mean "no mode stored"
  info.mtime_ns = NowNs();
  return info;
}

Result<FsDir> FileSystem::CachedDir(const std::string& path, bool fresh) {
  const auto now = std::chrono::steady_clock::now();
  if (!fresh) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = dirs_.find(path);
    if (it != dirs_.end() && it->second.expires > now) return it->second.value;
  }
  auto dir = store_->GetDir(path);
  std::lock_guard<std::mutex> lock(mutex_);
  if (dir.ok()) {
    dirs_[path] = {dir.value(), now + std::chrono::milliseconds(options_.attr_ms)};
  } else {
    dirs_.erase(path);
  }
  return dir;
}

Result<DhtFileInfo> FileSystem::CachedManifest(const std::string& path, bool fresh) {
  const auto now = std::chrono::steady_clock::now();
  if (!fresh) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = manifests_.find(path);
    if (it != manifests_.end() && it->second.expires > now) return it->second.value;
  }
  auto info = store_->GetManifest(path);
  std::lock_guard<std::mutex> lock(mutex_);
  if (info.ok()) {
    manifests_[path] = {info.value(), now + std::chrono::milliseconds(options_.attr_ms)};
  } else {
    manifests_.erase(path);
  }
  return info;
}

void FileSystem::Forget(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  dirs_.erase(path);
  manifests_.erase(path);
  dirs_.erase(ParentPath(path));
}

std::shared_ptr<FileSystem::OpenFile> FileSystem::Opened(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(path);
  return it == open_.end() ? nullptr : it->second;
}

int FileSystem::Lookup(const std::string& path, Attr* attr, std::string* link_target) {
  if (path == "/") {
    auto root = CachedDir("/", false);
    if (!root.ok()) return -ErrnoOf(root.status());
    *attr = {'d', 0, root->mode, root->mtime_ns, Links(root.value())};
    return 0;
  }
  if (auto file = Opened(path)) {
    std::lock_guard<std::mutex> lock(file->mutex);
    uint32_t mode = file->info.mode ? file->info.mode : 0644;
    *attr = {'f', file->temp_fd >= 0 ? file->size : file->info.size, mode, file->mtime_ns};
    return 0;
  }
  auto cached = CachedDir(ParentPath(path), false);
  if (!cached.ok()) return -ErrnoOf(cached.status());
  FsDir parent = std::move(cached.value());
  const FsEntry* entry = parent.Find(BaseName(path));
  if (!entry) {  // created elsewhere since we cached the parent?
    auto fresh = CachedDir(ParentPath(path), true);
    if (!fresh.ok()) return -ErrnoOf(fresh.status());
    parent = std::move(fresh.value());
    entry = parent.Find(BaseName(path));
  }
  if (entry && entry->type == 'l') {
    *attr = {'l', entry->target.size(), 0777, parent.mtime_ns};
    if (link_target) *link_target = entry->target;
    return 0;
  }
  if (entry && entry->type == 'd') {
    auto dir = CachedDir(path, false);
    if (!dir.ok()) return -ErrnoOf(dir.status());
    *attr = {'d', 0, dir->mode, dir->mtime_ns, Links(dir.value())};
    return 0;
  }
  // A listed file, or one stored by `chord put-file` under this name and not listed.
  auto info = CachedManifest(path, false);
  if (!info.ok()) return -ErrnoOf(info.status());
  *attr = {'f', info->size, info->mode ? info->mode : 0644,
           info->mtime_ns > 0 ? info->mtime_ns : mounted_ns_};
  return 0;
}

int FileSystem::GetAttr(const std::string& path, uint64_t handle, struct stat* st) {
  Attr attr;
  if (handle) {
    auto* h = reinterpret_cast<Handle*>(handle);
    std::lock_guard<std::mutex> lock(h->file->mutex);
    const auto& f = *h->file;
    attr = {'f', f.temp_fd >= 0 ? f.size : f.info.size, f.info.mode ? f.info.mode : 0644,
            f.mtime_ns};
  } else if (int error = Lookup(path, &attr)) {
    return error;
  }
  FillStat(attr.type, attr.size, attr.mode, attr.mtime_ns, attr.links, st);
  return 0;
}

int FileSystem::Access(const std::string& path) {
  Attr attr;
  return Lookup(path, &attr);
}

int FileSystem::ReadDir(const std::string& path, std::vector<std::string>* names) {
  auto dir = CachedDir(path, true);
  if (!dir.ok()) {
    Attr attr;
    if (dir.status().code() == ErrorCode::kNotFound && Lookup(path, &attr) == 0) return -ENOTDIR;
    return -ErrnoOf(dir.status());
  }
  for (const auto& e : dir->entries) names->push_back(e.name);
  return 0;
}

int FileSystem::Mkdir(const std::string& path, mode_t mode) {
  Status status = store_->UpdateDir(ParentPath(path), [&](FsDir* parent) {
    if (parent->Find(BaseName(path))) return Errno(EEXIST);
    FsDir dir;
    dir.mode = mode & 07777;
    dir.mtime_ns = NowNs();
    Status stored = store_->PutDir(path, dir);
    if (stored.ok()) parent->Put({'d', BaseName(path), ""});
    return stored;
  });
  Forget(path);
  return -ErrnoOf(status);
}

int FileSystem::Rmdir(const std::string& path) {
  if (path == "/") return -EBUSY;
  Status status = store_->UpdateDir(ParentPath(path), [&](FsDir* parent) {
    const FsEntry* entry = parent->Find(BaseName(path));
    if (!entry) return Errno(ENOENT);
    if (entry->type != 'd') return Errno(ENOTDIR);
    auto dir = store_->GetDir(path);
    if (dir.ok() && !dir->entries.empty()) return Errno(ENOTEMPTY);
    if (!dir.ok() && dir.status().code() != ErrorCode::kNotFound) return dir.status();
    Status removed = store_->RemoveDir(path);
    if (removed.ok()) parent->Erase(BaseName(path));
    return removed;
  });
  Forget(path);
  return -ErrnoOf(status);
}

void FileSystem::DropChunksLater(const std::string& path, const DhtFileInfo& info) {
  pool_.Submit([this, path, info] { store_->RemoveChunks(path, info); });
}

int FileSystem::Unlink(const std::string& path) {
  char type = 0;  // of the listed entry; 0: not listed
  Status status = store_->UpdateDir(ParentPath(path), [&](FsDir* parent) {
    const FsEntry* entry = parent->Find(BaseName(path));
    if (entry && entry->type == 'd') return Errno(EISDIR);
    if (entry) type = entry->type;
    if (entry) parent->Erase(BaseName(path));
    return Status::Ok();
  });
  if (!status.ok()) return -ErrnoOf(status);
  Forget(path);
  if (type == 'l') return 0;
  const bool listed = type == 'f';
  std::shared_ptr<OpenFile> open;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = open_.find(path);
    if (it != open_.end()) open = it->second, open_.erase(it);
  }
  if (open) {  // its handles go on reading; nothing is stored at close
    std::lock_guard<std::mutex> lock(open->mutex);
    open->unlinked = true;
  }
  auto info = store_->GetManifest(path);
  if (!info.ok()) {
    if (info.status().code() == ErrorCode::kNotFound) return listed ? 0 : -ENOENT;
    return -ErrnoOf(info.status());
  }
  Status removed = store_->RemoveManifest(path);
  if (!removed.ok()) return -ErrnoOf(removed);
  DropChunksLater(path, info.value());
  return 0;
}

void FileSystem::MoveOpenFiles(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, std::shared_ptr<OpenFile>>> moved;
  for (auto it = open_.begin(); it != open_.end();) {
    const std::string& p = it->first;
    if (p == from || p.rfind(from + "/", 0) == 0) {
      moved.emplace_back(to + p.substr(from.size()), it->second);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [path, file] : moved) {
    file->path = path;
    open_[path] = file;
  }
  dirs_.clear();  // a moved tree changes many records: start afresh
  manifests_.clear();
}

Status FileSystem::MoveTree(const std::string& from, const std::string& to) {
  auto dir = store_->GetDir(from);
  if (!dir.ok()) return dir.status();
  Status status = store_->PutDir(to, dir.value());
  for (const auto& e : dir->entries) {  // one record per entry: bounded by the listing
    if (!status.ok()) return status;
    const std::string child_from = JoinPath(from, e.name), child_to = JoinPath(to, e.name);
    if (e.type == 'd') {
      status = MoveTree(child_from, child_to);
    } else if (e.type == 'f') {
      auto info = store_->GetManifest(child_from);
      if (!info.ok()) continue;  // removed meanwhile
      auto owned = store_->OwnChunks(child_from, info.value());
      status = owned.status();
      if (owned.ok()) status = store_->PutManifest(child_to, owned.value());
      if (status.ok()) status = store_->RemoveManifest(child_from);
      if (status.ok() && info->chunk_prefix.empty()) DropChunksLater(child_from, info.value());
    }
  }
  if (!status.ok()) return status;
  return store_->RemoveDir(from);
}

Status FileSystem::MoveEntry(const std::string& from, const std::string& to, const FsEntry& entry) {
  if (ParentPath(from) == ParentPath(to)) {
    return store_->UpdateDir(ParentPath(to), [&](FsDir* parent) {
      parent->Erase(BaseName(from));
      parent->Put(entry);
      return Status::Ok();
    });
  }
  // The new name first: a crash in between leaves two names, never none.
  Status status = store_->UpdateDir(ParentPath(to), [&](FsDir* parent) {
    parent->Put(entry);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return store_->UpdateDir(ParentPath(from), [&](FsDir* parent) {
    parent->Erase(BaseName(from));
    return Status::Ok();
  });
}

int FileSystem::Rename(const std::string& from, const std::string& to, bool no_replace) {
  if (from == to) return 0;
  if (to.rfind(from + "/", 0) == 0) return -EINVAL;  // a directory into itself
  Attr source, target;
  std::string link_target;
  if (int error = Lookup(from, &source, &link_target)) return error;
  int target_error = Lookup(to, &target);
  const bool replaces = target_error == 0;
  if (target_error && target_error != -ENOENT) return target_error;
  if (replaces && no_replace) return -EEXIST;
  if (replaces && target.type == 'd') {
    if (source.type != 'd') return -EISDIR;
    auto dir = store_->GetDir(to);
    if (dir.ok() && !dir->entries.empty()) return -ENOTEMPTY;
  }
  if (replaces && source.type == 'd' && target.type != 'd') return -ENOTDIR;
  DhtFileInfo replaced;  // the target's version, whose chunks go once nothing refers to them
  bool drop_replaced = false;
  if (replaces && target.type == 'f') {
    auto info = store_->GetManifest(to);
    if (info.ok()) replaced = info.value(), drop_replaced = true;
  }
  MoveOpenFiles(from, to);
  DhtFileInfo original, moved;  // the source's version, and the same with chunks of its own
  Status status;
  if (source.type == 'd') {
    status = MoveTree(from, to);
  } else if (source.type == 'f') {
    auto info = store_->GetManifest(from);
    if (info.ok()) original = info.value(), info = store_->OwnChunks(from, info.value());
    status = info.status();
    if (info.ok()) moved = info.value(), status = store_->PutManifest(to, moved);
  }
  if (!status.ok()) return -ErrnoOf(status);
  status = MoveEntry(from, to, {source.type, BaseName(to), link_target});
  if (status.ok() && source.type == 'f') status = store_->RemoveManifest(from);
  Forget(from);
  Forget(to);
  if (!status.ok()) return -ErrnoOf(status);
  if (drop_replaced && replaced.chunk_prefix != moved.chunk_prefix) DropChunksLater(to, replaced);
  if (source.type == 'f' && original.chunk_prefix.empty()) DropChunksLater(from, original);
  return 0;
}

int FileSystem::Symlink(const std::string& target, const std::string& path) {
  Status status = store_->UpdateDir(ParentPath(path), [&](FsDir* parent) {
    if (parent->Find(BaseName(path))) return Errno(EEXIST);
    parent->Put({'l', BaseName(path), target});
    return Status::Ok();
  });
  Forget(path);
  return -ErrnoOf(status);
}

int FileSystem::ReadLink(const std::string& path, std::string* target) {
  Attr attr;
  if (int error = Lookup(path, &attr, target)) return error;
  return attr.type == 'l' ? 0 : -EINVAL;
}

int FileSystem::Chmod(const std::string& path, mode_t mode) {
  Attr attr;
  if (int error = Lookup(path, &attr)) return error;
  Status status;
  if (attr.type == 'd') {
    status = store_->UpdateDir(path, [&](FsDir* dir) {
      dir->mode = mode & 07777;
      return Status::Ok();
    });
  } else if (attr.type == 'f') {
    if (auto file = Opened(path)) {
      std::lock_guard<std::mutex> lock(file->mutex);
      file->info.mode = S_IFREG | (mode & 07777);
    }
    auto info = store_->GetManifest(path);
    status = info.status();
    if (info.ok()) {
      info->mode = S_IFREG | (mode & 07777);
      status = store_->PutManifest(path, info.value());
    }
  }
  Forget(path);
  return -ErrnoOf(status);
}

int FileSystem::SetMtime(const std::string& path, int64_t mtime_ns) {
  Attr attr;
  if (int error = Lookup(path, &attr)) return error;
  Status status;
  if (attr.type == 'd') {
    status = store_->UpdateDir(path, [&](FsDir* dir) {
      dir->mtime_ns = mtime_ns;
      return Status::Ok();
    });
  } else if (attr.type == 'f') {
    if (auto file = Opened(path)) {
      std::lock_guard<std::mutex> lock(file->mutex);
      file->mtime_ns = file->info.mtime_ns = mtime_ns;
      if (file->dirty) return 0;  // stored with the content at close
    }
    auto info = store_->GetManifest(path);
    status = info.status();
    if (info.ok()) {
      info->mtime_ns = mtime_ns;
      status = store_->PutManifest(path, info.value());
    }
  }
  Forget(path);
  return -ErrnoOf(status);
}

int FileSystem::Create(const std::string& path, mode_t mode, uint64_t* handle) {
  DhtFileInfo info = EmptyFile(mode);
  Status status = store_->UpdateDir(ParentPath(path), [&](FsDir* parent) {
    const FsEntry* entry = parent->Find(BaseName(path));
    if (entry && entry->type != 'f') return Errno(EEXIST);
    if (entry) {  // created elsewhere a moment ago: open that one
      auto existing = store_->GetManifest(path);
      if (existing.ok()) info = existing.value();
      if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
    }  // a listed name without a manifest (removed with `chord remove`) is made anew
    // The manifest before the entry: a listed file always has one.
    Status stored = store_->PutManifest(path, info);
    if (stored.ok()) parent->Put({'f', BaseName(path), ""});
    return stored;
  });
  Forget(path);
  if (!status.ok()) return -ErrnoOf(status);
  bool keep_cache = false;
  return OpenWith(path, info, O_RDWR, handle, &keep_cache);
}

int FileSystem::Open(const std::string& path, int flags, uint64_t* handle, bool* keep_cache) {
  auto info = CachedManifest(path, true);  // close-to-open: always the latest version
  if (!info.ok()) {
    Attr attr;
    if (info.status().code() == ErrorCode::kNotFound && Lookup(path, &attr) == 0 &&
        attr.type == 'd') {
      return -EISDIR;
    }
    return -ErrnoOf(info.status());
  }
  return OpenWith(path, info.value(), flags, handle, keep_cache);
}

int FileSystem::OpenWith(const std::string& path, const DhtFileInfo& info, int flags,
                         uint64_t* handle, bool* keep_cache) {
  std::shared_ptr<OpenFile> file;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = open_[path];
    if (!slot) {
      slot = std::make_shared<OpenFile>();
      slot->path = path;
      slot->info = info;
      slot->mtime_ns = info.mtime_ns > 0 ? info.mtime_ns : mounted_ns_;
    }
    file = slot;
    ++file->handles;
    // The kernel's pages of this file are still right if it has not changed since.
    std::string& version = kernel_version_[path];
    *keep_cache = version == Version(info);
    version = Version(info);
  }
  {
    std::lock_guard<std::mutex> lock(file->mutex);
    if (!file->dirty && file->temp_fd < 0) file->info = info;
    if (flags & O_TRUNC) {
      if (int error = Materialize(file.get(), true)) {
        *handle = reinterpret_cast<uint64_t>(new Handle{file});
        Release(*handle);
        return error;
      }
      if (file->size != 0 || file->info.size != 0) file->dirty = true;
      ftruncate(file->temp_fd, 0);
      file->size = 0;
    }
  }
  *handle = reinterpret_cast<uint64_t>(new Handle{file});
  return 0;
}

int FileSystem::Materialize(OpenFile* file, bool empty) {
  if (file->temp_fd >= 0) return 0;
  std::string name = options_.temp_dir + "/chord-fs.XXXXXX";
  int fd = mkstemp(&name[0]);
  if (fd < 0) return -errno;
  unlink(name.c_str());  // the descriptor is all we need; nothing is left behind
  if (!empty) {
    Status read = cache_.ReadAll(file->path, file->info, fd);
    if (!read.ok()) {
      close(fd);
      return -ErrnoOf(read);
    }
  }
  file->temp_fd = fd;
  file->size = empty ? 0 : file->info.size;
  return 0;
}

int FileSystem::Read(uint64_t handle, char* buffer, size_t size, off_t offset) {
  auto* h = reinterpret_cast<Handle*>(handle);
  DhtFileInfo info;
  std::string path;
  {
    std::lock_guard<std::mutex> lock(h->file->mutex);
    if (h->file->temp_fd >= 0) {
      ssize_t got = pread(h->file->temp_fd, buffer, size, offset);
      return got < 0 ? -errno : int(got);
    }
    info = h->file->info;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    path = h->file->path;
  }
  auto got = cache_.Read(path, info, uint64_t(offset), size, buffer);
  return got.ok() ? int(got.value()) : -ErrnoOf(got.status());
}

int FileSystem::Write(uint64_t handle, const char* buffer, size_t size, off_t offset) {
  auto* h = reinterpret_cast<Handle*>(handle);
  std::lock_guard<std::mutex> lock(h->file->mutex);
  OpenFile* file = h->file.get();
  if (int error = Materialize(file, false)) return error;
  ssize_t put = pwrite(file->temp_fd, buffer, size, offset);
  if (put < 0) return -errno;
  file->size = std::max(file->size, uint64_t(offset) + uint64_t(put));
  file->dirty = true;
  file->mtime_ns = NowNs();
  return int(put);
}

int FileSystem::Truncate(const std::string& path, uint64_t handle, off_t size) {
  if (size < 0) return -EINVAL;
  uint64_t own = 0;
  if (!handle) {  // truncate(2) by path: open, truncate, store, close
    bool keep_cache = false;
    if (int error = Open(path, O_RDWR, &own, &keep_cache)) return error;
    handle = own;
  }
  auto* h = reinterpret_cast<Handle*>(handle);
  int error = 0;
  {
    std::lock_guard<std::mutex> lock(h->file->mutex);
    OpenFile* file = h->file.get();
    error = Materialize(file, size == 0);
    if (!error && ftruncate(file->temp_fd, size) != 0) error = -errno;
    if (!error) {
      file->size = uint64_t(size);
      file->dirty = true;
      file->mtime_ns = NowNs();
    }
  }
  if (own) {
    if (!error) error = Flush(own);
    Release(own);
  }
  return error;
}

// Chunk writes in flight, shared with their jobs, so that a job finishing after the writer gave
// up touches nothing of the writer's.
struct FileSystem::Flight {
  std::mutex mutex;
  std::condition_variable done;
  int in_flight = 0;
  Status error;
};

bool FileSystem::WaitFlight(Flight* flight, int at_most) {
  // Each chunk write retries for at most the store's time-out: a slot frees within a few.
  const auto bound = std::chrono::milliseconds(3 * store_->options().timeout_ms + 10000);
  std::unique_lock<std::mutex> lock(flight->mutex);
  return flight->done.wait_for(lock, bound, [&] {
    return flight->in_flight <= at_most || (at_most > 0 && !flight->error.ok());
  });
}

Result<std::string> FileSystem::StoreChunks(int fd, const std::string& path,
                                            const DhtFileInfo& info) {
  auto flight = std::make_shared<Flight>();
  Sha1 sha1;
  for (uint64_t i = 0; i < info.chunks; ++i) {  // one chunk per turn
    std::string bytes(std::min<uint64_t>(info.chunk_bytes, info.size - i * info.chunk_bytes), '\0');
    if (pread(fd, &bytes[0], bytes.size(), off_t(i * info.chunk_bytes)) != ssize_t(bytes.size())) {
      return Status::Internal("cannot read the local copy of " + path);
    }
    sha1.Update(bytes);
    if (!WaitFlight(flight.get(), options_.uploads_in_flight - 1)) {
      return Status::Unavailable("chunk writes of " + path + " do not finish");
    }
    {
      std::lock_guard<std::mutex> lock(flight->mutex);
      if (!flight->error.ok()) break;
      ++flight->in_flight;
    }
    const std::string key = DhtClient::ChunkKey(info, FileKey(path), i);
    pool_.Submit([this, flight, key, bytes = std::move(bytes)] {
      Status stored = store_->PutChunk(key, bytes);
      std::lock_guard<std::mutex> lock(flight->mutex);
      --flight->in_flight;
      if (!stored.ok() && flight->error.ok()) flight->error = stored;
      flight->done.notify_all();
    });
  }
  if (!WaitFlight(flight.get(), 0)) {
    return Status::Unavailable("chunk writes of " + path + " do not finish");
  }
  std::lock_guard<std::mutex> lock(flight->mutex);
  if (!flight->error.ok()) return flight->error;
  return sha1.HexDigest();
}

int FileSystem::Upload(OpenFile* file) {
  if (!file->dirty || file->unlinked) return 0;
  DhtFileInfo info;
  info.chunk_bytes = store_->options().chunk_bytes;
  info.size = file->size;
  info.chunks = (info.size + info.chunk_bytes - 1) / info.chunk_bytes;
  info.mode = file->info.mode ? file->info.mode : S_IFREG | 0644;
  info.mtime_ns = file->mtime_ns;
  info.chunk_prefix = store_->NewChunkPrefix();
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    path = file->path;
  }
  auto sha1 = StoreChunks(file->temp_fd, path, info);
  Status stored = sha1.status();
  auto old = store_->GetManifest(path);  // what this version replaces, read just before
  if (stored.ok()) {
    info.sha1 = sha1.value();
    stored = store_->PutManifest(path, info);
  }
  if (!stored.ok()) {
    std::cerr << "chord-fs: storing " << path << ": " << stored.ToString() << "\n";
    return -ErrnoOf(stored);
  }
  if (old.ok() && old->chunk_prefix != info.chunk_prefix) DropChunksLater(path, old.value());
  file->info = info;
  file->dirty = false;
  std::lock_guard<std::mutex> lock(mutex_);
  manifests_.erase(path);
  kernel_version_[path] = Version(info);  // the kernel saw every write of this version
  return 0;
}

int FileSystem::Flush(uint64_t handle) {
  auto* h = reinterpret_cast<Handle*>(handle);
  std::lock_guard<std::mutex> lock(h->file->mutex);
  return Upload(h->file.get());
}

int FileSystem::Release(uint64_t handle) {
  auto* h = reinterpret_cast<Handle*>(handle);
  std::shared_ptr<OpenFile> file = std::move(h->file);
  delete h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--file->handles > 0) return 0;
  }
  int error = 0;
  {
    std::lock_guard<std::mutex> lock(file->mutex);
    error = Upload(file.get());  // a failed flush gets one more try; errors here are unseen
  }
  // Dropped only now: an open meanwhile shares this state instead of reading the old version.
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(file->path);
  if (file->handles == 0 && it != open_.end() && it->second == file) open_.erase(it);
  return error;
}

}  // namespace chord
