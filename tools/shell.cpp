#include "tools/shell.h"

#include <limits.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <iostream>
#include <sstream>

#include "commands/value_util.h"
#include "commands/xml_unicode.h"
#include "settings/settings.h"
#include "tools/fs/fs_store.h"
#include "tools/metrics_summary.h"
#include "tools/node_process.h"
#include "tools/progress.h"
#include "tools/ring_picture.h"
#include "tools/ring_walk.h"
#include "tools/shell_output.h"

namespace chord {

using namespace shell_internal;  // the output helpers (tools/shell_output.h)

// ---------------------------------------------------------------------------------------------
// Shell: parsing and dispatch

struct Shell::Command {
  std::string name;
  std::string usage;  // "set KEY VALUE [TTL]"
  std::string help;
  size_t min_args;
  size_t max_args;
  std::function<ShellAnswer(Shell*, const std::vector<std::string>&, const std::string&)> run;
};

Shell::Shell(Transport* transport, std::vector<std::string> members, Launcher* launcher,
             ShellOptions options)
    : transport_(transport),
      launcher_(launcher),
      options_(std::move(options)),
      client_(transport, members, options_.client),
      listed_(members),
      saved_members_(std::move(members)) {}

Shell::~Shell() = default;

const std::vector<Shell::Command>& Shell::Table() {
  using Args = const std::vector<std::string>&;
  using Via = const std::string&;
  static const std::vector<Command> kTable = {
      {"set", "set KEY VALUE [TTL]", "store VALUE under KEY (expiring after TTL seconds)", 2, 3,
       [](Shell* s, Args a, Via v) { return s->DoWrite(a, v, false); }},
      {"add", "add KEY VALUE [TTL]", "store VALUE only if KEY is absent", 2, 3,
       [](Shell* s, Args a, Via v) { return s->DoWrite(a, v, true); }},
      {"get", "get KEY", "the value of KEY", 1, 1,
       [](Shell* s, Args a, Via v) { return s->DoGet(a, v); }},
      {"remove", "remove KEY", "remove KEY", 1, 1,
       [](Shell* s, Args a, Via v) { return s->DoRemove(a, v); }},
      {"locate", "locate KEY", "the node owning KEY and the nodes holding its copies", 1, 1,
       [](Shell* s, Args a, Via v) { return s->DoLocate(a, v); }},
      {"lookup", "lookup ID", "the node succeeding a hex ID (chord.find_successor)", 1, 1,
       [](Shell* s, Args a, Via v) { return s->DoLookup(a, v); }},
      {"info", "info [NODE]", "a node's id, predecessor, successor list and finger table", 0, 1,
       [](Shell* s, Args a, Via v) { return s->DoInfo(a, v); }},
      {"ring", "ring [--svg FILE] [--dot FILE] [--fingers NODE]",
       "every node in ring order with its key counts; optionally a picture", 0, 6,
       [](Shell* s, Args a, Via v) { return s->DoRing(a, v); }},
      {"keys", "keys [NODE]", "the keys a node holds (owned or as a replica)", 0, 1,
       [](Shell* s, Args a, Via v) { return s->DoKeys(a, v); }},
      {"stats", "stats [NODE]", "entry counts of every known node (or of one)", 0, 1,
       [](Shell* s, Args a, Via v) { return s->DoStats(a, v); }},
      {"join", "join", "start one more node, joining the ring", 0, 0,
       [](Shell* s, Args a, Via v) { return s->DoJoin(a, v); }},
      {"leave", "leave NODE", "make a node leave the ring gracefully", 1, 1,
       [](Shell* s, Args a, Via) { return s->DoStop(a, false); }},
      {"kill", "kill NODE", "crash a node without notice (for experiments)", 1, 1,
       [](Shell* s, Args a, Via) { return s->DoStop(a, true); }},
      {"put-file", "put-file PATH NAME", "store a local file of any size under NAME", 2, 2,
       [](Shell* s, Args a, Via) { return s->DoPutFile(a); }},
      {"get-file", "get-file NAME PATH", "fetch the file NAME into a local file", 2, 2,
       [](Shell* s, Args a, Via) { return s->DoGetFile(a); }},
      {"call", "call METHOD [ARG...]",
       "any command a node serves (system.listMethods), arguments typed from its signature", 1, 65,
       [](Shell* s, Args a, Via v) { return s->DoCall(a, v); }},
      {"watch", "watch KEY [CHANGES] [SECONDS]",
       "show KEY's value, then each new one, until CHANGES (1) came or SECONDS (60) passed", 1, 3,
       [](Shell* s, Args a, Via) { return s->DoWatch(a); }},
      {"help", "help [COMMAND]", "this list, or one command", 0, 1,
       [](Shell* s, Args a, Via) { return s->DoHelp(a); }},
      {"quit", "quit", "leave the shell (also: exit, Ctrl-D)", 0, 0,
       [](Shell*, Args, Via) {
         ShellAnswer answer;
         answer.quit = true;
         return answer;
       }},
  };
  return kTable;
}

const std::vector<std::string>& Shell::CommandNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& c : Table()) names.push_back(c.name);
    names.push_back("exit");
    return names;
  }();
  return kNames;
}

