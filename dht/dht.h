// Dht: a distributed hash table layered on a Local overlay node, using only the public command
// API, exactly as a user's own layer would.
//
// Placement: key k is owned by successor(SHA-1(k)) and copied on the owner's next replicas-1
// successors. A write is acknowledged only after the owner and every live replica holder stored
// it. Every stored entry carries a version (newest wins whenever copies meet); a remove leaves a
// tombstone, collected after tombstone_ttl, so repair never brings a removed key back.
//
// Routing: operations reach the owner through the overlay's public Router (the same API a
// user's layer gets): dht.owner_op runs on the owner, which turns the call away with NotOwner
// when the caller's lookup was stale; writes are copied to the successors with
// Router::CallOnSuccessors.
//
// Movement: a periodic, bounded RepairStep() makes each node (1) as owner, pull newer or missing
// entries of its range from its successor (this is how a newcomer receives its keys, in
// batches) and push what its replica holders lack; both compare hash trees of the range first
// (dht/hash_tree.h), so replicas in sync cost one dht.tree call and only the arcs that differ
// are listed and moved; (2) as holder, hand entries it should no
// longer keep to their owner and drop them; (3) collect expired entries and old tombstones.
// While keys move, an owner that lacks a key asks its first successors (one of them held the
// range before), so reads and writes of moving keys keep succeeding; once it has pulled its
// whole range from a successor that held all of it ("settled"), its misses are authoritative
// and cost nothing extra. A node leaving gracefully hands its range to its successor first
// (OnLeaving).
//
// Reads never go back in time: a node that stopped running for longer than suspect_gap_ms (it
// was frozen or starved, so its successor may have taken its range over and acknowledged
// writes in it) is suspect from the moment it runs again. Heartbeat(), called by a thread of its
// own every HeartbeatPeriod(), notices the gap; until then the age of the last heartbeat shows
// it to every reader. A suspect owner answers no get from its local copy (the quick path is
// refused too): each operation first compares the key with its first successors and keeps the
// newest copy (read repair), and fails with Unavailable if none of them answers. It is caught
// up, and cheap again, once a repair round pulled its whole range from its successor after
// that successor had taken it back as predecessor (so the successor takes no more writes in the
// range). A node that keeps running but is cut off from the ring (a partition: stabilize reached
// no successor kCutOffRounds rounds in a row) is suspect in the same way, from the heartbeat that
// sees it; alone after the cut, it answers no operation until it is back in the ring and caught
// up.
//
// Batches (dht.set_many): the keys a node owns are written one by one under the same rules as
// dht.set, then copied to the replica holders in as few dht.put_many calls as fit; the answer
// comes after those copies, as for dht.set; keys it does not own are routed like dht.set.
//
// Commands served (see docs/dht.md): dht.set, dht.set_many, dht.add, dht.get, dht.remove,
// dht.locate, dht.stats, dht.keys, dht.watch (a long poll on the key's owner, woken by writes to
// this node's storage, bounded in time and in number), and peer commands the nodes use among
// themselves; all are declared in dht/dht_protocol.h, which Dht serves (as a DhtService) and calls
// (through its stubs).
//
// Thread-safety: all public methods are safe to call concurrently; no lock is held across an
// RPC. Lifetime: like Local, stop serving calls before destroying it; it must be destroyed
// before the Local it observes.
#ifndef CHORD_DHT_DHT_H_
#define CHORD_DHT_DHT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands/command_registry.h"
#include "commands/registered_commands.h"
#include "dht/dht_protocol.h"
#include "dht/hash_tree.h"
#include "dht/storage.h"
#include "overlay/local.h"
#include "overlay/router.h"
#include "settings/settings.h"

