// HashTree and HashedStorage: hashes of what a node holds, arc by arc of the identifier circle,
// so that two nodes can tell with one comparison whether they hold the same versions of a
// range's records, and find the few arcs where they differ with a few more (anti-entropy, as
// MIT DHash's Merkle trees over the key space, and Dynamo's). Replicas in sync then cost one
// call per repair round whatever the number of keys, instead of a digest of every record.
//
// Shape: a fixed tree. Node (0, 0) is the whole circle; node (level, index) covers the ids whose
// top 4 * level bits are `index`, so each node splits its arc into 16 equal arcs one level down,
// to depth min(kMaxDepth, bits / 4): 4,096 leaves on rings of 12 id bits or more. A node's hash
// is the sum (mod 2^64) of RecordHash(key, version) over the records in its arc: a write
// changes one cell per level, in any order, and two holders of the same versions of the same
// keys have the same hashes.
//
// Thread-safety: all methods are safe to call concurrently. HashTree cells are relaxed atomics:
// a reader racing a writer may see the write in some levels and not yet in others, which only
// makes one comparison look further than it needed to. HashedStorage serializes its writes so
// that the tree always ends up matching the records.
#ifndef CHORD_DHT_HASH_TREE_H_
#define CHORD_DHT_HASH_TREE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dht/storage.h"
#include "overlay/id.h"

namespace chord {

// The hash one record adds to the arcs holding it. Stable across processes and builds (peers
// compare sums of it).
uint64_t RecordHash(const std::string& key, uint64_t version);

class HashTree {
 public:
  static constexpr int kFanout = 16;
  static constexpr int kMaxDepth = 3;

  // The depth of the tree on a ring of `bits`-bit ids: min(kMaxDepth, bits / 4).
  static int DepthFor(int bits);

  explicit HashTree(int bits);
  HashTree(const HashTree&) = delete;
  HashTree& operator=(const HashTree&) = delete;

  // Levels below the root: 0 (a ring of fewer than 4 id bits: the root is the only leaf) to
  // kMaxDepth.
  int depth() const { return depth_; }
  int bits() const { return bits_; }
  // Nodes at `level`: 16^level.
  uint32_t width(int level) const { return uint32_t(1) << (4 * level); }
  // The arc of node (level, index) as the ring interval (before, last]: `before` is the id just
  // ahead of it (for the root, before == last: the whole circle).
  std::pair<Id, Id> Arc(int level, uint32_t index) const;
  // The leaf whose arc holds `id`.
  uint32_t LeafOf(const Id& id) const;

  void Add(const Id& id, uint64_t record_hash);
  void Remove(const Id& id, uint64_t record_hash);
  uint64_t Get(int level, uint32_t index) const;

 private:
  void Change(const Id& id, uint64_t delta);

  int bits_;
  int depth_;
  // levels_[l] holds the width(l) cells of level l.
  std::vector<std::unique_ptr<std::atomic<uint64_t>[]>> levels_;
};

// A Storage that keeps a HashTree of the versions it holds, wrapped around any engine.
class HashedStorage : public Storage {
 public:
  // Reads all of `inner` once to build the tree. `bits`: the ring's id size.
  HashedStorage(std::unique_ptr<Storage> inner, int bits);

  std::optional<Entry> Get(const Id& id, const std::string& key) const override;
  Result<bool> PutIfNewer(const Id& id, const std::string& key, const Entry& entry) override;
  // The inner engine's batch; the tree follows what it stored and replaced.
  Status PutManyIfNewer(const std::vector<Record>& records, std::vector<bool>* stored,
                        std::vector<std::optional<Entry>>* replaced = nullptr) override;
  Result<bool> Erase(const Id& id, const std::string& key, uint64_t version) override;
  std::vector<Record> Range(const Id& from, const Id& to,
                            const std::optional<RecordPosition>& after,
                            size_t limit) const override;
  size_t Count() const override;
  std::vector<RecordVersion> Versions(const Id& from, const Id& to,
                                      const std::optional<RecordPosition>& after,
                                      size_t limit) const override;

  const HashTree& tree() const { return tree_; }
  // Whether some record held is a tombstone or expires: false means garbage collection has
  // nothing to look for.
  bool MayHoldGarbage() const { return mortal_.load(std::memory_order_relaxed) > 0; }
  // The hash of the records in node (level, index)'s arc whose ids lie in the ring interval
  // (from, to] (from == to: the whole circle). Arcs inside the interval answer from the tree;
  // only the two arcs where the interval begins and ends are summed from their records.
  uint64_t RangeHash(int level, uint32_t index, const Id& from, const Id& to) const;

 private:
  uint64_t LeafRangeHash(uint32_t leaf, const Id& from, const Id& to) const;
  static bool Mortal(const Entry& e) { return e.tombstone || e.expires_at_ms != 0; }
  // Adds `record` to the tree and the count of mortal records (sign +1), or takes it out (-1).
  void Account(const Id& id, const std::string& key, const Entry& entry, int sign);

  std::unique_ptr<Storage> inner_;
  HashTree tree_;
  // Serializes a write with the reading of the version it replaces, so that the tree loses
  // exactly the hash the engine lost.
  std::mutex write_mutex_;
  std::atomic<int64_t> mortal_{0};  // records held that are tombstones or expire
};

}  // namespace chord

#endif  // CHORD_DHT_HASH_TREE_H_
