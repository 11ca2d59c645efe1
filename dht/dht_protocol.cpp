#include "dht/dht_protocol.h"

#include <utility>

#include "commands/typed_call.h"
#include "commands/xml_unicode.h"
#include "dht/hash_tree.h"
#include "dht/packed_records.h"

namespace chord {

// A DHT value travels as an XML-RPC string, or as base64 when it is binary, and comes back with
// the type it was stored with.
template <>
struct ValueTraits<DhtValue> {
  static constexpr char kLetter = '*';
  static std::string Describe() { return "string or base64"; }
  static xmlrpc_c::value ToValue(const DhtValue& value) {
    if (!value.binary) return ValueTraits<std::string>::ToValue(value.bytes);
    return xmlrpc_c::value_bytestring(
        std::vector<unsigned char>(value.bytes.begin(), value.bytes.end()));
  }
  static Result<DhtValue> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() == xmlrpc_c::value::TYPE_STRING) {
      return DhtValue{ValueTraits<std::string>::FromValue(value, path).value(), false};
    }
    if (value.type() == xmlrpc_c::value::TYPE_BYTESTRING) {
      auto bytes = xmlrpc_c::value_bytestring(value).vectorUcharValue();
      return DhtValue{std::string(bytes.begin(), bytes.end()), true};
    }
    return Status::BadArgument(path.ToString() + " must be string or base64, got " +
                               ValueTypeName(value.type()));
  }
};

namespace {

// A node in a reply: {id (hex), address}.
struct WireNode {
  DhtNode node;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", node.id);
    visit("address", node.address);
  }
};

// ---------------------------------------------------------------------------------------------
// Wire forms of the client commands' answers.

struct WireWriteReply {
  bool stored = false;
  std::optional<bool> exists;  // dht.add only
  WireNode node;
  int hops = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("stored", stored);
    visit("exists", exists);
    visit("node", node);
    visit("hops", hops);
  }
};

struct WireGetReply {
  bool found = false;
  std::optional<DhtValue> value;
  WireNode node;
  int hops = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("found", found);
    visit("value", value);
    visit("node", node);
    visit("hops", hops);
  }
};

struct WireRemoveReply {
  bool removed = false;
  WireNode node;
  int hops = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("removed", removed);
    visit("node", node);
    visit("hops", hops);
  }
};

struct WireLocateReply {
  std::string id;
  WireNode node;
  int hops = 0;
  std::vector<WireNode> replicas;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("node", node);
    visit("hops", hops);
    visit("replicas", replicas);
  }
};

struct WireStats {
  int owned = 0;
  int replicas = 0;
  int tombstones = 0;
  int received = 0;
  int received_as_owner = 0;
  bool settled = false;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("owned", owned);
    visit("replicas", replicas);
    visit("tombstones", tombstones);
    visit("received", received);
    visit("received_as_owner", received_as_owner);
    visit("settled", settled);
  }
};

// dht.watch's answer; the version is decimal text, as everywhere on the wire.
struct WireWatchReply {
  bool changed = false;
  bool found = false;
  std::optional<DhtValue> value;
  std::string version;
  WireNode node;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("changed", changed);
    visit("found", found);
    visit("value", value);
    visit("version", version);
    visit("node", node);
  }
};

struct WireKey {
  std::string key;
  bool owned = false;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("key", key);
    visit("owned", owned);
  }
};

struct WireKeys {
  std::vector<WireKey> keys;
  bool truncated = false;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("keys", keys);
    visit("truncated", truncated);
  }
};

// dht.set_many: the keys, and one result per key ({code} 0 = stored, else the fault code and
// message the key would have got from dht.set; owner when routed elsewhere).
struct WireSetItem {
  std::string key;
  DhtValue value;
  std::optional<int> ttl;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("key", key);
    visit("value", value);
    visit("ttl", ttl);
  }
};

struct WireSetResult {
  int code = 0;
  std::optional<std::string> message;
  std::optional<WireNode> owner;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("code", code);
    visit("message", message);
    visit("owner", owner);
  }
};

struct WireSetManyReply {
  WireNode node;
  std::vector<WireSetResult> results;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("node", node);
    visit("results", results);
  }
};

struct WireOwnedRecord {
  std::string key;
  DhtValue value;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("key", key);
    visit("value", value);
  }
};

struct WireOwned {
  std::vector<WireOwnedRecord> records;
  bool more = false;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("records", records);
    visit("more", more);
  }
};

// ---------------------------------------------------------------------------------------------
// Wire forms of the peer commands. 64-bit numbers travel as decimal strings, which any XML-RPC
// client can read (i8 is an extension).

struct WireOwnerOp {
  std::string op;
  std::string key;
  std::optional<DhtValue> value;
  std::optional<int> ttl;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("op", op);
    visit("key", key);
    visit("value", value);
    visit("ttl", ttl);
  }
};

struct WireOwnerReply {
  bool ok = false;
  bool exists = false;
  std::optional<DhtValue> value;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("ok", ok);
    visit("exists", exists);
    visit("value", value);
  }
};

struct WireRecord {
  std::string key;
  DhtValue value;
  std::string version;
  bool tombstone = false;
  std::string expires_at_ms;
  std::string written_at_ms;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("key", key);
    visit("value", value);
    visit("version", version);
    visit("tombstone", tombstone);
    visit("expires_at_ms", expires_at_ms);
    visit("written_at_ms", written_at_ms);
  }
};

struct WireStored {
  int stored = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("stored", stored);
  }
};

struct WireRecords {
  std::vector<WireRecord> records;
  std::optional<int> answered;  // keys covered; absent: all of them
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("records", records);
    visit("answered", answered);
  }
};

struct WireDigest {
  std::string key;
  std::string version;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("key", key);
    visit("version", version);
  }
};

struct WireDigests {
  std::vector<WireDigest> digests;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("digests", digests);
  }
};

struct WireTreeHashes {
  std::vector<std::string> hashes;  // decimal: XML-RPC has no unsigned 64-bit type
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("hashes", hashes);
  }
};

struct WireNeeded {
  std::vector<std::string> keys;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("keys", keys);
  }
};

// ---------------------------------------------------------------------------------------------
// Conversions with checks

