// The DHT's wire protocol (dht.*), declared in one place: every command's name, audience,
// argument and reply types, the checks its values pass, the stubs that call it, and the one
// function that registers the handlers.
//
// Client commands (dht.set, dht.set_many, dht.add, dht.get, dht.remove, dht.locate, dht.stats,
// dht.keys, dht.owned, dht.watch) are the public contract (docs/dht.md). Peer commands
// (dht.owner_op, dht.put_many, dht.fetch, dht.digest, dht.need, dht.tree) are what nodes call on
// one another; with a ring secret only peers that prove it may call them (commands/command.h).
//
// Every value that comes in, a request on the serving side or a reply on the calling side, is
// converted with the typed command machinery and then checked (key and value sizes, versions
// and times non-negative and bounded, ids of the ring's size, bounded batches) before anyone
// sees it. A record in a batch that fails a check fails the whole call with a BadArgument that
// names it: a batch is never half-applied on bad input. A peer's malformed reply is reported as
// Unavailable (that peer is broken).
//
// Thread-safety: stubs hold no mutable state; safe to call concurrently if what they call is.
#ifndef CHORD_DHT_DHT_PROTOCOL_H_
#define CHORD_DHT_DHT_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/registered_commands.h"
#include "commands/transport.h"
#include "dht/storage.h"
#include "overlay/chord_protocol.h"
#include "overlay/id.h"
#include "overlay/local.h"

