// Pictures of a ring walk: SVG (open in a browser) and Graphviz DOT (`neato -Tpng`).
//
// Nodes sit on a circle at the fraction id / 2^m of a turn, clockwise from the top, labelled
// with their port, short id and key counts ("N keys (+M)": owned, and copies held for other
// owners; a legend says so); labels that would overlap move outward; the fingers of one chosen node
// are drawn as chords from it to each distinct finger node.
//
// Thread-safety: pure functions.
#ifndef CHORD_TOOLS_RING_PICTURE_H_
#define CHORD_TOOLS_RING_PICTURE_H_

#include <map>
#include <string>
#include <vector>

#include "tools/ring_walk.h"

namespace chord {

struct KeyCounts {
  size_t owned = 0;
  size_t replicas = 0;
};

struct RingPictureOptions {
  int bits = 160;                         // m: ids are on a circle of 2^m points
  std::string fingers_of;                 // address of the node whose fingers are drawn
  std::map<std::string, KeyCounts> keys;  // by address; a node absent here shows no count
  int size = 800;                         // SVG width and height of the drawing, pixels
};

// Where the SVG puts a node's label: outward from the node, on the first ring of labels (level 0
// next to the circle, each next one kLevelStep further out) where its box overlaps no label
// placed before it, so that crowded nodes' labels never cover one another.
struct RingLabel {
  std::string address;
  std::vector<std::string> lines;  // port, short id, "N keys (+M)" if known
  double x = 0, y = 0;             // first baseline
  std::string anchor;              // SVG text-anchor
  int level = 0;
  double left = 0, top = 0, right = 0, bottom = 0;  // the estimated box
};
std::vector<RingLabel> LayoutLabels(const RingWalk& walk, const RingPictureOptions& options);

// Position of a hex id on the circle, in [0, 1). Malformed digits count as 0.
double IdFraction(const std::string& id_hex, int bits);

// A standalone SVG document. Every node is a <g class="node" data-address="HOST:PORT">.
std::string RingSvg(const RingWalk& walk, const RingPictureOptions& options);
// A DOT digraph with fixed node positions: successor edges solid, finger edges dashed.
std::string RingDot(const RingWalk& walk, const RingPictureOptions& options);

}  // namespace chord

#endif  // CHORD_TOOLS_RING_PICTURE_H_
