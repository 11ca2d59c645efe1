#include "tools/fs/fuse_adapter.h"

#define FUSE_USE_VERSION 312  // 3.12: the fuse_loop_cfg_* interface
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <sys/statvfs.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace chord {
namespace {

constexpr unsigned kMaxFuseThreads = 16;  // operations served at once

FileSystem* Fs() { return static_cast<FileSystem*>(fuse_get_context()->private_data); }

uint64_t HandleOf(const fuse_file_info* fi) { return fi ? fi->fh : 0; }

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  // The kernel asks us every time; FileSystem caches what consistency allows (see its header).
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->hard_remove = 1;  // an unlinked open file is not renamed to .fuse_hidden*
  cfg->use_ino = 0;
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  auto* fs = static_cast<FileSystem*>(fuse_get_context()->private_data);
  Status started = fs->Start();
  if (!started.ok()) std::cerr << "chord-fs: " << started.ToString() << "\n";
  return fs;
}

void Destroy(void* data) { static_cast<FileSystem*>(data)->Stop(); }

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  return Fs()->GetAttr(path, HandleOf(fi), st);
}

int Access(const char* path, int) { return Fs()->Access(path); }

int ReadLink(const char* path, char* buffer, size_t size) {
  std::string target;
  if (int error = Fs()->ReadLink(path, &target)) return error;
  if (size == 0) return -EINVAL;
  std::strncpy(buffer, target.c_str(), size - 1);
  buffer[size - 1] = '\0';
  return 0;
}

int ReadDir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t, fuse_file_info*,
            fuse_readdir_flags) {
  std::vector<std::string> names;
  if (int error = Fs()->ReadDir(path, &names)) return error;
  fill(buffer, ".", nullptr, 0, fuse_fill_dir_flags(0));
  fill(buffer, "..", nullptr, 0, fuse_fill_dir_flags(0));
  for (const auto& name : names) {
    if (fill(buffer, name.c_str(), nullptr, 0, fuse_fill_dir_flags(0))) break;  // buffer full
  }
  return 0;
}

int Mkdir(const char* path, mode_t mode) { return Fs()->Mkdir(path, mode); }
int Rmdir(const char* path) { return Fs()->Rmdir(path); }
int Unlink(const char* path) { return Fs()->Unlink(path); }
int Symlink(const char* target, const char* path) { return Fs()->Symlink(target, path); }

int Rename(const char* from, const char* to, unsigned int flags) {
  if (flags & RENAME_EXCHANGE) return -EINVAL;  // not supported: no atomic swap in the DHT
  return Fs()->Rename(from, to, flags & RENAME_NOREPLACE);
}

int Link(const char*, const char*) { return -EPERM; }  // no hard links

int Mknod(const char* path, mode_t mode, dev_t) {
  if (!S_ISREG(mode)) return -EPERM;  // no devices, FIFOs or sockets
  uint64_t handle = 0;
  if (int error = Fs()->Create(path, mode, &handle)) return error;
  return Fs()->Release(handle);
}

int Chmod(const char* path, mode_t mode, fuse_file_info*) { return Fs()->Chmod(path, mode); }
int Chown(const char*, uid_t, gid_t, fuse_file_info*) { return 0; }

int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  return Fs()->Truncate(path, HandleOf(fi), size);
}

int Utimens(const char* path, const struct timespec tv[2], fuse_file_info*) {
  if (tv[1].tv_nsec == UTIME_OMIT) return 0;
  int64_t ns =
      tv[1].tv_nsec == UTIME_NOW ? NowNs() : int64_t(tv[1].tv_sec) * 1000000000 + tv[1].tv_nsec;
  return Fs()->SetMtime(path, ns);
}

int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  return Fs()->Create(path, mode, &fi->fh);
}

int Open(const char* path, fuse_file_info* fi) {
  bool keep_cache = false;
  int error = Fs()->Open(path, fi->flags, &fi->fh, &keep_cache);
  fi->keep_cache = keep_cache;
  return error;
}

