#include "tools/ring_picture.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

namespace chord {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string DotEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  return buffer;
}

std::string ShortId(const std::string& id) { return id.size() <= 10 ? id : id.substr(0, 8); }

std::string Port(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(colon);
}

// The fingers of one node, grouped by the node they point to: "0-151" -> address.
struct FingerGroup {
  std::string address;
  std::string indexes;  // "0-151" or "152"
};

std::vector<FingerGroup> Fingers(const RingMember& member) {
  std::vector<FingerGroup> groups;
  int first = -1, last = -1;
  std::string current;
  auto flush = [&] {
    if (first < 0 || current == member.address) return;
    std::string range = std::to_string(first);
    if (last != first) range += "-" + std::to_string(last);
    groups.push_back({current, range});
  };
  const auto& fingers = member.info.fingers;
  for (size_t i = 0; i < fingers.size(); ++i) {
    if (!fingers[i]) continue;  // an unset finger
    const int index = int(i);
    if (fingers[i]->address == current && index == last + 1) {
      last = index;
      continue;
    }
    flush();
    current = fingers[i]->address;
    first = last = index;
  }
  flush();
  return groups;
}

const RingMember* FindMember(const RingWalk& walk, const std::string& address) {
  for (const auto& m : walk.members) {
    if (m.address == address) return &m;
  }
  return nullptr;
}

std::string KeyLabel(const RingPictureOptions& options, const std::string& address) {
  auto it = options.keys.find(address);
  if (it == options.keys.end()) return "";
  return std::to_string(it->second.owned) + " keys (+" + std::to_string(it->second.replicas) + ")";
}

// Label text metrics for the SVG's 11 px sans-serif: generous, so that estimated boxes that do
// not overlap are drawn apart.
constexpr double kCharWidth = 6.5;
constexpr double kLineHeight = 12;
constexpr double kNodeRadius = 7;
constexpr double kLabelGap = 16;   // node rim to the nearest label
constexpr double kLevelStep = 40;  // between label rings when labels crowd
constexpr int kMaxLevels = 64;     // bounded search; beyond it a label takes the last ring

struct Box {
  double left, top, right, bottom;
  bool Overlaps(const Box& o) const {
    return left < o.right && o.left < right && top < o.bottom && o.top < bottom;
  }
};

// The box of a label whose first baseline is at (x, y).
Box LabelBox(const std::vector<std::string>& lines, double x, double y, const std::string& anchor) {
  size_t longest = 0;
  for (const auto& l : lines) longest = std::max(longest, l.size());
  const double width = double(longest) * kCharWidth, height = double(lines.size()) * kLineHeight;
  const double left = anchor == "start" ? x : anchor == "end" ? x - width : x - width / 2;
  return {left, y - kLineHeight + 2, left + width, y - kLineHeight + 2 + height};
}

}  // namespace

std::vector<RingLabel> LayoutLabels(const RingWalk& walk, const RingPictureOptions& options) {
  const double size = options.size;
  const double cx = size / 2, cy = size / 2 + 20, radius = size * 0.36;
  std::vector<RingLabel> labels;
  std::vector<Box> placed;
  std::vector<Box> nodes;  // a label covers no other node
  for (const auto& m : walk.members) {
    const double angle = IdFraction(m.id, options.bits) * 2 * kPi - kPi / 2;
    const double x = cx + radius * std::cos(angle), y = cy + radius * std::sin(angle);
    nodes.push_back({x - kNodeRadius, y - kNodeRadius, x + kNodeRadius, y + kNodeRadius});
  }
  for (size_t i = 0; i < walk.members.size(); ++i) {
    const RingMember& m = walk.members[i];
    RingLabel label;
    label.address = m.address;
    label.lines = {Port(m.address), ShortId(m.id)};
    std::string keys = KeyLabel(options, m.address);
    if (!keys.empty()) label.lines.push_back(keys);
    const double angle = IdFraction(m.id, options.bits) * 2 * kPi - kPi / 2;
    // Outward from the node, on the first ring of labels where it overlaps none placed so far.
    for (int level = 0; level < kMaxLevels; ++level) {
      const double r = radius + kLabelGap + kLevelStep * level;
      label.x = cx + r * std::cos(angle);
      label.y = cy + r * std::sin(angle);
      const double dx = label.x - (cx + radius * std::cos(angle));
      label.anchor = dx > 4 ? "start" : dx < -4 ? "end" : "middle";
      // Below the circle's middle the text hangs down from its first line; above, it rises.
      if (std::sin(angle) < -0.3) label.y -= kLineHeight * double(label.lines.size() - 1);
      Box box = LabelBox(label.lines, label.x, label.y, label.anchor);
      label.level = level;
      bool free = std::none_of(placed.begin(), placed.end(),
                               [&box](const Box& other) { return box.Overlaps(other); });
      for (size_t k = 0; k < nodes.size() && free; ++k) free = k == i || !box.Overlaps(nodes[k]);
      if (free || level + 1 == kMaxLevels) {
        placed.push_back(box);
        label.left = box.left;
        label.top = box.top;
        label.right = box.right;
        label.bottom = box.bottom;
        break;
      }
    }
    labels.push_back(label);
  }
  return labels;
}

