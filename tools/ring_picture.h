// Pictures of a ring walk: SVG (open in a browser) and Graphviz DOT (`neato -Tpng`).
//
// Nodes sit on a circle at the fraction id / 2^m of a turn, clockwise from the top, labelled
// with their port, short id and key counts; the fingers of one chosen node are drawn as chords
// from it to each distinct finger node.
//
// Thread-safety: pure functions.
#ifndef CHORD_TOOLS_RING_PICTURE_H_
#define CHORD_TOOLS_RING_PICTURE_H_

#include <map>
#include <string>

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

// Position of a hex id on the circle, in [0, 1). Malformed digits count as 0.
double IdFraction(const std::string& id_hex, int bits);

// A standalone SVG document. Every node is a <g class="node" data-address="HOST:PORT">.
std::string RingSvg(const RingWalk& walk, const RingPictureOptions& options);
// A DOT digraph with fixed node positions: successor edges solid, finger edges dashed.
std::string RingDot(const RingWalk& walk, const RingPictureOptions& options);

}  // namespace chord

#endif  // CHORD_TOOLS_RING_PICTURE_H_
