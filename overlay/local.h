// Local: one Chord node's view of the ring, and the protocol that keeps it correct.
//
// A Local holds this node's id, predecessor, successor list and finger table, and serves the
// overlay's RPCs (chord.*) by registering them in the node's CommandRegistry, exactly as an
// upper layer registers its own. The RPCs are declared in overlay/chord_protocol.h: Local
// serves them as a ChordService and calls other nodes only through the ChordStub there.
//
// The maintenance steps (Stabilize, FixFingers, CheckPredecessor, CheckMembership) are single
// bounded methods:
// tests call them directly; in a process a Maintenance thread schedules them. The protocol
// follows Zave's corrected Chord: a pointer is adopted only after the node answers, a failed
// successor is dropped and the list shifts, and the successor list is refreshed on every
// stabilize. A node becomes predecessor or successor only once its address has answered
// chord.ping with the id it is named with (Verify: one ping per new pair, remembered for a
// while), so a forged chord.notify cannot point the ring at another node's address; a
// chord.leaving notice is believed only for a node that no longer answers as a ring member.
//
// Thread-safety: every public method is safe to call concurrently. No lock is held across an
// outgoing RPC or an observer callback. Lifetime: stop serving calls to this node (stop the
// server, detach from the in-process network) and stop its maintenance before destroying it.
#ifndef CHORD_OVERLAY_LOCAL_H_
#define CHORD_OVERLAY_LOCAL_H_

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commands/command_registry.h"
#include "commands/registered_commands.h"
#include "commands/transport.h"
#include "overlay/chord_protocol.h"
#include "overlay/finger_table.h"
#include "overlay/overlay_observer.h"
#include "overlay/successor_list.h"

namespace chord {

struct OverlayOptions {
  int id_bits = 160;          // m: identifier bits, 1..160
  int successors = 8;         // r: successor-list length
  int max_lookup_hops = 160;  // a lookup gives up after this many hops
  // The ring's shared secret ("" for none). With one, a neighbour is verified by a proof of it
  // bound to a fresh challenge (chord.prove) instead of a ping, so the answer cannot be forged.
  std::string secret;
};

// How FindSuccessor finishes a lookup.
struct LookupOptions {
  // Ping a candidate owner this lookup has not heard from before returning it (two tries; one
  // that does not answer is passed over for the next node of the chain). A caller that calls the
  // owner at once and falls over to LookupResult::successors when it is unavailable (Router)
  // sets this to false: its own call is the check, and the ping would be one more RPC.
  bool confirm_owner = true;
  // Addresses the caller found unavailable (e.g. owners it called after an earlier lookup):
  // passed over as owners and as hops, as if this lookup had found them dead.
  std::vector<std::string> avoid;
  // Addresses that said they do not own the id (NotOwner): an answer that names one of them as
  // the owner is stale (a successor list that has not learnt of newer nodes before it), and the
  // lookup goes on through the nodes before the id instead; it returns that answer only if it
  // finds no other (the node may own the id by now).
  std::vector<std::string> not_owners;
};

struct LookupResult {
  NodeRef owner;                    // the successor of the id: the node responsible for it
  int hops = 0;                     // remote nodes asked on the way (0: answered locally)
  std::vector<NodeRef> successors;  // the owner followed by its known successors
};

class Local : private ChordService {
 public:
  // `address` is how peers reach this node ("HOST:PORT"); its id is SHA-1(address). Registers
  // the chord.* commands in `registry`. `transport` and `registry` are not owned and must
  // outlive this object.
  Local(OverlayOptions options, std::string address, Transport* transport,
        CommandRegistry* registry);
  // Like above but with an explicit id (teaching rings, simulations, tests).
  Local(OverlayOptions options, std::string address, Id id, Transport* transport,
        CommandRegistry* registry);
  ~Local();
  Local(const Local&) = delete;
  Local& operator=(const Local&) = delete;

  // Starts a new ring of one node. Errors: Refused if already in a ring.
  Status Create();
  // Joins the ring that `bootstrap` ("HOST:PORT") belongs to. While the ring still names this
  // very node (an earlier run of it, restarted at once) as the owner of its id, waits up to
  // kRejoinAttempts x kRejoinWait for the ring to drop it. Errors: Unavailable if the bootstrap
  // or the successor it names does not answer, or the ring still lists this node after the
  // wait; Refused if this node's id is taken by another node, or if already in a ring.
  Status Join(const std::string& bootstrap);
  static constexpr int kRejoinAttempts = 20;
  static constexpr std::chrono::milliseconds kRejoinWait{500};
  // Leaves gracefully: observers get OnLeaving, then the predecessor and successor are told so
  // the ring closes at once. Afterwards the node is out of the ring. Errors: Refused if not in a
  // ring. Unreachable neighbours are not an error (they will notice through stabilize).
  Status Leave();

