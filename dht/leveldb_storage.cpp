#include "dht/leveldb_storage.h"

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <boost/log/trivial.hpp>
#include <cstdarg>
#include <filesystem>
#include <unordered_map>

namespace chord {
namespace {

constexpr char kRecordPrefix = 'r';
constexpr char kMetaPrefix = 'm';
constexpr size_t kIdBytes = 20;
constexpr size_t kHeaderBytes = 3 * 8 + 1;  // version, expiry, write time, flags
constexpr uint8_t kTombstoneFlag = 1, kBinaryFlag = 2;

std::string IdBytes(const Id& id) {
  const std::string hex = id.ToHex(Id::kMaxBits);
  std::string out(kIdBytes, '\0');
  for (size_t i = 0; i < kIdBytes; ++i) out[i] = char(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

Id IdFromBytes(const char* bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < kIdBytes; ++i) {
    hex += kDigits[uint8_t(bytes[i]) >> 4];
    hex += kDigits[uint8_t(bytes[i]) & 15];
  }
  return Id::FromHex(hex, Id::kMaxBits).value();
}

std::string RecordKey(const Id& id, const std::string& key) {
  return kRecordPrefix + IdBytes(id) + key;
}

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(char((v >> shift) & 0xff));
}

uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint8_t(in[i]);
  return v;
}

std::string EncodeEntry(const Entry& entry) {
  std::string out;
  out.reserve(kHeaderBytes + entry.value.size());
  PutU64(&out, entry.version);
  PutU64(&out, uint64_t(entry.expires_at_ms));
  PutU64(&out, uint64_t(entry.written_at_ms));
  out.push_back(char((entry.tombstone ? kTombstoneFlag : 0) | (entry.binary ? kBinaryFlag : 0)));
  out += entry.value;
  return out;
}

// Nullopt for bytes this engine did not write (a damaged database): logged, read as a miss.
std::optional<Entry> DecodeEntry(const leveldb::Slice& bytes) {
  if (bytes.size() < kHeaderBytes) return std::nullopt;
  const char* p = bytes.data();
  Entry entry;
  entry.version = GetU64(p);
  entry.expires_at_ms = int64_t(GetU64(p + 8));
  entry.written_at_ms = int64_t(GetU64(p + 16));
  const uint8_t flags = uint8_t(p[24]);
  entry.tombstone = flags & kTombstoneFlag;
  entry.binary = flags & kBinaryFlag;
  entry.value.assign(p + kHeaderBytes, bytes.size() - kHeaderBytes);
  return entry;
}

bool IsRecordKey(const leveldb::Slice& key) {
  return key.size() >= 1 + kIdBytes && key[0] == kRecordPrefix;
}

// LevelDB's own log lines go to the node's log (debug). Without a logger LevelDB opens one of
// its own, renaming DIR/LOG to LOG.old before it takes the directory's lock: a node refused
// because another one uses the directory would still have changed files in it.
class DebugLogger : public leveldb::Logger {
 public:
  void Logv(const char* format, va_list args) override {
    char line[512];
    std::vsnprintf(line, sizeof(line), format, args);
    BOOST_LOG_TRIVIAL(debug) << "leveldb: " << line;
  }
};

Status Failed(const char* what, const leveldb::Status& status) {
  return Status::StorageFailed(std::string(what) + ": " + status.ToString());
}

}  // namespace