// The one mapping between operations and their names on the wire.
constexpr std::pair<DhtOp, const char*> kOpNames[] = {
    {DhtOp::kSet, "set"}, {DhtOp::kAdd, "add"}, {DhtOp::kGet, "get"}, {DhtOp::kRemove, "remove"}};

const char* OpName(DhtOp op) {
  for (const auto& entry : kOpNames) {
    if (entry.first == op) return entry.second;
  }
  return "?";
}

Result<DhtOp> OpFromName(const std::string& name, const std::string& what) {
  for (const auto& entry : kOpNames) {
    if (name == entry.second) return entry.first;
  }
  return Status::BadArgument(what + " must be set, add, get or remove, got '" + name + "'");
}

// A decimal number in 0..max, digits only (no sign, no spaces, no leading '+').
Result<uint64_t> ParseDecimal(const std::string& text, uint64_t max, const std::string& what) {
  if (text.empty() || text.size() > 20) {
    return Status::BadArgument(what + " must be a decimal number, got '" + text + "'");
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Status::BadArgument(what + " must be a non-negative decimal number, got '" + text +
                                 "'");
    }
    unsigned digit = unsigned(c - '0');
    if (value > (max - digit) / 10) {
      return Status::BadArgument(what + " " + text + " is over the limit " + std::to_string(max));
    }
    value = value * 10 + digit;
  }
  return value;
}

Status CheckBatch(size_t size, const std::string& what) {
  if (size <= kMaxWireBatch) return Status::Ok();
  return Status::BadArgument(what + " holds " + std::to_string(size) + " entries, at most " +
                             std::to_string(kMaxWireBatch) + " allowed");
}

WireRecord RecordToWire(const Record& record) {
  const Entry& e = record.entry;
  return {record.key,
          {e.value, e.binary},
          std::to_string(e.version),
          e.tombstone,
          std::to_string(e.expires_at_ms),
          std::to_string(e.written_at_ms)};
}

Result<Record> RecordFromWire(const WireRecord& wire, const DhtLimits& limits,
                              const std::string& what) {
  Status check = CheckKey(wire.key, limits);
  if (check.ok()) check = CheckValue(wire.value, limits);
  if (!check.ok()) return Status::BadArgument(what + ": " + check.message());
  auto version = ParseDecimal(wire.version, kMaxVersion, what + ".version");
  auto expires = ParseDecimal(wire.expires_at_ms, uint64_t(kMaxTimeMs), what + ".expires_at_ms");
  auto written = ParseDecimal(wire.written_at_ms, uint64_t(kMaxTimeMs), what + ".written_at_ms");
  for (const Status& s : {version.status(), expires.status(), written.status()}) {
    if (!s.ok()) return s;
  }
  Record record;
  record.key = wire.key;
  record.id = Id::Hash(wire.key, limits.bits);
  record.entry.value = wire.value.bytes;
  record.entry.binary = wire.value.binary;
  record.entry.version = version.value();
  record.entry.tombstone = wire.tombstone;
  record.entry.expires_at_ms = int64_t(expires.value());
  record.entry.written_at_ms = int64_t(written.value());
  return record;
}

Result<std::vector<Record>> RecordsFromWire(const std::vector<WireRecord>& wire,
                                            const DhtLimits& limits, const std::string& what) {
  Status batch = CheckBatch(wire.size(), what);
  if (!batch.ok()) return batch;
  std::vector<Record> records;
  records.reserve(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) {
    auto record = RecordFromWire(wire[i], limits, what + "[" + std::to_string(i) + "]");
    if (!record.ok()) return record.status();
    records.push_back(std::move(record).value());
  }
  return records;
}

std::vector<WireRecord> RecordsToWire(const std::vector<Record>& records) {
  std::vector<WireRecord> wire;
  wire.reserve(records.size());
  for (const Record& record : records) wire.push_back(RecordToWire(record));
  return wire;
}

Result<std::vector<RecordDigest>> DigestsFromWire(const std::vector<WireDigest>& wire,
                                                  const DhtLimits& limits,
                                                  const std::string& what) {
  Status batch = CheckBatch(wire.size(), what);
  if (!batch.ok()) return batch;
  std::vector<RecordDigest> digests;
  digests.reserve(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) {
    const std::string item = what + "[" + std::to_string(i) + "]";
    Status key = CheckKey(wire[i].key, limits);
    if (!key.ok()) return Status::BadArgument(item + ": " + key.message());
    auto version = ParseDecimal(wire[i].version, kMaxVersion, item + ".version");
    if (!version.ok()) return version.status();
    digests.push_back({wire[i].key, version.value()});
  }
  return digests;
}

std::vector<WireDigest> DigestsToWire(const std::vector<RecordDigest>& digests) {
  std::vector<WireDigest> wire;
  wire.reserve(digests.size());
  for (const auto& d : digests) wire.push_back({d.key, std::to_string(d.version)});
  return wire;
}

WireNode NodeToWire(const NodeRef& node, int bits) {
  return WireNode{DhtNode{node.id.ToHex(bits), node.address}};
}

// A node named in a client command's answer: a hex id of any ring size and a sane address.
Status CheckWireNode(const WireNode& wire, const std::string& what) {
  auto id = Id::FromHex(wire.node.id, Id::kMaxBits);
  if (!id.ok()) return Status::BadArgument(what + ": " + id.status().message());
  return CheckNode(NodeRef{id.value(), wire.node.address}, what);
}

template <typename T>
Result<T> Arg(const xmlrpc_c::paramList& params, size_t index, const std::string& name) {
  return ValueTraits<T>::FromValue(params[index], ValuePath::Argument(index + 1, name));
}

// ---------------------------------------------------------------------------------------------
// Registration of the client commands

