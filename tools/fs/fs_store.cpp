#include "tools/fs/fs_store.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

namespace chord {
namespace {

constexpr char kDirMagic[] = "chord-dir 1";
constexpr char kDirPrefix[] = "chord-fs/dir:";
constexpr char kDataPrefix[] = "chord-fs/data/";

// Names and targets on one line of a record: backslash, newline and space escaped.
std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == ' ')
      out += "\\s";
    else
      out += c;
  }
  return out;
}

std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    out += c == 'n' ? '\n' : c == 's' ? ' ' : c;
  }
  return out;
}

}  // namespace

const FsEntry* FsDir::Find(const std::string& name) const {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

bool FsDir::Erase(const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const FsEntry& e) { return e.name == name; });
  if (it == entries.end()) return false;
  entries.erase(it);
  return true;
}

void FsDir::Put(FsEntry entry) {
  Erase(entry.name);
  entries.push_back(std::move(entry));
}

std::string EncodeDir(const FsDir& dir) {
  std::ostringstream out;
  out << kDirMagic << "\nmode " << dir.mode << "\nmtime-ns " << dir.mtime_ns << "\n";
  for (const auto& e : dir.entries) {
    out << e.type << " " << Escape(e.name);
    if (e.type == 'l') out << " " << Escape(e.target);
    out << "\n";
  }
  return out.str();
}

Result<FsDir> DecodeDir(const std::string& bytes) {
  std::istringstream in(bytes);
  std::string line;
  if (!std::getline(in, line) || line != kDirMagic) {
    return Status::BadArgument("not a chord-fs directory record");
  }
  FsDir dir;
  std::string word;
  if (!(in >> word >> dir.mode) || word != "mode" || !(in >> word >> dir.mtime_ns) ||
      word != "mtime-ns") {
    return Status::BadArgument("malformed chord-fs directory record");
  }
  std::getline(in, line);  // the end of the mtime line
  while (std::getline(in, line)) {
    if (line.size() < 3 || line[1] != ' ' || !std::strchr("fdl", line[0])) {
      return Status::BadArgument("malformed entry in a chord-fs directory record");
    }
    FsEntry entry;
    entry.type = line[0];
    std::string rest = line.substr(2);
    auto space = rest.find(' ');
    entry.name = Unescape(rest.substr(0, space));
    if (space != std::string::npos) entry.target = Unescape(rest.substr(space + 1));
    dir.entries.push_back(std::move(entry));
  }
  return dir;
}

std::string FileKey(const std::string& path) { return path.size() > 1 ? path.substr(1) : path; }

std::string DirKey(const std::string& path) { return kDirPrefix + path; }

std::string ParentPath(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Gives a borrowed client back to the pool when the call is over.
class FsStore::Lease {
 public:
  explicit Lease(FsStore* store) : store_(store), client_(store->Borrow()) {}
  ~Lease() { store_->Return(std::move(client_)); }
  DhtClient* get() { return client_.get(); }

 private:
  FsStore* store_;
  std::unique_ptr<DhtClient> client_;
};

FsStore::FsStore(Transport* transport, std::vector<std::string> members, FsStoreOptions options)
    : transport_(transport), members_(std::move(members)), options_(options) {}

std::unique_ptr<DhtClient> FsStore::Borrow() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!idle_.empty()) {
    auto client = std::move(idle_.back());
    idle_.pop_back();
    return client;
  }
  DhtClientOptions client_options;
  client_options.chunk_bytes = options_.chunk_bytes;
  client_options.max_attempts = int(members_.size());  // every member before giving up
  client_options.seed = uint32_t(std::random_device{}() + ++seed_);
  return std::make_unique<DhtClient>(transport_, members_, client_options);
}

void FsStore::Return(std::unique_ptr<DhtClient> client) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(client));
}

