#include "tools/shell_output.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "commands/xml_unicode.h"

namespace chord {
namespace shell_internal {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

std::string Base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                 uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string JsonNode(const DhtNode& node) {
  return JsonObject().Str("id", node.id).Str("address", node.address).str();
}

// chord.info's answer as JSON, as the node sends it: members in name order, ids as the node
// prints them (hex of its ring size), the predecessor only if there is one, set fingers only.
std::string InfoJson(const NodeInfo& info) {
  const int bits = info.bits;
  auto node = [bits](const NodeRef& n) {
    return JsonObject().Str("address", n.address).Str("id", n.id.ToHex(bits)).str();
  };
  std::vector<std::string> fingers, successors;
  for (size_t i = 0; i < info.fingers.size(); ++i) {
    if (!info.fingers[i]) continue;
    fingers.push_back(JsonObject()
                          .Str("address", info.fingers[i]->address)
                          .Str("id", info.fingers[i]->id.ToHex(bits))
                          .Int("index", long(i))
                          .Str("start", info.finger_starts[i].ToHex(bits))
                          .str());
  }
  for (const auto& s : info.successors) successors.push_back(node(s));
  JsonObject json;
  json.Str("address", info.self.address)
      .Int("bits", bits)
      .Raw("fingers", JsonArray(fingers))
      .Str("id", info.self.id.ToHex(bits))
      .Bool("joined", info.joined);
  if (info.predecessor) json.Raw("predecessor", node(*info.predecessor));
  json.Raw("successors", JsonArray(successors));
  return json.str();
}

// Text with quotes; control bytes escaped, cut after `limit` bytes (0: never).
std::string Quote(const std::string& text, size_t limit) {
  std::string out = "\"";
  size_t shown = limit && text.size() > limit ? limit : text.size();
  for (size_t i = 0; i < shown; ++i) {
    unsigned char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out += char(c);
    }
  }
  out += "\"";
  if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string ShortId(const std::string& id) { return id.size() <= 16 ? id : id.substr(0, 16); }

std::string NodeText(const DhtNode& node) {
  return node.address + " (id " + ShortId(node.id) + ")";
}

std::string Where(const DhtNode& owner, int hops, const std::string& answered_by) {
  return "  [owner " + NodeText(owner) + ", " + std::to_string(hops) +
         (hops == 1 ? " hop" : " hops") + ", answered by " + answered_by + "]\n";
}

ShellAnswer Answer(int exit_code, std::string text, std::string json) {
  ShellAnswer answer;
  answer.exit_code = exit_code;
  answer.text = std::move(text);
  answer.json = std::move(json);
  return answer;
}

bool ParseInt(const std::string& text, int* value) {
  if (text.empty() || text.size() > 9) return false;
  size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size()) return false;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  *value = std::stoi(text);
  return true;
}

std::string Pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

// True if `bytes` can travel as an XML-RPC string and come back unchanged: XML text
// (chord::IsXmlText: valid UTF-8 of characters XML 1.0 allows) without CR, which XML allows but
// line-end normalization turns into LF. Anything else, e.g. what "\x00\x01\xff" escapes give,
// must go as base64.
bool TravelsAsString(const std::string& bytes) {
  return IsXmlText(bytes) && bytes.find('\r') == std::string::npos;
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Status::BadArgument("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace shell_internal
}  // namespace chord
