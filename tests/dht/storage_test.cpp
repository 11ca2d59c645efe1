#define BOOST_TEST_MODULE storage
#define BOOST_TEST_DYN_LINK
#include <unistd.h>

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "dht/leveldb_storage.h"
#include "dht/memory_storage.h"

using chord::Entry;
using chord::Id;
using chord::LevelDbStorage;
using chord::MemoryStorage;

namespace {

// A fresh directory under the system's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "chord-storage-XXXXXX");
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The engines the same contract is tested on: each makes a fresh, empty Storage.
struct MemoryEngine {
  std::unique_ptr<chord::Storage> Make() { return std::make_unique<MemoryStorage>(); }
};
struct LevelDbEngine {
  TempDir dir;
  std::unique_ptr<chord::Storage> Make() {
    auto opened = LevelDbStorage::Open(dir.path() + "/db");
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    return std::move(opened).value();
  }
};
using Engines = boost::mpl::list<MemoryEngine, LevelDbEngine>;

Entry Version(uint64_t v, const std::string& value = "x") {
  Entry e;
  e.value = value;
  e.version = v;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(newest_version_wins, Engine, Engines) {
  Engine engine;
  auto owned = engine.Make();
  chord::Storage& storage = *owned;
  Id id = Id::Hash("k", 160);
  BOOST_TEST(storage.PutIfNewer(id, "k", Version(5, "five")).value());
  BOOST_TEST(!storage.PutIfNewer(id, "k", Version(4, "four")).value());
  BOOST_TEST(!storage.PutIfNewer(id, "k", Version(5, "other five")).value());
  BOOST_TEST(storage.Get(id, "k")->value == "five");
  BOOST_TEST(storage.PutIfNewer(id, "k", Version(6, "six")).value());
  BOOST_TEST(storage.Get(id, "k")->value == "six");
  BOOST_TEST(!storage.Erase(id, "k", 5).value());  // a newer write is never erased
  BOOST_TEST(storage.Erase(id, "k", 6).value());
  BOOST_TEST(!storage.Get(id, "k").has_value());
  BOOST_TEST(storage.Count() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(range_follows_the_ring_with_wrap_and_cursor, Engine, Engines) {
  Engine engine;
  auto owned = engine.Make();
  chord::Storage& storage = *owned;
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

BOOST_AUTO_TEST_CASE_TEMPLATE(range_on_many_random_keys_partitions_the_ring, Engine, Engines) {
  Engine engine;
  auto owned = engine.Make();
  chord::Storage& storage = *owned;
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

BOOST_AUTO_TEST_CASE_TEMPLATE(put_many_is_put_if_newer_for_each_record, Engine, Engines) {
  Engine engine;
  auto owned = engine.Make();
  chord::Storage& storage = *owned;
  auto record = [](const std::string& key, uint64_t version, const std::string& value) {
    return chord::Record{Id::Hash(key, 160), key, Version(version, value)};
  };
  BOOST_TEST(storage.PutIfNewer(Id::Hash("held", 160), "held", Version(5, "five")).value());
  // An older and a newer version of a key held, a new key twice (the later copy is compared
  // with the earlier one), and a new key.
  std::vector<chord::Record> batch = {record("held", 4, "four"), record("held", 6, "six"),
                                      record("twice", 2, "two"), record("twice", 1, "one"),
                                      record("new", 1, "n")};
  std::vector<bool> stored;
  std::vector<std::optional<Entry>> replaced;
  BOOST_TEST(storage.PutManyIfNewer(batch, &stored, &replaced).ok());
  BOOST_TEST(stored == (std::vector<bool>{false, true, true, false, true}));
  BOOST_TEST(replaced[1]->value == "five");
  BOOST_TEST(!replaced[2].has_value());
  BOOST_TEST(storage.Get(Id::Hash("held", 160), "held")->value == "six");
  BOOST_TEST(storage.Get(Id::Hash("twice", 160), "twice")->value == "two");
  BOOST_TEST(storage.Count() == 3u);
  // The versions listing agrees with the records.
  auto versions = storage.Versions(Id::Hash("x", 160), Id::Hash("x", 160), std::nullopt, 10);
  BOOST_TEST(versions.size() == 3u);
  for (const auto& v : versions) BOOST_TEST(v.version == storage.Get(v.id, v.key)->version);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(entries_keep_every_field, Engine, Engines) {
  Engine engine;
  auto owned = engine.Make();
  Entry entry;
  entry.value = std::string("bin\0ary\xff", 9);
  entry.binary = true;
  entry.version = (uint64_t(1) << 62) - 3;
  entry.tombstone = true;
  entry.expires_at_ms = 1234567890123;
  entry.written_at_ms = 987654321;
  const std::string key("k\xc3\xa9y", 4);
  BOOST_TEST(owned->PutIfNewer(Id::Hash(key, 160), key, entry).value());
  auto read = owned->Get(Id::Hash(key, 160), key);
  BOOST_REQUIRE(read.has_value());
  BOOST_TEST(read->value == entry.value);
  BOOST_TEST(read->binary);
  BOOST_TEST(read->version == entry.version);
  BOOST_TEST(read->tombstone);
  BOOST_TEST(read->expires_at_ms == entry.expires_at_ms);
  BOOST_TEST(read->written_at_ms == entry.written_at_ms);
  BOOST_TEST(owned->Count() == 1u);
}

BOOST_AUTO_TEST_CASE(leveldb_keeps_records_and_metadata_across_reopen) {
  TempDir dir;
  const std::string path = dir.path() + "/node";
  {
    auto storage = LevelDbStorage::Open(path);
    BOOST_REQUIRE(storage.ok());
    for (int i = 0; i < 100; ++i) {
      const std::string key = "key-" + std::to_string(i);
      BOOST_TEST((*storage)->PutIfNewer(Id::Hash(key, 160), key, Version(7, key)).value());
    }
    BOOST_TEST((*storage)->Erase(Id::Hash("key-0", 160), "key-0", 7).value());
    BOOST_TEST((*storage)->WriteMeta("address", "127.0.0.1:4000").ok());
  }
  auto storage = LevelDbStorage::Open(path);
  BOOST_REQUIRE(storage.ok());
  BOOST_TEST((*storage)->Count() == 99u);
  BOOST_TEST((*storage)->Get(Id::Hash("key-42", 160), "key-42")->value == "key-42");
  BOOST_TEST(!(*storage)->Get(Id::Hash("key-0", 160), "key-0").has_value());
  BOOST_TEST((*storage)->ReadMeta("address").value().value() == "127.0.0.1:4000");
  BOOST_TEST(!(*storage)->ReadMeta("nothing").value().has_value());
  // Metadata is not a record: it never shows in a scan.
  BOOST_TEST((*storage)->Range(Id(), Id(), std::nullopt, 1000).size() == 99u);
}

BOOST_AUTO_TEST_CASE(leveldb_refuses_a_directory_in_use) {
  TempDir dir;
  auto first = LevelDbStorage::Open(dir.path() + "/node");
  BOOST_REQUIRE(first.ok());
  auto second = LevelDbStorage::Open(dir.path() + "/node");
  BOOST_TEST(!second.ok());
  BOOST_TEST(second.status().code() == chord::ErrorCode::kRefused);
  BOOST_TEST(second.status().message().find("another chord-node") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(leveldb_refuses_an_unusable_directory) {
  TempDir dir;
  const std::string file = dir.path() + "/a-file";
  { std::ofstream(file) << "not a directory"; }
  auto opened = LevelDbStorage::Open(file + "/node");
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.status().code() == chord::ErrorCode::kRefused);
}
