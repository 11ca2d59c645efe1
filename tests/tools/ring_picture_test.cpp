// The SVG picture of a ring (no processes): labels of crowded nodes never overlap one another or
// cover another node, and the key counts' "(+M)" is explained in a legend.
#define BOOST_TEST_MODULE ring_picture
#define BOOST_TEST_DYN_LINK
#include "tools/ring_picture.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace pt = boost::property_tree;

namespace {

// The box of a label as drawn: the same generous metrics as the picture (11 px sans-serif is
// under 6.5 px a character; lines are 12 px apart).
struct Box {
  double left, top, right, bottom;
};

bool Overlap(const Box& a, const Box& b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

std::vector<Box> LabelBoxes(const std::string& svg) {
  std::istringstream in(svg);
  pt::ptree tree;
  pt::read_xml(in, tree);
  std::vector<Box> boxes;
  for (const auto& [name, g] : tree.get_child("svg")) {
    if (name != "g" || g.get("<xmlattr>.class", "") != "node") continue;
    const pt::ptree& text = g.get_child("text");
    const double x = text.get<double>("<xmlattr>.x"), y = text.get<double>("<xmlattr>.y");
    const std::string anchor = text.get<std::string>("<xmlattr>.text-anchor");
    size_t lines = 0, longest = 0;
    for (const auto& [tag, span] : text) {
      if (tag != "tspan") continue;
      ++lines;
      longest = std::max(longest, span.data().size());
    }
    const double width = 6.5 * double(longest), height = 12.0 * double(lines);
    const double left = anchor == "start" ? x : anchor == "end" ? x - width : x - width / 2;
    boxes.push_back({left, y - 10, left + width, y - 10 + height});
  }
  return boxes;
}

chord::RingWalk Walk(const std::vector<int>& ids) {
  chord::RingWalk walk;
  for (size_t i = 0; i < ids.size(); ++i) {
    chord::RingMember m;
    char hex[8];
    std::snprintf(hex, sizeof(hex), "%02x", ids[i]);
    m.id = hex;
    m.address = "127.0.0.1:" + std::to_string(40000 + i);
    walk.members.push_back(m);
  }
  return walk;
}

void ExpectNoOverlap(const std::vector<int>& ids) {
  chord::RingPictureOptions options;
  options.bits = 8;
  chord::RingWalk walk = Walk(ids);
  for (const auto& m : walk.members) options.keys[m.address] = {123, 4567};
  std::string svg = chord::RingSvg(walk, options);
  std::vector<Box> boxes = LabelBoxes(svg);
  BOOST_REQUIRE(boxes.size() == ids.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    for (size_t j = i + 1; j < boxes.size(); ++j) {
      BOOST_TEST(!Overlap(boxes[i], boxes[j]), "labels " << i << " and " << j << " overlap");
    }
  }
  BOOST_TEST(svg.find("N keys it owns, M copies it holds for other owners") != std::string::npos);
}

}  // namespace

// Issue 13, 7: 16 nodes drew neighbouring labels over each other.
BOOST_AUTO_TEST_CASE(sixteen_neighbouring_nodes_have_labels_apart) {
  std::vector<int> crowded, spread, pairs;
  for (int i = 0; i < 16; ++i) {
    crowded.push_back(0x40 + i);              // 16 adjacent ids: 1.4 degrees apart
    spread.push_back(i * 16);                 // evenly around the ring
    pairs.push_back((i / 2) * 32 + (i % 2));  // close pairs
  }
  ExpectNoOverlap(crowded);
  ExpectNoOverlap(spread);
  ExpectNoOverlap(pairs);
}
