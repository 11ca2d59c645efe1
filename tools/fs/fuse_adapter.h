// FUSE adapter of chord-fs: libfuse3's high-level operations table, each entry a few lines
// that call FileSystem and turn its answer into what FUSE expects. What the file system does not
// do answers at once with the errno POSIX has for it: hard links EPERM, extended attributes
// ENOTSUP, byte-range and flock locks ENOLCK, device nodes EPERM. Ownership is not stored:
// every node belongs to the user running the mount and chown succeeds without effect (so that
// `tar -x` as root and `cp -p` work).
//
// Thread-safety: the operations run on FUSE's threads; FileSystem is thread-safe.
// Lifetime: RunFuse() returns once the mount is gone (fusermount3 -u, SIGINT, SIGTERM); the
// file system is started by FUSE's init (after RunFuse has daemonized, so that the worker
// threads belong to the process that serves) and stopped by its destroy.
#ifndef CHORD_TOOLS_FS_FUSE_ADAPTER_H_
#define CHORD_TOOLS_FS_FUSE_ADAPTER_H_

#include <string>
#include <vector>

#include "tools/fs/file_system.h"

namespace chord {

// Mounts and serves as fuse_main does, with `arguments` (argv[0], the mount point, -f, -o ...);
// returns 0 after a clean unmount, 1 if the mount or the loop failed.
int RunFuse(FileSystem* file_system, const std::vector<std::string>& arguments);

}  // namespace chord

#endif  // CHORD_TOOLS_FS_FUSE_ADAPTER_H_