namespace chord {

struct DhtOptions {
  int replicas = 3;                   // copies of each key: the owner and replicas-1 successors
  size_t max_key_bytes = 1024;        // longer keys are refused (bad argument)
  size_t max_value_bytes = 1 << 20;   // larger values are refused (bad argument)
  int64_t tombstone_ttl_ms = 600000;  // tombstones are collected after this long
  size_t transfer_batch = 256;        // records per batch when entries move between nodes (fewer
                                      // if a batch of maximal keys would not fit max_batch_bytes)
  // Bytes of records per batch (as the wire estimates them: RecordWireBytes), so that a batch
  // fits in the receiver's request limit; one record always goes, whatever its size.
  size_t max_batch_bytes = 1 << 20;
  size_t max_batches_per_step = 64;  // bound on the work of one RepairStep phase
  // Records one RepairStep looks at for expired entries and old tombstones; collection goes
  // round the store over successive steps, so its cost does not grow with the data.
  size_t gc_records_per_step = 4096;
  std::function<int64_t()> now_ms;  // wall clock in ms since the epoch; empty: system clock
  // A longer gap between heartbeats makes the node suspect (see above).
  int64_t suspect_gap_ms = 2000;
  std::function<int64_t()> steady_ms;  // monotonic clock in ms; empty: steady_clock
};

// DHT options taken from Settings (replicas, limits, tombstone ttl, transfer batch).
DhtOptions DhtOptionsFrom(const Settings& settings);

class Dht : public OverlayObserver, private DhtService {
 public:
  // Registers the dht.* commands in `registry` and observes `local`. None is owned; both must
  // outlive the Dht.
  Dht(Local* local, CommandRegistry* registry, DhtOptions options,
      std::unique_ptr<Storage> storage);
  ~Dht() override;
  Dht(const Dht&) = delete;
  Dht& operator=(const Dht&) = delete;

  // Client operations, routed from this node to the key's owner. Errors: BadArgument for an
  // empty or over-limit key or value, a negative ttl; Unavailable if the owner cannot be
  // reached after retries; Refused if this node is not in a ring.
  Result<DhtAnswer> Set(const std::string& key, const DhtValue& value, int ttl_s = 0);
  Result<DhtAnswer> Add(const std::string& key, const DhtValue& value, int ttl_s = 0);
  Result<DhtAnswer> Get(const std::string& key);
  Result<DhtAnswer> Remove(const std::string& key);
  // The key's owner (confirmed alive) and, in `successors`, its holders: the owner and its
  // next replicas-1 successors (or more: every node of the ring's list that came with it).
  Result<LookupResult> Locate(const std::string& key);

  // One bounded round of repair (see above). Returns the first error met, after doing the rest.
  // `busy` (if given) tells whether the round had anything to do: replicas that differed,
  // records handed over, or a neighbourhood that changed since the last round; a scheduler may
  // wait longer after quiet rounds (Maintenance::AddAdaptive).
  Status RepairStep(bool* busy = nullptr);
  // Hands this node's own range to its successor (also run by OnLeaving).
  Status HandOff();

  // Notes that this node runs; a gap longer than suspect_gap_ms since the last call makes it
  // suspect until caught up (see above). Until the first call, only a noted gap counts.
  void Heartbeat();
  // How often Heartbeat() should be called: a fifth of suspect_gap_ms (at least 1 ms).
  std::chrono::milliseconds HeartbeatPeriod() const;
  // True while this node may have missed writes: a heartbeat overdue, or a gap not caught up.
  bool Suspect() const;
  // Stabilize rounds in a row without reaching a successor that make a node cut off (see
  // above). One is what a crashed successor costs; two are not a crash alone.
  static constexpr int kCutOffRounds = 2;

  DhtStats Stats() const;
  // Counters since this node started, for GET /metrics (dht/dht_metrics.h).
  struct Counters {
    uint64_t writes_as_owner = 0;      // sets, adds and removes applied as the key's owner
    uint64_t replica_misses = 0;       // copies of such writes a successor did not take at once
    uint64_t repair_steps = 0;         // RepairStep runs
    uint64_t records_sent = 0;         // stored by other nodes from transfers, repairs, hand-offs
    uint64_t records_received = 0;     // taken from other nodes (replicas, transfers, repairs)
    uint64_t received_as_owner = 0;    // of which pulled into this node's own range
    uint64_t gaps = 0;                 // times this node found it had not run for a while
    uint64_t compared_ops = 0;         // owner operations compared with the replicas (suspect)
    uint64_t late_writes_refused = 0;  // writes not applied: their caller had given up
  };
  Counters counters() const;
  // Answers every dht.watch waiting now, and any later one at once (unchanged): call before
  // the server stops, so that no worker waits out a watch's timeout. Idempotent.
  void StopWatches();
  Storage& storage() { return *storage_; }
  const DhtOptions& options() const { return options_; }