int Read(const char*, char* buffer, size_t size, off_t offset, fuse_file_info* fi) {
  return Fs()->Read(fi->fh, buffer, size, offset);
}

int Write(const char*, const char* buffer, size_t size, off_t offset, fuse_file_info* fi) {
  return Fs()->Write(fi->fh, buffer, size, offset);
}

int Flush(const char*, fuse_file_info* fi) { return Fs()->Flush(fi->fh); }
int Fsync(const char*, int, fuse_file_info* fi) { return Fs()->Flush(fi->fh); }
int Release(const char*, fuse_file_info* fi) { return Fs()->Release(fi->fh); }

int StatFs(const char*, struct statvfs* st) {
  std::memset(st, 0, sizeof *st);
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = st->f_bfree = st->f_bavail = 1ull << 30;  // the ring's size is not known
  st->f_files = st->f_ffree = 1ull << 30;
  st->f_namemax = 255;
  return 0;
}

int SetXattr(const char*, const char*, const char*, size_t, int) { return -ENOTSUP; }
int GetXattr(const char*, const char*, char*, size_t) { return -ENOTSUP; }
int ListXattr(const char*, char*, size_t) { return -ENOTSUP; }
int RemoveXattr(const char*, const char*) { return -ENOTSUP; }
int Lock(const char*, fuse_file_info*, int, struct flock*) { return -ENOLCK; }
int Flock(const char*, fuse_file_info*, int) { return -ENOLCK; }

fuse_operations Operations() {
  fuse_operations ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = Init;
  ops.destroy = Destroy;
  ops.getattr = GetAttr;
  ops.access = Access;
  ops.readlink = ReadLink;
  ops.readdir = ReadDir;
  ops.mkdir = Mkdir;
  ops.rmdir = Rmdir;
  ops.unlink = Unlink;
  ops.symlink = Symlink;
  ops.rename = Rename;
  ops.link = Link;
  ops.mknod = Mknod;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.truncate = Truncate;
  ops.utimens = Utimens;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.flush = Flush;
  ops.fsync = Fsync;
  ops.release = Release;
  ops.statfs = StatFs;
  ops.setxattr = SetXattr;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.removexattr = RemoveXattr;
  ops.lock = Lock;
  ops.flock = Flock;
  return ops;
}

}  // namespace

int RunFuse(FileSystem* file_system, const std::vector<std::string>& arguments) {
  // fuse_main's own loop set-up in libfuse 3.14.0 warns about an invalid thread count; this is
  // the same sequence with the loop configured here.
  std::vector<char*> argv;
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  fuse_args args = FUSE_ARGS_INIT(int(arguments.size()), argv.data());
  fuse_cmdline_opts opts;
  if (fuse_parse_cmdline(&args, &opts) != 0) return 1;
  int result = 1;
  const fuse_operations ops = Operations();
  fuse* f = opts.mountpoint ? fuse_new(&args, &ops, sizeof ops, file_system) : nullptr;
  if (f && fuse_mount(f, opts.mountpoint) == 0) {
    fuse_session* session = fuse_get_session(f);
    if (fuse_daemonize(opts.foreground) == 0 && fuse_set_signal_handlers(session) == 0) {
      if (opts.singlethread) {
        result = fuse_loop(f) == 0 ? 0 : 1;
      } else {
        fuse_loop_config* config = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(config, opts.clone_fd);
        fuse_loop_cfg_set_idle_threads(config, 10);
        fuse_loop_cfg_set_max_threads(config, kMaxFuseThreads);
        result = fuse_loop_mt(f, config) == 0 ? 0 : 1;
        fuse_loop_cfg_destroy(config);
      }
      fuse_remove_signal_handlers(session);
    }
    fuse_unmount(f);
  }
  if (f) fuse_destroy(f);
  free(opts.mountpoint);
  fuse_opt_free_args(&args);
  return result;
}

}  // namespace chord
