// DhtClient: the client side of the DHT, for programs that talk to a ring over a Transport
// (the `chord` client and shell, tests, users' own programs).
//
// A client knows a list of member addresses. Each call goes to a random member (or to the node
// named in the call); a member that does not answer is put aside and the call goes to another
// one, at most max_attempts members per call, so a dead member costs a retry, never a failure,
// while any member answers. When a call had to pass over members that did not answer, the
// client learns the ring's live members from the one that answered (its predecessor and
// successor list) and drops the dead ones: a stale member list (an old ring file) heals itself.
// A keyed call (set, add, get, remove) goes first to the node the client believes owns the key
// (route_to_owner, see owner_map.h), so that the ring usually does not forward it; if that node
// does not answer, the call goes to members as above. The answer says which member answered,
// which node owns the key and how many lookup hops it took.
//
// Batches: SetMany groups keys by the node believed to own them and sends each group as
// dht.set_many calls (bounded in keys and bytes), all at once (Transport::CallAll); a group
// whose node does not answer goes to members with fail-over, which route each key themselves.
// Each key gets its own result.
//
// Files: PutFile splits a stream into chunks of at most chunk_bytes, stored as binary values at
// "NAME#chunk-0", "NAME#chunk-1", ..., then writes a manifest at NAME (a text value: size,
// chunk count, chunk size, SHA-1). The manifest is written last, so a reader never finds a
// manifest whose chunks are not all stored yet; GetFile checks the size and SHA-1 of what it
// reassembles. Overwriting a file removes the old chunks the new one does not reuse.
// A manifest may also carry (optional lines, see FileManifest) the file's mode and mtime and a
// chunk prefix: its chunks are then at "PREFIX#chunk-0", ... instead of "NAME#chunk-0" (chord-fs
// writes each version of a file under a fresh prefix, so replacing the manifest switches the
// whole content at once; PutFile writes neither).
//
// Thread-safety: not thread-safe (the member list and the random generator are unguarded); use
// one DhtClient per thread. The Transport may be shared: it is safe from many threads.
// Errors: every method returns a Status: BadArgument for a malformed request (refused locally or
// by the node), NotFound where stated, Unavailable when no member answers (the message names
// the members tried), or the node's own error.
#ifndef CHORD_DHT_DHT_CLIENT_H_
#define CHORD_DHT_DHT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "commands/transport.h"
#include "dht/dht_protocol.h"
#include "dht/owner_map.h"
#include "overlay/chord_protocol.h"

namespace chord {

struct DhtClientOptions {
  int max_attempts = 32;            // members tried per call before giving up
  size_t chunk_bytes = 256 * 1024;  // file chunk size; must not exceed the nodes' value limit
  // Estimated request bytes (SetItemWireBytes) per dht.set_many call: well under a node's
  // request limit (about 1.4 MiB with the default value limit); one key always goes.
  size_t batch_bytes = 512 * 1024;
  uint32_t seed = 0;  // member choice; 0: seeded from std::random_device
  // Send keyed calls to the node believed to own the key (learnt from one member's chord.info
  // and from the answers); false: always to a random member.
  bool route_to_owner = true;
};

// What PutFile stored or GetFile read.
struct DhtFileInfo {
  uint64_t size = 0;
  uint64_t chunks = 0;
  uint64_t chunk_bytes = 0;
  std::string sha1;  // hex
  // Optional (0 or empty: absent from the manifest; PutFile leaves them so).
  uint32_t mode = 0;         // st_mode: type and permission bits (e.g. 0100644)
  int64_t mtime_ns = 0;      // modification time, ns since the epoch
  std::string chunk_prefix;  // chunks at PREFIX#chunk-I; empty: at NAME#chunk-I
};

// Called after each chunk with (bytes done, total bytes; total 0 if not known yet).
using DhtProgress = std::function<void(uint64_t done, uint64_t total)>;

class DhtClient {
 public:
  // `transport` is not owned and must outlive the client. `members` are "HOST:PORT" addresses.
  DhtClient(Transport* transport, std::vector<std::string> members, DhtClientOptions options = {});

  // In every call, `via` names the member to ask; empty: a random live member, with fail-over.
  Result<DhtReply> Set(const std::string& key, const DhtValue& value, int ttl_s = 0,
                       const std::string& via = "");
  Result<DhtReply> Add(const std::string& key, const DhtValue& value, int ttl_s = 0,
                       const std::string& via = "");
  // Sets every item; one Status per item, in order (ok: stored and acknowledged by its owner).
  // Never fails as a whole: a key no node could take gets Unavailable. Items are checked by
  // the nodes (a bad one fails the keys of its call with BadArgument). Calls that go
  // unanswered are sent again as batches (see SetManyRound), never key by key.
  std::vector<Status> SetMany(const std::vector<DhtSetItem>& items);
  Result<DhtReply> Get(const std::string& key, const std::string& via = "");
  Result<DhtReply> Remove(const std::string& key, const std::string& via = "");
  Result<DhtLocation> Locate(const std::string& key, const std::string& via = "");
  // Successor of a hex id. Errors: BadArgument for a malformed id.
  Result<DhtLookup> Lookup(const std::string& id_hex, const std::string& via = "");
  // Entries held by one node (`via`, or a random member).
  Result<DhtNodeStats> Stats(const std::string& via = "");
  // Keys held by one node (`via`, or a random member), at most `limit`.
  Result<DhtKeyList> Keys(const std::string& via = "", int limit = 1000);
  // A page of the live records `via` owns, after the key `after` ("": from the start).
  Result<DhtOwnedPage> Owned(const std::string& via, const std::string& after, int limit);
  // Waits up to timeout_ms (at most kMaxWatchMs) for the key's version to differ from
  // `version` (0: a key not seen yet) and answers its state (changed = false if the time ran
  // out). The call goes to the key's owner, located first (and again, a bounded number of
  // times, if the owner changed or died meanwhile). The transport's call timeout must exceed
  // timeout_ms. Errors: Busy if the owner serves as many watches as it allows.
  Result<DhtWatch> Watch(const std::string& key, uint64_t version, int timeout_ms);
  // chord.info of one node (`via`, or a random member); *answered_by names it.
  Result<NodeInfo> Info(const std::string& via = "", std::string* answered_by = nullptr);