// The items of a dht.set_many request, checked: bounded in number and bytes, every key, value
// and ttl as dht.set checks them. One bad item refuses the whole call (nothing is stored).
Result<std::vector<DhtSetItem>> SetItemsFromWire(const std::vector<WireSetItem>& wire,
                                                 const DhtLimits& limits) {
  if (wire.empty() || wire.size() > kMaxSetManyItems) {
    return Status::BadArgument("argument 1 (items) holds " + std::to_string(wire.size()) +
                               " keys, 1.." + std::to_string(kMaxSetManyItems) + " allowed");
  }
  std::vector<DhtSetItem> items;
  items.reserve(wire.size());
  size_t bytes = 0;
  for (size_t i = 0; i < wire.size(); ++i) {
    DhtSetItem item{wire[i].key, wire[i].value, wire[i].ttl.value_or(0)};
    for (const Status& s :
         {CheckKey(item.key, limits), CheckValue(item.value, limits), CheckTtl(item.ttl_s)}) {
      if (!s.ok()) {
        return Status::BadArgument("argument 1 (items)[" + std::to_string(i) + "]: " + s.message());
      }
    }
    bytes += item.key.size() + item.value.bytes.size();
    if (bytes > kMaxSetManyBytes) {
      return Status::BadArgument("argument 1 (items) holds more than " +
                                 std::to_string(kMaxSetManyBytes) + " bytes of keys and values");
    }
    items.push_back(std::move(item));
  }
  return items;
}

void RegisterSetMany(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  commands->Add(MakeCommand<WireSetManyReply(std::vector<WireSetItem>)>(
      kSetManyMethod, Audience::kClient,
      "set_many([{key, value[, ttl]}]): store up to 1000 keys (4 MiB of keys and values) in one "
      "call, best sent to their owner (the keys it does not own are routed one by one). Answer "
      "{node, results: [{code, message, owner}]}, one result per key in order: code 0 stored, "
      "else the fault code dht.set would have given that key (message says why; owner: where "
      "a routed key went).",
      {"items"},
      [limits, service](const std::vector<WireSetItem>& wire) -> Result<WireSetManyReply> {
        auto items = SetItemsFromWire(wire, limits);
        if (!items.ok()) return items.status();
        NodeRef self;
        std::vector<DhtSetResult> results = service->ServiceSetMany(items.value(), &self);
        WireSetManyReply reply;
        reply.node = NodeToWire(self, limits.bits);
        reply.results.reserve(results.size());
        for (const DhtSetResult& result : results) {
          WireSetResult out{int(result.status.code()), std::nullopt, std::nullopt};
          if (!result.status.ok()) out.message = result.status.message();
          if (result.owner) out.owner = WireNode{*result.owner};
          reply.results.push_back(std::move(out));
        }
        return reply;
      }));
}

Command WriteCommand(DhtOp op, const char* name, const char* help, const DhtLimits& limits,
                     DhtService* service) {
  return Command{
      name,
      Audience::kClient,
      "S:s*,S:s*i",
      help,
      [op, limits, service](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
        auto key = Arg<std::string>(p, 0, "key");
        auto value = Arg<DhtValue>(p, 1, "value");
        auto ttl = p.size() > 2 ? Arg<int>(p, 2, "ttl") : Result<int>(0);
        for (const Status& s : {key.status(), value.status(), ttl.status()}) {
          if (!s.ok()) return s;
        }
        for (const Status& s : {CheckKey(key.value(), limits), CheckValue(value.value(), limits),
                                CheckTtl(ttl.value())}) {
          if (!s.ok()) return s;
        }
        auto answer = service->ServiceClientOp(op, key.value(), value.value(), ttl.value());
        if (!answer.ok()) return answer.status();
        WireWriteReply reply{answer->ok, std::nullopt, NodeToWire(answer->node, limits.bits),
                             answer->hops};
        if (op == DhtOp::kAdd) reply.exists = answer->exists;
        return ToValue(reply);
      },
      {"key", "value", "ttl"}};
}

void RegisterClientCommands(RegisteredCommands* commands, const DhtLimits& limits,
                            DhtService* service) {
  const int bits = limits.bits;
  commands->Add(WriteCommand(DhtOp::kSet, "dht.set",
                             "set(key, value[, ttl_seconds]): store or overwrite; value is a "
                             "string or base64 and comes back with the same type. Answer "
                             "{stored, node, hops}.",
                             limits, service));
  commands->Add(WriteCommand(DhtOp::kAdd, "dht.add",
                             "add(key, value[, ttl_seconds]): store only if absent. Answer "
                             "{stored, exists, node, hops}; an existing key gives stored=false, "
                             "exists=true.",
                             limits, service));
  // Routed to the owner; the owner itself answers at once (on the server's network thread).
  auto get = [limits, service](bool at_once) {
    return [limits, service, at_once](const std::string& key) -> Result<WireGetReply> {
      Status check = CheckKey(key, limits);
      if (!check.ok()) return check;
      auto answer = at_once ? service->ServiceGetAtOnce(key)
                            : service->ServiceClientOp(DhtOp::kGet, key, {}, 0);
      if (!answer.ok()) return answer.status();
      WireGetReply reply{answer->ok, std::nullopt, NodeToWire(answer->node, limits.bits),
                         answer->hops};
      if (answer->ok) reply.value = answer->value;
      return reply;
    };
  };
  const char* const kGetHelp = "get(key): answer {found, value (if found), node, hops}.";
  Command get_command = MakeCommand<WireGetReply(std::string)>("dht.get", Audience::kClient,
                                                               kGetHelp, {"key"}, get(false));
  get_command.quick = MakeCommand<WireGetReply(std::string)>("dht.get", Audience::kClient, kGetHelp,
                                                             {"key"}, get(true))
                          .handler;
  commands->Add(std::move(get_command));
  commands->Add(MakeCommand<WireRemoveReply(std::string)>(
      "dht.remove", Audience::kClient,
      "remove(key): answer {removed, node, hops}; removed=false if absent.", {"key"},
      [limits, service](const std::string& key) -> Result<WireRemoveReply> {
        Status check = CheckKey(key, limits);
        if (!check.ok()) return check;
        auto answer = service->ServiceClientOp(DhtOp::kRemove, key, {}, 0);
        if (!answer.ok()) return answer.status();
        return WireRemoveReply{answer->ok, NodeToWire(answer->node, limits.bits), answer->hops};
      }));
  commands->Add(MakeCommand<WireLocateReply(std::string)>(
      "dht.locate", Audience::kClient,
      "locate(key): the owner without the value: {id (of the key), node, hops, replicas}.", {"key"},
      [limits, service, bits](const std::string& key) -> Result<WireLocateReply> {
        Status check = CheckKey(key, limits);
        if (!check.ok()) return check;
        auto found = service->ServiceLocate(key);
        if (!found.ok()) return found.status();
        WireLocateReply reply{
            Id::Hash(key, bits).ToHex(bits), NodeToWire(found->owner, bits), found->hops, {}};
        for (size_t i = 1; i < found->successors.size(); ++i) {
          reply.replicas.push_back(NodeToWire(found->successors[i], bits));
        }
        return reply;
      }));
}

