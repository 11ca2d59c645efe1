// The BMP form of characters beyond U+FFFF (commands/xml_unicode.h): exact round trips, the XML
// text passes, and that xmlrpc-c 1.33 accepts what they produce.
#define BOOST_TEST_MODULE commands_xml_unicode
#define BOOST_TEST_DYN_LINK
#include "commands/xml_unicode.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>
#include <xmlrpc-c/xml.hpp>

using chord::BmpXmlToWire;
using chord::FromBmpForm;
using chord::ToBmpForm;
using chord::WireXmlToBmp;

namespace {

const std::string kGrin = "\xF0\x9F\x98\x80";   // U+1F600
const std::string kFirst = "\xF0\x90\x80\x80";  // U+10000
const std::string kLast = "\xF4\x8F\xBF\xBF";   // U+10FFFF
const std::string kMark = "\xEF\xB7\x90";       // U+FDD0
const std::string kPrivate = "\xEE\x80\x80";    // U+E000
const std::string kGrinBmp = kMark +
                             "\xEE\x80\xBD"
                             "\xEE\x88\x80";  // D83D-D800, DE00-DC00

std::string Call(const std::string& text) {
  return "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param><value>"
         "<string>" +
         text + "</string></value></param></params></methodCall>";
}

std::string ParseString(const std::string& xml) {
  std::string name;
  xmlrpc_c::paramList params;
  xmlrpc_c::xml::parseCall(xml, &name, &params);
  return params.getString(0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(bmp_form_is_as_documented) {
  BOOST_CHECK_EQUAL(ToBmpForm(kGrin), kGrinBmp);
  BOOST_CHECK_EQUAL(ToBmpForm(kMark), kMark + kMark);
  BOOST_CHECK_EQUAL(ToBmpForm("plain caf\xC3\xA9 \xE2\x82\xAC"), "plain caf\xC3\xA9 \xE2\x82\xAC");
  BOOST_CHECK_EQUAL(FromBmpForm(kGrinBmp), kGrin);
}

BOOST_AUTO_TEST_CASE(every_string_round_trips_exactly) {
  const std::vector<std::string> samples = {
      "",
      "ascii",
      kGrin,
      kFirst + kLast,
      "a" + kGrin + "b" + kGrin + kGrin + "c",
      kMark,
      kMark + kMark,
      kMark + kPrivate + kPrivate,  // looks like the BMP form of U+10000 but is literal
      kMark + kGrin,
      kPrivate + kMark + "x",
      "invalid \xFF\xF0\x9F bytes \xF5\x80\x80\x80 stay",
      "\xF0\x80\x80\x80 overlong",
      "truncated \xF0\x9F\x98",
  };
  for (const auto& sample : samples) {
    BOOST_CHECK_EQUAL(FromBmpForm(ToBmpForm(sample)), sample);
  }
  // Every code point beyond the BMP, with a U+FDD0 neighbour.
  for (char32_t cp = 0x10000; cp <= 0x10FFFF; cp += 0x101) {
    std::string utf8 = {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)),
                        char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
    std::string text = kMark + utf8 + kMark;
    BOOST_REQUIRE_EQUAL(FromBmpForm(ToBmpForm(text)), text);
  }
}

BOOST_AUTO_TEST_CASE(xmlrpc_c_accepts_the_bmp_form) {
  std::string text = "key " + kGrin + kMark + kLast;
  xmlrpc_c::value_string value(ToBmpForm(text));  // would throw for the UTF-8 text itself
  xmlrpc_c::cstruct members;
  members[ToBmpForm(kGrin)] = value;
  xmlrpc_c::paramList params;
  params.add(value);
  params.add(xmlrpc_c::value_struct(members));
  std::string generated;
  xmlrpc_c::xml::generateCall("m", params, &generated);
  std::string wire;
  BOOST_REQUIRE(BmpXmlToWire(generated, &wire));
  BOOST_CHECK(wire.find(text) != std::string::npos);  // standard UTF-8 on the wire
  BOOST_CHECK(wire.find(kGrin + "</name>") != std::string::npos);
  std::string parsable;
  BOOST_REQUIRE(WireXmlToBmp(wire, &parsable));
  BOOST_CHECK_EQUAL(parsable, generated);
  BOOST_CHECK_EQUAL(FromBmpForm(ParseString(parsable)), text);
}

BOOST_AUTO_TEST_CASE(character_references_beyond_the_bmp_are_converted) {
  std::string converted;
  BOOST_REQUIRE(WireXmlToBmp(Call("a&#x1F600;b&#128512;c&#xFDD0;&amp;&#233;"), &converted));
  BOOST_CHECK_EQUAL(FromBmpForm(ParseString(converted)),
                    "a" + kGrin + "b" + kGrin + "c" + kMark + "&\xC3\xA9");
  // Inside CDATA "&#...;" is text.
  BOOST_REQUIRE(WireXmlToBmp(Call("<![CDATA[&#x1F600;" + kGrin + "]]>&#x1F600;"), &converted));
  BOOST_CHECK_EQUAL(FromBmpForm(ParseString(converted)), "&#x1F600;" + kGrin + kGrin);
  // Out of range or malformed references are left to the parser, which refuses them.
  for (const char* bad : {"&#x110000;", "&#xD83D;", "&#x;", "&#12a;", "&#x1F600"}) {
    std::string xml = Call(bad);
    std::string text = WireXmlToBmp(xml, &converted) ? converted : xml;
    BOOST_CHECK_THROW(ParseString(text), std::exception);
  }
}

BOOST_AUTO_TEST_CASE(plain_text_takes_the_fast_path) {
  std::string untouched = "unchanged";
  for (const std::string& xml :
       {Call("plain"), Call("caf\xC3\xA9 &amp; &lt; &#233; \xE2\x82\xAC \xEF\xBF\xBD"), Call("")}) {
    BOOST_CHECK(!WireXmlToBmp(xml, &untouched));
    BOOST_CHECK(!BmpXmlToWire(xml, &untouched));
  }
  BOOST_CHECK_EQUAL(untouched, "unchanged");
  // Invalid UTF-8 is not ours to fix: it stays for the parser to refuse.
  BOOST_CHECK(!WireXmlToBmp(Call("\xFF\xFE"), &untouched));
  BOOST_CHECK(!WireXmlToBmp(Call("\xF0\x9F\x98"), &untouched));
  BOOST_CHECK_THROW(ParseString(Call("\xF0\x9F\x98")), std::exception);
}

// Not a pass/fail test: prints what the scans cost on 4 MiB of text without anything to convert.
BOOST_AUTO_TEST_CASE(fast_path_cost) {
  std::string text;
  while (text.size() < (4u << 20)) text += "caf\xC3\xA9 &amp; <value><i4>12345</i4></value> ";
  std::string xml = Call(text);
  std::string out;
  auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i) {
    BOOST_REQUIRE(!WireXmlToBmp(xml, &out));
    BOOST_REQUIRE(!BmpXmlToWire(xml, &out));
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      kRounds;
  std::cout << "fast path: both scans of " << xml.size() << " bytes take " << ms << " ms\n";
}
