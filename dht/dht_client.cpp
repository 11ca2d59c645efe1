#include "dht/dht_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "commands/value_util.h"
#include "dht/record_codec.h"

namespace chord {
namespace {

constexpr char kManifestMagic[] = "chord-file 1";

Result<DhtNode> NodeMember(const xmlrpc_c::value& value, const std::string& name) {
  auto node = StructMember(value, name);
  if (!node.ok()) return node.status();
  auto id = StructString(node.value(), "id");
  if (!id.ok()) return id.status();
  auto address = StructString(node.value(), "address");
  if (!address.ok()) return address.status();
  return DhtNode{id.value(), address.value()};
}

// Reads the routing part every dht.* answer has: {node, hops}.
Status ReadRouting(const xmlrpc_c::value& answer, DhtNode* owner, int* hops) {
  auto node = NodeMember(answer, "node");
  if (!node.ok()) return node.status();
  auto h = StructInt(answer, "hops");
  if (!h.ok()) return h.status();
  *owner = node.value();
  *hops = h.value();
  return Status::Ok();
}

// Incremental SHA-1 over the EVP interface (the SHA1_* functions are deprecated in OpenSSL 3).
class Sha1 {
 public:
  Sha1() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(context_.get(), EVP_sha1(), nullptr);
  }
  void Update(const std::string& bytes) {
    EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size());
  }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest, &length);
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context_;
};

}  // namespace

DhtClient::DhtClient(Transport* transport, std::vector<std::string> members,
                     DhtClientOptions options)
    : transport_(transport),
      members_(std::move(members)),
      options_(options),
      random_(options.seed ? options.seed : std::random_device{}()) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (options_.chunk_bytes < 1) options_.chunk_bytes = 1;
}

void DhtClient::SetMembers(std::vector<std::string> members) {
  members_ = std::move(members);
  failed_.clear();
}

std::string DhtClient::ChunkKey(const std::string& name, uint64_t index) {
  return name + "#chunk-" + std::to_string(index);
}

std::string DhtClient::Pick(const std::set<std::string>& tried) {
  std::vector<std::string> fresh, untried;
  for (const auto& m : members_) {
    if (tried.count(m)) continue;
    untried.push_back(m);
    if (!failed_.count(m)) fresh.push_back(m);
  }
  const auto& pool = fresh.empty() ? untried : fresh;
  if (pool.empty()) return "";
  return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(random_)];
}

Result<xmlrpc_c::value> DhtClient::Call(const std::string& method,
                                        const xmlrpc_c::paramList& params, const std::string& via,
                                        std::string* answered_by) {
  if (!via.empty()) {
    auto answer = transport_->Call(via, method, params);
    if (answer.ok() && answered_by) *answered_by = via;
    return answer;
  }
  if (members_.empty()) return Status::Unavailable("no ring member is known");
  std::set<std::string> tried;
  Status last;
  const size_t attempts = std::min(members_.size(), size_t(options_.max_attempts));
  for (size_t i = 0; i < attempts; ++i) {
    std::string member = Pick(tried);
    if (member.empty()) break;
    tried.insert(member);
    auto answer = transport_->Call(member, method, params);
    if (answer.ok()) {
      failed_.erase(member);
      if (answered_by) *answered_by = member;
      return answer;
    }
    // Only "unavailable" is worth another member: any other error would be the same anywhere.
    if (answer.status().code() != ErrorCode::kUnavailable) return answer;
    failed_.insert(member);
    last = answer.status();
  }
  std::string names;
  for (const auto& m : tried) names += (names.empty() ? "" : ", ") + m;
  return Status::Unavailable("no member answered (tried " + names + "): " + last.message());
}

Result<DhtReply> DhtClient::Write(const char* method, const std::string& key, const DhtValue& value,
                                  int ttl_s, const std::string& via) {
  xmlrpc_c::paramList params =
      Params({xmlrpc_c::value_string(key), ValueToXml(value.bytes, value.binary)});
  if (ttl_s != 0) params.add(xmlrpc_c::value_int(ttl_s));
  DhtReply reply;
  auto answer = Call(method, params, via, &reply.answered_by);
  if (!answer.ok()) return answer.status();
  Status status = ReadRouting(answer.value(), &reply.owner, &reply.hops);
  if (!status.ok()) return status;
  auto stored = StructBool(answer.value(), "stored");
  if (!stored.ok()) return stored.status();
  reply.ok = stored.value();
  if (StructHas(answer.value(), "exists")) {
    auto exists = StructBool(answer.value(), "exists");
    if (!exists.ok()) return exists.status();
    reply.exists = exists.value();
  }
  return reply;
}

Result<DhtReply> DhtClient::Set(const std::string& key, const DhtValue& value, int ttl_s,
                                const std::string& via) {
  return Write("dht.set", key, value, ttl_s, via);
}

Result<DhtReply> DhtClient::Add(const std::string& key, const DhtValue& value, int ttl_s,
                                const std::string& via) {
  return Write("dht.add", key, value, ttl_s, via);
}