// dht.watch: a long poll, answered on the key's owner.
void RegisterWatch(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  commands->Add(MakeCommand<WireWatchReply(std::string, std::string, int)>(
      "dht.watch", Audience::kClient,
      "watch(key, version, timeout_ms): on the key's owner (dht.locate), waits until the key's "
      "version differs from `version` (decimal; \"0\" for a key never seen) or timeout_ms (at "
      "most 60000) passes, then answers {changed, found, value (if found), version, node}. A "
      "node that does not own the key answers fault 7 (not_owner); one serving as many watches "
      "as it allows, fault 8 (busy).",
      {"key", "version", "timeout_ms"},
      [limits, service](const std::string& key, const std::string& version_text,
                        int timeout_ms) -> Result<WireWatchReply> {
        Status check = CheckKey(key, limits);
        if (!check.ok()) return check;
        auto version = ParseDecimal(version_text, kMaxVersion, "argument 2 (version)");
        if (!version.ok()) return version.status();
        if (timeout_ms < 0 || timeout_ms > kMaxWatchMs) {
          return Status::BadArgument("argument 3 (timeout_ms) must be 0.." +
                                     std::to_string(kMaxWatchMs));
        }
        auto watch = service->ServiceWatch(key, version.value(), timeout_ms);
        if (!watch.ok()) return watch.status();
        WireWatchReply reply{watch->changed, watch->found, std::nullopt,
                             std::to_string(watch->version), WireNode{watch->owner}};
        if (watch->found) reply.value = watch->value;
        return reply;
      }));
}

void RegisterInspection(RegisteredCommands* commands, const DhtLimits& limits,
                        DhtService* service) {
  commands->Add(MakeCommand<WireStats()>(
      "dht.stats", Audience::kClient,
      "Entries held here: {owned, replicas, tombstones, received, received_as_owner, settled "
      "(this node holds its whole range)}.",
      [service]() -> Result<WireStats> {
        DhtStats s = service->ServiceStats();
        return WireStats{int(s.owned),    int(s.replicas),          int(s.tombstones),
                         int(s.received), int(s.received_as_owner), s.settled};
      }));
  commands->Add(
      Command{"dht.keys",
              Audience::kClient,
              "S:,S:i",
              "keys([limit]): live keys held here, in id order: {keys: [{key, owned}], truncated}. "
              "Default limit 1000, at most 100000.",
              [service](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
                auto limit = p.size() > 0 ? Arg<int>(p, 0, "limit") : Result<int>(1000);
                if (!limit.ok()) return limit.status();
                if (limit.value() < 0 || limit.value() > kMaxKeysListed) {
                  return Status::BadArgument("argument 1 (limit) must be 0.." +
                                             std::to_string(kMaxKeysListed));
                }
                DhtKeyList list = service->ServiceKeys(size_t(limit.value()));
                WireKeys wire{{}, list.truncated};
                for (const auto& key : list.keys) wire.keys.push_back({key.key, key.owned});
                return ToValue(wire);
              },
              {"limit"}});
  commands->Add(MakeCommand<WireOwned(std::string, int)>(
      "dht.owned", Audience::kClient,
      "owned(after, limit): live records this node owns, in ring order after the key `after` "
      "(\"\": from the start of its range), at most limit (1..4096) and about 1 MiB: "
      "{records: [{key, value}], more}; more: ask again after the last key. Walking every "
      "node yields every key once (chord dump).",
      {"after", "limit"},
      [limits, service](const std::string& after, int limit) -> Result<WireOwned> {
        if (!after.empty()) {
          Status check = CheckKey(after, limits);
          if (!check.ok()) return Status::BadArgument("argument 1 (after): " + check.message());
        }
        if (limit < 1 || size_t(limit) > kMaxWireBatch) {
          return Status::BadArgument("argument 2 (limit) must be 1.." +
                                     std::to_string(kMaxWireBatch));
        }
        DhtOwnedPage page = service->ServiceOwned(after, size_t(limit));
        WireOwned wire{{}, page.more};
        wire.records.reserve(page.records.size());
        for (auto& r : page.records) wire.records.push_back({r.key, r.value});
        return wire;
      }));
}

// ---------------------------------------------------------------------------------------------
// Registration of the peer commands

Result<OwnerRequest> OwnerRequestFromWire(const WireOwnerOp& wire, const DhtLimits& limits) {
  auto op = OpFromName(wire.op, "argument 1 (request.op)");
  if (!op.ok()) return op.status();
  OwnerRequest request{op.value(), wire.key, wire.value.value_or(DhtValue{}), wire.ttl.value_or(0)};
  const bool writes = request.op == DhtOp::kSet || request.op == DhtOp::kAdd;
  if (writes && !wire.value) return Status::BadArgument("argument 1 (request.value) is missing");
  for (const Status& s : {CheckKey(request.key, limits), CheckValue(request.value, limits),
                          CheckTtl(request.ttl_s)}) {
    if (!s.ok()) return s;
  }
  return request;
}

