#include "dht/dht_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "overlay/chord_protocol.h"

namespace chord {
namespace {

constexpr char kManifestMagic[] = "chord-file 1";
// While the ring cannot be learnt (no member answers chord.info), keyed calls between tries.
constexpr int kCallsBetweenSeeds = 64;

// A Transport whose calls go through a DhtClient's member choice and fail-over, so that the
// overlay's stubs can be used with it: an empty address means "any member".
class FailoverTransport : public Transport {
 public:
  explicit FailoverTransport(DhtClient* client) : client_(client) {}
  Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                               const xmlrpc_c::paramList& params) override {
    return client_->Call(method, params, address, &answered_by_);
  }
  const std::string& answered_by() const { return answered_by_; }

 private:
  DhtClient* client_;
  std::string answered_by_;
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

std::string DhtClient::ChunkKey(const DhtFileInfo& info, const std::string& name, uint64_t index) {
  return ChunkKey(info.chunk_prefix.empty() ? name : info.chunk_prefix, index);
}

// Incremental SHA-1 over the EVP interface (the SHA1_* functions are deprecated in OpenSSL 3).
struct Sha1::Context {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

Sha1::Sha1() : context_(new Context) { EVP_DigestInit_ex(context_->md.get(), EVP_sha1(), nullptr); }

Sha1::~Sha1() { delete context_; }

void Sha1::Update(const char* bytes, size_t size) {
  EVP_DigestUpdate(context_->md.get(), bytes, size);
}

std::string Sha1::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->md.get(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
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
      if (!last.ok()) LearnMembers(member);  // some members did not answer: learn live ones
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

void DhtClient::LearnMembers(const std::string& member) {
  auto info = ChordStub(transport_, 0).Info(member);
  if (info.ok()) AdoptMembers(member, info.value());
}

void DhtClient::AdoptMembers(const std::string& member, const NodeInfo& info) {
  std::vector<std::string> learned = {member};
  auto add = [&learned](const std::string& address) {
    if (std::find(learned.begin(), learned.end(), address) == learned.end()) {
      learned.push_back(address);
    }
  };
  if (info.predecessor) add(info.predecessor->address);
  for (const auto& s : info.successors) add(s.address);
  // Members that answered before stay (the ring may be larger than one node's view of it).
  for (const auto& m : members_) {
    if (!failed_.count(m)) add(m);
  }
  members_ = std::move(learned);
  failed_.clear();
}

DhtClientStub DhtClient::Stub(const std::string& via) {
  return DhtClientStub(
      [this, via](const std::string& method, const xmlrpc_c::paramList& params,
                  std::string* answered_by) { return Call(method, params, via, answered_by); });
}

std::string DhtClient::GuessOwner(const std::string& key) {
  if (!options_.route_to_owner) return "";
  if (owners_.size() == 0 && calls_until_seed_-- <= 0) {
    // Learning the ring costs one call; while members do not answer it, not on every call.
    calls_until_seed_ = kCallsBetweenSeeds;
    std::string member;
    auto info = Info("", &member);
    if (info.ok()) {
      owners_.Seed(info.value());
      AdoptMembers(member, info.value());  // the live members come with it
    }
  }
  return owners_.Guess(key);
}

Result<DhtReply> DhtClient::Keyed(const std::string& key, const std::string& via,
                                  const KeyedOperation& operation) {
  const std::string guess = via.empty() ? GuessOwner(key) : "";
  Result<DhtReply> reply = operation(Stub(guess.empty() ? via : guess));
  if (!guess.empty() && !reply.ok() && reply.status().code() == ErrorCode::kUnavailable) {
    // The node is down (or could not reach the owner): any member will route the call.
    owners_.Forget(guess);
    failed_.insert(guess);
    reply = operation(Stub(""));
  }
  if (reply.ok()) owners_.Learn(reply->owner.id, reply->owner.address);
  return reply;
}

Result<DhtReply> DhtClient::Set(const std::string& key, const DhtValue& value, int ttl_s,
                                const std::string& via) {
  return Keyed(key, via, [&](DhtClientStub stub) { return stub.Set(key, value, ttl_s); });
}

Result<DhtReply> DhtClient::Add(const std::string& key, const DhtValue& value, int ttl_s,
                                const std::string& via) {
  return Keyed(key, via, [&](DhtClientStub stub) { return stub.Add(key, value, ttl_s); });
}

void DhtClient::SplitSetMany(const std::vector<DhtSetItem>& items, const std::string& address,
                             const std::vector<size_t>& indexes,
                             std::vector<SetManyCall>* calls) const {
  size_t bytes = 0;
  for (size_t index : indexes) {
    const size_t item_bytes = SetItemWireBytes(items[index]);
    if (calls->empty() || calls->back().address != address ||
        calls->back().indexes.size() >= kMaxSetManyItems ||
        bytes + item_bytes > options_.batch_bytes) {
      calls->push_back({address, {}});
      bytes = 0;
    }
    calls->back().indexes.push_back(index);
    bytes += item_bytes;
  }
}

void DhtClient::TakeSetManyReply(const SetManyCall& call, const DhtSetManyReply& reply,
                                 std::vector<Status>* results) {
  owners_.Learn(reply.node.id, reply.node.address);
  for (size_t i = 0; i < call.indexes.size(); ++i) {
    const DhtSetResult& result = reply.results[i];
    (*results)[call.indexes[i]] = result.status;
    if (result.owner) owners_.Learn(result.owner->id, result.owner->address);
  }
}

std::vector<Status> DhtClient::SetMany(const std::vector<DhtSetItem>& items) {
  std::vector<Status> results(items.size(), Status::Unavailable("not sent"));
  std::vector<size_t> pending(items.size());
  for (size_t i = 0; i < items.size(); ++i) pending[i] = i;
  // Rounds of batches: the keys of calls that went unanswered are grouped and sent again as
  // batches (never key by key): first to the same node (a slow node is not a dead one), then,
  // once it failed twice, to the next node the map knows of, which has taken its range over if
  // it died. The last round goes through any member, with fail-over.
  std::map<std::string, int> misses;  // unanswered calls per node in this SetMany
  for (int round = 0; round < kSetManyRounds && !pending.empty(); ++round) {
    const bool last = round + 1 == kSetManyRounds;
    std::vector<size_t> unanswered;
    SetManyRound(items, pending, last, &misses, &results, &unanswered);
    pending.swap(unanswered);
  }
  return results;
}

void DhtClient::SetManyRound(const std::vector<DhtSetItem>& items,
                             const std::vector<size_t>& pending, bool through_members,
                             std::map<std::string, int>* misses, std::vector<Status>* results,
                             std::vector<size_t>* unanswered) {
  // Group by guessed owner (ordered, so that calls to one node are adjacent), then split.
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i : pending) groups[through_members ? "" : GuessOwner(items[i].key)].push_back(i);
  std::vector<SetManyCall> calls;
  for (const auto& [address, indexes] : groups) SplitSetMany(items, address, indexes, &calls);
  // The calls to known nodes all at once; the rest through members with fail-over, one by one.
  std::vector<CallSpec> specs;
  std::vector<const SetManyCall*> direct;
  for (const SetManyCall& call : calls) {
    std::vector<DhtSetItem> part;
    for (size_t index : call.indexes) part.push_back(items[index]);
    if (call.address.empty()) {
      auto reply = Stub("").SetMany(part);
      if (reply.ok()) {
        TakeSetManyReply(call, reply.value(), results);
      } else {
        for (size_t index : call.indexes) (*results)[index] = reply.status();
      }
      continue;
    }
    specs.push_back({call.address, kSetManyMethod, EncodeSetMany(part)});
    direct.push_back(&call);
  }
  auto replies = transport_->CallAll(specs);
  for (size_t i = 0; i < direct.size(); ++i) {
    const SetManyCall& call = *direct[i];
    auto reply =
        DecodeSetManyReply(i < replies.size() ? replies[i] : Status::Unavailable("no reply"),
                           call.address, call.indexes.size());
    if (reply.ok()) {
      TakeSetManyReply(call, reply.value(), results);
    } else if (reply.status().code() == ErrorCode::kUnavailable) {
      for (size_t index : call.indexes) (*results)[index] = reply.status();
      unanswered->insert(unanswered->end(), call.indexes.begin(), call.indexes.end());
      if (++(*misses)[call.address] == kSetManyMissesToForget) {
        owners_.Forget(call.address);
        failed_.insert(call.address);
      }
    } else {
      for (size_t index : call.indexes) (*results)[index] = reply.status();
    }
  }
}

Result<DhtReply> DhtClient::Get(const std::string& key, const std::string& via) {
  return Keyed(key, via, [&](DhtClientStub stub) { return stub.Get(key); });
}

Result<DhtReply> DhtClient::Remove(const std::string& key, const std::string& via) {
  return Keyed(key, via, [&](DhtClientStub stub) { return stub.Remove(key); });
}

Result<DhtLocation> DhtClient::Locate(const std::string& key, const std::string& via) {
  return Stub(via).Locate(key);
}

Result<DhtNodeStats> DhtClient::Stats(const std::string& via) { return Stub(via).Stats(); }

Result<DhtKeyList> DhtClient::Keys(const std::string& via, int limit) {
  return Stub(via).Keys(limit);
}

Result<DhtOwnedPage> DhtClient::Owned(const std::string& via, const std::string& after, int limit) {
  return Stub(via).Owned(after, limit);
}

Result<DhtWatch> DhtClient::Watch(const std::string& key, uint64_t version, int timeout_ms) {
  constexpr int kLocateTries = 3;
  Status last = Status::Unavailable("no owner found");
  for (int attempt = 0; attempt < kLocateTries; ++attempt) {
    auto location = Locate(key);
    if (!location.ok()) return location.status();
    auto watch = Stub(location->owner.address).Watch(key, version, timeout_ms);
    // A stale owner (a join moved the key) or a dead one: find the owner again.
    if (watch.ok() || (watch.status().code() != ErrorCode::kNotOwner &&
                       watch.status().code() != ErrorCode::kUnavailable)) {
      return watch;
    }
    last = watch.status();
  }
  return last;
}

Result<DhtLookup> DhtClient::Lookup(const std::string& id_hex, const std::string& via) {
  FailoverTransport failover(this);
  auto found = ChordStub(&failover, 0).FindSuccessorOfHex(via, id_hex);
  if (!found.ok()) return found.status();
  DhtLookup lookup;
  lookup.answered_by = failover.answered_by();
  // The id as the node printed it: its own ring size decides the number of digits.
  lookup.successor = {found->owner.id.ToHex(found->bits), found->owner.address};
  lookup.hops = found->hops;
  return lookup;
}

Result<NodeInfo> DhtClient::Info(const std::string& via, std::string* answered_by) {
  FailoverTransport failover(this);
  auto info = ChordStub(&failover, 0).Info(via);
  if (info.ok() && answered_by) *answered_by = failover.answered_by();
  return info;
}

std::string FileManifest(const DhtFileInfo& info) {
  std::ostringstream text;
  text << kManifestMagic << "\nsize " << info.size << "\nchunks " << info.chunks << "\nchunk-bytes "
       << info.chunk_bytes << "\nsha1 " << info.sha1 << "\n";
  if (info.mode) text << "mode " << info.mode << "\n";
  if (info.mtime_ns > 0) text << "mtime-ns " << info.mtime_ns << "\n";
  if (!info.chunk_prefix.empty()) text << "chunk-prefix " << info.chunk_prefix << "\n";
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
    if (name == "chunk-prefix") {  // the rest of the line: a key may hold spaces
      in.get();
      if (!std::getline(in, info.chunk_prefix) || info.chunk_prefix.empty()) break;
      continue;
    }
    uint64_t value = 0;
    if (!(in >> value)) break;
    if (name == "size") info.size = value, ++seen;
    if (name == "chunks") info.chunks = value, ++seen;
    if (name == "chunk-bytes") info.chunk_bytes = value, ++seen;
    if (name == "mode") info.mode = uint32_t(value & 0177777);
    if (name == "mtime-ns") info.mtime_ns = int64_t(value);
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
  DhtFileInfo old_info;
  auto old = Get(name);
  if (old.ok() && old->ok && !old->value.binary) {
    auto manifest = ParseFileManifest(old->value.bytes);
    if (manifest.ok()) old_info = manifest.value();
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
  // Chunks under another prefix (a chord-fs version) are all stale; under NAME, those past ours.
  const uint64_t first_stale = old_info.chunk_prefix.empty() ? info.chunks : 0;
  for (uint64_t i = first_stale; i < old_info.chunks; ++i) Remove(ChunkKey(old_info, name, i));
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
    auto chunk = Get(ChunkKey(info, name, i));
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
