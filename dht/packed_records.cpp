#include "dht/packed_records.h"

namespace chord {
namespace {

constexpr uint8_t kTombstoneFlag = 1, kBinaryFlag = 2;
constexpr size_t kFixedBytes = 4 + 4 + 3 * 8 + 1;  // lengths, version and times, flags

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(char((v >> shift) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(char((v >> shift) & 0xff));
}

// Reads from a string with bounds checks: each Read fails once the string is exhausted.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  bool done() const { return at_ == bytes_.size(); }
  bool U64(uint64_t* v) {
    if (bytes_.size() - at_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v = (*v << 8) | uint8_t(bytes_[at_++]);
    return true;
  }
  bool U32(uint32_t* v) {
    if (bytes_.size() - at_ < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v = (*v << 8) | uint8_t(bytes_[at_++]);
    return true;
  }
  bool U8(uint8_t* v) {
    if (at_ >= bytes_.size()) return false;
    *v = uint8_t(bytes_[at_++]);
    return true;
  }
  bool Bytes(std::string* out) {
    uint32_t size = 0;
    if (!U32(&size) || bytes_.size() - at_ < size) return false;
    out->assign(bytes_, at_, size);
    at_ += size;
    return true;
  }

 private:
  const std::string& bytes_;
  size_t at_ = 0;
};

Status CheckRecord(const Record& r, const DhtLimits& limits) {
  Status check = CheckKey(r.key, limits);
  if (check.ok()) check = CheckValue(DhtValue{r.entry.value, r.entry.binary}, limits);
  if (!check.ok()) return check;
  if (r.entry.version > kMaxVersion) return Status::BadArgument("version out of range");
  if (r.entry.expires_at_ms < 0 || r.entry.expires_at_ms > kMaxTimeMs ||
      r.entry.written_at_ms < 0 || r.entry.written_at_ms > kMaxTimeMs) {
    return Status::BadArgument("time out of range");
  }
  return Status::Ok();
}

}  // namespace

std::string PackRecords(const std::vector<Record>& records) {
  size_t size = 0;
  for (const Record& r : records) size += kFixedBytes + r.key.size() + r.entry.value.size();
  std::string out;
  out.reserve(size);
  for (const Record& r : records) {
    PutU32(&out, uint32_t(r.key.size()));
    out += r.key;
    PutU32(&out, uint32_t(r.entry.value.size()));
    out += r.entry.value;
    PutU64(&out, r.entry.version);
    PutU64(&out, uint64_t(r.entry.expires_at_ms));
    PutU64(&out, uint64_t(r.entry.written_at_ms));
    out.push_back(
        char((r.entry.tombstone ? kTombstoneFlag : 0) | (r.entry.binary ? kBinaryFlag : 0)));
  }
  return out;
}

Result<std::vector<Record>> UnpackRecords(const std::string& packed, const DhtLimits& limits) {
  std::vector<Record> records;
  Reader in(packed);
  while (!in.done()) {
    const std::string what = "argument 1 (records)[" + std::to_string(records.size()) + "]";
    if (records.size() >= kMaxWireBatch) {
      return Status::BadArgument("argument 1 (records): more than " +
                                 std::to_string(kMaxWireBatch) + " records");
    }
    Record r;
    uint64_t version = 0, expires = 0, written = 0;
    uint8_t flags = 0;
    if (!in.Bytes(&r.key) || !in.Bytes(&r.entry.value) || !in.U64(&version) || !in.U64(&expires) ||
        !in.U64(&written) || !in.U8(&flags)) {
      return Status::BadArgument(what + ": truncated");
    }
    r.entry.version = version;
    r.entry.expires_at_ms = int64_t(expires);
    r.entry.written_at_ms = int64_t(written);
    r.entry.tombstone = flags & kTombstoneFlag;
    r.entry.binary = flags & kBinaryFlag;
    Status check = CheckRecord(r, limits);
    if (!check.ok()) return Status::BadArgument(what + ": " + check.message());
    r.id = Id::Hash(r.key, limits.bits);
    records.push_back(std::move(r));
  }
  if (records.empty()) return Status::BadArgument("argument 1 (records): no record");
  return records;
}

}  // namespace chord