Result<std::vector<std::string>> Shell::Tokenize(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '#' && !in_word &&
               (i + 1 >= line.size() || !std::isdigit(uint8_t(line[i + 1])))) {
      break;  // a comment; "#3" is node 3 of the last listing
    } else if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) return Status::BadArgument("unterminated ' quote");
      word += line.substr(i + 1, end - i - 1);
      in_word = true;
      i = end;
    } else if (c == '"') {
      in_word = true;
      for (++i;; ++i) {
        if (i >= line.size()) return Status::BadArgument("unterminated \" quote");
        if (line[i] == '"') break;
        if (line[i] != '\\') {
          word += line[i];
          continue;
        }
        if (++i >= line.size()) return Status::BadArgument("a line cannot end in \\");
        switch (line[i]) {
          case 'n':
            word += '\n';
            break;
          case 't':
            word += '\t';
            break;
          case 'x': {
            auto hex = i + 2 < line.size() ? line.substr(i + 1, 2) : "";
            if (hex.size() != 2 || !std::isxdigit(uint8_t(hex[0])) ||
                !std::isxdigit(uint8_t(hex[1]))) {
              return Status::BadArgument("\\x needs two hex digits");
            }
            word += char(std::stoi(hex, nullptr, 16));
            i += 2;
            break;
          }
          default:
            word += line[i];  // \" \\ and any other character stand for themselves
        }
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

Result<std::string> Shell::ResolveNode(const std::string& word) const {
  if (ParseHostPort(word, nullptr, nullptr)) return word;
  if (!word.empty() && word[0] == ':' && ParseHostPort("127.0.0.1" + word, nullptr, nullptr)) {
    return "127.0.0.1" + word;
  }
  int index = 0;
  const std::string number = !word.empty() && word[0] == '#' ? word.substr(1) : word;
  if (ParseInt(number, &index) && index >= 0) {
    if (size_t(index) < listed_.size()) return listed_[size_t(index)];
    return Status::BadArgument("there is no node #" + number + " (" +
                               std::to_string(listed_.size()) + " listed; see `ring`)");
  }
  return Status::BadArgument("'" + word +
                             "' is not a node: give HOST:PORT, :PORT or the # "
                             "of a node in `ring`");
}

std::string Shell::JsonError(const Status& status) {
  return JsonObject()
      .Str("error", ErrorCodeName(status.code()))
      .Str("message", status.message())
      .str();
}

ShellAnswer Shell::Error(const Status& status) const {
  return Answer(2, "error: " + status.ToString() + "\n", JsonError(status));
}

std::string Shell::ShowValue(const DhtValue& value) const {
  if (!value.binary) return Quote(value.bytes, options_.max_display_bytes);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < value.bytes.size() && i < 32; ++i) {
    hex += kHex[uint8_t(value.bytes[i]) >> 4];
    hex += kHex[uint8_t(value.bytes[i]) & 15];
  }
  return "<binary, " + std::to_string(value.bytes.size()) + " bytes: " + hex +
         (value.bytes.size() > 32 ? "...>" : ">");
}

ShellAnswer Shell::ExecuteLine(const std::string& line) {
  auto words = Tokenize(line);
  if (!words.ok()) return Error(words.status());
  if (words->empty()) return ShellAnswer();
  std::string via;
  if (words->front()[0] == '@') {
    auto node = ResolveNode(words->front().substr(1));
    if (!node.ok()) return Error(node.status());
    via = node.value();
    words->erase(words->begin());
    if (words->empty()) return Error(Status::BadArgument("no command after @" + via));
  }
  return Execute(words.value(), via);
}

ShellAnswer Shell::Execute(const std::vector<std::string>& words, const std::string& via) {
  // The shell must survive anything a node or a typo can do; nothing below should throw, but an
  // xmlrpc-c surprise becomes a message instead of the end of the session.
  try {
    ShellAnswer answer = Dispatch(words, via);
    SaveRingFile();
    return answer;
  } catch (const std::exception& e) {
    return Error(Status::Internal(std::string("unexpected failure: ") + e.what()));
  } catch (...) {
    return Error(Status::Internal("unexpected failure"));
  }
}

ShellAnswer Shell::Dispatch(const std::vector<std::string>& words, const std::string& via) {
  if (words.empty()) return ShellAnswer();
  std::string name = words[0] == "exit" ? "quit" : words[0];
  for (const auto& command : Table()) {
    if (command.name != name) continue;
    std::vector<std::string> args(words.begin() + 1, words.end());
    if (args.size() < command.min_args || args.size() > command.max_args) {
      std::string hint = name == "set" || name == "add"
                             ? " (quote a value that has spaces: set k \"two words\")"
                             : "";
      return Error(Status::BadArgument("usage: " + command.usage + hint));
    }
    return command.run(this, args, via);
  }
  return Error(Status::BadArgument("unknown command '" + words[0] + "'; type help"));
}

size_t Shell::Number(const std::string& address) {
  auto it = std::find(listed_.begin(), listed_.end(), address);
  if (it != listed_.end()) return size_t(it - listed_.begin());
  listed_.push_back(address);
  return listed_.size() - 1;
}

void Shell::SaveRingFile() {
  if (options_.ring_file.empty() || client_.members() == saved_members_) return;
  // Written beside the file and renamed over it: a reader never sees half a list.
  const std::string partial = options_.ring_file + ".part";
  std::string content;
  for (const auto& m : client_.members()) content += m + "\n";
  if (!WriteFile(partial, content).ok() ||
      std::rename(partial.c_str(), options_.ring_file.c_str()) != 0) {
    std::remove(partial.c_str());
    return;  // the shell goes on; the file keeps its older list
  }
  saved_members_ = client_.members();
}

void Shell::AddMember(const std::string& address) {
  std::vector<std::string> members = client_.members();
  if (std::find(members.begin(), members.end(), address) == members.end()) {
    members.push_back(address);
  }
  client_.SetMembers(members);
}

void Shell::DropMember(const std::string& address) {
  std::vector<std::string> members = client_.members();
  members.erase(std::remove(members.begin(), members.end(), address), members.end());
  client_.SetMembers(members);
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

// A TTL word: whole seconds, 0 (no expiry) up to what the nodes accept.
Result<int> ParseTtl(const std::string& word) {
  const bool digits = !word.empty() && word.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) {
    return Status::BadArgument("TTL must be a whole number of seconds, not '" + word +
                               "' (quote a value that has spaces)");
  }
  // Compared as text beyond 10 digits, so that no number is too large to parse.
  const std::string trimmed = word.substr(std::min(word.find_first_not_of('0'), word.size()));
  if (trimmed.size() > 10 || std::stoll("0" + trimmed) > kMaxTtlSeconds) {
    return Status::BadArgument("TTL " + word + " is too long: at most " +
                               std::to_string(kMaxTtlSeconds) + " seconds (10 years)");
  }
  return int(std::stoll("0" + trimmed));
}

}  // namespace

