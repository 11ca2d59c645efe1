#define BOOST_TEST_MODULE packed_records
#define BOOST_TEST_DYN_LINK
#include "dht/packed_records.h"

#include <boost/test/unit_test.hpp>

using chord::DhtLimits;
using chord::Record;

namespace {

Record Make(const std::string& key, const std::string& value, uint64_t version, bool binary,
            bool tombstone) {
  Record r;
  r.id = chord::Id::Hash(key, 160);
  r.key = key;
  r.entry.value = value;
  r.entry.version = version;
  r.entry.binary = binary;
  r.entry.tombstone = tombstone;
  r.entry.expires_at_ms = 1234;
  r.entry.written_at_ms = 5678;
  return r;
}

DhtLimits Limits() {
  DhtLimits limits;
  limits.bits = 160;
  return limits;
}

}  // namespace

BOOST_AUTO_TEST_CASE(records_come_back_with_every_field) {
  std::vector<Record> records = {Make("a", "text", 7, false, false),
                                 Make("b", std::string("\0\xff\x01", 3), 8, true, false),
                                 Make("c", "", 9, false, true)};
  auto back = chord::UnpackRecords(chord::PackRecords(records), Limits());
  BOOST_REQUIRE(back.ok());
  BOOST_REQUIRE(back->size() == 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Record& r = (*back)[i];
    BOOST_TEST(r.key == records[i].key);
    BOOST_TEST((r.id == records[i].id));
    BOOST_TEST(r.entry.value == records[i].entry.value);
    BOOST_TEST(r.entry.version == records[i].entry.version);
    BOOST_TEST(r.entry.binary == records[i].entry.binary);
    BOOST_TEST(r.entry.tombstone == records[i].entry.tombstone);
    BOOST_TEST(r.entry.expires_at_ms == 1234);
    BOOST_TEST(r.entry.written_at_ms == 5678);
  }
}

BOOST_AUTO_TEST_CASE(damaged_or_unchecked_input_is_refused) {
  const std::string packed = chord::PackRecords({Make("a", "text", 7, false, false)});
  // Every truncation, and an empty string.
  for (size_t size = 0; size < packed.size(); ++size) {
    auto back = chord::UnpackRecords(packed.substr(0, size), Limits());
    BOOST_TEST(!back.ok());
  }
  // A key longer than the limit; a text value that is not valid text.
  DhtLimits small = Limits();
  small.max_key_bytes = 3;
  BOOST_TEST(
      !chord::UnpackRecords(chord::PackRecords({Make("long", "v", 1, false, false)}), small).ok());
  BOOST_TEST(
      !chord::UnpackRecords(chord::PackRecords({Make("k", "\x01", 1, false, false)}), Limits())
           .ok());
  // A version out of range.
  BOOST_TEST(
      !chord::UnpackRecords(
           chord::PackRecords({Make("k", "v", chord::kMaxVersion + 1, false, false)}), Limits())
           .ok());
}