  // OverlayObserver.
  void OnPredecessorChanged(const std::optional<NodeRef>& before,
                            const std::optional<NodeRef>& after) override;
  void OnLeaving() override;

 private:
  // DhtService: the dht.* commands this node serves, with arguments dht_protocol checked.
  Result<DhtAnswer> ServiceClientOp(DhtOp op, const std::string& key, const DhtValue& value,
                                    int ttl_s) override {
    return RouteChecked(op, key, value, ttl_s);
  }
  // dht/dht_batch.cpp.
  std::vector<DhtSetResult> ServiceSetMany(const std::vector<DhtSetItem>& items,
                                           NodeRef* answered_by) override;
  Result<LookupResult> ServiceLocate(const std::string& key) override;
  DhtStats ServiceStats() const override { return Stats(); }
  DhtKeyList ServiceKeys(size_t limit) const override;
  DhtOwnedPage ServiceOwned(const std::string& after, size_t limit) const override;  // dht_batch
  Result<DhtWatch> ServiceWatch(const std::string& key, uint64_t version, int timeout_ms) override;
  Result<DhtAnswer> ServiceOwnerOp(const OwnerRequest& request) override;
  Result<DhtAnswer> ServiceGetAtOnce(const std::string& key) override;
  Result<size_t> ServicePutMany(const std::vector<Record>& records) override;
  FetchedRecords ServiceFetch(const std::vector<std::string>& keys) const override;
  std::vector<RecordDigest> ServiceDigest(const Id& from, const Id& to,
                                          const std::optional<std::string>& after_key,
                                          size_t limit) const override;
  std::vector<std::string> ServiceNeed(const std::vector<RecordDigest>& digests) const override;
  std::vector<uint64_t> ServiceTreeHashes(const Id& from, const Id& to, int level,
                                          const std::vector<uint32_t>& indices) const override;

