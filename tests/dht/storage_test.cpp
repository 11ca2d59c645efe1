#define BOOST_TEST_MODULE storage
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
#include <set>

#include "dht/memory_storage.h"

using chord::Entry;
using chord::Id;
using chord::MemoryStorage;

namespace {

Entry Version(uint64_t v, const std::string& value = "x") {
  Entry e;
  e.value = value;
  e.version = v;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(newest_version_wins) {
  MemoryStorage storage;
  Id id = Id::Hash("k", 160);
  BOOST_TEST(storage.PutIfNewer(id, "k", Version(5, "five")));
  BOOST_TEST(!storage.PutIfNewer(id, "k", Version(4, "four")));
  BOOST_TEST(!storage.PutIfNewer(id, "k", Version(5, "other five")));
  BOOST_TEST(storage.Get(id, "k")->value == "five");
  BOOST_TEST(storage.PutIfNewer(id, "k", Version(6, "six")));
  BOOST_TEST(storage.Get(id, "k")->value == "six");
  BOOST_TEST(!storage.Erase(id, "k", 5));  // a newer write is never erased
  BOOST_TEST(storage.Erase(id, "k", 6));
  BOOST_TEST(!storage.Get(id, "k").has_value());
  BOOST_TEST(storage.Count() == 0u);
}

BOOST_AUTO_TEST_CASE(range_follows_the_ring_with_wrap_and_cursor) {
  MemoryStorage storage;
  const int bits = 8;
  for (uint64_t v : {5, 10, 20, 200, 250}) {
    storage.PutIfNewer(Id::FromUint(v, bits), "k" + std::to_string(v), Version(1));
  }
  auto ids = [](const std::vector<chord::Record>& records) {
    std::vector<uint64_t> out;
    for (const auto& r : records) out.push_back(r.id.ToUint64());
    return out;
  };
  auto I = [bits](uint64_t v) { return Id::FromUint(v, bits); };
  // Plain interval (5, 200].
  BOOST_TEST(ids(storage.Range(I(5), I(200), std::nullopt, 100)) ==
             (std::vector<uint64_t>{10, 20, 200}));
  // Wrapping interval (200, 10]: 250, then 5, 10.
  BOOST_TEST(ids(storage.Range(I(200), I(10), std::nullopt, 100)) ==
             (std::vector<uint64_t>{250, 5, 10}));
  // Whole ring from 20: everything, in ring order, the start itself last.
  BOOST_TEST(ids(storage.Range(I(20), I(20), std::nullopt, 100)) ==
             (std::vector<uint64_t>{200, 250, 5, 10, 20}));
  // Batches with a cursor cover the whole ring exactly once.
  std::vector<uint64_t> seen;
  std::optional<chord::RecordPosition> after;
  for (int batch = 0; batch < 10; ++batch) {
    auto records = storage.Range(I(20), I(20), after, 2);
    if (records.empty()) break;
    for (auto v : ids(records)) seen.push_back(v);
    after = chord::RecordPosition{records.back().id, records.back().key};
  }
  BOOST_TEST(seen == (std::vector<uint64_t>{200, 250, 5, 10, 20}));
  // Empty interval contents and an interval holding nothing.
  BOOST_TEST(storage.Range(I(21), I(199), std::nullopt, 100).empty());
}

BOOST_AUTO_TEST_CASE(range_on_many_random_keys_partitions_the_ring) {
  MemoryStorage storage;
  for (int i = 0; i < 2000; ++i) {
    std::string key = "key-" + std::to_string(i);
    storage.PutIfNewer(Id::Hash(key, 160), key, Version(1));
  }
  // Four boundaries split the ring into four ranges that together hold every key once.
  std::vector<Id> cuts = {Id::Hash("a", 160), Id::Hash("b", 160), Id::Hash("c", 160),
                          Id::Hash("d", 160)};
  std::sort(cuts.begin(), cuts.end());
  std::set<std::string> keys;
  size_t total = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    std::optional<chord::RecordPosition> after;
    for (int batch = 0; batch < 100; ++batch) {
      auto records = storage.Range(cuts[i], cuts[(i + 1) % cuts.size()], after, 97);
      if (records.empty()) break;
      for (const auto& r : records) keys.insert(r.key);
      total += records.size();
      after = chord::RecordPosition{records.back().id, records.back().key};
    }
  }
  BOOST_TEST(total == 2000u);
  BOOST_TEST(keys.size() == 2000u);
}
