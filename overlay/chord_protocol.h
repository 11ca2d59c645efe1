// The overlay's wire protocol (chord.*), declared in one place: every command's name, audience,
// argument and reply types, the checks its values pass, a client stub per command, and the one
// function that registers the handlers.
//
// Values cross the wire as XML-RPC (see docs/protocol.md); this file and chord_protocol.cpp are
// the only code of the overlay that builds or takes apart an xmlrpc_c::value. Every value that
// comes in, a request on the serving side or a reply on the calling side, is converted with the
// typed command machinery (commands/typed_command.h) and then checked against the ring's rules
// (ids of the ring's size, well-formed addresses, bounded lists) before anyone sees it, so a
// handler or a caller only ever gets checked C++ values. A peer's malformed reply is reported as
// Unavailable (that peer is broken, which for the caller is like being down).
//
// Thread-safety: the stubs hold no mutable state and are safe to call concurrently if the
// Transport is. Lifetime: a ChordStub does not own its Transport, which must outlive it.
#ifndef CHORD_OVERLAY_CHORD_PROTOCOL_H_
#define CHORD_OVERLAY_CHORD_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands/registered_commands.h"
#include "commands/transport.h"
#include "overlay/id.h"
#include "overlay/node_ref.h"

namespace chord {

// Bounds on what a peer may send: far above what a correct node produces, low enough that a
// hostile one cannot make a node allocate without limit.
inline constexpr size_t kMaxWireNodes = 1024;         // nodes in one list
inline constexpr size_t kMaxAddressBytes = 256;       // "HOST:PORT"
inline constexpr int kMaxWireFingers = Id::kMaxBits;  // entries of chord.info's finger list

// A node's state, as chord.info reports it.
struct NodeInfo {
  NodeRef self;
  int bits = 0;  // the ring's id size (m)
  bool joined = false;
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
  std::vector<std::optional<NodeRef>> fingers;  // one per finger index; empty when unset
  std::vector<Id> finger_starts;                // one per finger index
};

// chord.find_successor's answer: the owner of an id and the hops it took to find it.
struct FoundOwner {
  NodeRef owner;
  int hops = 0;
  int bits = 0;  // the id size the owner's id was read at (4 per hex digit when not known)
};

// chord.step's answer: one hop of an iterative lookup.
struct LookupStep {
  bool done = false;
  std::vector<NodeRef> nodes;  // done: the owner and its successors; else next hops, best first
  std::vector<NodeRef> successors;  // the answering node's successor list
};

// chord.neighbors' answer.
struct Neighbors {
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
};

// chord.leaving's argument: a neighbour leaves, and says how to close the ring around it.
struct LeavingNotice {
  NodeRef leaving;
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
};

// What a ping tells about the node that answered.
struct PingReply {
  NodeRef node;
  int bits = 0;  // the node's ring id size, so that a joining node can check it matches
};

// chord.stats' answer: what a node's transport has done since it started (counters), for
// benchmarks and monitoring. Calls count both directions: served by this node's server, and
// made by this node to others.
struct NodeStats {
  int64_t calls_served = 0;            // requests answered by the server
  int64_t connections_accepted = 0;    // by the server
  int64_t connections_evicted = 0;     // idle ones closed by the server to make room
  int64_t connections_refused = 0;     // closed at once by a full server
  int64_t connections_open = 0;        // open at the server now
  int64_t server_threads_started = 0;  // the server's I/O thread and workers
  int64_t calls_made = 0;              // to other nodes
  int64_t connections_opened = 0;      // to other nodes
};

// The serving side: what a node does for each chord.* command. Local implements it. Handlers
// get checked values (ids of this ring's size, valid addresses) and may be called concurrently.
class ChordService {
 public:
  virtual ~ChordService() = default;
  virtual NodeRef ServiceSelf() const = 0;
  virtual NodeInfo ServiceInfo() const = 0;
  virtual Result<FoundOwner> ServiceFindSuccessor(const Id& id) = 0;
  virtual Result<LookupStep> ServiceStep(const Id& id) = 0;
  virtual Result<Neighbors> ServiceNeighbors() = 0;
  // A refusal (a node that does not answer with the id it claims, a leaving notice for a node
  // that is still in the ring) reaches the caller as its fault; nothing was changed.
  virtual Status ServiceNotify(const NodeRef& node) = 0;
  virtual Status ServiceLeaving(const LeavingNotice& notice) = 0;
  // chord.prove: NodeProof of this node for `challenge` (checked: kMaxChallengeBytes of hex).
  // Errors: Refused if the ring has no secret.
  virtual Result<std::string> ServiceProve(const std::string& challenge) const = 0;
};

// Registers every chord.* command through `commands`, served by `service` for a ring of `bits`
// bits. `service` is not owned and must outlive the registrations.
void RegisterChordCommands(RegisteredCommands* commands, int bits, ChordService* service);

// Registers chord.stats, answered by `stats` (called on the server's threads, so it must be
// safe to call concurrently). Kept apart from RegisterChordCommands because the counters belong
// to the node's transport, not to the overlay (NodeHost registers it).
void RegisterStatsCommand(RegisteredCommands* commands, std::function<NodeStats()> stats);
// Registers chord.metrics (a client command): `text` is GET /metrics's text.
void RegisterMetricsCommand(RegisteredCommands* commands, std::function<std::string()> text);

// Gives `transport` round-trip-following time-outs (Transport::AdaptTimeouts) for the chord.*
// commands a node serves from its own state alone (chord.ping, chord.step, chord.neighbors; an
// estimate per peer for each), so
// that a lookup or stabilize meeting a frozen or slow peer goes on to the next one soon. The
// others keep the fixed time-out: chord.find_successor runs a whole lookup, and chord.notify and
// chord.leaving may check the caller.
void AdaptChordTimeouts(Transport* transport);

// Client stubs: one per chord.* command, calling the node at an address.
class ChordStub {
 public:
  // `bits`: the ring's id size, used to check the ids in replies; 0 when the caller does not
  // know it (a client tool), and then ids are checked against the size the node reports (Info)
  // or against the largest size. `transport` is not owned.
  ChordStub(Transport* transport, int bits) : transport_(transport), bits_(bits) {}

