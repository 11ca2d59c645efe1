#include "dht/hash_tree.h"

#include <algorithm>

namespace chord {
namespace {

// The splitmix64 finalizer: spreads every input bit over the whole word.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Whether the ring interval (from, to] holds every id of the arc (before, last].
bool Covers(const Id& from, const Id& to, const Id& before, const Id& last, int bits) {
  if (from == to) return true;
  if (before == last) return false;  // the whole circle, and the interval is not
  const Id first = before.Next(bits);
  return InHalfOpenInterval(first, from, to) && InHalfOpenInterval(last, from, to) &&
         InHalfOpenInterval(first, from, last);
}

// Whether the ring interval (from, to] and the arc (before, last] share an id: one of them
// begins inside the other.
bool Intersects(const Id& from, const Id& to, const Id& before, const Id& last, int bits) {
  if (from == to || before == last) return true;
  return InHalfOpenInterval(from.Next(bits), before, last) ||
         InHalfOpenInterval(before.Next(bits), from, to);
}

constexpr size_t kScanBatch = 512;

}  // namespace

uint64_t RecordHash(const std::string& key, uint64_t version) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the key's bytes
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
  return Mix(h ^ Mix(version + 0x9e3779b97f4a7c15ULL));
}

int HashTree::DepthFor(int bits) { return std::min(kMaxDepth, bits / 4); }

HashTree::HashTree(int bits) : bits_(bits), depth_(DepthFor(bits)) {
  for (int level = 0; level <= depth_; ++level) {
    // Value-initialized: every cell starts at zero, the hash of no records.
    levels_.emplace_back(new std::atomic<uint64_t>[width(level)]());
  }
}

std::pair<Id, Id> HashTree::Arc(int level, uint32_t index) const {
  const int n = 4 * level;
  const Id first = Id::FromTopBits(index, n, bits_);
  // The next arc's first id (0 after the last arc), minus one.
  const Id last = index + 1 == width(level) ? Id::FromUint(0, bits_).Prev(bits_)
                                            : Id::FromTopBits(index + 1, n, bits_).Prev(bits_);
  return {first.Prev(bits_), last};
}

uint32_t HashTree::LeafOf(const Id& id) const { return id.TopBits(4 * depth_, bits_); }

void HashTree::Add(const Id& id, uint64_t record_hash) { Change(id, record_hash); }

void HashTree::Remove(const Id& id, uint64_t record_hash) { Change(id, uint64_t(0) - record_hash); }

void HashTree::Change(const Id& id, uint64_t delta) {
  const uint32_t leaf = LeafOf(id);
  for (int level = 0; level <= depth_; ++level) {
    const uint32_t index = leaf >> (4 * (depth_ - level));
    levels_[level][index].fetch_add(delta, std::memory_order_relaxed);
  }
}

uint64_t HashTree::Get(int level, uint32_t index) const {
  return levels_[level][index].load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------

HashedStorage::HashedStorage(std::unique_ptr<Storage> inner, int bits)
    : inner_(std::move(inner)), tree_(bits) {
  const Id zero;
  std::optional<RecordPosition> after;
  for (;;) {
    auto records = inner_->Range(zero, zero, after, kScanBatch);
    for (const auto& r : records) Account(r.id, r.key, r.entry, +1);
    if (records.size() < kScanBatch) break;
    after = RecordPosition{records.back().id, records.back().key};
  }
}

std::optional<Entry> HashedStorage::Get(const Id& id, const std::string& key) const {
  return inner_->Get(id, key);
}

Result<bool> HashedStorage::PutIfNewer(const Id& id, const std::string& key, const Entry& entry) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  auto before = inner_->Get(id, key);
  auto stored = inner_->PutIfNewer(id, key, entry);
  if (!stored.ok() || !stored.value()) return stored;  // the tree follows only what was stored
  if (before) Account(id, key, *before, -1);
  Account(id, key, entry, +1);
  return true;
}

Status HashedStorage::PutManyIfNewer(const std::vector<Record>& records, std::vector<bool>* stored,
                                     std::vector<std::optional<Entry>>* replaced) {
  std::vector<std::optional<Entry>> before;
  std::lock_guard<std::mutex> lock(write_mutex_);
  Status put = inner_->PutManyIfNewer(records, stored, &before);
  if (!put.ok()) return put;  // nothing was stored: the tree stays
  for (size_t i = 0; i < records.size(); ++i) {
    if (!(*stored)[i]) continue;
    if (before[i]) Account(records[i].id, records[i].key, *before[i], -1);
    Account(records[i].id, records[i].key, records[i].entry, +1);
  }
  if (replaced) *replaced = std::move(before);
  return Status::Ok();
}

Result<bool> HashedStorage::Erase(const Id& id, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  auto before = inner_->Get(id, key);
  if (!before) return false;
  auto erased = inner_->Erase(id, key, version);
  if (!erased.ok() || !erased.value()) return erased;
  Account(id, key, *before, -1);
  return true;
}

void HashedStorage::Account(const Id& id, const std::string& key, const Entry& entry, int sign) {
  const uint64_t hash = RecordHash(key, entry.version);
  if (sign > 0) {
    tree_.Add(id, hash);
  } else {
    tree_.Remove(id, hash);
  }
  if (Mortal(entry)) mortal_.fetch_add(sign, std::memory_order_relaxed);
}

std::vector<RecordVersion> HashedStorage::Versions(const Id& from, const Id& to,
                                                   const std::optional<RecordPosition>& after,
                                                   size_t limit) const {
  return inner_->Versions(from, to, after, limit);
}

std::vector<Record> HashedStorage::Range(const Id& from, const Id& to,
                                         const std::optional<RecordPosition>& after,
                                         size_t limit) const {
  return inner_->Range(from, to, after, limit);
}

size_t HashedStorage::Count() const { return inner_->Count(); }

uint64_t HashedStorage::RangeHash(int level, uint32_t index, const Id& from, const Id& to) const {
  const auto [before, last] = tree_.Arc(level, index);
  if (Covers(from, to, before, last, tree_.bits())) return tree_.Get(level, index);
  if (!Intersects(from, to, before, last, tree_.bits())) return 0;
  if (level == tree_.depth()) return LeafRangeHash(index, from, to);
  uint64_t sum = 0;
  const uint32_t first_child = index * HashTree::kFanout;
  for (uint32_t c = 0; c < HashTree::kFanout; ++c)
    sum += RangeHash(level + 1, first_child + c, from, to);
  return sum;
}

uint64_t HashedStorage::LeafRangeHash(uint32_t leaf, const Id& from, const Id& to) const {
  const auto [before, last] = tree_.Arc(tree_.depth(), leaf);
  uint64_t sum = 0;
  std::optional<RecordPosition> after;
  for (;;) {
    auto records = inner_->Versions(before, last, after, kScanBatch);
    for (const auto& r : records) {
      if (InHalfOpenInterval(r.id, from, to)) sum += RecordHash(r.key, r.version);
    }
    if (records.size() < kScanBatch) return sum;
    after = RecordPosition{records.back().id, records.back().key};
  }
}

}  // namespace chord