Result<std::unique_ptr<LevelDbStorage>> LevelDbStorage::Open(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return Status::Refused("cannot create data directory " + dir + ": " + error.message());
  }
  static DebugLogger logger;  // stateless, shared by every database of the process
  leveldb::Options options;
  options.create_if_missing = true;
  options.info_log = &logger;
  // Most writes are of keys not held yet (a load, a transfer): a Bloom filter answers those
  // reads without touching the tables.
  static const leveldb::FilterPolicy* const filter = leveldb::NewBloomFilterPolicy(10);
  options.filter_policy = filter;
  // Values are mostly incompressible and keys start with 20 random bytes: Snappy took some 6% of
  // a node's CPU during a bulk load and saved little space.
  options.compression = leveldb::kNoCompression;
  // Twice the default memtable: half as many level-0 tables to compact during a bulk load, for
  // 4 MiB more memory per node.
  options.write_buffer_size = 8 << 20;
  leveldb::DB* raw = nullptr;
  leveldb::Status opened = leveldb::DB::Open(options, dir, &raw);
  if (!opened.ok()) {
    // The LOCK file held by another process, permissions, or another format: nothing written.
    return Status::Refused("cannot open data directory " + dir + " (" + opened.ToString() +
                           "); is another chord-node using it, or is it unreadable?");
  }
  std::unique_ptr<leveldb::DB> db(raw);
  size_t count = 0;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(std::string(1, kRecordPrefix)); it->Valid() && IsRecordKey(it->key()); it->Next()) {
    ++count;
  }
  if (!it->status().ok()) {
    return Status::Refused("cannot read data directory " + dir + ": " + it->status().ToString());
  }
  it.reset();
  return std::unique_ptr<LevelDbStorage>(new LevelDbStorage(std::move(db), count));
}

LevelDbStorage::LevelDbStorage(std::unique_ptr<leveldb::DB> db, size_t count)
    : db_(std::move(db)), count_(count) {}

LevelDbStorage::~LevelDbStorage() = default;

std::optional<Entry> LevelDbStorage::Get(const Id& id, const std::string& key) const {
  std::string bytes;
  leveldb::Status status = db_->Get(leveldb::ReadOptions(), RecordKey(id, key), &bytes);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) {
    BOOST_LOG_TRIVIAL(error) << "storage: reading " << key << ": " << status.ToString();
    return std::nullopt;
  }
  return DecodeEntry(bytes);
}

Result<bool> LevelDbStorage::PutIfNewer(const Id& id, const std::string& key, const Entry& entry) {
  const std::string record_key = RecordKey(id, key);
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::string bytes;
  leveldb::Status read = db_->Get(leveldb::ReadOptions(), record_key, &bytes);
  if (!read.ok() && !read.IsNotFound()) return Failed("reading before a write", read);
  const bool existed = read.ok();
  if (existed) {
    auto held = DecodeEntry(bytes);
    if (held && held->version >= entry.version) return false;
  }
  leveldb::Status written = db_->Put(leveldb::WriteOptions(), record_key, EncodeEntry(entry));
  if (!written.ok()) return Failed("writing", written);
  if (!existed) count_.fetch_add(1);
  return true;
}

Result<bool> LevelDbStorage::Erase(const Id& id, const std::string& key, uint64_t version) {
  const std::string record_key = RecordKey(id, key);
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::string bytes;
  leveldb::Status read = db_->Get(leveldb::ReadOptions(), record_key, &bytes);
  if (read.IsNotFound()) return false;
  if (!read.ok()) return Failed("reading before an erase", read);
  auto held = DecodeEntry(bytes);
  if (held && held->version > version) return false;
  leveldb::Status erased = db_->Delete(leveldb::WriteOptions(), record_key);
  if (!erased.ok()) return Failed("erasing", erased);
  count_.fetch_sub(1);
  return true;
}

Status LevelDbStorage::PutManyIfNewer(const std::vector<Record>& records, std::vector<bool>* stored,
                                      std::vector<std::optional<Entry>>* replaced) {
  stored->assign(records.size(), false);
  if (replaced) replaced->assign(records.size(), std::nullopt);
  leveldb::WriteBatch batch;
  size_t added = 0;
  std::lock_guard<std::mutex> lock(write_mutex_);
  // Entries written earlier in this batch, which the database does not show yet.
  std::unordered_map<std::string, Entry> pending;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    std::string record_key = RecordKey(r.id, r.key);
    std::optional<Entry> held;
    bool existed = true;
    if (auto it = pending.find(record_key); it != pending.end()) {
      held = it->second;
    } else {
      std::string bytes;
      leveldb::Status read = db_->Get(leveldb::ReadOptions(), record_key, &bytes);
      if (!read.ok() && !read.IsNotFound()) return Failed("reading before a write", read);
      existed = read.ok();
      if (existed) held = DecodeEntry(bytes);  // undecodable bytes: replaced, as PutIfNewer does
    }
    if (held && held->version >= r.entry.version) continue;
    if (!existed) ++added;
    batch.Put(record_key, EncodeEntry(r.entry));
    (*stored)[i] = true;
    if (replaced) (*replaced)[i] = held;
    pending[std::move(record_key)] = r.entry;
  }
  leveldb::Status written = db_->Write(leveldb::WriteOptions(), &batch);
  if (!written.ok()) {
    stored->assign(records.size(), false);
    return Failed("writing a batch", written);
  }
  count_.fetch_add(added);
  return Status::Ok();
}