  // Stores everything `in` yields under `name`. Errors: BadArgument for an empty name or a
  // read error on `in`; any error of Set (the file is then not visible: the manifest comes last).
  Result<DhtFileInfo> PutFile(const std::string& name, std::istream& in,
                              const DhtProgress& progress = nullptr);
  // Writes the file stored under `name` to `out`. On error part of it may have been written.
  // Errors: NotFound if there is no such file or a chunk is missing; BadArgument if `name`
  // holds a value that is not a file manifest; Unavailable if the size or SHA-1 does not match
  // (the file was being overwritten: retrying may work).
  Result<DhtFileInfo> GetFile(const std::string& name, std::ostream& out,
                              const DhtProgress& progress = nullptr);

  // Any command on a member: `via`, or a random live member with fail-over. Returns the answer
  // and sets *answered_by (if not null) to the member that gave it.
  Result<xmlrpc_c::value> Call(const std::string& method, const xmlrpc_c::paramList& params,
                               const std::string& via = "", std::string* answered_by = nullptr);

  const std::vector<std::string>& members() const { return members_; }
  // Replaces the member list (e.g. after a ring walk); forgets which members failed.
  void SetMembers(std::vector<std::string> members);
  // The chunk key of chunk `index` of file `name`.
  static std::string ChunkKey(const std::string& name, uint64_t index);
  // The chunk key of chunk `index` of the file `name` described by `info` (its chunk prefix if
  // it has one).
  static std::string ChunkKey(const DhtFileInfo& info, const std::string& name, uint64_t index);

 private:
  // The dht.* stubs, calling `via` or a member chosen by Call.
  DhtClientStub Stub(const std::string& via);
  // Chooses the next member to try, avoiding `tried`; prefers members that did not fail.
  std::string Pick(const std::set<std::string>& tried);
  // A keyed operation: sent to `via` if given, else to the guessed owner of `key`, and to
  // members with fail-over if that node does not answer. The answer's owner is learnt.
  using KeyedOperation = std::function<Result<DhtReply>(DhtClientStub stub)>;
  Result<DhtReply> Keyed(const std::string& key, const std::string& via,
                         const KeyedOperation& operation);
  // One dht.set_many call: the indexes (into the caller's items) it carries, and where to.
  struct SetManyCall {
    std::string address;  // empty: any member, with fail-over
    std::vector<size_t> indexes;
  };
  // Splits `indexes` for `address` into calls within kMaxSetManyItems and batch_bytes.
  void SplitSetMany(const std::vector<DhtSetItem>& items, const std::string& address,
                    const std::vector<size_t>& indexes, std::vector<SetManyCall>* calls) const;
  // Rounds of SetMany, and unanswered calls to a node after which it is taken for dead (its
  // keys go to the next node the map knows of).
  static constexpr int kSetManyRounds = 4;
  static constexpr int kSetManyMissesToForget = 2;
  // One round of SetMany: the items `pending` (indexes) in batches to their guessed owners, all
  // at once (or, if `through_members`, to members with fail-over, one batch after the other).
  // Results are recorded; the indexes of calls that went unanswered are added to *unanswered
  // and the call counted in *misses, by node.
  void SetManyRound(const std::vector<DhtSetItem>& items, const std::vector<size_t>& pending,
                    bool through_members, std::map<std::string, int>* misses,
                    std::vector<Status>* results, std::vector<size_t>* unanswered);
  // Records the answer of `call` in `results` and learns the owners it names.
  void TakeSetManyReply(const SetManyCall& call, const DhtSetManyReply& reply,
                        std::vector<Status>* results);
  // The guessed owner of `key`, empty if none; learns the ring first if the map is empty.
  std::string GuessOwner(const std::string& key);
  // Replaces the members that failed with the live ones `member` knows (itself, its
  // predecessor and successors); keeps the list as it is if `member` does not answer.
  void LearnMembers(const std::string& member);
  // The same, from chord.info of `member` already at hand.
  void AdoptMembers(const std::string& member, const NodeInfo& info);

  Transport* transport_;
  std::vector<std::string> members_;
  std::set<std::string> failed_;  // members whose last call failed as unavailable
  DhtClientOptions options_;
  std::mt19937 random_;
  OwnerMap owners_;
  int calls_until_seed_ = 0;  // keyed calls before the next attempt to learn the ring
};

// Incremental SHA-1 (hex digest), as the manifests carry it. Not thread-safe; one per stream.
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;
  void Update(const char* bytes, size_t size);
  void Update(const std::string& bytes) { Update(bytes.data(), bytes.size()); }
  std::string HexDigest();  // once, at the end

 private:
  struct Context;
  Context* context_;
};

// Manifest text of a file, and its parse. The optional fields are written after the four
// mandatory ones (mode and mtime-ns as numbers, chunk-prefix last as the rest of its line), so
// an older parser, which skips unknown numeric lines, still reads the four. Errors: BadArgument if
// `text` is not a manifest.
std::string FileManifest(const DhtFileInfo& info);
Result<DhtFileInfo> ParseFileManifest(const std::string& text);

}  // namespace chord

#endif  // CHORD_DHT_DHT_CLIENT_H_