  // Iterative lookup from this node: the owner of `id`, routing around dead nodes. Without
  // options.confirm_owner the owner may be a node that has died unnoticed: the caller must
  // then fall over to the next node of `successors` when it does not answer.
  // Errors: Unavailable with the reason if no live path was found within max_lookup_hops;
  // Refused if this node is not in a ring.
  Result<LookupResult> FindSuccessor(const Id& id, LookupOptions options = {});

  // --- maintenance steps: each is one bounded round of RPCs ---
  // Asks the successor for its predecessor and successor list, adopts a closer live
  // successor, refreshes the successor list, and notifies the successor unless it already
  // names this node as its predecessor.
  Status Stabilize();
  // Fixes the next finger (and every following finger that lands on the same node).
  Status FixFingers();
  // Whether fix-fingers changed anything (Maintenance's adaptive period): MarkFingers() before
  // a step, then FingersChangedSinceMark() is true if any finger differs from its value at the
  // mark (and ends the watch). Cheaper than comparing two Info() copies; one caller (the
  // maintenance task) at a time.
  void MarkFingers();
  bool FingersChangedSinceMark();
  // Fixes every finger (at most m lookups).
  Status FixAllFingers();
  // Pings the predecessor and forgets it if it does not answer.
  Status CheckPredecessor();
  // Finds the way back into the ring after a partition, through the known members (below):
  //  - alone (successor list empty) while other members are known: joins again through the
  //    first of them (at most two asked per call) that names a live successor;
  //  - else asks one known member outside the successor list and predecessor (in turn) for the
  //    owner of this node's own id. Its ring routes that id to this node if they share a ring;
  //    any other answer means that ring does not hold this node (a healed partition, or two
  //    rings): a live answer between this node and its successor becomes the successor (as
  //    stabilize would adopt it), any other is notified of this node, and stabilize merges the
  //    rings from there. Neither can split a ring: both only offer a closer live neighbour.
  // At most three RPCs per call when not alone, none when every known member is a neighbour;
  // a member that does not answer is asked again only after 2, 4, ... up to 32 turns, so a
  // dead one costs a time-out now and then, not every turn.
  // Errors: Refused if not in a ring; the last failure of a member asked.
  Status CheckMembership();

  // --- known members: the way back after a partition ---
  // Remembers `address` (not this node's) as a ring member, the most recent first, keeping at
  // most kMaxKnownMembers. Join remembers its bootstrap; successors and notifying nodes are
  // remembered as they are seen. Members that stop answering are kept (they may come back);
  // one that leaves gracefully is forgotten.
  void AddKnownMember(const std::string& address);
  std::vector<std::string> known_members() const;
  static constexpr size_t kMaxKnownMembers = 8;

  // --- state ---
  const NodeRef& self() const { return self_; }
  int bits() const { return options_.id_bits; }
  bool joined() const;
  std::optional<NodeRef> predecessor() const;
  NodeRef successor() const;
  std::vector<NodeRef> successors() const;
  NodeInfo Info() const;
  // True if this node currently believes it is responsible for `id`, i.e. id in (pred, self].
  // With no known predecessor (alone, or the predecessor just failed) it claims every id: a
  // lookup that reached it has no better owner to go to.
  bool Owns(const Id& id) const;
  // Stabilize rounds in a row that reached no successor (nor, alone, any node it knew): 0 once a
  // round reaches one. A crashed successor costs one such round (the next successor answers
  // the next); a node cut off from the ring counts up for as long as the cut lasts, so upper
  // layers can tell it may have missed writes its successors took (see Dht::Heartbeat).
  int rounds_without_successor() const { return rounds_without_successor_.load(); }

  // Observers are not owned; remove one before destroying it.
  void AddObserver(OverlayObserver* observer);
  void RemoveObserver(OverlayObserver* observer);

  // --- neighbour verification ---
  // Ok if `node.address` answers chord.ping with `node.id` (with a secret: answers
  // chord.prove with `node` and a valid proof for a fresh challenge). A verified pair is remembered
  // for kVerifiedFor (at most kMaxVerified pairs), so the steady ring costs no extra call. Errors:
  // Refused if the address answers with another id (or another ring's id size); Unavailable if it
  // does not answer.
  Status Verify(const NodeRef& node);
  static constexpr std::chrono::seconds kVerifiedFor{60};
  static constexpr size_t kMaxVerified = 64;
  // Notifies verified at once at most (each holds a server worker for its ping); more are
  // refused, and a real notifier tries again on its next stabilize.
  static constexpr int kMaxNotifyChecks = 4;

  Transport* transport() const { return transport_; }
  // Stubs for the chord.* commands of other nodes of this ring.
  const ChordStub& peers() const { return peers_; }