double IdFraction(const std::string& id_hex, int bits) {
  long double value = 0;
  for (char c : id_hex) {
    int digit = 0;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    value = value * 16 + digit;
  }
  double fraction = double(std::ldexp(value, -bits));
  return fraction >= 1 || fraction < 0 ? 0 : fraction;
}

std::string RingSvg(const RingWalk& walk, const RingPictureOptions& options) {
  const double size = options.size;
  const double cx = size / 2, cy = size / 2 + 20, radius = size * 0.36, node_radius = kNodeRadius;
  auto point = [&](const std::string& id, double r) {
    double angle = IdFraction(id, options.bits) * 2 * kPi - kPi / 2;
    return std::make_pair(cx + r * std::cos(angle), cy + r * std::sin(angle));
  };
  const RingMember* chosen = FindMember(walk, options.fingers_of);
  std::vector<FingerGroup> fingers;
  if (chosen) fingers = Fingers(*chosen);
  // Labels that crowd move outward: the picture grows to hold them.
  const std::vector<RingLabel> labels = LayoutLabels(walk, options);
  double min_x = 0, min_y = 0, max_x = size, max_y = size;
  for (const auto& l : labels) {
    min_x = std::min(min_x, l.left - 8);
    min_y = std::min(min_y, l.top - 8);
    max_x = std::max(max_x, l.right + 8);
    max_y = std::max(max_y, l.bottom + 8);
  }
  const double legend_y = max_y + 20;
  const double height = legend_y - min_y + 16.0 * (fingers.size() + 2);
  const double width = max_x - min_x;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << Number(width) << "\" height=\""
      << Number(height) << "\" viewBox=\"" << Number(min_x) << " " << Number(min_y) << " "
      << Number(width) << " " << Number(height)
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
         "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M 0 0 L 10 5 L 0 10 "
         "z\" fill=\"#1f6fd1\"/></marker></defs>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << Number(min_x + 16) << "\" y=\"" << Number(min_y + 24)
      << "\" font-size=\"16\">Chord ring: " << walk.members.size() << " nodes, ids 0 .. 2^"
      << options.bits << "-1"
      << (chosen ? ", fingers of " + XmlEscape(chosen->address) : std::string()) << "</text>\n"
      << "<circle cx=\"" << Number(cx) << "\" cy=\"" << Number(cy) << "\" r=\"" << Number(radius)
      << "\" fill=\"none\" stroke=\"#bbbbbb\" stroke-width=\"2\"/>\n"
      << "<text x=\"" << Number(cx) << "\" y=\"" << Number(cy - radius - 30)
      << "\" text-anchor=\"middle\" fill=\"#888888\">id 0</text>\n";

  // Fingers first, so that the nodes are drawn over them.
  if (chosen) {
    auto [x1, y1] = point(chosen->id, radius);
    for (const auto& f : fingers) {
      const RingMember* target = FindMember(walk, f.address);
      if (!target) continue;
      auto [x2, y2] = point(target->id, radius);
      double length = std::hypot(x2 - x1, y2 - y1);
      if (length < 2 * node_radius) continue;
      // Stop at the target's rim so that the arrowhead stays visible.
      double t = (length - node_radius) / length;
      svg << "<line class=\"finger\" x1=\"" << Number(x1) << "\" y1=\"" << Number(y1) << "\" x2=\""
          << Number(x1 + (x2 - x1) * t) << "\" y2=\"" << Number(y1 + (y2 - y1) * t)
          << "\" stroke=\"#1f6fd1\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>"
          << "fingers " << f.indexes << " -&gt; " << XmlEscape(f.address) << "</title></line>\n";
    }
  }

  for (size_t i = 0; i < walk.members.size(); ++i) {
    const RingMember& m = walk.members[i];
    const RingLabel& label = labels[i];
    auto [x, y] = point(m.id, radius);
    bool is_chosen = chosen && chosen->address == m.address;
    svg << "<g class=\"node\" data-address=\"" << XmlEscape(m.address) << "\">"
        << "<title>" << XmlEscape(m.address) << " id " << XmlEscape(m.id) << "</title>";
    if (label.level > 0) {  // a label moved outward: a thin line says whose it is
      auto [lx, ly] = point(m.id, radius + kLabelGap + kLevelStep * label.level - 4);
      svg << "<line x1=\"" << Number(x) << "\" y1=\"" << Number(y) << "\" x2=\"" << Number(lx)
          << "\" y2=\"" << Number(ly) << "\" stroke=\"#cccccc\"/>";
    }
    svg << "<circle cx=\"" << Number(x) << "\" cy=\"" << Number(y) << "\" r=\""
        << Number(node_radius) << "\" fill=\"" << (is_chosen ? "#f08c00" : "#2f9e44")
        << "\" stroke=\"#333333\"/>"
        << "<text x=\"" << Number(label.x) << "\" y=\"" << Number(label.y) << "\" text-anchor=\""
        << label.anchor << "\">";
    for (size_t k = 0; k < label.lines.size(); ++k) {
      svg << "<tspan" << (k == 0 ? " font-weight=\"bold\"" : "") << " x=\"" << Number(label.x)
          << "\" dy=\"" << (k == 0 ? "0" : "12") << "\">" << XmlEscape(label.lines[k])
          << "</tspan>";
    }
    svg << "</text></g>\n";
  }

  double y = legend_y;
  const double legend_x = min_x + 16;
  if (!options.keys.empty()) {
    svg << "<text class=\"legend\" x=\"" << Number(legend_x) << "\" y=\"" << Number(y)
        << "\">Each node: its port, id and \"N keys (+M)\": N keys it owns, M copies it holds "
           "for other owners.</text>\n";
    y += 20;
  }
  if (chosen) {
    svg << "<text x=\"" << Number(legend_x) << "\" y=\"" << Number(y)
        << "\" font-weight=\"bold\">fingers of " << XmlEscape(chosen->address) << " (id "
        << XmlEscape(chosen->id) << ")</text>\n";
    for (const auto& f : fingers) {
      y += 16;
      svg << "<text x=\"" << Number(legend_x + 12) << "\" y=\"" << Number(y) << "\">" << f.indexes
          << " -&gt; " << XmlEscape(f.address) << "</text>\n";
    }
  }
  if (!walk.problem.empty()) {
    svg << "<text x=\"" << Number(min_x + 16) << "\" y=\"" << Number(min_y + 44)
        << "\" fill=\"#c92a2a\">" << XmlEscape(walk.problem) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string RingDot(const RingWalk& walk, const RingPictureOptions& options) {
  const double radius = 4;  // inches
  std::ostringstream dot;
  dot << "// Chord ring of " << walk.members.size() << " nodes; render with: neato -Tpng\n"
      << "digraph chord {\n"
      << "  layout=neato;\n  node [shape=circle, fontsize=10, style=filled, "
         "fillcolor=\"#b2f2bb\"];\n";
  if (!options.keys.empty()) {
    dot << "  label=\"N keys (+M): N keys a node owns, M copies it holds for other owners\";\n";
  }
  for (const auto& m : walk.members) {
    double angle = IdFraction(m.id, options.bits) * 2 * kPi - kPi / 2;
    // "\\n" is DOT's line break inside a label: escape the parts, not the breaks.
    std::string label = DotEscape(Port(m.address)) + "\\n" + DotEscape(ShortId(m.id));
    std::string keys = KeyLabel(options, m.address);
    if (!keys.empty()) label += "\\n" + DotEscape(keys);
    dot << "  \"" << DotEscape(m.address) << "\" [label=\"" << label << "\", pos=\""
        << Number(radius * std::cos(angle)) << "," << Number(-radius * std::sin(angle)) << "!\""
        << (m.address == options.fingers_of ? ", fillcolor=\"#ffd8a8\"" : "") << "];\n";
  }
  for (const auto& m : walk.members) {
    if (m.successors.empty()) continue;
    dot << "  \"" << DotEscape(m.address) << "\" -> \"" << DotEscape(m.successors.front())
        << "\" [color=gray50];\n";
  }
  if (const RingMember* chosen = FindMember(walk, options.fingers_of)) {
    for (const auto& f : Fingers(*chosen)) {
      dot << "  \"" << DotEscape(chosen->address) << "\" -> \"" << DotEscape(f.address)
          << "\" [color=\"#1f6fd1\", style=dashed, label=\"" << f.indexes << "\", fontsize=8];\n";
    }
  }
  dot << "}\n";
  return dot.str();
}

}  // namespace chord