Result<DhtReply> DhtClient::Get(const std::string& key, const std::string& via) {
  DhtReply reply;
  auto answer = Call("dht.get", Params({xmlrpc_c::value_string(key)}), via, &reply.answered_by);
  if (!answer.ok()) return answer.status();
  Status status = ReadRouting(answer.value(), &reply.owner, &reply.hops);
  if (!status.ok()) return status;
  auto found = StructBool(answer.value(), "found");
  if (!found.ok()) return found.status();
  reply.ok = found.value();
  if (reply.ok) {
    auto raw = StructMember(answer.value(), "value");
    if (!raw.ok()) return raw.status();
    auto value = DhtValueFromXml(raw.value());
    if (!value.ok()) return value.status();
    reply.value = std::move(value).value();
  }
  return reply;
}

Result<DhtReply> DhtClient::Remove(const std::string& key, const std::string& via) {
  DhtReply reply;
  auto answer = Call("dht.remove", Params({xmlrpc_c::value_string(key)}), via, &reply.answered_by);
  if (!answer.ok()) return answer.status();
  Status status = ReadRouting(answer.value(), &reply.owner, &reply.hops);
  if (!status.ok()) return status;
  auto removed = StructBool(answer.value(), "removed");
  if (!removed.ok()) return removed.status();
  reply.ok = removed.value();
  return reply;
}

Result<DhtLocation> DhtClient::Locate(const std::string& key, const std::string& via) {
  DhtLocation location;
  auto answer =
      Call("dht.locate", Params({xmlrpc_c::value_string(key)}), via, &location.answered_by);
  if (!answer.ok()) return answer.status();
  Status status = ReadRouting(answer.value(), &location.owner, &location.hops);
  if (!status.ok()) return status;
  auto id = StructString(answer.value(), "id");
  if (!id.ok()) return id.status();
  location.key_id = id.value();
  auto replicas = StructArray(answer.value(), "replicas");
  if (!replicas.ok()) return replicas.status();
  for (const auto& r : replicas.value()) {
    auto rid = StructString(r, "id");
    auto address = StructString(r, "address");
    if (!rid.ok()) return rid.status();
    if (!address.ok()) return address.status();
    location.replicas.push_back({rid.value(), address.value()});
  }
  return location;
}

Result<DhtLookup> DhtClient::Lookup(const std::string& id_hex, const std::string& via) {
  DhtLookup lookup;
  auto answer = Call("chord.find_successor", Params({xmlrpc_c::value_string(id_hex)}), via,
                     &lookup.answered_by);
  if (!answer.ok()) return answer.status();
  auto id = StructString(answer.value(), "id");
  if (!id.ok()) return id.status();
  auto address = StructString(answer.value(), "address");
  if (!address.ok()) return address.status();
  auto hops = StructInt(answer.value(), "hops");
  if (!hops.ok()) return hops.status();
  lookup.successor = {id.value(), address.value()};
  lookup.hops = hops.value();
  return lookup;
}

Result<DhtNodeStats> DhtClient::Stats(const std::string& via) {
  DhtNodeStats out;
  auto answer = Call("dht.stats", xmlrpc_c::paramList(), via, &out.address);
  if (!answer.ok()) return answer.status();
  const char* names[] = {"owned", "replicas", "tombstones", "received", "received_as_owner"};
  int values[5] = {};
  for (int i = 0; i < 5; ++i) {
    auto v = StructInt(answer.value(), names[i]);
    if (!v.ok()) return v.status();
    values[i] = v.value();
  }
  out.stats.owned = size_t(values[0]);
  out.stats.replicas = size_t(values[1]);
  out.stats.tombstones = size_t(values[2]);
  out.stats.received = uint64_t(values[3]);
  out.stats.received_as_owner = uint64_t(values[4]);
  return out;
}

Result<DhtKeyList> DhtClient::Keys(const std::string& via, int limit) {
  DhtKeyList out;
  auto answer = Call("dht.keys", Params({xmlrpc_c::value_int(limit)}), via, &out.address);
  if (!answer.ok()) return answer.status();
  auto keys = StructArray(answer.value(), "keys");
  if (!keys.ok()) return keys.status();
  for (const auto& k : keys.value()) {
    auto key = StructString(k, "key");
    if (!key.ok()) return key.status();
    auto owned = StructBool(k, "owned");
    if (!owned.ok()) return owned.status();
    out.keys.push_back({key.value(), owned.value()});
  }
  auto truncated = StructBool(answer.value(), "truncated");
  if (!truncated.ok()) return truncated.status();
  out.truncated = truncated.value();
  return out;
}

std::string FileManifest(const DhtFileInfo& info) {
  std::ostringstream text;
  text << kManifestMagic << "\nsize " << info.size << "\nchunks " << info.chunks << "\nchunk-bytes "
       << info.chunk_bytes << "\nsha1 " << info.sha1 << "\n";
  return text.str();
}

