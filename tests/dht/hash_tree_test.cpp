#define BOOST_TEST_MODULE hash_tree
#define BOOST_TEST_DYN_LINK
#include "dht/hash_tree.h"

#include <boost/test/unit_test.hpp>
#include <random>

#include "dht/memory_storage.h"

using chord::Entry;
using chord::HashedStorage;
using chord::HashTree;
using chord::Id;
using chord::MemoryStorage;
using chord::RecordHash;

namespace {

Entry Version(uint64_t v) {
  Entry e;
  e.value = "v" + std::to_string(v);
  e.version = v;
  return e;
}

std::unique_ptr<HashedStorage> Hashed(int bits) {
  return std::make_unique<HashedStorage>(std::make_unique<MemoryStorage>(), bits);
}

// The sum of RecordHash over the records in (from, to], the slow way.
uint64_t BruteForce(const HashedStorage& storage, const Id& from, const Id& to) {
  uint64_t sum = 0;
  for (const auto& r : storage.Range(Id(), Id(), std::nullopt, 1 << 20)) {
    if (InHalfOpenInterval(r.id, from, to)) sum += RecordHash(r.key, r.entry.version);
  }
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_CASE(id_prefixes_and_prev) {
  BOOST_TEST((Id::FromUint(0, 8).Prev(8) == Id::FromUint(255, 8)));
  BOOST_TEST((Id::FromUint(0x100, 16).Prev(16) == Id::FromUint(0xff, 16)));
  BOOST_TEST(Id::FromUint(0xabcd, 16).TopBits(4, 16) == 0xau);
  BOOST_TEST(Id::FromUint(0xabcd, 16).TopBits(12, 16) == 0xabcu);
  BOOST_TEST((Id::FromTopBits(0xab, 8, 16) == Id::FromUint(0xab00, 16)));
  const Id top = Id::FromTopBits(0xfff, 12, 160);
  BOOST_TEST(top.TopBits(12, 160) == 0xfffu);
  BOOST_TEST(top.Prev(160).TopBits(12, 160) == 0xffeu);
}

BOOST_AUTO_TEST_CASE(arcs_of_each_level_tile_the_circle) {
  for (int bits : {4, 8, 13, 160}) {
    HashTree tree(bits);
    for (int level = 1; level <= tree.depth(); ++level) {
      for (uint32_t i = 0; i < tree.width(level); ++i) {
        const auto [before, last] = tree.Arc(level, i);
        const auto next = tree.Arc(level, (i + 1) % tree.width(level));
        BOOST_TEST_REQUIRE((next.first == last));  // each arc starts where the last one ended
        BOOST_TEST_REQUIRE(tree.LeafOf(last) >> (4 * (tree.depth() - level)) == i);
      }
    }
    const auto root = tree.Arc(0, 0);
    BOOST_TEST((root.first == root.second));  // the whole circle
  }
  BOOST_TEST(HashTree(160).depth() == 3);
  BOOST_TEST(HashTree(8).depth() == 2);
  BOOST_TEST(HashTree(3).depth() == 0);
}

BOOST_AUTO_TEST_CASE(range_hashes_match_the_records_in_any_interval) {
  std::mt19937_64 random(7);
  for (int bits : {3, 8, 14, 160}) {
    auto storage = Hashed(bits);
    for (int i = 0; i < 600; ++i) {
      const std::string key = "key" + std::to_string(random() % 400);
      storage->PutIfNewer(Id::Hash(key, bits), key, Version(1 + random() % 5));
      if (i % 7 == 0) storage->Erase(Id::Hash(key, bits), key, 3);
    }
    const HashTree& tree = storage->tree();
    for (int trial = 0; trial < 40; ++trial) {
      const Id from = Id::Hash("from" + std::to_string(trial), bits);
      const Id to = trial % 10 == 0 ? from : Id::Hash("to" + std::to_string(trial), bits);
      BOOST_TEST_REQUIRE(storage->RangeHash(0, 0, from, to) == BruteForce(*storage, from, to));
      // The children of the root add up to it, interval by interval.
      if (tree.depth() == 0) continue;
      uint64_t sum = 0;
      for (uint32_t c = 0; c < HashTree::kFanout; ++c) sum += storage->RangeHash(1, c, from, to);
      BOOST_TEST_REQUIRE(sum == BruteForce(*storage, from, to));
    }
  }
}

BOOST_AUTO_TEST_CASE(same_versions_same_hashes_and_a_difference_shows_in_one_leaf) {
  const int bits = 160;
  auto a = Hashed(bits), b = Hashed(bits);
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back("k" + std::to_string(i));
  for (const auto& k : keys) a->PutIfNewer(Id::Hash(k, bits), k, Version(2));
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {  // another order, via older versions
    b->PutIfNewer(Id::Hash(*it, bits), *it, Version(1));
    b->PutIfNewer(Id::Hash(*it, bits), *it, Version(2));
  }
  BOOST_TEST(a->tree().Get(0, 0) == b->tree().Get(0, 0));
  b->PutIfNewer(Id::Hash("k17", bits), "k17", Version(3));
  BOOST_TEST(a->tree().Get(0, 0) != b->tree().Get(0, 0));
  const int depth = a->tree().depth();
  int differing = 0;
  for (uint32_t leaf = 0; leaf < a->tree().width(depth); ++leaf) {
    differing += a->tree().Get(depth, leaf) != b->tree().Get(depth, leaf);
  }
  BOOST_TEST(differing == 1);
  BOOST_TEST(a->tree().LeafOf(Id::Hash("k17", bits)) == b->tree().LeafOf(Id::Hash("k17", bits)));
}

BOOST_AUTO_TEST_CASE(a_tree_built_from_an_engine_matches_one_kept_up_to_date) {
  const int bits = 32;
  auto inner = std::make_unique<MemoryStorage>();
  auto kept = Hashed(bits);
  for (int i = 0; i < 500; ++i) {
    const std::string k = "k" + std::to_string(i % 300);
    inner->PutIfNewer(Id::Hash(k, bits), k, Version(i));
    kept->PutIfNewer(Id::Hash(k, bits), k, Version(i));
  }
  kept->Erase(Id::Hash("k5", bits), "k5", 1000);
  inner->Erase(Id::Hash("k5", bits), "k5", 1000);
  HashedStorage built(std::move(inner), bits);
  for (int level = 0; level <= built.tree().depth(); ++level) {
    for (uint32_t i = 0; i < built.tree().width(level); ++i) {
      BOOST_TEST_REQUIRE(built.tree().Get(level, i) == kept->tree().Get(level, i));
    }
  }
}

BOOST_AUTO_TEST_CASE(garbage_is_looked_for_only_while_a_record_can_become_garbage) {
  const int bits = 32;
  auto storage = Hashed(bits);
  const Id a = Id::Hash("a", bits), b = Id::Hash("b", bits);
  storage->PutIfNewer(a, "a", Version(1));
  BOOST_TEST(!storage->MayHoldGarbage());
  Entry tombstone = Version(2);
  tombstone.tombstone = true;
  storage->PutIfNewer(a, "a", tombstone);
  BOOST_TEST(storage->MayHoldGarbage());
  storage->Erase(a, "a", 2);
  BOOST_TEST(!storage->MayHoldGarbage());
  Entry expiring = Version(3);
  expiring.expires_at_ms = 5;
  storage->PutIfNewer(b, "b", expiring);
  BOOST_TEST(storage->MayHoldGarbage());
  storage->PutIfNewer(b, "b", Version(4));  // rewritten without a ttl
  BOOST_TEST(!storage->MayHoldGarbage());
}

BOOST_AUTO_TEST_CASE(versions_list_what_range_lists_without_values) {
  const int bits = 16;
  auto storage = Hashed(bits);
  for (int i = 0; i < 300; ++i) {
    const std::string k = "k" + std::to_string(i);
    storage->PutIfNewer(Id::Hash(k, bits), k, Version(i + 1));
  }
  for (int trial = 0; trial < 20; ++trial) {
    const Id from = Id::Hash("f" + std::to_string(trial), bits);
    const Id to = Id::Hash("t" + std::to_string(trial), bits);
    std::optional<chord::RecordPosition> after;
    auto range = storage->Range(from, to, after, 50);
    auto versions = storage->Versions(from, to, after, 50);
    BOOST_TEST_REQUIRE(range.size() == versions.size());
    for (size_t i = 0; i < range.size(); ++i) {
      BOOST_TEST_REQUIRE(range[i].key == versions[i].key);
      BOOST_TEST_REQUIRE(range[i].entry.version == versions[i].version);
    }
  }
}