  // Checks the key, value and ttl (callers of the C++ API), then RouteChecked.
  Result<DhtAnswer> Route(DhtOp op, const std::string& key, const DhtValue& value, int ttl_s);
  // Carries the operation to the key's owner; the arguments have passed CheckKey, CheckValue
  // and CheckTtl (once is enough: a 1 MiB value is scanned for valid text on each check).
  Result<DhtAnswer> RouteChecked(DhtOp op, const std::string& key, const DhtValue& value,
                                 int ttl_s);
  // Runs `request` on this node as the key's owner. Errors: Router::NotOwner if it is not;
  // Unavailable if a newer version of the key arrived during the write (nothing was applied,
  // so nothing is acknowledged; the caller may retry).
  Result<DhtAnswer> ExecuteAsOwner(const OwnerRequest& request);
  // Stores a new version of the key as its owner; false if a newer one got there first.
  // Errors: Unavailable if the version would be ahead of what replicas accept.
  Result<bool> WriteAsOwner(const OwnerRequest& request, Record* record, DhtAnswer* answer);
  // Part of Heartbeat: this node reached no successor for kCutOffRounds stabilize rounds.
  void NoteCutOff();
  // Unavailable for `what` (a write its caller's deadline has passed on), counted; logs now and
  // then.
  Status RefuseLateWrite(const std::string& what);
  // The latest version (µs) and write time this node accepts: a day ahead of its clock.
  uint64_t LatestVersion() const;
  Status CheckPlausible(const Record& record) const;
  // Stores a record received from another node if it is newer than what is held, plausible
  // and not collectible; true if stored. Errors: StorageFailed.
  Result<bool> Keep(const Record& record);
  // While this node's range is not settled, looks for a key it lacks on its first successors
  // (which held the range before: the successor, then the next `replicas` in one batch) and
  // keeps what it finds; the newest copy found.
  std::optional<Entry> FetchFromSuccessors(const Id& id, const std::string& key);
  // Read repair while suspect: the newest of the local copy and those of the first `replicas`
  // successors, each kept here if newer. Errors: Unavailable if none of them answered.
  Result<std::optional<Entry>> CompareWithReplicas(const Id& id, const std::string& key,
                                                   std::optional<Entry> local);
  // Up to `count` successors' addresses, the first first.
  std::vector<std::string> SuccessorAddresses(size_t count) const;
  // The newest plausible copy of `key` in `answers`, each kept here if newer than ours; adds
  // the number of holders that answered to *answered.
  std::optional<Entry> KeepNewest(const std::vector<Result<FetchedRecords>>& answers, const Id& id,
                                  const std::string& key, size_t* answered);
  // Part of RepairStep while suspect: true if `successor` names this node as its predecessor.
  bool TakenBack(const NodeRef& successor) const;
  // Clears the suspicion unless a new gap was noticed since `generation` was read.
  void CaughtUp(uint64_t generation);
  int64_t SteadyMs() const;
  void Replicate(const Record& record);
  // Replicate for many records: as few dht.put_many calls per holder as max_batch_bytes allows
  // (dht/dht_batch.cpp).
  void ReplicateMany(const std::vector<Record>& records);
  // Sets `item` as its owner, this node (dht/dht_batch.cpp); the record stored in *record.
  // The key's version held elsewhere must have been looked for (PrefetchFromSuccessors).
  Status SetAsOwner(const DhtSetItem& item, Record* record);
  // Sets items[index[j]] into (*records)[j] (id and key filled in) as their owner, in one
  // storage batch; (*written)[j] tells which were stored (the rest go through SetAsOwner).
  // Errors: the storage's, or Unavailable if a version would be ahead of what replicas accept
  // (nothing is written then).
  Status WriteManyAsOwner(const std::vector<DhtSetItem>& items, const std::vector<size_t>& index,
                          std::vector<Record>* records, std::vector<bool>* written);
  // Keep for a batch of plausible records, stored in one storage batch; how many were stored.
  // Errors: StorageFailed (none of them is acknowledged).
  Result<size_t> KeepMany(const std::vector<Record>& records);
  // FetchFromSuccessors for many keys: those of `records` not held here, asked of the first
  // successors in batches (one round of calls per batch), while the range is not settled.
  void PrefetchFromSuccessors(const std::vector<Record>& records);
  // Remembers who the predecessor and first `holders` successors are; a change makes this
  // round busy.
  void NoteNeighbourhood(const std::optional<NodeRef>& predecessor,
                         const std::vector<NodeRef>& successors, size_t holders);
  // Pulls newer or missing entries of (predecessor, self] from `successor`; *complete (if
  // given) tells whether the whole range came over in this call.
  Status PullOwnRange(const NodeRef& predecessor, const NodeRef& successor,
                      bool* complete = nullptr);
  Status PushToHolder(const NodeRef& predecessor, const NodeRef& holder);
  // The arcs of the circle (as ring intervals) where `peer`'s records in (from, to] differ from
  // this node's: runs of differing hash-tree leaves, found top-down with one dht.tree call per
  // level. Empty when both hold the same versions.
  Result<std::vector<std::pair<Id, Id>>> DifferingArcs(const std::string& peer, const Id& from,
                                                       const Id& to);
  // Pulls from `peer` the records of `arc` in (from, to] that are newer there. Each call made
  // spends one of *budget; false if it ran out before the arc was done.
  Result<bool> PullArc(const std::string& peer, const std::pair<Id, Id>& arc, const Id& from,
                       const Id& to, size_t* budget);
  // Sends `holder` the records of `arc` in (from, to] it lacks or holds older; as PullArc.
  Result<bool> PushArc(const std::string& holder, const std::pair<Id, Id>& arc, const Id& from,
                       const Id& to, size_t* budget);
  Status HandOverForeign(const NodeRef& predecessor);
  void CollectGarbage();
  // Calls `visit` on the records held here in ring order, `batch_size` per storage scan, for at
  // most `max_batches` scans; stops when `visit` returns false.
  void ForEachRecord(size_t batch_size, size_t max_batches,
                     const std::function<bool(const Record&)>& visit) const;
  // Sends `records` in as many dht.put_many calls as max_batch_bytes asks for. Returns how
  // many the receiver stored; stops at the first error.
  Result<size_t> SendRecords(const std::string& address, const std::vector<Record>& records);
  // Fetches `keys` from `address`, in as many calls as the holder's answers need.
  Result<std::vector<Record>> FetchAll(const std::string& address,
                                       const std::vector<std::string>& keys);
  bool Live(const Entry& entry) const;
  // The owner's answer to a get of a key it holds as `existing` (absent: not found).
  DhtAnswer GetAnswer(const std::optional<Entry>& existing) const;
  // An old tombstone or an expired entry: collected, never sent or accepted.
  bool Collectible(const Entry& entry) const;
  int64_t NowMs() const;
  uint64_t NextVersion(uint64_t existing);

