// chord-fs: mounts a ring's DHT as a file system (FUSE 3).
//
//   chord-fs MOUNTPOINT [--ring FILE | --node HOST:PORT] [--secret-file FILE] [-f]
//
// Unmount with `fusermount3 -u MOUNTPOINT`, or Ctrl-C / SIGTERM when run in the foreground.
// The file system itself is in tools/fs/ (FsStore: the DHT model; ChunkCache: reads;
// FileSystem: the operations; fuse_adapter: the FUSE table). Exit codes: 0 after a clean
// unmount; 1 if the ring cannot be reached or the mount fails; 2 usage errors.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "settings/secret.h"
#include "settings/settings.h"
#include "tools/fs/file_system.h"
#include "tools/fs/fs_store.h"
#include "tools/fs/fuse_adapter.h"
#include "tools/ring_file.h"

#ifndef CHORD_VERSION
#define CHORD_VERSION "unknown"
#endif

namespace {

constexpr char kUsage[] =
    "usage: chord-fs MOUNTPOINT [OPTIONS]\n"
    "\n"
    "Mounts the ring's DHT as a file system. Files are stored as `chord put-file` stores them\n"
    "(the file /a/b is the DHT name a/b), so `chord get-file a/b` reads what the mount wrote.\n"
    "Unmount with `fusermount3 -u MOUNTPOINT` (or Ctrl-C with -f).\n"
    "\n"
    "options:\n"
    "  --ring FILE             ring members, one HOST:PORT a line (default ring.txt unless\n"
    "                          --node is given); calls fail over among them\n"
    "  --node HOST:PORT        the entry node: asked first (with --ring, the ring's members\n"
    "                          take over when it does not answer)\n"
    "  --secret-file FILE      sign every call with the ring's secret\n"
    "  -f, --foreground        stay in the foreground (default: run as a daemon)\n"
    "  -o OPTIONS              FUSE mount options (e.g. allow_other, ro)\n"
    "  -d                      FUSE debug output (implies -f)\n"
    "  --chunk-bytes N         chunk size of written files (default 262144; at most the nodes'\n"
    "                          --max-value-bytes)\n"
    "  --cache-mb N            read cache (default 64)\n"
    "  --read-ahead N          chunks fetched ahead of a sequential reader (default 8)\n"
    "  --uploads N             chunk writes in flight while storing a file (default 8)\n"
    "  --no-direct             send chunks through the entry node instead of straight to\n"
    "                          their owner (found with dht.locate)\n"
    "  --timeout-ms N          an operation retries an unavailable ring this long, then fails\n"
    "                          with EIO (default 15000)\n"
    "  --attr-ms N             attributes and directories cached this long (default 1000;\n"
    "                          open and readdir always ask the ring)\n"
    "  --call-timeout-ms N     give up on a node after N ms (default 5000)\n"
    "  --connect-timeout-ms N  connection time-out (default 1000)\n"
    "  --temp-dir DIR          local copies of files being written (default $TMPDIR or /tmp)\n"
    "  --help, --version\n";

int Usage(const std::string& problem) {
  std::cerr << "chord-fs: " << problem << "\n" << kUsage;
  return 2;
}

struct Options {
  std::string mount_point, ring_file, node, secret_file;
  std::vector<std::string> fuse_flags;
  chord::XmlRpcTransport::Options transport;
  chord::FsStoreOptions store;
  chord::FileSystemOptions fs;
};

// Fills `options` from the command line; returns -1 to go on, else the exit code.
int ParseArgs(int argc, char** argv, Options* options) {
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) options->fs.temp_dir = tmp;
  for (int i = 1; i < argc; ++i) {
    std::string option = argv[i];
    if (option == "--help" || option == "-h") return std::cout << kUsage, 0;
    if (option == "--version") return std::cout << "chord-fs " << CHORD_VERSION << "\n", 0;
    if (option == "--no-direct") {
      options->store.direct = false;
      continue;
    }
    if (option == "-f" || option == "--foreground" || option == "-d" || option == "-s") {
      options->fuse_flags.push_back(option == "--foreground" ? "-f" : option);
      continue;
    }
    if (option.rfind("-", 0) != 0) {
      if (!options->mount_point.empty()) return Usage("one mount point only");
      options->mount_point = option;
      continue;
    }
    if (i + 1 >= argc) return Usage(option + " needs a value");
    std::string value = argv[++i];
    int n = 0;
    if (option == "--ring")
      options->ring_file = value;
    else if (option == "--node")
      options->node = value;
    else if (option == "--secret-file")
      options->secret_file = value;
    else if (option == "-o")
      options->fuse_flags.insert(options->fuse_flags.end(), {"-o", value});
    else if (option == "--temp-dir")
      options->fs.temp_dir = value;
    else if (option == "--chunk-bytes" && chord::ParsePositive(value, &n))
      options->store.chunk_bytes = n;
    else if (option == "--timeout-ms" && chord::ParsePositive(value, &n))
      options->store.timeout_ms = n;
    else if (option == "--cache-mb" && chord::ParsePositive(value, &n))
      options->fs.cache_bytes = size_t(n) << 20;
    else if (option == "--read-ahead" && chord::ParsePositive(value, &n))
      options->fs.read_ahead = n;
    else if (option == "--uploads" && chord::ParsePositive(value, &n))
      options->fs.uploads_in_flight = n;
    else if (option == "--attr-ms" && chord::ParsePositive(value, &n))
      options->fs.attr_ms = n;
    else if (option == "--call-timeout-ms" && chord::ParsePositive(value, &n))
      options->transport.call_timeout_ms = n;
    else if (option == "--connect-timeout-ms" && chord::ParsePositive(value, &n))
      options->transport.connect_timeout_ms = n;
    else
      return Usage("unknown option or bad value: " + option + " " + value);
  }
  if (options->mount_point.empty()) return Usage("give a mount point");
  if (!options->node.empty() && !chord::ParseHostPort(options->node, nullptr, nullptr)) {
    return Usage("--node wants HOST:PORT, not '" + options->node + "'");
  }
  if (options->store.chunk_bytes > size_t(chord::kMaxValueBytesLimit)) {
    return Usage("--chunk-bytes is over the largest value a node may hold");
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (int exit_code = ParseArgs(argc, argv, &options); exit_code >= 0) return exit_code;
  if (!options.secret_file.empty()) {
    auto secret = chord::LoadSecret(options.secret_file);
    if (!secret.ok()) {
      std::cerr << "chord-fs: " << secret.status().message() << "\n";
      return 1;
    }
    options.transport.secret = secret.value();
  }
  std::vector<std::string> members = {options.node};
  options.store.entry = options.node;
  if (options.node.empty() || !options.ring_file.empty()) {
    auto read = chord::ReadRingFile(options.ring_file.empty() ? "ring.txt" : options.ring_file);
    if (!read.ok()) {
      std::cerr << "chord-fs: " << read.status().message() << "\n";
      return 1;
    }
    members = read.value();
  }
  signal(SIGPIPE, SIG_IGN);
  chord::SetXmlSizeLimit(size_t(chord::kMaxValueBytesLimit) * 2 + (1u << 20));

  // No thread is started before RunFuse daemonizes: the transport starts none, and the file
  // system's workers start in FUSE's init.
  chord::XmlRpcTransport transport(options.transport);
  chord::FsStore store(&transport, members, options.store);
  if (chord::Status root = store.EnsureRoot(); !root.ok()) {
    std::cerr << "chord-fs: cannot reach the ring: " << root.ToString() << "\n";
    return 1;
  }
  chord::FileSystem file_system(&store, options.fs);
  std::vector<std::string> fuse_args = {"chord-fs", options.mount_point, "-o",
                                        "fsname=chord,subtype=chord,default_permissions"};
  fuse_args.insert(fuse_args.end(), options.fuse_flags.begin(), options.fuse_flags.end());
  int exit_code = chord::RunFuse(&file_system, fuse_args);
  file_system.Stop();
  return exit_code == 0 ? 0 : 1;
}