ShellAnswer Shell::DoWrite(const std::vector<std::string>& args, const std::string& via, bool add) {
  int ttl = 0;
  if (args.size() > 2) {
    auto parsed = ParseTtl(args[2]);
    if (!parsed.ok()) return Error(parsed.status());
    ttl = parsed.value();
  }
  // Text goes as an XML-RPC string; bytes a string cannot carry (from \xHH escapes, or any
  // invalid UTF-8) go as base64, and come back from get as binary, byte for byte.
  DhtValue value{args[1], !TravelsAsString(args[1])};
  auto reply = add ? client_.Add(args[0], value, ttl, via) : client_.Set(args[0], value, ttl, via);
  if (!reply.ok()) return Error(reply.status());
  JsonObject json;
  json.Str("command", add ? "add" : "set").Str("key", args[0]).Bool("stored", reply->ok);
  if (add) json.Bool("exists", reply->exists);
  json.Raw("owner", JsonNode(reply->owner))
      .Int("hops", reply->hops)
      .Str("answered_by", reply->answered_by);
  std::string where = Where(reply->owner, reply->hops, reply->answered_by);
  if (!reply->ok) {
    return Answer(
        1, Quote(args[0]) + (reply->exists ? " exists already: not stored" : " not stored") + where,
        json.str());
  }
  return Answer(0, std::string(add ? "added " : "stored ") + Quote(args[0]) + where, json.str());
}

ShellAnswer Shell::DoGet(const std::vector<std::string>& args, const std::string& via) {
  auto reply = client_.Get(args[0], via);
  if (!reply.ok()) return Error(reply.status());
  JsonObject json;
  json.Str("command", "get").Str("key", args[0]).Bool("found", reply->ok);
  if (reply->ok) {
    json.Str("value", reply->value.binary ? Base64(reply->value.bytes) : reply->value.bytes)
        .Bool("binary", reply->value.binary);
  }
  json.Raw("owner", JsonNode(reply->owner))
      .Int("hops", reply->hops)
      .Str("answered_by", reply->answered_by);
  std::string where = Where(reply->owner, reply->hops, reply->answered_by);
  if (options_.raw) {  // the value alone, for scripts: $(chord --raw get KEY)
    if (!reply->ok) return Answer(1, "", json.str());
    return Answer(0, reply->value.bytes + (reply->value.binary ? "" : "\n"), json.str());
  }
  if (!reply->ok) return Answer(1, Quote(args[0]) + " not found" + where, json.str());
  return Answer(0, Quote(args[0]) + " = " + ShowValue(reply->value) + where, json.str());
}

ShellAnswer Shell::DoRemove(const std::vector<std::string>& args, const std::string& via) {
  auto reply = client_.Remove(args[0], via);
  if (!reply.ok()) return Error(reply.status());
  std::string json = JsonObject()
                         .Str("command", "remove")
                         .Str("key", args[0])
                         .Bool("removed", reply->ok)
                         .Raw("owner", JsonNode(reply->owner))
                         .Int("hops", reply->hops)
                         .Str("answered_by", reply->answered_by)
                         .str();
  std::string where = Where(reply->owner, reply->hops, reply->answered_by);
  if (!reply->ok) return Answer(1, Quote(args[0]) + " was not there" + where, json);
  return Answer(0, "removed " + Quote(args[0]) + where, json);
}

ShellAnswer Shell::DoLocate(const std::vector<std::string>& args, const std::string& via) {
  auto location = client_.Locate(args[0], via);
  if (!location.ok()) return Error(location.status());
  std::vector<std::string> replicas_json;
  std::string replicas_text;
  for (const auto& r : location->replicas) {
    replicas_json.push_back(JsonNode(r));
    replicas_text += (replicas_text.empty() ? "" : ", ") + NodeText(r);
  }
  std::string json = JsonObject()
                         .Str("command", "locate")
                         .Str("key", args[0])
                         .Str("id", location->key_id)
                         .Raw("owner", JsonNode(location->owner))
                         .Raw("replicas", JsonArray(replicas_json))
                         .Int("hops", location->hops)
                         .Str("answered_by", location->answered_by)
                         .str();
  return Answer(0,
                Quote(args[0]) + " has id " + location->key_id + "\n  copies on " +
                    (replicas_text.empty() ? "no other node" : replicas_text) + "\n" +
                    Where(location->owner, location->hops, location->answered_by),
                json);
}

ShellAnswer Shell::DoLookup(const std::vector<std::string>& args, const std::string& via) {
  const std::string& id = args[0];
  bool hex = !id.empty() && id.size() <= 40 &&
             std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(uint8_t(c)); });
  if (!hex) {
    return Error(Status::BadArgument("'" + id +
                                     "' is not an id: give up to 40 hex digits "
                                     "(for a key, use locate)"));
  }
  auto lookup = client_.Lookup(id, via);
  if (!lookup.ok()) return Error(lookup.status());
  std::string json = JsonObject()
                         .Str("command", "lookup")
                         .Str("id", id)
                         .Raw("owner", JsonNode(lookup->successor))
                         .Int("hops", lookup->hops)
                         .Str("answered_by", lookup->answered_by)
                         .str();
  return Answer(0,
                "successor of " + id + " is " + NodeText(lookup->successor) + "\n" +
                    Where(lookup->successor, lookup->hops, lookup->answered_by),
                json);
}

