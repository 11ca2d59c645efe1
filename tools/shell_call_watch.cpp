// The shell's call and watch commands (tools/shell.h): any command with typed arguments, and a
// key followed as it changes.
#include <algorithm>
#include <chrono>
#include <ostream>

#include "commands/value_util.h"
#include "tools/call_command.h"
#include "tools/shell.h"
#include "tools/shell_output.h"

namespace chord {

using namespace shell_internal;  // the output helpers (tools/shell_output.h)

ShellAnswer Shell::DoCall(const std::vector<std::string>& args, const std::string& via) {
  const std::string& method = args[0];
  const std::vector<std::string> words(args.begin() + 1, args.end());
  // The signature and the call go to the same member: the one that answered first.
  std::string member;
  auto signatures = client_.Call("system.methodSignature", Params({xmlrpc_c::value_string(method)}),
                                 via, &member);
  if (!signatures.ok()) return Error(signatures.status());
  auto types = ArgumentTypes(method, signatures.value(), words.size());
  if (!types.ok()) return Error(types.status());
  auto params = TypedParams(types.value(), words);
  if (!params.ok()) return Error(Status::BadArgument(method + ": " + params.status().message()));
  auto result = client_.Call(method, params.value(), member);
  if (!result.ok()) return Error(result.status());
  const std::string json_value = ValueToJson(result.value());
  std::string json = JsonObject()
                         .Str("command", "call")
                         .Str("method", method)
                         .Raw("result", json_value)
                         .Str("answered_by", member)
                         .str();
  if (options_.raw) return Answer(0, ValueToRaw(result.value()) + "\n", json);
  return Answer(0, json_value + "\n  [answered by " + member + "]\n", json);
}

ShellAnswer Shell::DoWatch(const std::vector<std::string>& args) {
  const std::string& key = args[0];
  int changes = 1, seconds = 60;
  if ((args.size() > 1 && (!ParseInt(args[1], &changes) || changes < 1)) ||
      (args.size() > 2 && (!ParseInt(args[2], &seconds) || seconds < 1))) {
    return Error(Status::BadArgument("usage: watch KEY [CHANGES] [SECONDS] (whole numbers > 0)"));
  }
  std::string collected_text, collected_json;
  auto show = [&](const DhtWatch& state) {
    std::string text;
    if (options_.raw) {
      text = state.found ? state.value.bytes + "\n" : "\n";
    } else {
      text = Quote(key) + (state.found ? " = " + ShowValue(state.value) : " is not set") +
             "  [version " + std::to_string(state.version) + ", owner " + NodeText(state.owner) +
             "]\n";
    }
    JsonObject json;
    json.Str("command", "watch").Str("key", key).Bool("found", state.found);
    if (state.found) {
      json.Str("value", state.value.binary ? Base64(state.value.bytes) : state.value.bytes)
          .Bool("binary", state.value.binary);
    }
    json.Str("version", std::to_string(state.version)).Raw("owner", JsonNode(state.owner));
    if (options_.stream) {
      *options_.stream << (options_.json ? json.str() + "\n" : text) << std::flush;
    } else {
      collected_text += text;
      collected_json = json.str();
    }
  };
  // The value now (a zero wait), then each new version; bounded by CHANGES and SECONDS.
  auto state = client_.Watch(key, 0, 0);
  if (!state.ok()) return Error(state.status());
  show(state.value());
  uint64_t version = state->version;
  int seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (seen < changes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    auto next = client_.Watch(key, version, int(std::min<long long>(left, options_.watch_poll_ms)));
    if (!next.ok()) return Error(next.status());
    if (!next->changed) continue;
    show(next.value());
    version = next->version;
    ++seen;
  }
  return Answer(seen == changes ? 0 : 1, collected_text, collected_json);
}

}  // namespace chord