void RegisterOwnerOp(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  // A get whose key is here (or known to be nowhere) is answered at once, on the server's
  // network thread; writes replicate, so they always go to a worker.
  auto serve = [limits, service](bool at_once) {
    return [limits, service, at_once](const WireOwnerOp& wire) -> Result<WireOwnerReply> {
      auto request = OwnerRequestFromWire(wire, limits);
      if (!request.ok()) return request.status();
      if (at_once && request->op != DhtOp::kGet) return Status::WouldBlock();
      auto answer = at_once ? service->ServiceGetAtOnce(request->key)
                            : service->ServiceOwnerOp(request.value());
      if (!answer.ok()) return answer.status();
      WireOwnerReply reply{answer->ok, answer->exists, std::nullopt};
      if (request->op == DhtOp::kGet && answer->ok) reply.value = answer->value;
      return reply;
    };
  };
  const char* const kHelp =
      "Peers: run {op, key, value, ttl} on this node as the key's owner. Answer {ok, exists, "
      "value}; a not_owner fault (code 7) if the key belongs to a node before this one.";
  Command command = MakeCommand<WireOwnerReply(WireOwnerOp)>(kOwnerOpMethod, Audience::kPeer, kHelp,
                                                             {"request"}, serve(false));
  command.quick = MakeCommand<WireOwnerReply(WireOwnerOp)>(kOwnerOpMethod, Audience::kPeer, kHelp,
                                                           {"request"}, serve(true))
                      .handler;
  commands->Add(std::move(command));
}

void RegisterTransfer(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  auto put_many = [limits, service](const std::vector<WireRecord>& wire) -> Result<WireStored> {
    auto records = RecordsFromWire(wire, limits, "argument 1 (records)");
    if (!records.ok()) return records.status();
    auto stored = service->ServicePutMany(records.value());
    if (!stored.ok()) return stored.status();
    return WireStored{int(stored.value())};
  };
  commands->Add(AnswersAtOnce(MakeCommand<WireStored(std::vector<WireRecord>)>(
      kPutManyMethod, Audience::kPeer,
      "Peers: store records (newest version wins). Every record is checked before any is "
      "stored. Answer {stored: count}.",
      {"records"}, put_many)));
  // The same for the copies of a client's batch: served by a worker (a batch of a thousand
  // records would hold up the network thread), and called with the fixed time-out (see
  // AdaptDhtTimeouts).
  commands->Add(MakeCommand<WireStored(DhtValue)>(
      kPutBatchMethod, Audience::kPeer,
      "Peers: as dht.put_many, for the copies of a batch of client writes, the records packed "
      "in one base64 value (dht/packed_records.h). Answer {stored: count}.",
      {"records"}, [limits, service](const DhtValue& packed) -> Result<WireStored> {
        if (!packed.binary) return Status::BadArgument("argument 1 (records) must be base64");
        auto records = UnpackRecords(packed.bytes, limits);
        if (!records.ok()) return records.status();
        auto stored = service->ServicePutMany(records.value());
        if (!stored.ok()) return stored.status();
        return WireStored{int(stored.value())};
      }));
  commands->Add(AnswersAtOnce(MakeCommand<WireRecords(std::vector<std::string>)>(
      kFetchMethod, Audience::kPeer,
      "Peers: the records (tombstones included) held here for the given keys: {records}.", {"keys"},
      [limits, service](const std::vector<std::string>& keys) -> Result<WireRecords> {
        Status batch = CheckBatch(keys.size(), "argument 1 (keys)");
        if (!batch.ok()) return batch;
        for (const auto& key : keys) {
          Status check = CheckKey(key, limits);
          if (!check.ok()) return Status::BadArgument("argument 1 (keys): " + check.message());
        }
        FetchedRecords fetched = service->ServiceFetch(keys);
        return WireRecords{RecordsToWire(fetched.records), int(fetched.answered)};
      })));
}

Result<xmlrpc_c::value> ServeDigest(const xmlrpc_c::paramList& p, const DhtLimits& limits,
                                    DhtService* service) {
  const bool has_after = p.size() == 4;
  auto from = Id::FromHex(p.getString(0), limits.bits);
  auto to = Id::FromHex(p.getString(1), limits.bits);
  auto limit = Arg<int>(p, p.size() - 1, "limit");
  for (const Status& s : {from.status(), to.status(), limit.status()}) {
    if (!s.ok()) return s;
  }
  std::optional<std::string> after;
  if (has_after) {
    auto key = Arg<std::string>(p, 2, "after");
    if (!key.ok()) return key.status();
    after = key.value();
    Status check = CheckKey(*after, limits);
    if (!check.ok()) return Status::BadArgument("argument 3 (after): " + check.message());
  }
  if (limit.value() < 1 || size_t(limit.value()) > kMaxWireBatch) {
    return Status::BadArgument("limit must be 1.." + std::to_string(kMaxWireBatch));
  }
  auto digests = service->ServiceDigest(from.value(), to.value(), after, size_t(limit.value()));
  return ToValue(WireDigests{DigestsToWire(digests)});
}

void RegisterRepair(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  commands->Add(Command{
      "dht.digest",
      Audience::kPeer,
      "S:ssi,S:sssi",
      "Peers: digest(from_hex, to_hex[, after_key], limit): {digests: [{key, version}]} of the "
      "records held here with ids in (from, to], in ring order.",
      [limits, service](const xmlrpc_c::paramList& p) { return ServeDigest(p, limits, service); },
      {"from", "to", "after", "limit"}});
  commands->Add(MakeCommand<WireNeeded(std::vector<WireDigest>)>(
      "dht.need", Audience::kPeer,
      "Peers: need([{key, version}]): {keys} this node lacks or holds in an older version, in "
      "the order given.",
      {"digests"}, [limits, service](const std::vector<WireDigest>& wire) -> Result<WireNeeded> {
        auto digests = DigestsFromWire(wire, limits, "argument 1 (digests)");
        if (!digests.ok()) return digests.status();
        return WireNeeded{service->ServiceNeed(digests.value())};
      }));
}

// The arguments of dht.tree, checked against the shape of this ring's hash tree.
Result<std::vector<uint32_t>> CheckTreeIndices(int level, const std::vector<int>& indices,
                                               const DhtLimits& limits) {
  const int depth = HashTree::DepthFor(limits.bits);
  if (level < 0 || level > depth) {
    return Status::BadArgument("level must be 0.." + std::to_string(depth));
  }
  if (indices.empty()) return Status::BadArgument("argument 4 (indices) is empty");
  Status batch = CheckBatch(indices.size(), "argument 4 (indices)");
  if (!batch.ok()) return batch;
  const int64_t width = int64_t(1) << (4 * level);
  std::vector<uint32_t> checked;
  checked.reserve(indices.size());
  for (int index : indices) {
    if (index < 0 || index >= width) {
      return Status::BadArgument("argument 4 (indices): " + std::to_string(index) +
                                 " is not a node of level " + std::to_string(level));
    }
    checked.push_back(uint32_t(index));
  }
  return checked;
}