template <typename T>
Result<T> FsStore::Retry(const std::function<Result<T>(DhtClient*, const std::string&)>& call) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  auto pause = std::chrono::milliseconds(50);
  while (true) {  // bounded by the deadline
    Result<T> result = [&] {
      Lease lease(this);
      const std::string entry = Entry();
      if (!entry.empty()) {
        auto answer = call(lease.get(), entry);
        if (answer.ok() || answer.status().code() != ErrorCode::kUnavailable) return answer;
        EntryFailed(entry);
      }
      return call(lease.get(), "");  // any member, with the client's fail-over
    }();
    if (result.ok() || result.status().code() != ErrorCode::kUnavailable) return result;
    if (std::chrono::steady_clock::now() + pause >= deadline) return result;
    std::this_thread::sleep_for(pause);  // the ring repairs itself meanwhile
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

std::string FsStore::Entry() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (options_.entry.empty() || std::chrono::steady_clock::now() < entry_down_until_) return "";
  return options_.entry;
}

void FsStore::EntryFailed(const std::string& entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Members are tried instead for a while; then the entry node is given another chance.
  entry_down_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  (void)entry;
}

Result<DhtValue> FsStore::GetValue(const std::string& key) {
  auto got =
      Retry<DhtReply>([&](DhtClient* c, const std::string& via) { return c->Get(key, via); });
  if (!got.ok()) return got.status();
  if (!got->ok) return Status::NotFound("no key '" + key + "'");
  return got->value;
}

Status FsStore::SetValue(const std::string& key, const DhtValue& value, int ttl_s) {
  return Retry<DhtReply>(
             [&](DhtClient* c, const std::string& via) { return c->Set(key, value, ttl_s, via); })
      .status();
}

Status FsStore::RemoveKey(const std::string& key) {
  return Retry<DhtReply>([&](DhtClient* c, const std::string& via) { return c->Remove(key, via); })
      .status();
}

Status FsStore::EnsureRoot() {
  auto root = GetDir("/");
  if (root.ok() || root.status().code() != ErrorCode::kNotFound) return root.status();
  FsDir dir;
  dir.mtime_ns = NowNs();
  // add, not set: two mounts starting at once must not wipe each other's first entries.
  auto added = Retry<DhtReply>([&](DhtClient* c, const std::string& via) {
    return c->Add(DirKey("/"), DhtValue{EncodeDir(dir), true}, 0, via);
  });
  return added.status();
}

Result<DhtFileInfo> FsStore::GetManifest(const std::string& path) {
  auto value = GetValue(FileKey(path));
  if (!value.ok()) return value.status();
  if (value->binary) return Status::BadArgument(path + " holds a binary value, not a file");
  return ParseFileManifest(value->bytes);
}

Status FsStore::PutManifest(const std::string& path, const DhtFileInfo& info) {
  return SetValue(FileKey(path), DhtValue{FileManifest(info), false});
}

Status FsStore::RemoveManifest(const std::string& path) { return RemoveKey(FileKey(path)); }

std::string FsStore::OwnerOf(const std::string& key) {
  if (!options_.direct) return "";
  auto located =
      Retry<DhtLocation>([&](DhtClient* c, const std::string& via) { return c->Locate(key, via); });
  return located.ok() ? located->owner.address : "";
}

Result<std::string> FsStore::GetChunk(const std::string& path, const DhtFileInfo& info,
                                      uint64_t index) {
  const std::string key = DhtClient::ChunkKey(info, FileKey(path), index);
  if (std::string owner = OwnerOf(key); !owner.empty()) {
    Lease lease(this);
    auto got = lease.get()->Get(key, owner);
    if (got.ok() && got->ok) return got->value.bytes;  // else the usual way, with its retries
  }
  auto value = GetValue(key);
  if (!value.ok()) return value.status();
  return value->bytes;
}

Status FsStore::PutChunk(const std::string& key, const std::string& bytes) {
  const DhtValue value{bytes, true};
  if (std::string owner = OwnerOf(key); !owner.empty()) {
    Lease lease(this);
    if (lease.get()->Set(key, value, 0, owner).ok()) return Status::Ok();
  }
  return SetValue(key, value);
}

void FsStore::RemoveChunks(const std::string& path, const DhtFileInfo& info) {
  for (uint64_t i = 0; i < info.chunks; ++i) {
    Lease lease(this);  // one try each: garbage left behind is harmless
    lease.get()->Remove(DhtClient::ChunkKey(info, FileKey(path), i));
  }
}