 private:
  // ChordService: the chord.* commands this node serves.
  NodeRef ServiceSelf() const override { return self_; }
  NodeInfo ServiceInfo() const override { return Info(); }
  Result<FoundOwner> ServiceFindSuccessor(const Id& id) override;
  Result<LookupStep> ServiceStep(const Id& id) override;
  Result<Neighbors> ServiceNeighbors() override;
  Status ServiceNotify(const NodeRef& node) override { return HandleNotify(node); }
  Status ServiceLeaving(const LeavingNotice& notice) override { return HandleLeaving(notice); }
  Result<std::string> ServiceProve(const std::string& challenge) const override;

  LookupStep LocalStep(const Id& id) const;
  // Asks the bootstrap for this node's successor, checking the ring's id size first.
  Result<NodeRef> FindOwnSuccessor(const std::string& bootstrap);
  // Confirms that `candidate` answers (two tries: passing over a live owner would give a wrong
  // answer, so one lost call must not be enough to decide it is dead).
  bool ConfirmAlive(const NodeRef& candidate);
  // Pings `address` up to twice; the last answer.
  Result<PingReply> PingTwice(const std::string& address) const;
  // Asks `node.address` for its id (chord.ping, or chord.prove with a secret). Errors: as
  // Verify's, without the cache.
  Status AskIdentity(const NodeRef& node);
  // The two ways: chord.prove with a fresh challenge (a ring with a secret; UnknownCommand from
  // a node of an older version), and chord.ping.
  Status AskProof(const NodeRef& node);
  Status AskPing(const NodeRef& node);
  // Remembers that `node` answered with its id (see Verify).
  void RememberVerified(const NodeRef& node);
  // Forgets a node that did not answer (successor list, fingers, predecessor).
  void MarkDead(const std::string& address);
  // Forgets a node as a finger only (a lookup could not reach it).
  void ForgetFinger(const std::string& address);
  // Requires mutex_: puts `address` first in known_, dropping the oldest beyond the bound.
  void RememberLocked(const std::string& address);
  // Joins again through `member` while alone: asks it for this node's successor and adopts it.
  Status RejoinThrough(const std::string& member);
  // Asks `member` for the owner of this node's id and stitches the rings if it is not this node.
  Status MergeWith(const std::string& member);
  // Backs off from `member` if `status` says it could not be reached (doubling the turns it is
  // passed over), else clears its back-off.
  void RecordCheck(const std::string& member, const Status& status);
  // Takes `node` (which must answer) as successor with its successor list, and notifies it.
  Status AdoptSuccessor(const NodeRef& node);
  // Sets the predecessor and tells observers if it changed.
  void SetPredecessor(const std::optional<NodeRef>& predecessor);
  // Takes `node` as predecessor (and as successor when alone) if it is closer, once verified.
  // Errors: Refused if it would change a pointer and could not be verified.
  Status HandleNotify(const NodeRef& node);
  // True if a notify from `node` would change the predecessor or the (empty) successor list.
  bool NotifyWouldChange(const NodeRef& node) const;
  // Closes the ring around a neighbour that leaves. Errors: Refused if the node named as
  // leaving still answers as a ring member (a forged notice); nothing is changed then.
  Status HandleLeaving(const LeavingNotice& notice);
  // The successor list to take when `leaving`, our successor, leaves: its own list if its
  // first live node verifies, else ours without it.
  std::vector<NodeRef> ListAfterLeaving(const LeavingNotice& notice);
  // Replaces the successor list and tells observers if it changed.
  void SetSuccessors(const std::vector<NodeRef>& nodes);
  void NotifySuccessorsChanged();

  OverlayOptions options_;
  NodeRef self_;
  Transport* transport_;
  ChordStub peers_;

  mutable std::mutex mutex_;  // guards everything below
  bool joined_ = false;
  std::optional<NodeRef> predecessor_;
  SuccessorList successors_;
  FingerTable fingers_;
  int next_finger_ = 0;
  struct KnownMember {
    std::string address;
    int failures = 0;  // checks in a row it did not answer (reset when seen)
    int wait = 0;      // turns of CheckMembership to pass it over
  };
  std::vector<KnownMember> known_;  // most recent first
  size_t next_known_ = 0;           // where CheckMembership's turn starts
  struct VerifiedPair {
    Id id;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, VerifiedPair> verified_;  // by address; see Verify
  std::atomic<int> notify_checks_{0};             // HandleNotify's verifications under way
  std::atomic<int> rounds_without_successor_{0};  // see rounds_without_successor()

  std::mutex observers_mutex_;
  std::vector<OverlayObserver*> observers_;
  // Declared last so that it is destroyed first: no call reaches a half-destroyed object.
  RegisteredCommands commands_;
};

}  // namespace chord

#endif  // CHORD_OVERLAY_LOCAL_H_