ShellAnswer Shell::DoInfo(const std::vector<std::string>& args, const std::string& via) {
  std::string node = via;
  if (!args.empty()) {
    auto resolved = ResolveNode(args[0]);
    if (!resolved.ok()) return Error(resolved.status());
    node = resolved.value();
  }
  std::string answered_by;
  auto info = client_.Info(node, &answered_by);
  if (!info.ok()) return Error(info.status());
  const int bits = info->bits;
  auto node_text = [bits](const NodeRef& n) { return n.address + "  id " + n.id.ToHex(bits); };
  std::ostringstream text;
  text << "node         " << node_text(info->self) << "  (" << bits << "-bit ids"
       << (info->joined ? "" : ", not in a ring") << ")\n";
  text << "predecessor  " << (info->predecessor ? node_text(*info->predecessor) : "none") << "\n";
  for (size_t i = 0; i < info->successors.size(); ++i) {
    text << (i == 0 ? "successors   " : "             ") << std::setw(2) << i + 1 << ". "
         << node_text(info->successors[i]) << "\n";
  }
  if (info->successors.empty()) text << "successors   none\n";
  // The set fingers, in index order; consecutive ones usually point to the same node: one row
  // per run.
  std::vector<size_t> set;
  for (size_t i = 0; i < info->fingers.size(); ++i) {
    if (info->fingers[i]) set.push_back(i);
  }
  text << "fingers      " << Pad("index", 10) << Pad("start", 18) << "node\n";
  for (size_t i = 0; i < set.size();) {
    const NodeRef& first = *info->fingers[set[i]];
    size_t j = i + 1;
    while (j < set.size() && info->fingers[set[j]]->address == first.address) ++j;
    std::string range = std::to_string(set[i]);
    if (j - 1 > i) range += "-" + std::to_string(set[j - 1]);
    text << "             " << Pad(range, 10)
         << Pad(ShortId(info->finger_starts[set[i]].ToHex(bits)), 18) << first.address << " (id "
         << ShortId(first.id.ToHex(bits)) << ")\n";
    i = j;
  }
  text << "  [answered by " << answered_by << "]\n";
  std::string json = JsonObject()
                         .Str("command", "info")
                         .Raw("info", InfoJson(info.value()))
                         .Str("answered_by", answered_by)
                         .str();
  return Answer(0, text.str(), json);
}

ShellAnswer Shell::DoRing(const std::vector<std::string>& args, const std::string& via) {
  std::string svg_file, dot_file, fingers_of;
  for (size_t i = 0; i < args.size(); i += 2) {
    if (i + 1 >= args.size() ||
        (args[i] != "--svg" && args[i] != "--dot" && args[i] != "--fingers")) {
      return Error(Status::BadArgument("usage: ring [--svg FILE] [--dot FILE] [--fingers NODE]"));
    }
    if (args[i] == "--svg") svg_file = args[i + 1];
    if (args[i] == "--dot") dot_file = args[i + 1];
    if (args[i] == "--fingers") {
      auto node = ResolveNode(args[i + 1]);
      if (!node.ok()) return Error(node.status());
      fingers_of = node.value();
    }
  }
  // Start the walk at a member that answers.
  std::string start;
  auto first = client_.Info(via, &start);
  if (!first.ok()) return Error(first.status());
  RingWalk walk = WalkRing(transport_, start, 4096);
  std::string problem = CheckRing(walk, 0);

  std::map<std::string, KeyCounts> keys;
  std::ostringstream text;
  std::vector<std::string> nodes_json;
  text << Pad("#", 4) << Pad("id", 18) << Pad("address", 22) << std::setw(7) << "owned"
       << std::setw(10) << "replicas"
       << "\n";
  // In ring order from the lowest id; each node keeps the number it got when first seen.
  std::rotate(
      walk.members.begin(),
      std::min_element(walk.members.begin(), walk.members.end(),
                       [](const RingMember& a, const RingMember& b) { return a.id < b.id; }),
      walk.members.end());
  for (size_t i = 0; i < walk.members.size(); ++i) {
    const RingMember& m = walk.members[i];
    auto stats = client_.Stats(m.address);
    const size_t number = Number(m.address);
    text << Pad(std::to_string(number), 4) << Pad(ShortId(m.id), 18) << Pad(m.address, 22);
    JsonObject node;
    node.Int("number", long(number)).Str("id", m.id).Str("address", m.address);
    if (stats.ok()) {
      keys[m.address] = {stats->stats.owned, stats->stats.replicas};
      text << std::setw(7) << stats->stats.owned << std::setw(10) << stats->stats.replicas;
      node.Int("owned", long(stats->stats.owned)).Int("replicas", long(stats->stats.replicas));
    } else {
      text << "  (no stats: " << stats.status().message() << ")";
    }
    text << "\n";
    nodes_json.push_back(node.str());
  }
  if (problem.empty()) {
    text << "ring of " << walk.members.size() << " nodes, correct (walked from " << start << ")\n";
  } else {
    text << "ring not correct (yet?): " << problem << " (walked from " << start << ")\n";
  }
  // A walk of a correct ring is the best member list there is; while the ring is in flux, keep
  // every node known so far (a newcomer may not show yet).
  if (problem.empty()) {
    std::vector<std::string> members;
    for (const auto& m : walk.members) members.push_back(m.address);
    client_.SetMembers(members);
  } else {
    for (const auto& m : walk.members) AddMember(m.address);
  }

  RingPictureOptions picture;
  picture.bits = first->bits;
  picture.fingers_of = fingers_of.empty() ? start : fingers_of;
  picture.keys = keys;
  if (!svg_file.empty()) {
    Status written = WriteFile(svg_file, RingSvg(walk, picture));
    if (!written.ok()) return Error(written);
    text << "wrote " << svg_file << " (fingers of " << picture.fingers_of << ")\n";
  }
  if (!dot_file.empty()) {
    Status written = WriteFile(dot_file, RingDot(walk, picture));
    if (!written.ok()) return Error(written);
    text << "wrote " << dot_file << " (fingers of " << picture.fingers_of << ")\n";
  }
  std::string json = JsonObject()
                         .Str("command", "ring")
                         .Raw("nodes", JsonArray(nodes_json))
                         .Bool("correct", problem.empty())
                         .Str("problem", problem)
                         .Str("answered_by", start)
                         .str();
  return Answer(problem.empty() ? 0 : 2, text.str(), json);
}

