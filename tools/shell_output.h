// Output helpers of the shell (tools/shell.h): JSON and text forms of answers, shared by the
// files that implement its commands. Internal to the tools; not installed.
//
// Thread-safety: pure functions and a value type.
#ifndef CHORD_TOOLS_SHELL_OUTPUT_H_
#define CHORD_TOOLS_SHELL_OUTPUT_H_

#include <string>
#include <vector>

#include "commands/status.h"
#include "dht/dht_protocol.h"
#include "overlay/chord_protocol.h"
#include "tools/shell.h"

namespace chord {
namespace shell_internal {

// `text` as a JSON string, quotes included.
std::string JsonString(const std::string& text);

// Builds one JSON object, member by member.
class JsonObject {
 public:
  JsonObject& Raw(const std::string& name, const std::string& json) {
    body_ += (body_.size() > 1 ? "," : "") + JsonString(name) + ":" + json;
    return *this;
  }
  JsonObject& Str(const std::string& name, const std::string& value) {
    return Raw(name, JsonString(value));
  }
  JsonObject& Int(const std::string& name, long long value) {
    return Raw(name, std::to_string(value));
  }
  JsonObject& Bool(const std::string& name, bool value) {
    return Raw(name, value ? "true" : "false");
  }
  std::string str() const { return body_ + "}"; }

 private:
  std::string body_ = "{";
};

std::string JsonArray(const std::vector<std::string>& items);
std::string Base64(const std::string& bytes);
std::string JsonNode(const DhtNode& node);
// chord.info's answer as JSON, as the node sends it.
std::string InfoJson(const NodeInfo& info);
// Text with quotes; control bytes escaped, cut after `limit` bytes (0: never).
std::string Quote(const std::string& text, size_t limit = 0);
std::string ShortId(const std::string& id);
std::string NodeText(const DhtNode& node);
// "  [owner ..., N hops, answered by ...]\n"
std::string Where(const DhtNode& owner, int hops, const std::string& answered_by);
ShellAnswer Answer(int exit_code, std::string text, std::string json);
// A whole number of at most 9 digits, maybe negative.
bool ParseInt(const std::string& text, int* value);
std::string Pad(const std::string& text, size_t width);
// True if `bytes` can travel as an XML-RPC string and come back unchanged.
bool TravelsAsString(const std::string& bytes);
// Errors: BadArgument naming the file.
Status WriteFile(const std::string& path, const std::string& content);

}  // namespace shell_internal
}  // namespace chord

#endif  // CHORD_TOOLS_SHELL_OUTPUT_H_