Result<DhtFileInfo> ParseFileManifest(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kManifestMagic) {
    return Status::BadArgument("not a file manifest (no '" + std::string(kManifestMagic) +
                               "' line)");
  }
  DhtFileInfo info;
  int seen = 0;
  std::string name;
  while (in >> name) {
    if (name == "sha1") {
      if (!(in >> info.sha1)) break;
      ++seen;
      continue;
    }
    uint64_t value = 0;
    if (!(in >> value)) break;
    if (name == "size") info.size = value, ++seen;
    if (name == "chunks") info.chunks = value, ++seen;
    if (name == "chunk-bytes") info.chunk_bytes = value, ++seen;
  }
  if (seen != 4 || info.chunk_bytes == 0 ||
      info.chunks != (info.size + info.chunk_bytes - 1) / info.chunk_bytes) {
    return Status::BadArgument("malformed file manifest");
  }
  return info;
}

Result<DhtFileInfo> DhtClient::PutFile(const std::string& name, std::istream& in,
                                       const DhtProgress& progress) {
  if (name.empty()) return Status::BadArgument("the file name is empty");
  // The old manifest, if any, says which chunks to drop once the new file is in place.
  uint64_t old_chunks = 0;
  auto old = Get(name);
  if (old.ok() && old->ok && !old->value.binary) {
    auto manifest = ParseFileManifest(old->value.bytes);
    if (manifest.ok()) old_chunks = manifest->chunks;
  }
  uint64_t total = 0;  // for progress only; unknown (0) if the stream cannot seek
  if (auto start = in.tellg(); start >= 0 && in.seekg(0, std::ios::end)) {
    auto end = in.tellg();
    if (end >= start) total = uint64_t(end - start);
    in.seekg(start);
  }
  in.clear();

  DhtFileInfo info;
  info.chunk_bytes = options_.chunk_bytes;
  Sha1 sha1;
  std::string buffer(options_.chunk_bytes, '\0');
  while (true) {
    in.read(&buffer[0], std::streamsize(buffer.size()));
    size_t got = size_t(in.gcount());
    if (in.bad())
      return Status::BadArgument("read error after " + std::to_string(info.size) + " bytes");
    if (got == 0) break;
    DhtValue chunk{buffer.substr(0, got), true};
    sha1.Update(chunk.bytes);
    auto stored = Set(ChunkKey(name, info.chunks), chunk);
    if (!stored.ok()) {
      return Status(stored.status().code(),
                    "chunk " + std::to_string(info.chunks) + ": " + stored.status().message());
    }
    info.size += got;
    ++info.chunks;
    if (progress) progress(info.size, total);
    if (got < buffer.size()) break;
  }
  info.sha1 = sha1.HexDigest();
  auto stored = Set(name, DhtValue{FileManifest(info), false});
  if (!stored.ok()) return stored.status();
  // Best effort: a stale chunk left behind is unreachable garbage, not a wrong answer.
  for (uint64_t i = info.chunks; i < old_chunks; ++i) Remove(ChunkKey(name, i));
  return info;
}

Result<DhtFileInfo> DhtClient::GetFile(const std::string& name, std::ostream& out,
                                       const DhtProgress& progress) {
  auto head = Get(name);
  if (!head.ok()) return head.status();
  if (!head->ok) return Status::NotFound("no file named '" + name + "'");
  if (head->value.binary) {
    return Status::BadArgument("'" + name + "' holds a binary value, not a file manifest");
  }
  auto manifest = ParseFileManifest(head->value.bytes);
  if (!manifest.ok()) {
    return Status::BadArgument("'" + name + "' is not a file: " + manifest.status().message());
  }
  const DhtFileInfo& info = manifest.value();
  Sha1 sha1;
  uint64_t done = 0;
  for (uint64_t i = 0; i < info.chunks; ++i) {
    auto chunk = Get(ChunkKey(name, i));
    if (!chunk.ok()) {
      return Status(chunk.status().code(),
                    "chunk " + std::to_string(i) + ": " + chunk.status().message());
    }
    if (!chunk->ok) {
      return Status::NotFound("chunk " + std::to_string(i) + " of '" + name + "' is missing");
    }
    const std::string& bytes = chunk->value.bytes;
    uint64_t want = std::min<uint64_t>(info.chunk_bytes, info.size - done);
    if (bytes.size() != want) {
      return Status::Unavailable("chunk " + std::to_string(i) + " of '" + name + "' has " +
                                 std::to_string(bytes.size()) + " bytes, want " +
                                 std::to_string(want) + " (overwritten meanwhile?)");
    }
    sha1.Update(bytes);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) return Status::BadArgument("write error after " + std::to_string(done) + " bytes");
    done += bytes.size();
    if (progress) progress(done, info.size);
  }
  std::string digest = sha1.HexDigest();
  if (digest != info.sha1) {
    return Status::Unavailable("SHA-1 of '" + name + "' is " + digest + ", the manifest says " +
                               info.sha1 + " (overwritten meanwhile?)");
  }
  return info;
}

}  // namespace chord