ShellAnswer Shell::DoKeys(const std::vector<std::string>& args, const std::string& via) {
  std::string node = via;
  if (!args.empty()) {
    auto resolved = ResolveNode(args[0]);
    if (!resolved.ok()) return Error(resolved.status());
    node = resolved.value();
  }
  auto list = client_.Keys(node);
  if (!list.ok()) return Error(list.status());
  size_t owned = 0;
  std::vector<std::string> keys_json;
  std::string lines;
  for (const auto& k : list->keys) {
    owned += k.owned;
    lines += std::string(k.owned ? "  owned    " : "  replica  ") + Quote(k.key, 200) + "\n";
    keys_json.push_back(JsonObject().Str("key", k.key).Bool("owned", k.owned).str());
  }
  std::string text = list->address + " holds " + std::to_string(list->keys.size()) +
                     (list->keys.size() == 1 ? " key (" : " keys (") + std::to_string(owned) +
                     " owned, " + std::to_string(list->keys.size() - owned) + " replicas)" +
                     (list->truncated ? ", list cut at 1000" : "") + "\n" + lines;
  std::string json = JsonObject()
                         .Str("command", "keys")
                         .Str("node", list->address)
                         .Raw("keys", JsonArray(keys_json))
                         .Bool("truncated", list->truncated)
                         .str();
  return Answer(0, text, json);
}

ShellAnswer Shell::DoStats(const std::vector<std::string>& args, const std::string& via) {
  std::vector<std::string> nodes = members();
  bool one = !args.empty() || !via.empty();
  if (!args.empty()) {
    auto resolved = ResolveNode(args[0]);
    if (!resolved.ok()) return Error(resolved.status());
    nodes = {resolved.value()};
  } else if (!via.empty()) {
    nodes = {via};
  }
  if (nodes.empty()) return Error(Status::Unavailable("no ring member is known"));
  std::ostringstream text;
  text << Pad("address", 22) << std::setw(7) << "owned" << std::setw(10) << "replicas"
       << std::setw(12) << "tombstones" << std::setw(10) << "received" << std::setw(10)
       << "as-owner" << std::setw(10) << "served" << std::setw(10) << "made" << std::setw(7)
       << "conns"
       << "\n";
  std::vector<std::string> nodes_json;
  DhtStats total;
  std::map<std::string, CommandFigures> commands;  // summed over the nodes that answered
  size_t answered = 0;
  Status last;
  for (const auto& node : nodes) {
    auto stats = client_.Stats(node);
    if (!stats.ok()) {
      last = stats.status();
      text << Pad(node, 22) << "  does not answer: " << stats.status().message() << "\n";
      nodes_json.push_back(JsonObject()
                               .Str("address", node)
                               .Str("error", ErrorCodeName(stats.status().code()))
                               .Str("message", stats.status().message())
                               .str());
      continue;
    }
    ++answered;
    const DhtStats& s = stats->stats;
    total.owned += s.owned;
    total.replicas += s.replicas;
    total.tombstones += s.tombstones;
    total.received += s.received;
    total.received_as_owner += s.received_as_owner;
    // The transport's counters (chord.stats); "-" from a node that does not have the command.
    auto transport = ChordStub(transport_, 0).Stats(node);
    auto figure = [&transport](int64_t NodeStats::*field) {
      return transport.ok() ? std::to_string((*transport).*field) : std::string("-");
    };
    text << Pad(node, 22) << std::setw(7) << s.owned << std::setw(10) << s.replicas << std::setw(12)
         << s.tombstones << std::setw(10) << s.received << std::setw(10) << s.received_as_owner
         << std::setw(10) << figure(&NodeStats::calls_served) << std::setw(10)
         << figure(&NodeStats::calls_made) << std::setw(7) << figure(&NodeStats::connections_open)
         << "\n";
    JsonObject json;
    json.Str("address", node)
        .Int("owned", long(s.owned))
        .Int("replicas", long(s.replicas))
        .Int("tombstones", long(s.tombstones))
        .Int("received", long(s.received))
        .Int("received_as_owner", long(s.received_as_owner));
    if (transport.ok()) {
      json.Int("calls_served", long(transport->calls_served))
          .Int("calls_made", long(transport->calls_made))
          .Int("connections_open", long(transport->connections_open));
    }
    nodes_json.push_back(json.str());
    auto metrics = ChordStub(transport_, 0).Metrics(node);
    if (metrics.ok()) AddCallFigures(metrics.value(), &commands);
  }
  if (one && answered == 0) return Error(last);
  if (!one) {
    text << Pad("total (" + std::to_string(answered) + " nodes)", 22) << std::setw(7) << total.owned
         << std::setw(10) << total.replicas << std::setw(12) << total.tombstones << std::setw(10)
         << total.received << std::setw(10) << total.received_as_owner << "\n";
  }
  std::vector<std::string> commands_json;
  if (!commands.empty()) {
    text << "\n"
         << Pad("command (calls served)", 28) << std::setw(10) << "calls" << std::setw(8)
         << "faults" << std::setw(10) << "mean ms"
         << "\n";
  }
  for (const auto& [name, c] : commands) {
    const double mean_ms = c.calls ? c.seconds * 1000 / double(c.calls) : 0;
    std::ostringstream mean;
    mean << std::fixed << std::setprecision(3) << mean_ms;
    text << Pad(name, 28) << std::setw(10) << c.calls << std::setw(8) << c.faults << std::setw(10)
         << mean.str() << "\n";
    commands_json.push_back(JsonObject()
                                .Str("command", name)
                                .Int("calls", long(c.calls))
                                .Int("faults", long(c.faults))
                                .Raw("mean_ms", mean.str())
                                .str());
  }
  std::string json = JsonObject()
                         .Str("command", "stats")
                         .Raw("nodes", JsonArray(nodes_json))
                         .Int("owned", long(total.owned))
                         .Int("replicas", long(total.replicas))
                         .Raw("commands", JsonArray(commands_json))
                         .str();
  return Answer(answered ? 0 : 2, text.str(), json);
}