void RegisterTree(RegisteredCommands* commands, const DhtLimits& limits, DhtService* service) {
  commands->Add(
      AnswersAtOnce(MakeCommand<WireTreeHashes(std::string, std::string, int, std::vector<int>)>(
          "dht.tree", Audience::kPeer,
          "Peers: tree(from_hex, to_hex, level, [index]): {hashes} of the records held here in "
          "each hash-tree node's arc, counting ids in (from, to] (docs/dht.md, anti-entropy).",
          {"from", "to", "level", "indices"},
          [limits, service](const std::string& from_hex, const std::string& to_hex, int level,
                            const std::vector<int>& wire_indices) -> Result<WireTreeHashes> {
            auto from = Id::FromHex(from_hex, limits.bits);
            auto to = Id::FromHex(to_hex, limits.bits);
            auto indices = CheckTreeIndices(level, wire_indices, limits);
            for (const Status& s : {from.status(), to.status(), indices.status()}) {
              if (!s.ok()) return s;
            }
            WireTreeHashes out;
            for (uint64_t h :
                 service->ServiceTreeHashes(from.value(), to.value(), level, indices.value())) {
              out.hashes.push_back(std::to_string(h));
            }
            return out;
          })));
}

}  // namespace

const char kOwnerOpMethod[] = "dht.owner_op";

size_t RecordWireBytes(const Record& record) {
  constexpr size_t kStructBytes = 512;  // member names, tags, version and times
  return (record.entry.value.size() + 56) / 57 * 78 + 6 * record.key.size() + kStructBytes;
}
const char kPutManyMethod[] = "dht.put_many";
const char kPutBatchMethod[] = "dht.put_batch";
const char kSetManyMethod[] = "dht.set_many";
const char kFetchMethod[] = "dht.fetch";

Status CheckKey(const std::string& key, const DhtLimits& limits) {
  if (key.empty()) return Status::BadArgument("key is empty");
  if (!IsXmlText(key)) {
    return Status::BadArgument("key is not text (UTF-8 without control characters)");
  }
  if (key.size() > limits.max_key_bytes) {
    return Status::BadArgument("key is " + std::to_string(key.size()) + " bytes, limit " +
                               std::to_string(limits.max_key_bytes));
  }
  return Status::Ok();
}

Status CheckValue(const DhtValue& value, const DhtLimits& limits) {
  if (!value.binary && !IsXmlText(value.bytes)) {
    return Status::BadArgument(
        "a string value must be text (UTF-8 without control characters); store bytes as base64");
  }
  if (value.bytes.size() > limits.max_value_bytes) {
    return Status::BadArgument("value is " + std::to_string(value.bytes.size()) + " bytes, limit " +
                               std::to_string(limits.max_value_bytes));
  }
  return Status::Ok();
}

Status CheckTtl(int ttl_s) {
  if (ttl_s < 0 || ttl_s > kMaxTtlSeconds) {
    return Status::BadArgument("ttl must be 0.." + std::to_string(kMaxTtlSeconds) +
                               " seconds, got " + std::to_string(ttl_s));
  }
  return Status::Ok();
}

void AdaptDhtTimeouts(Transport* transport) {
  for (const char* method : {kOwnerOpMethod, kPutManyMethod, kFetchMethod}) {
    transport->AdaptTimeouts(method, method);
  }
}

void RegisterDhtCommands(RegisteredCommands* commands, const DhtLimits& limits,
                         DhtService* service) {
  RegisterClientCommands(commands, limits, service);
  RegisterSetMany(commands, limits, service);
  RegisterInspection(commands, limits, service);
  RegisterWatch(commands, limits, service);
  RegisterOwnerOp(commands, limits, service);
  RegisterTransfer(commands, limits, service);
  RegisterRepair(commands, limits, service);
  RegisterTree(commands, limits, service);
}

// ---------------------------------------------------------------------------------------------
// Calling peers

xmlrpc_c::paramList EncodeOwnerOp(const OwnerRequest& request) {
  WireOwnerOp wire{OpName(request.op), request.key, std::nullopt, std::nullopt};
  if (request.op == DhtOp::kSet || request.op == DhtOp::kAdd) {
    wire.value = request.value;
    wire.ttl = request.ttl_s;
  }
  return MakeParams(wire);
}

Result<DhtAnswer> DecodeOwnerReply(const xmlrpc_c::value& reply, const DhtLimits& limits) {
  auto wire = FromValue<WireOwnerReply>(reply, "the reply of dht.owner_op");
  if (!wire.ok()) return MalformedReply("the owner", wire.status());
  DhtAnswer answer;
  answer.ok = wire->ok;
  answer.exists = wire->exists;
  if (wire->value) {
    Status check = CheckValue(*wire->value, limits);
    if (!check.ok()) return MalformedReply("the owner", check);
    answer.value = *wire->value;
  }
  return answer;
}

xmlrpc_c::paramList EncodePutMany(const std::vector<Record>& records) {
  return MakeParams(RecordsToWire(records));
}

xmlrpc_c::paramList EncodePutBatch(const std::vector<Record>& records) {
  return MakeParams(DhtValue{PackRecords(records), true});
}

Result<size_t> DecodePutManyReply(const xmlrpc_c::value& reply) {
  auto wire = FromValue<WireStored>(reply, "the reply of dht.put_many");
  if (!wire.ok()) return MalformedReply("a holder", wire.status());
  if (wire->stored < 0) return MalformedReply("a holder", Status::BadArgument("negative count"));
  return size_t(wire->stored);
}

Result<size_t> DhtPeerStub::PutMany(const std::string& address,
                                    const std::vector<Record>& records) const {
  auto reply = transport_->Call(address, kPutManyMethod, EncodePutMany(records));
  if (!reply.ok()) return reply.status();
  return DecodePutManyReply(reply.value());
}

Result<FetchedRecords> DhtPeerStub::Fetch(const std::string& address,
                                          const std::vector<std::string>& keys) const {
  return ReadFetched(transport_->Call(address, kFetchMethod, MakeParams(keys)), address, keys);
}