  Local* local_;
  Router router_;
  DhtOptions options_;
  DhtLimits limits_;
  DhtPeerStub peers_;
  std::unique_ptr<HashedStorage> storage_;
  // Addresses of the predecessor and replica holders at the last RepairStep, to tell a quiet
  // round from one whose neighbourhood changed; and whether this round found work.
  std::mutex repair_mutex_;
  std::vector<std::string> last_neighbourhood_;  // guarded by repair_mutex_
  std::atomic<bool> repair_busy_{false};
  std::mutex gc_mutex_;
  std::optional<RecordPosition> gc_after_;  // guarded by gc_mutex_: where collection goes on
  std::mutex write_mutex_;     // serializes version assignment and the local write of a key
  uint64_t last_version_ = 0;  // guarded by write_mutex_
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> received_as_owner_{0};
  std::atomic<uint64_t> writes_as_owner_{0}, replica_misses_{0}, repair_steps_{0}, records_sent_{0};
  std::atomic<uint64_t> compared_ops_{0}, late_writes_refused_{0};
  std::atomic<int64_t> last_late_write_log_ms_{0};  // SteadyMs of the last warning about them
  // Suspicion (see above). A reader loads last_beat_ms_ before behind_, and Heartbeat stores
  // them the other way round, so the gap shows through one or the other.
  std::atomic<int64_t> last_beat_ms_{0};  // steady ms of the last heartbeat; 0: none yet
  std::atomic<bool> behind_{false};       // a gap was noticed and not caught up yet
  // The gap was a cut from the ring (no successor answered), not a stall: being alone then
  // says nothing about the writes others took, so alone it neither catches up nor answers.
  std::atomic<bool> cut_off_{false};
  std::atomic<uint64_t> gap_generation_{0};  // bumped on every gap noticed
  std::mutex suspect_mutex_;  // makes a gap and a catch-up exclusive (readers take no lock)
  // Whether a miss in this node's range is authoritative. The range is settled once it has been
  // pulled completely from the successor replicas + 1 times in a row since it last grew (a
  // chain of newcomers in one gap fills in one node per pull), or at once when the node is
  // alone. Until then a miss asks the first successors.
  bool Settled() const;
  mutable std::mutex settle_mutex_;
  bool settled_ = false;           // guarded by settle_mutex_
  int complete_pulls_ = 0;         // guarded by settle_mutex_; since the range last grew
  uint64_t range_generation_ = 0;  // guarded by settle_mutex_; bumped when the range grows
  // dht.watch: waiters sleep on watch_changed_ until a write here bumps watch_generation_.
  // A watch holds a server worker for its whole wait, so a node serves at most kMaxWatches at
  // once (a quarter of the server's 64 workers) and answers Busy beyond that.
  static constexpr int kMaxWatches = 16;
  DhtWatch WatchState(const Id& id, const std::string& key) const;
  void NotifyWatchers();
  std::mutex watch_mutex_;
  std::condition_variable watch_changed_;
  uint64_t watch_generation_ = 0;  // guarded by watch_mutex_
  int watching_ = 0;               // guarded by watch_mutex_
  bool watches_stopped_ = false;   // guarded by watch_mutex_
  // Declared last so that it is destroyed first: no call reaches a half-destroyed object.
  RegisteredCommands commands_;
};

}  // namespace chord

#endif  // CHORD_DHT_DHT_H_