ShellAnswer Shell::DoJoin(const std::vector<std::string>&, const std::string& via) {
  if (!launcher_) {
    return Error(
        Status::Refused("join starts a node that lives as long as the program that "
                        "started it: use it in `chord shell` or create_chord"));
  }
  // A member that answers (any, or `via`) to join through.
  std::string through;
  auto alive = client_.Info(via, &through);
  if (!alive.ok()) return Error(alive.status());
  auto node = launcher_->Join(through);
  if (!node.ok()) return Error(node.status());
  AddMember(node->address);
  const size_t number = Number(node->address);
  // Wait (bounded) until both neighbours point at the newcomer, so that the next command sees
  // the ring with it; stabilization does this within a few rounds.
  const std::string& self = node->address;
  const ChordStub chord(transport_, 0);
  auto first_successor = [](const NodeInfo& info) {
    return info.successors.empty() ? std::string() : info.successors.front().address;
  };
  auto predecessor = [](const NodeInfo& info) {
    return info.predecessor ? info.predecessor->address : std::string();
  };
  auto linked = [&] {
    auto mine = chord.Info(self);
    if (!mine.ok()) return false;
    std::string before = predecessor(mine.value()), after = first_successor(mine.value());
    if (before.empty() || after.empty()) return false;
    auto p = chord.Info(before);
    auto s = chord.Info(after);
    return p.ok() && s.ok() && first_successor(p.value()) == self && predecessor(s.value()) == self;
  };
  auto start = std::chrono::steady_clock::now();
  bool in_ring = linked();
  while (!in_ring && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    poll(nullptr, 0, 50);
    in_ring = linked();
  }
  return Answer(0,
                "started #" + std::to_string(number) + " " + NodeText(node.value()) +
                    ", joined through " + through +
                    (in_ring ? "; its neighbours point to it now\n"
                             : "; not linked in by both neighbours yet (see ring)\n"),
                JsonObject()
                    .Str("command", "join")
                    .Raw("node", JsonNode(node.value()))
                    .Str("via", through)
                    .str());
}

ShellAnswer Shell::DoStop(const std::vector<std::string>& args, bool crash) {
  auto node = ResolveNode(args[0]);
  if (!node.ok()) return Error(node.status());
  const char* verb = crash ? "kill" : "leave";
  if (!launcher_) {
    return Error(Status::Refused(std::string(verb) + " works only in the shell, on nodes it "
                                                     "started (or create_chord started)"));
  }
  Status status = crash ? launcher_->Kill(node.value()) : launcher_->Leave(node.value());
  if (status.code() == ErrorCode::kNotFound) {
    return Error(Status::Refused("only nodes started by this shell or by create_chord can be " +
                                 std::string(crash ? "killed" : "made to leave") + " here; " +
                                 node.value() + " was not (stop it where it runs)"));
  }
  DropMember(node.value());
  if (!status.ok()) return Error(status);
  std::string json = JsonObject().Str("command", verb).Str("node", node.value()).str();
  if (crash) {
    return Answer(0,
                  "killed " + node.value() +
                      " without notice; its neighbours notice within a "
                      "few stabilize periods and replicas take over its keys\n",
                  json);
  }
  return Answer(0, node.value() + " left the ring gracefully (its keys went to its successor)\n",
                json);
}

namespace {

// Progress of a transfer on `line`: files of a few chunks finish before anyone would look.
DhtProgress Progress(ProgressLine* line, const std::string& what) {
  constexpr uint64_t kShownFrom = 4 << 20;
  return [line, what](uint64_t done, uint64_t total) {
    if (total == 0 ? done >= kShownFrom : total >= kShownFrom) {
      line->Show(what + ": " + ProgressLine::Bytes(done, total));
    }
  };
}

}  // namespace

