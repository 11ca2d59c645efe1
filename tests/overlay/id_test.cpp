#define BOOST_TEST_MODULE overlay_id
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "overlay/finger_table.h"
#include "overlay/id.h"
#include "overlay/successor_list.h"

using chord::Id;

BOOST_AUTO_TEST_CASE(hash_is_sha1_of_text) {
  // SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
  BOOST_TEST(Id::Hash("abc", 160).ToHex(160) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  // Reduced to the low m bits.
  BOOST_TEST(Id::Hash("abc", 8).ToHex(8) == "9d");
  BOOST_TEST(Id::Hash("abc", 5).ToUint64() == (0x9du & 31u));
  BOOST_TEST(Id::Hash("abc", 5).ToHex(5) == "1d");
}

BOOST_AUTO_TEST_CASE(hex_round_trip_and_errors) {
  auto id = Id::FromHex("A9993E364706816ABA3E25717850C26C9CD0D89D", 160);
  BOOST_REQUIRE(id.ok());
  BOOST_TEST(id->ToHex(160) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  BOOST_TEST(Id::FromHex("1f", 5).ok());
  BOOST_TEST(!Id::FromHex("20", 5).ok());  // 32 does not fit in 5 bits
  BOOST_TEST(Id::FromHex("20", 5).status().code() == chord::ErrorCode::kBadArgument);
  BOOST_TEST(!Id::FromHex("xyz", 160).ok());
  BOOST_TEST(!Id::FromHex("", 160).ok());
  BOOST_TEST(!Id::FromHex(std::string(41, '1'), 160).ok());
  BOOST_TEST(Id::FromHex("7", 8)->ToHex(8) == "07");
  BOOST_TEST(Id::FromUint(300, 8).ToUint64() == 44u);
}

BOOST_AUTO_TEST_CASE(add_power_of_two_wraps) {
  Id a = Id::FromUint(30, 5);
  BOOST_TEST(a.AddPowerOfTwo(0, 5).ToUint64() == 31u);
  BOOST_TEST(a.AddPowerOfTwo(1, 5).ToUint64() == 0u);
  BOOST_TEST(a.AddPowerOfTwo(4, 5).ToUint64() == 14u);
  Id max = *Id::FromHex(std::string(40, 'f'), 160);
  BOOST_TEST(max.Next(160).ToHex(160) == std::string(40, '0'));
  Id carry = *Id::FromHex("00ff", 160);
  BOOST_TEST(carry.AddPowerOfTwo(0, 160).ToUint64() == 0x100u);
  BOOST_TEST(Id::FromUint(0, 160).AddPowerOfTwo(159, 160).ToHex(160) == "8" + std::string(39, '0'));
}

BOOST_AUTO_TEST_CASE(intervals_with_wrap_around) {
  auto I = [](uint64_t v) { return Id::FromUint(v, 8); };
  // Plain interval.
  BOOST_TEST(chord::InOpenInterval(I(5), I(3), I(9)));
  BOOST_TEST(!chord::InOpenInterval(I(3), I(3), I(9)));
  BOOST_TEST(!chord::InOpenInterval(I(9), I(3), I(9)));
  BOOST_TEST(chord::InHalfOpenInterval(I(9), I(3), I(9)));
  BOOST_TEST(!chord::InHalfOpenInterval(I(3), I(3), I(9)));
  // Wrapping interval (250, 4).
  BOOST_TEST(chord::InOpenInterval(I(255), I(250), I(4)));
  BOOST_TEST(chord::InOpenInterval(I(0), I(250), I(4)));
  BOOST_TEST(!chord::InOpenInterval(I(100), I(250), I(4)));
  BOOST_TEST(chord::InHalfOpenInterval(I(4), I(250), I(4)));
  // a == b: the whole circle (half-open), everything but a (open).
  BOOST_TEST(chord::InHalfOpenInterval(I(7), I(7), I(7)));
  BOOST_TEST(chord::InHalfOpenInterval(I(8), I(7), I(7)));
  BOOST_TEST(!chord::InOpenInterval(I(7), I(7), I(7)));
  BOOST_TEST(chord::InOpenInterval(I(8), I(7), I(7)));
}

BOOST_AUTO_TEST_CASE(finger_starts_and_closest_preceding) {
  Id self = Id::FromUint(1, 5);
  chord::FingerTable fingers(self, 5);
  BOOST_TEST(fingers.size() == 5);
  const uint64_t want[] = {2, 3, 5, 9, 17};
  for (int i = 0; i < 5; ++i) BOOST_TEST(fingers.Start(i).ToUint64() == want[i]);
  chord::NodeRef n4{Id::FromUint(4, 5), "n4"}, n9{Id::FromUint(9, 5), "n9"},
      n20{Id::FromUint(20, 5), "n20"};
  fingers.Set(0, n4);
  fingers.Set(1, n4);
  fingers.Set(2, n9);
  fingers.Set(3, n9);
  fingers.Set(4, n20);
  auto hops = fingers.ClosestPreceding(Id::FromUint(12, 5));
  BOOST_REQUIRE(hops.size() == 2u);
  BOOST_TEST(hops[0].address == "n9");
  BOOST_TEST(hops[1].address == "n4");
  // Wrapping: toward id 0 every finger precedes, n20 closest.
  hops = fingers.ClosestPreceding(Id::FromUint(0, 5));
  BOOST_REQUIRE(hops.size() == 3u);
  BOOST_TEST(hops[0].address == "n20");
  fingers.Remove("n9");
  BOOST_TEST(!fingers.Get(2).has_value());
  BOOST_TEST(fingers.ClosestPreceding(Id::FromUint(12, 5)).size() == 1u);
}

BOOST_AUTO_TEST_CASE(order_follows_the_bytes_in_every_word) {
  // Ids compare as three words (bytes 0-7, 8-15, 16-19): a difference in any of them, and in
  // the high and low byte of each, must order as the hex text does.
  const std::string zeros(40, '0');
  std::vector<Id> ids;
  for (int digit : {0, 1, 14, 15, 16, 17, 30, 31, 32, 33, 38, 39}) {
    for (char c : {'1', '8', 'f'}) {
      std::string hex = zeros;
      hex[digit] = c;
      ids.push_back(Id::FromHex(hex, 160).value());
    }
  }
  ids.push_back(Id());
  for (const Id& a : ids) {
    for (const Id& b : ids) {
      BOOST_TEST((a < b) == (a.ToHex(160) < b.ToHex(160)));
      BOOST_TEST((a == b) == (a.ToHex(160) == b.ToHex(160)));
    }
  }
}

BOOST_AUTO_TEST_CASE(finger_change_watch) {
  chord::FingerTable fingers(Id::FromUint(1, 5), 5);
  chord::NodeRef n4{Id::FromUint(4, 5), "n4"}, n9{Id::FromUint(9, 5), "n9"};
  fingers.Set(0, n4);
  fingers.Mark();
  BOOST_TEST(!fingers.ChangedSinceMark());
  fingers.Mark();
  fingers.Set(0, n4);  // the same value: no change
  BOOST_TEST(!fingers.ChangedSinceMark());
  fingers.Mark();
  fingers.Set(1, n9);
  BOOST_TEST(fingers.ChangedSinceMark());
  fingers.Mark();
  fingers.Remove("n9");  // set back to empty within one watch
  fingers.Set(1, n9);
  BOOST_TEST(!fingers.ChangedSinceMark());
  fingers.Mark();
  fingers.Clear();
  BOOST_TEST(fingers.ChangedSinceMark());
  fingers.Set(2, n4);  // unwatched: the next watch starts from here
  fingers.Mark();
  BOOST_TEST(!fingers.ChangedSinceMark());
}

BOOST_AUTO_TEST_CASE(successor_list_stops_at_self_and_shifts) {
  chord::NodeRef self{Id::FromUint(1, 8), "self"};
  chord::NodeRef a{Id::FromUint(2, 8), "a"}, b{Id::FromUint(3, 8), "b"}, c{Id::FromUint(4, 8), "c"};
  chord::SuccessorList list(self, 3);
  BOOST_TEST(list.First() == self);  // alone
  BOOST_TEST(list.Reset(a, {b, self, c}));
  BOOST_TEST(list.entries().size() == 2u);  // stops at self: the ring wrapped
  BOOST_TEST(list.Reset(a, {b, c, self}));
  BOOST_TEST(list.entries().size() == 3u);
  BOOST_TEST(!list.Reset(a, {b, c}));  // unchanged
  BOOST_TEST(list.Remove("a"));
  BOOST_TEST(list.First() == b);
  BOOST_TEST(!list.Remove("a"));
}