template <typename Visit>
void LevelDbStorage::Scan(const Id& from, const Id& to, const std::optional<RecordPosition>& after,
                          size_t limit, const Visit& visit) const {
  // The same walk as MemoryStorage::Range: ring order from just after `from`, wrapping once.
  size_t out = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  bool wrapped = false;
  if (after) {
    if (!InHalfOpenInterval(after->first, from, to)) return;
    const std::string position = RecordKey(after->first, after->second);
    it->Seek(position);
    if (it->Valid() && it->key() == leveldb::Slice(position)) it->Next();
    wrapped = !(from < after->first);
  } else {
    // Past every key of id `from`: the id's bytes followed by 0xff... sort after all of them;
    // seek to the id and skip its keys.
    const std::string start = kRecordPrefix + IdBytes(from);
    it->Seek(start);
    while (it->Valid() && it->key().starts_with(start)) it->Next();
  }
  while (out < limit) {
    if (!it->Valid() || !IsRecordKey(it->key())) {
      if (wrapped) break;
      wrapped = true;
      it->Seek(std::string(1, kRecordPrefix));
      continue;
    }
    const leveldb::Slice key = it->key();
    const Id id = IdFromBytes(key.data() + 1);
    if (wrapped && from < id) break;  // back where we started
    if (!InHalfOpenInterval(id, from, to)) break;
    if (visit(id, leveldb::Slice(key.data() + 1 + kIdBytes, key.size() - 1 - kIdBytes),
              it->value())) {
      ++out;
    }
    it->Next();
  }
  if (!it->status().ok()) {
    BOOST_LOG_TRIVIAL(error) << "storage: scanning: " << it->status().ToString();
  }
}

std::vector<Record> LevelDbStorage::Range(const Id& from, const Id& to,
                                          const std::optional<RecordPosition>& after,
                                          size_t limit) const {
  std::vector<Record> out;
  Scan(from, to, after, limit,
       [&](const Id& id, const leveldb::Slice& key, const leveldb::Slice& value) {
         auto entry = DecodeEntry(value);
         if (!entry) return false;
         out.push_back({id, key.ToString(), std::move(*entry)});
         return true;
       });
  return out;
}

std::vector<RecordVersion> LevelDbStorage::Versions(const Id& from, const Id& to,
                                                    const std::optional<RecordPosition>& after,
                                                    size_t limit) const {
  std::vector<RecordVersion> out;
  Scan(from, to, after, limit,
       [&](const Id& id, const leveldb::Slice& key, const leveldb::Slice& value) {
         if (value.size() < kHeaderBytes) return false;  // as DecodeEntry: not ours
         out.push_back({id, key.ToString(), GetU64(value.data())});
         return true;
       });
  return out;
}

Result<std::optional<std::string>> LevelDbStorage::ReadMeta(const std::string& name) const {
  std::string value;
  leveldb::Status status = db_->Get(leveldb::ReadOptions(), kMetaPrefix + name, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return Failed("reading metadata", status);
  return std::optional<std::string>(value);
}

Status LevelDbStorage::WriteMeta(const std::string& name, const std::string& value) {
  leveldb::WriteOptions sync;
  sync.sync = true;  // an identity is written once, and must outlive a power loss
  leveldb::Status status = db_->Put(sync, kMetaPrefix + name, value);
  if (!status.ok()) return Failed("writing metadata", status);
  return Status::Ok();
}

}  // namespace chord