ShellAnswer Shell::DoPutFile(const std::vector<std::string>& args) {
  struct stat file {};
  if (stat(args[0].c_str(), &file) == 0 && S_ISDIR(file.st_mode)) {
    return Error(Status::BadArgument(args[0] + " is a directory: put-file stores one file"));
  }
  std::ifstream in(args[0], std::ios::binary);
  if (!in) {
    return Error(Status::BadArgument("cannot read " + args[0] + ": " + std::strerror(errno)));
  }
  ProgressLine line(std::cerr, options_.progress);
  auto info = client_.PutFile(args[1], in, Progress(&line, "put-file " + args[1]));
  line.Done();  // before the answer is printed
  if (!info.ok()) return Error(info.status());
  // Listed in chord-fs's tree too, so that a mount shows it (best effort: the file is stored).
  FsStoreOptions fs_options;
  fs_options.timeout_ms = 2000;
  Status linked = FsStore(transport_, client_.members(), fs_options).LinkFile(args[1]);
  return Answer(
      0,
      "stored " + args[0] + " as " + Quote(args[1]) + ": " + std::to_string(info->size) +
          " bytes in " + std::to_string(info->chunks) + " chunks, sha1 " + info->sha1 + "\n" +
          (linked.ok() ? "" : "(not listed in chord-fs mounts: " + linked.message() + ")\n"),
      JsonObject()
          .Str("command", "put-file")
          .Str("name", args[1])
          .Int("size", long(info->size))
          .Int("chunks", long(info->chunks))
          .Str("sha1", info->sha1)
          .str());
}

ShellAnswer Shell::DoGetFile(const std::vector<std::string>& args) {
  if (args[1] == "-") return GetFileToStdout(args[0]);
  // Write beside the target and rename at the end, so a failed fetch leaves no half file.
  const std::string partial = args[1] + ".part";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) {
    return Error(Status::BadArgument("cannot write " + partial + ": " + std::strerror(errno)));
  }
  ProgressLine line(std::cerr, options_.progress);
  auto info = client_.GetFile(args[0], out, Progress(&line, "get-file " + args[0]));
  line.Done();  // before the answer is printed
  out.close();
  if (info.ok() && !out) info = Status::BadArgument("cannot write " + partial);
  if (!info.ok()) {
    std::remove(partial.c_str());
    ShellAnswer answer = Error(info.status());
    if (info.status().code() == ErrorCode::kNotFound) answer.exit_code = 1;
    return answer;
  }
  if (std::rename(partial.c_str(), args[1].c_str()) != 0) {
    return Error(Status::BadArgument("cannot rename " + partial + " to " + args[1] + ": " +
                                     std::strerror(errno)));
  }
  return Answer(0,
                "fetched " + Quote(args[0]) + " into " + args[1] + ": " +
                    std::to_string(info->size) + " bytes, sha1 " + info->sha1 + " verified\n",
                JsonObject()
                    .Str("command", "get-file")
                    .Str("name", args[0])
                    .Int("size", long(info->size))
                    .Int("chunks", long(info->chunks))
                    .Str("sha1", info->sha1)
                    .str());
}

ShellAnswer Shell::GetFileToStdout(const std::string& name) {
  // The file is the output: no summary line joins it on stdout.
  ProgressLine line(std::cerr, options_.progress);
  auto info = client_.GetFile(name, std::cout, Progress(&line, "get-file " + name));
  line.Done();
  std::cout.flush();
  if (!info.ok()) {
    ShellAnswer answer = Error(info.status());
    if (info.status().code() == ErrorCode::kNotFound) answer.exit_code = 1;
    return answer;
  }
  return ShellAnswer();
}

ShellAnswer Shell::DoHelp(const std::vector<std::string>& args) {
  std::ostringstream text;
  bool hidden = false;
  for (const auto& c : Table()) {
    if (!args.empty() && args[0] != c.name) continue;
    // join, leave and kill need a launcher (chord shell, create_chord): not listed without one.
    if (!launcher_ && (c.name == "join" || c.name == "leave" || c.name == "kill")) {
      hidden = true;
      continue;
    }
    text << "  " << Pad(c.usage, 50) << c.help << "\n";
  }
  if (hidden) text << "  (join, leave and kill: in `chord shell` or create_chord's shell)\n";
  if (text.str().empty()) {
    return Error(Status::BadArgument("no command '" + args[0] + "'; type help"));
  }
  if (args.empty()) {
    text << "Prefix a command with @HOST:PORT to send it to that node instead of a random one.\n"
            "NODE is HOST:PORT, :PORT (on 127.0.0.1) or the # of a node (as `ring` lists it).\n"
            "Quote values with spaces: set greeting \"hello world\".\n";
  }
  return Answer(0, text.str(), "");
}

// ---------------------------------------------------------------------------------------------
// Running

int Shell::RunScript(std::istream& in, std::ostream& out) {
  int failed = 0;
  std::string line;
  while (std::getline(in, line)) {
    ShellAnswer answer = ExecuteLine(line);
    if (answer.exit_code == 2) ++failed;
    if (options_.json) {
      if (!answer.json.empty()) out << answer.json << "\n";
    } else {
      out << answer.text;
    }
    out.flush();
    if (answer.quit) break;
  }
  return failed;
}