std::vector<Result<FetchedRecords>> DhtPeerStub::FetchFromEach(
    const std::vector<std::string>& addresses, const std::vector<std::string>& keys) const {
  std::vector<CallSpec> calls;
  calls.reserve(addresses.size());
  const xmlrpc_c::paramList params = MakeParams(keys);
  for (const auto& address : addresses) calls.push_back({address, kFetchMethod, params});
  auto replies = transport_->CallAll(calls);
  std::vector<Result<FetchedRecords>> out;
  out.reserve(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    out.push_back(i < replies.size() ? ReadFetched(replies[i], addresses[i], keys)
                                     : Result<FetchedRecords>(
                                           Status::Unavailable("no reply from " + addresses[i])));
  }
  return out;
}

Result<FetchedRecords> DhtPeerStub::ReadFetched(const Result<xmlrpc_c::value>& reply,
                                                const std::string& address,
                                                const std::vector<std::string>& keys) const {
  auto wire = ReadReply<WireRecords>(reply, address, kFetchMethod);
  if (!wire.ok()) return wire.status();
  auto records = RecordsFromWire(wire->records, limits_, "records");
  if (!records.ok()) return MalformedReply(address, records.status());
  const int answered = wire->answered.value_or(int(keys.size()));
  if (keys.empty() ? answered != 0 : answered < 1 || size_t(answered) > keys.size()) {
    return MalformedReply(address,
                          Status::BadArgument("answered " + std::to_string(answered) + " of " +
                                              std::to_string(keys.size()) + " keys"));
  }
  return FetchedRecords{std::move(records).value(), size_t(answered)};
}

Result<std::vector<RecordDigest>> DhtPeerStub::Digest(const std::string& address, const Id& from,
                                                      const Id& to,
                                                      const std::optional<std::string>& after,
                                                      size_t limit) const {
  const int bits = limits_.bits;
  xmlrpc_c::paramList params = MakeParams(from.ToHex(bits), to.ToHex(bits));
  if (after) params.add(ToValue(*after));
  params.add(ToValue(int(limit)));
  auto wire = CallTyped<WireDigests>(transport_, address, "dht.digest", params);
  if (!wire.ok()) return wire.status();
  auto digests = DigestsFromWire(wire->digests, limits_, "digests");
  if (!digests.ok()) return MalformedReply(address, digests.status());
  return digests;
}

Result<std::vector<std::string>> DhtPeerStub::Need(const std::string& address,
                                                   const std::vector<RecordDigest>& digests) const {
  auto wire =
      CallTyped<WireNeeded>(transport_, address, "dht.need", MakeParams(DigestsToWire(digests)));
  if (!wire.ok()) return wire.status();
  Status batch = CheckBatch(wire->keys.size(), "keys");
  if (!batch.ok()) return MalformedReply(address, batch);
  return wire->keys;
}

Result<std::vector<uint64_t>> DhtPeerStub::TreeHashes(const std::string& address, const Id& from,
                                                      const Id& to, int level,
                                                      const std::vector<uint32_t>& indices) const {
  const int bits = limits_.bits;
  std::vector<int> wire_indices(indices.begin(), indices.end());
  auto wire =
      CallTyped<WireTreeHashes>(transport_, address, "dht.tree",
                                MakeParams(from.ToHex(bits), to.ToHex(bits), level, wire_indices));
  if (!wire.ok()) return wire.status();
  if (wire->hashes.size() != indices.size()) {
    return MalformedReply(address,
                          Status::BadArgument(std::to_string(wire->hashes.size()) + " hashes for " +
                                              std::to_string(indices.size()) + " nodes"));
  }
  std::vector<uint64_t> hashes;
  hashes.reserve(indices.size());
  for (const auto& text : wire->hashes) {
    auto h = ParseDecimal(text, UINT64_MAX, "hash");
    if (!h.ok()) return MalformedReply(address, h.status());
    hashes.push_back(h.value());
  }
  return hashes;
}

// ---------------------------------------------------------------------------------------------
// Calling the client commands

namespace {

template <typename Wire>
Result<Wire> ClientCall(const DhtCaller& caller, const std::string& method,
                        const xmlrpc_c::paramList& params, std::string* answered_by) {
  auto reply = caller(method, params, answered_by);
  return ReadReply<Wire>(reply, *answered_by, method);
}

// Calls a routed dht.* command and fills the part every such answer has: who answered, the
// owner ({node}) and the hops. `Reply` is DhtReply or DhtLocation.
template <typename Wire, typename Reply>
Result<Wire> RoutedCall(const DhtCaller& caller, const char* method,
                        const xmlrpc_c::paramList& params, Reply* reply) {
  auto wire = ClientCall<Wire>(caller, method, params, &reply->answered_by);
  if (!wire.ok()) return wire.status();
  Status check = CheckWireNode(wire->node, "node");
  if (!check.ok()) return MalformedReply(reply->answered_by, check);
  if (wire->hops < 0)
    return MalformedReply(reply->answered_by, Status::BadArgument("negative hops"));
  reply->owner = wire->node.node;
  reply->hops = wire->hops;
  return wire;
}

}  // namespace

Result<DhtReply> DhtClientStub::Write(const char* method, const std::string& key,
                                      const DhtValue& value, int ttl_s) const {
  xmlrpc_c::paramList params = MakeParams(key, value);
  if (ttl_s != 0) params.add(ToValue(ttl_s));
  DhtReply reply;
  auto wire = RoutedCall<WireWriteReply>(caller_, method, params, &reply);
  if (!wire.ok()) return wire.status();
  reply.ok = wire->stored;
  reply.exists = wire->exists.value_or(false);
  return reply;
}

Result<DhtReply> DhtClientStub::Set(const std::string& key, const DhtValue& value,
                                    int ttl_s) const {
  return Write("dht.set", key, value, ttl_s);
}

Result<DhtReply> DhtClientStub::Add(const std::string& key, const DhtValue& value,
                                    int ttl_s) const {
  return Write("dht.add", key, value, ttl_s);
}