namespace chord {

// Versions are non-negative and at most kMaxVersion (2^62): far above the microsecond clock
// versions are drawn from (about 2^51 today), so `version + 1` can never overflow.
inline constexpr uint64_t kMaxVersion = uint64_t(1) << 62;
// Times in ms since the epoch (expiry, write time) are in 0..kMaxTimeMs (year 2^43 ms ~ 2248).
inline constexpr int64_t kMaxTimeMs = int64_t(1) << 43;
// A ttl is 0 (no expiry) .. kMaxTtlSeconds (10 years).
inline constexpr int kMaxTtlSeconds = 10 * 365 * 24 * 3600;
// Records, keys or digests in one peer call.
inline constexpr size_t kMaxWireBatch = 4096;
// dht.keys answers at most this many keys per call.
inline constexpr int kMaxKeysListed = 100000;
// dht.watch waits at most this long (ms) before it answers "unchanged".
inline constexpr int kMaxWatchMs = 60000;
// dht.set_many takes at most this many keys, and this many bytes of keys and values, per call
// (the node's request-size limit bounds the body too).
inline constexpr size_t kMaxSetManyItems = 1000;
inline constexpr size_t kMaxSetManyBytes = 4 << 20;

// A value as stored: bytes plus whether it travels as base64 (binary) or as a string.
struct DhtValue {
  std::string bytes;
  bool binary = false;
};

enum class DhtOp { kSet, kAdd, kGet, kRemove };

// What the checks of incoming values are measured against.
struct DhtLimits {
  int bits = 160;
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 1 << 20;
};

// Checks a key and a value against `limits`. Errors: BadArgument naming the limit.
Status CheckKey(const std::string& key, const DhtLimits& limits);
Status CheckValue(const DhtValue& value, const DhtLimits& limits);
// Checks a ttl in seconds. Errors: BadArgument naming the range.
Status CheckTtl(int ttl_s);

// --- answers of the client commands, as a client reads them ---

// A node as the wire names it; ids stay hex because a client need not know the ring's size.
struct DhtNode {
  std::string id;  // hex
  std::string address;
};

// Answer of dht.set, dht.add, dht.get, dht.remove.
struct DhtReply {
  std::string answered_by;  // the member the call was sent to
  DhtNode owner;            // the key's owner, which ran the operation
  int hops = 0;             // lookup hops from answered_by to the owner
  bool ok = false;          // set/add: stored; get: found; remove: removed (it was present)
  bool exists = false;      // add: the key was already there, nothing stored
  DhtValue value;           // get: the value when found, with its type
};

// One key of a dht.set_many call.
struct DhtSetItem {
  std::string key;
  DhtValue value;
  int ttl_s = 0;  // 0: no expiry
};

// What dht.set_many did with one key: stored (ok), or why not (the code of the error the same
// key would have got from dht.set); `owner` is the key's owner when this node routed the key
// elsewhere (a client learns it), else empty.
struct DhtSetResult {
  Status status;
  std::optional<DhtNode> owner;
};

// Answer of dht.set_many: one result per key, in the order sent.
struct DhtSetManyReply {
  std::string answered_by;
  DhtNode node;  // the node that answered (stored the keys it owns)
  std::vector<DhtSetResult> results;
};

// Answer of dht.owned: a page of the live records a node owns, in ring order.
struct DhtOwnedPage {
  std::string address;  // the node that answered
  struct Item {
    std::string key;
    DhtValue value;
  };
  std::vector<Item> records;
  bool more = false;  // ask again after the last key for the rest
};

struct DhtLocation {
  std::string answered_by;
  std::string key_id;  // hex id of the key
  DhtNode owner;
  int hops = 0;
  std::vector<DhtNode> replicas;  // the owner's successors holding copies
};

// Answer of chord.find_successor.
struct DhtLookup {
  std::string answered_by;
  DhtNode successor;
  int hops = 0;
};

struct DhtStats {
  size_t owned = 0;                // live entries this node owns
  size_t replicas = 0;             // live entries this node holds for other owners
  size_t tombstones = 0;           // removed keys remembered until collected
  uint64_t received = 0;           // entries received from other nodes (transfers and repairs)
  uint64_t received_as_owner = 0;  // of which pulled into this node's own range
  bool settled = false;            // this node holds its whole range (a miss is a miss)
};

struct DhtNodeStats {
  std::string address;  // the node that answered
  DhtStats stats;
};

struct DhtKeyList {
  std::string address;  // the node that answered
  struct Key {
    std::string key;
    bool owned = false;  // false: a replica held for another owner
  };
  std::vector<Key> keys;  // in id order
  bool truncated = false;
};

// Answer of dht.watch: the key's state on its owner once it differs from the version the caller
// knew, or when the wait ran out (changed = false).
struct DhtWatch {
  std::string answered_by;  // the owner, which was called
  DhtNode owner;
  bool changed = false;  // the version differs from the one given
  bool found = false;    // the key holds a live value
  DhtValue value;        // when found
  uint64_t version = 0;  // the version held (0: never written, or expired)
};

// --- the serving side ---

// What one operation did, and where (the serving node's view of DhtReply).
struct DhtAnswer {
  bool ok = false;      // set/add: stored; get: found; remove: removed (was present)
  bool exists = false;  // add: the key was already there (nothing stored)
  DhtValue value;       // get: the value when found
  NodeRef node;         // the owner that answered
  int hops = 0;         // lookup hops to reach it
};

// dht.owner_op: one operation run on the key's owner.
struct OwnerRequest {
  DhtOp op = DhtOp::kGet;
  std::string key;
  DhtValue value;  // set, add
  int ttl_s = 0;   // set, add
};

// An estimate, from above, of the bytes a record takes in a request: its value as base64 with
// line breaks, its key escaped, and the struct around them.
size_t RecordWireBytes(const Record& record);

// dht.fetch's answer: the records held for the first `answered` keys asked for (all of them,
// or fewer when the answer would grow too large; the caller asks again for the rest).
struct FetchedRecords {
  std::vector<Record> records;
  size_t answered = 0;
};

// A key and the version held of it.
struct RecordDigest {
  std::string key;
  uint64_t version = 0;
};

// What a node does for each dht.* command. Dht implements it. Every argument has been checked.
class DhtService {
 public:
  virtual ~DhtService() = default;
  // Client commands, routed from this node to the key's owner.
  virtual Result<DhtAnswer> ServiceClientOp(DhtOp op, const std::string& key, const DhtValue& value,
                                            int ttl_s) = 0;
  // Sets every key (checked), each as dht.set would: the keys this node owns in one batch,
  // the others routed to their owners. One result per item, in order; `owner` of a result is
  // filled for routed keys.
  // `*answered_by` is set to this node.
  virtual std::vector<DhtSetResult> ServiceSetMany(const std::vector<DhtSetItem>& items,
                                                   NodeRef* answered_by) = 0;
  virtual Result<LookupResult> ServiceLocate(const std::string& key) = 0;
  virtual DhtStats ServiceStats() const = 0;
  virtual DhtKeyList ServiceKeys(size_t limit) const = 0;
  // Up to `limit` live records this node owns, in ring order after the key `after` (empty:
  // from the start of its range), within the node's batch bytes (at least one).
  virtual DhtOwnedPage ServiceOwned(const std::string& after, size_t limit) const = 0;
  // A get answered from this node's own state without waiting, if this node owns the key and
  // holds it (or knows its range complete). Errors: WouldBlock otherwise (ask the routed way).
  virtual Result<DhtAnswer> ServiceGetAtOnce(const std::string& key) = 0;
  // Waits (at most timeout_ms) until the key's version on this node differs from `version`,
  // then answers its state. Errors: NotOwner if this node does not own the key; Busy when it
  // serves as many watches as it allows.
  virtual Result<DhtWatch> ServiceWatch(const std::string& key, uint64_t version,
                                        int timeout_ms) = 0;
  // Peer commands.
  virtual Result<DhtAnswer> ServiceOwnerOp(const OwnerRequest& request) = 0;
  // Stores the records that are newer than what is held; returns how many were stored.
  // Errors: BadArgument if one of them is refused (then none is stored).
  virtual Result<size_t> ServicePutMany(const std::vector<Record>& records) = 0;
  // Answers at least one key when `keys` is not empty.
  virtual FetchedRecords ServiceFetch(const std::vector<std::string>& keys) const = 0;
  virtual std::vector<RecordDigest> ServiceDigest(const Id& from, const Id& to,
                                                  const std::optional<std::string>& after_key,
                                                  size_t limit) const = 0;
  // The keys of `digests` this node lacks or holds in an older version, in the order given.
  virtual std::vector<std::string> ServiceNeed(const std::vector<RecordDigest>& digests) const = 0;
  // The hashes of the records held here in the arcs of hash-tree nodes (level, index) for each
  // of `indices`, counting only ids in (from, to] (dht/hash_tree.h), in the order given.
  virtual std::vector<uint64_t> ServiceTreeHashes(const Id& from, const Id& to, int level,
                                                  const std::vector<uint32_t>& indices) const = 0;
};

// Registers every dht.* command through `commands`, served by `service`. `service` is not owned
// and must outlive the registrations.
void RegisterDhtCommands(RegisteredCommands* commands, const DhtLimits& limits,
                         DhtService* service);

// --- calling peers ---

// The name and parameters of dht.owner_op, and the reading of its reply, for calls that the
// Router carries to the owner. Errors of DecodeOwnerReply: Unavailable (a malformed reply).
extern const char kOwnerOpMethod[];
xmlrpc_c::paramList EncodeOwnerOp(const OwnerRequest& request);
Result<DhtAnswer> DecodeOwnerReply(const xmlrpc_c::value& reply, const DhtLimits& limits);

// The name and parameters of dht.put_many, for calls the Router spreads over successors, and
// the reading of its reply (the number of records stored).
extern const char kPutManyMethod[];
extern const char kPutBatchMethod[];  // dht.put_many for the copies of a dht.set_many
xmlrpc_c::paramList EncodePutMany(const std::vector<Record>& records);
// dht.put_batch's parameters: the records packed (dht/packed_records.h); its reply reads as
// dht.put_many's.
xmlrpc_c::paramList EncodePutBatch(const std::vector<Record>& records);
Result<size_t> DecodePutManyReply(const xmlrpc_c::value& reply);

extern const char kFetchMethod[];  // dht.fetch

// Gives `transport` round-trip-following time-outs (Transport::AdaptTimeouts) for dht.owner_op,
// dht.put_many and dht.fetch, each with estimates of its own (an owner op includes the owner's
// replication, a put_many or fetch may carry a batch), so that a get or set meeting a frozen or
// slow owner or replica goes on to the next node soon. dht.digest and dht.need (repair) keep the
// fixed time-out, as do the client commands, dht.watch (which waits on purpose) and
// dht.put_batch (the copies of a dht.set_many: a thousand records take far longer than the one
// record of a set, whose round trips the dht.put_many estimate follows; timed out early, each
// copy would be sent on to a further successor and then moved back by repair).
void AdaptDhtTimeouts(Transport* transport);

// The name and parameters of dht.set_many, and the reading of its reply from `address` to a
// request of `count` items (DhtClient sends many at once with Transport::CallAll). Errors of
// DecodeSetManyReply: Unavailable (a malformed reply).
extern const char kSetManyMethod[];
xmlrpc_c::paramList EncodeSetMany(const std::vector<DhtSetItem>& items);
Result<DhtSetManyReply> DecodeSetManyReply(const Result<xmlrpc_c::value>& reply,
                                           const std::string& address, size_t count);
// An estimate, from above, of the bytes `item` adds to a dht.set_many request.
size_t SetItemWireBytes(const DhtSetItem& item);

// Stubs for the peer commands of the node at an address. `transport` is not owned.
class DhtPeerStub {
 public:
  DhtPeerStub(Transport* transport, DhtLimits limits) : transport_(transport), limits_(limits) {}