  Result<PingReply> Ping(const std::string& address) const;
  Result<NodeInfo> Info(const std::string& address) const;
  Result<FoundOwner> FindSuccessor(const std::string& address, const Id& id) const;
  Result<LookupStep> Step(const std::string& address, const Id& id) const;
  Result<Neighbors> GetNeighbors(const std::string& address) const;
  Status Notify(const std::string& address, const NodeRef& self) const;
  Status Leaving(const std::string& address, const LeavingNotice& notice) const;
  // chord.prove: the node at `address` and its proof for `challenge` (see NodeProof).
  Result<std::pair<NodeRef, std::string>> Prove(const std::string& address,
                                                const std::string& challenge) const;
  Result<NodeStats> Stats(const std::string& address) const;
  // chord.metrics: the node's GET /metrics text (Prometheus format).
  Result<std::string> Metrics(const std::string& address) const;

  // The same for a hex id typed by a user; errors: BadArgument if it is not an id.
  Result<FoundOwner> FindSuccessorOfHex(const std::string& address, const std::string& hex) const;

  int bits() const { return bits_; }

 private:
  int WireBits() const { return bits_ > 0 ? bits_ : Id::kMaxBits; }
  Transport* transport_;
  int bits_;
};

// A node's answer to a challenge, proving that it knows the ring's secret and that `node` is
// what it says it is: the X-Chord-Auth value (commands/auth.h) of the text "ID ADDRESS" signed
// with the secret for the path "chord.prove", timestamp 0 and the challenge as nonce. The
// challenge is fresh for every verification (NewNonce), so an answer cannot be replayed.
inline constexpr size_t kMaxChallengeBytes = 64;
std::string NodeProof(const std::string& secret, const NodeRef& node, int bits,
                      const std::string& challenge);

// Checks a node as it came over the wire: id of `bits` bits, address non-empty, printable and at
// most kMaxAddressBytes. Errors: BadArgument naming `what`.
Status CheckNode(const NodeRef& node, const std::string& what);

}  // namespace chord

#endif  // CHORD_OVERLAY_CHORD_PROTOCOL_H_