xmlrpc_c::paramList EncodeSetMany(const std::vector<DhtSetItem>& items) {
  std::vector<WireSetItem> wire;
  wire.reserve(items.size());
  for (const DhtSetItem& item : items) {
    wire.push_back(
        {item.key, item.value, item.ttl_s ? std::optional<int>(item.ttl_s) : std::nullopt});
  }
  return MakeParams(wire);
}

size_t SetItemWireBytes(const DhtSetItem& item) {
  constexpr size_t kStructBytes = 160;  // member names and tags
  const size_t value = item.value.binary ? (item.value.bytes.size() + 56) / 57 * 78
                                         : 6 * item.value.bytes.size();  // every byte escaped
  return 6 * item.key.size() + value + kStructBytes;
}

Result<DhtSetManyReply> DecodeSetManyReply(const Result<xmlrpc_c::value>& reply,
                                           const std::string& address, size_t count) {
  auto wire = ReadReply<WireSetManyReply>(reply, address, kSetManyMethod);
  if (!wire.ok()) return wire.status();
  Status check = CheckWireNode(wire->node, "node");
  if (!check.ok()) return MalformedReply(address, check);
  if (wire->results.size() != count) {
    return MalformedReply(
        address, Status::BadArgument(std::to_string(wire->results.size()) + " results for " +
                                     std::to_string(count) + " keys"));
  }
  DhtSetManyReply out{address, wire->node.node, {}};
  out.results.reserve(count);
  for (const WireSetResult& result : wire->results) {
    if (result.code < 0 || result.code > int(kLastErrorCode)) {
      return MalformedReply(
          address, Status::BadArgument("unknown result code " + std::to_string(result.code)));
    }
    DhtSetResult item;
    if (result.code != 0) {
      item.status = Status(ErrorCode(result.code), result.message.value_or(""));
    }
    if (result.owner) {
      check = CheckWireNode(*result.owner, "owner");
      if (!check.ok()) return MalformedReply(address, check);
      item.owner = result.owner->node;
    }
    out.results.push_back(std::move(item));
  }
  return out;
}

Result<DhtSetManyReply> DhtClientStub::SetMany(const std::vector<DhtSetItem>& items) const {
  std::string answered_by;
  auto reply = caller_(kSetManyMethod, EncodeSetMany(items), &answered_by);
  return DecodeSetManyReply(reply, answered_by, items.size());
}

Result<DhtReply> DhtClientStub::Get(const std::string& key) const {
  DhtReply reply;
  auto wire = RoutedCall<WireGetReply>(caller_, "dht.get", MakeParams(key), &reply);
  if (!wire.ok()) return wire.status();
  reply.ok = wire->found;
  if (reply.ok && !wire->value) {
    return MalformedReply(reply.answered_by, Status::BadArgument("found without a value"));
  }
  if (wire->value) reply.value = *wire->value;
  return reply;
}

Result<DhtReply> DhtClientStub::Remove(const std::string& key) const {
  DhtReply reply;
  auto wire = RoutedCall<WireRemoveReply>(caller_, "dht.remove", MakeParams(key), &reply);
  if (!wire.ok()) return wire.status();
  reply.ok = wire->removed;
  return reply;
}

Result<DhtLocation> DhtClientStub::Locate(const std::string& key) const {
  DhtLocation location;
  auto wire = RoutedCall<WireLocateReply>(caller_, "dht.locate", MakeParams(key), &location);
  if (!wire.ok()) return wire.status();
  location.key_id = wire->id;
  for (const WireNode& replica : wire->replicas) {
    Status check = CheckWireNode(replica, "replicas");
    if (!check.ok()) return MalformedReply(location.answered_by, check);
    location.replicas.push_back(replica.node);
  }
  return location;
}

Result<DhtNodeStats> DhtClientStub::Stats() const {
  DhtNodeStats out;
  auto wire = ClientCall<WireStats>(caller_, "dht.stats", xmlrpc_c::paramList(), &out.address);
  if (!wire.ok()) return wire.status();
  for (int count :
       {wire->owned, wire->replicas, wire->tombstones, wire->received, wire->received_as_owner}) {
    if (count < 0) return MalformedReply(out.address, Status::BadArgument("negative count"));
  }
  out.stats = {size_t(wire->owned),
               size_t(wire->replicas),
               size_t(wire->tombstones),
               uint64_t(wire->received),
               uint64_t(wire->received_as_owner),
               wire->settled};
  return out;
}

Result<DhtKeyList> DhtClientStub::Keys(int limit) const {
  DhtKeyList out;
  auto wire = ClientCall<WireKeys>(caller_, "dht.keys", MakeParams(limit), &out.address);
  if (!wire.ok()) return wire.status();
  for (const WireKey& key : wire->keys) out.keys.push_back({key.key, key.owned});
  out.truncated = wire->truncated;
  return out;
}

Result<DhtOwnedPage> DhtClientStub::Owned(const std::string& after, int limit) const {
  DhtOwnedPage out;
  auto wire = ClientCall<WireOwned>(caller_, "dht.owned", MakeParams(after, limit), &out.address);
  if (!wire.ok()) return wire.status();
  if (wire->records.size() > size_t(limit)) {
    return MalformedReply(out.address, Status::BadArgument("more records than asked for"));
  }
  for (auto& r : wire->records) out.records.push_back({std::move(r.key), std::move(r.value)});
  out.more = wire->more;
  return out;
}

Result<DhtWatch> DhtClientStub::Watch(const std::string& key, uint64_t version,
                                      int timeout_ms) const {
  DhtWatch out;
  auto wire = ClientCall<WireWatchReply>(
      caller_, "dht.watch", MakeParams(key, std::to_string(version), timeout_ms), &out.answered_by);
  if (!wire.ok()) return wire.status();
  Status check = CheckWireNode(wire->node, "node");
  if (!check.ok()) return MalformedReply(out.answered_by, check);
  auto held = ParseDecimal(wire->version, kMaxVersion, "version");
  if (!held.ok()) return MalformedReply(out.answered_by, held.status());
  if (wire->found && !wire->value) {
    return MalformedReply(out.answered_by, Status::BadArgument("found without a value"));
  }
  out.owner = wire->node.node;
  out.changed = wire->changed;
  out.found = wire->found;
  if (wire->value) out.value = *wire->value;
  out.version = held.value();
  return out;
}

}  // namespace chord