  Result<size_t> PutMany(const std::string& address, const std::vector<Record>& records) const;
  Result<FetchedRecords> Fetch(const std::string& address,
                               const std::vector<std::string>& keys) const;
  // The same call on every node of `addresses` in one batch (Transport::CallAll); the results
  // in the same order.
  std::vector<Result<FetchedRecords>> FetchFromEach(const std::vector<std::string>& addresses,
                                                    const std::vector<std::string>& keys) const;
  Result<std::vector<RecordDigest>> Digest(const std::string& address, const Id& from, const Id& to,
                                           const std::optional<std::string>& after,
                                           size_t limit) const;
  Result<std::vector<std::string>> Need(const std::string& address,
                                        const std::vector<RecordDigest>& digests) const;
  // dht.tree: one hash per index, in the order given.
  Result<std::vector<uint64_t>> TreeHashes(const std::string& address, const Id& from, const Id& to,
                                           int level, const std::vector<uint32_t>& indices) const;

 private:
  // A dht.fetch reply from `address` to a request for `keys`, checked.
  Result<FetchedRecords> ReadFetched(const Result<xmlrpc_c::value>& reply,
                                     const std::string& address,
                                     const std::vector<std::string>& keys) const;
  Transport* transport_;
  DhtLimits limits_;
};

// --- calling the client commands (DhtClient, tools) ---

// Carries one call to some node and says which node answered (DhtClient picks the member).
using DhtCaller = std::function<Result<xmlrpc_c::value>(
    const std::string& method, const xmlrpc_c::paramList& params, std::string* answered_by)>;

class DhtClientStub {
 public:
  explicit DhtClientStub(DhtCaller caller) : caller_(std::move(caller)) {}