std::string FsStore::NewChunkPrefix() {
  static thread_local std::mt19937_64 random(std::random_device{}());
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
  return kDataPrefix + std::string(hex);
}

Result<DhtFileInfo> FsStore::OwnChunks(const std::string& path, DhtFileInfo info) {
  if (!info.chunk_prefix.empty()) return info;
  DhtFileInfo copy = info;
  copy.chunk_prefix = NewChunkPrefix();
  for (uint64_t i = 0; i < info.chunks; ++i) {  // one chunk at a time: a rare case
    auto chunk = GetChunk(path, info, i);
    if (!chunk.ok()) return chunk.status();
    Status stored = PutChunk(DhtClient::ChunkKey(copy, FileKey(path), i), chunk.value());
    if (!stored.ok()) return stored;
  }
  return copy;
}

Result<FsDir> FsStore::GetDir(const std::string& path) {
  auto value = GetValue(DirKey(path));
  if (!value.ok()) return value.status();
  return DecodeDir(value->bytes);
}

Status FsStore::PutDir(const std::string& path, const FsDir& dir) {
  return SetValue(DirKey(path), DhtValue{EncodeDir(dir), true});
}

Status FsStore::RemoveDir(const std::string& path) { return RemoveKey(DirKey(path)); }

Status FsStore::Lock(const std::string& key, const std::string& token) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  static thread_local std::mt19937 random(std::random_device{}());
  while (true) {  // bounded by the deadline
    auto added = Retry<DhtReply>([&](DhtClient* c, const std::string& via) {
      return c->Add(key, DhtValue{token, false}, options_.lock_ttl_s, via);
    });
    if (!added.ok()) return added.status();
    if (added->ok) return Status::Ok();
    // Our own earlier attempt may have stored it and only its answer was lost.
    auto holder = GetValue(key);
    if (holder.ok() && holder->bytes == token) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("directory lock " + key + " stays taken");
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 40)(random)));
  }
}

Status FsStore::UpdateDir(const std::string& path, const std::function<Status(FsDir*)>& change) {
  const std::string lock_key = DirKey(path) + "#lock";
  const std::string token = NewChunkPrefix();  // any unique string
  Status locked = Lock(lock_key, token);
  if (!locked.ok()) return locked;
  Status status = [&]() -> Status {
    auto dir = GetDir(path);
    if (!dir.ok()) return dir.status();
    FsDir edited = dir.value();
    edited.mtime_ns = NowNs();  // unless `change` sets another
    Status changed = change(&edited);
    if (!changed.ok()) return changed;
    return PutDir(path, edited);
  }();
  RemoveKey(lock_key);  // if this fails, the lock's ttl frees it
  return status;
}

Status FsStore::LinkFile(const std::string& name) {
  std::vector<std::string> parts;
  for (size_t start = 0; start <= name.size();) {  // one component per turn
    size_t slash = std::min(name.find('/', start), name.size());
    parts.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
  for (const auto& part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return Status::BadArgument("'" + name + "' is not a path of the mount");
    }
  }
  if (name.rfind("chord-fs/", 0) == 0) return Status::BadArgument("chord-fs keeps its own keys");
  if (Status root = EnsureRoot(); !root.ok()) return root;
  std::string dir = "/";
  for (size_t i = 0; i < parts.size(); ++i) {  // bounded by the components
    const bool last = i + 1 == parts.size();
    const std::string child = JoinPath(dir, parts[i]);
    Status status = UpdateDir(dir, [&](FsDir* record) -> Status {
      const FsEntry* entry = record->Find(parts[i]);
      if (entry)
        return entry->type == (last ? 'f' : 'd') ? Status::Ok()
                                                 : Status::NotFound(child + " is taken");
      if (!last) {
        FsDir made;
        made.mtime_ns = NowNs();
        if (Status stored = PutDir(child, made); !stored.ok()) return stored;
      }
      record->Put({last ? 'f' : 'd', parts[i], ""});
      return Status::Ok();
    });
    if (!status.ok()) return status;
    dir = child;
  }
  return Status::Ok();
}

}  // namespace chord