namespace {

// readline keeps global state and calls plain functions: the terminal shell lives here.
struct Terminal {
  Shell* shell = nullptr;
  std::ostream* out = nullptr;
  const ShellOptions* options = nullptr;
  bool done = false;
  std::vector<std::string> candidates;
  size_t next_candidate = 0;
};
Terminal terminal;

char* NextCandidate(const char* text, int state) {
  if (state == 0) terminal.next_candidate = 0;
  size_t length = std::strlen(text);
  while (terminal.next_candidate < terminal.candidates.size()) {
    const std::string& c = terminal.candidates[terminal.next_candidate++];
    if (c.compare(0, length, text) == 0) return strdup(c.c_str());
  }
  return nullptr;
}

char** Complete(const char* text, int start, int) {
  std::istringstream before(std::string(rl_line_buffer, size_t(start)));
  std::vector<std::string> words;
  for (std::string w; before >> w;) words.push_back(w);
  if (!words.empty() && words[0][0] == '@') words.erase(words.begin());
  terminal.candidates.clear();
  if (words.empty()) {
    terminal.candidates = Shell::CommandNames();
    for (const auto& m : terminal.shell->members()) terminal.candidates.push_back("@" + m);
  } else if (words[0] == "put-file" || words[0] == "get-file") {
    return nullptr;  // readline completes file names
  } else if (words[0] == "help") {
    terminal.candidates = Shell::CommandNames();
  } else {
    terminal.candidates = terminal.shell->members();
  }
  rl_attempted_completion_over = 1;  // no file names for commands and nodes
  return rl_completion_matches(text, NextCandidate);
}

// Ctrl-C arrives as a key (the terminal's ISIG is off): drop the line being typed.
int OnInterruptKey(int, int) {
  rl_point = rl_end;
  rl_redisplay();
  std::fputs("^C\n", rl_outstream);
  rl_replace_line("", 1);
  rl_on_new_line();
  rl_redisplay();
  return 0;
}

int Ding(int, int) { return rl_ding(); }

// Terminal modes around readline's own. readline sets ISIG whenever it prepares the terminal
// for a line, and restores the terminal's echo while a command runs; both are undone here: no
// signal keys at any time, and keys typed during a command are not echoed in the middle of its
// output (readline shows them once it reads them).
void SetLocalModes(tcflag_t on, tcflag_t off) {
  termios settings;
  if (tcgetattr(STDIN_FILENO, &settings) != 0) return;
  settings.c_lflag = (settings.c_lflag | on) & ~off;
  tcsetattr(STDIN_FILENO, TCSANOW, &settings);
}

void PrepTerminal(int meta_flag) {
  SetLocalModes(ECHO, 0);  // readline echoes keys itself only if the terminal would
  rl_prep_terminal(meta_flag);
  SetLocalModes(0, ISIG);
}

void DeprepTerminal() {
  rl_deprep_terminal();
  SetLocalModes(0, ISIG | ECHO);
}

void OnLine(char* line) {
  if (!line) {  // Ctrl-D
    *terminal.out << "\n";
    terminal.done = true;
    return;
  }
  std::string text(line);
  std::free(line);
  if (text.find_first_not_of(" \t") != std::string::npos) {
    add_history(text.c_str());
    const std::string& file = terminal.options->history_file;
    if (!file.empty() && append_history(1, file.c_str()) != 0) write_history(file.c_str());
  }
  ShellAnswer answer = terminal.shell->ExecuteLine(text);
  if (terminal.options->json) {
    if (!answer.json.empty()) *terminal.out << answer.json << "\n";
  } else {
    *terminal.out << answer.text;
  }
  terminal.out->flush();
  if (answer.quit) terminal.done = true;
}

}  // namespace

void Shell::RunTerminal(std::ostream& out) {
  sigset_t signals, old_mask;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);

  terminal = Terminal();
  terminal.shell = this;
  terminal.out = &out;
  terminal.options = &options_;
  rl_readline_name = "chord";
  rl_catch_signals = 0;  // signals come through the signalfd below
  rl_catch_sigwinch = 0;
  rl_attempted_completion_function = Complete;
  // Without ISIG, Ctrl-C, Ctrl-\ and Ctrl-Z reach readline as keys instead of signalling the
  // whole foreground process group, which includes every node started from here.
  termios saved_termios;
  const bool tty = tcgetattr(STDIN_FILENO, &saved_termios) == 0;
  if (tty) SetLocalModes(0, ISIG | ECHO);
  rl_prep_term_function = PrepTerminal;
  rl_deprep_term_function = DeprepTerminal;
  rl_bind_key('\003', OnInterruptKey);  // Ctrl-C
  rl_bind_key('\034', Ding);            // Ctrl-\ (would be SIGQUIT)
  rl_bind_key('\032', Ding);            // Ctrl-Z (would stop the nodes too)
  // '@' and ':' belong to node addresses, so they must not split words for completion.
  static char kBreaks[] = " \t\n\"'";
  rl_completer_word_break_characters = kBreaks;
  using_history();
  if (!options_.history_file.empty()) read_history(options_.history_file.c_str());

  out << "type help for the commands, quit or Ctrl-D to leave\n";
  out.flush();
  rl_callback_handler_install(options_.prompt.c_str(), OnLine);
  while (!terminal.done) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    int ready = poll(fds, signal_fd >= 0 ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (signal_fd >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo info;
      if (read(signal_fd, &info, sizeof(info)) == ssize_t(sizeof(info))) {
        if (info.ssi_signo == SIGWINCH) {
          rl_resize_terminal();
        } else if (info.ssi_signo == SIGINT) {
          // A SIGINT from elsewhere (kill -INT) drops the line being typed, like Ctrl-C.
          rl_callback_sigcleanup();
          rl_free_line_state();
          rl_replace_line("", 0);
          out << "^C\n";
          out.flush();
          rl_on_new_line();
          rl_redisplay();
        } else {
          out << "\n" << strsignal(int(info.ssi_signo)) << ": leaving the shell\n";
          terminal.done = true;
        }
      }
    }
    if (!terminal.done && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      rl_callback_read_char();
    }
  }
  rl_callback_handler_remove();
  rl_prep_term_function = rl_prep_terminal;
  rl_deprep_term_function = rl_deprep_terminal;
  if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  if (!options_.history_file.empty()) history_truncate_file(options_.history_file.c_str(), 1000);
  if (signal_fd >= 0) close(signal_fd);
  terminal = Terminal();
  // Signals that arrived meanwhile were read from the signalfd; restoring the mask is safe.
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
}

}  // namespace chord