  // ttl_s 0: no expiry.
  Result<DhtReply> Set(const std::string& key, const DhtValue& value, int ttl_s) const;
  Result<DhtReply> Add(const std::string& key, const DhtValue& value, int ttl_s) const;
  // At most kMaxSetManyItems items (the caller splits larger batches).
  Result<DhtSetManyReply> SetMany(const std::vector<DhtSetItem>& items) const;
  Result<DhtReply> Get(const std::string& key) const;
  Result<DhtReply> Remove(const std::string& key) const;
  Result<DhtLocation> Locate(const std::string& key) const;
  Result<DhtNodeStats> Stats() const;
  Result<DhtKeyList> Keys(int limit) const;
  // dht.owned on the node the caller reaches.
  Result<DhtOwnedPage> Owned(const std::string& after, int limit) const;
  // dht.watch on the node the caller reaches (it must be the key's owner: DhtClient::Watch
  // locates it first).
  Result<DhtWatch> Watch(const std::string& key, uint64_t version, int timeout_ms) const;

 private:
  Result<DhtReply> Write(const char* method, const std::string& key, const DhtValue& value,
                         int ttl_s) const;
  DhtCaller caller_;
};

}  // namespace chord

#endif  // CHORD_DHT_DHT_PROTOCOL_H_
