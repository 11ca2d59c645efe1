#include "dht/dht.h"

#include <algorithm>
#include <boost/log/trivial.hpp>
#include <chrono>
#include <cstdint>

#include "commands/auth.h"
#include "commands/call_deadline.h"

namespace chord {
namespace {

constexpr size_t kScanBatch = 4096;     // records per storage scan for stats and listings
constexpr size_t kKeyEntryBytes = 256;  // the XML around one key or digest in a request
// Times the owner tries to write a key when newer versions keep arriving during the write.
constexpr int kOwnerWriteTries = 3;
// Predecessors followed from the node a lookup names as a record's owner, to the true owner.
constexpr int kMaxOwnerChecks = 8;
// How far ahead of this node's clock a version (µs) or write time (ms) may be. Versions come
// from owners' clocks, so a version much later than any clock was made up: accepting it would
// freeze the key (no later write could win) until the clocks catch up.
constexpr int64_t kClockLeadMs = 24 * 3600 * 1000;

}  // namespace

DhtOptions DhtOptionsFrom(const Settings& settings) {
  DhtOptions options;
  options.replicas = settings.replicas;
  options.max_key_bytes = size_t(settings.max_key_bytes);
  options.max_value_bytes = size_t(settings.max_value_bytes);
  options.tombstone_ttl_ms = int64_t(settings.tombstone_ttl_s) * 1000;
  options.transfer_batch = size_t(settings.transfer_batch);
  options.max_batch_bytes = MaxBatchBytes(settings);
  options.suspect_gap_ms = settings.suspect_gap_ms;
  return options;
}

Dht::Dht(Local* local, CommandRegistry* registry, DhtOptions options,
         std::unique_ptr<Storage> storage)
    : local_(local),
      router_(local, registry),
      options_(std::move(options)),
      limits_{local->bits(), options_.max_key_bytes, options_.max_value_bytes},
      peers_(local->transport(), limits_),
      storage_(std::make_unique<HashedStorage>(std::move(storage), local->bits())),
      commands_(registry) {
  if (options_.replicas < 1) options_.replicas = 1;
  if (options_.transfer_batch < 1) options_.transfer_batch = 1;
  // A batch of digests or keys (dht.need, dht.fetch) must fit the request limit even when every
  // key has the largest size allowed, each byte escaped.
  const size_t per_key = 6 * options_.max_key_bytes + kKeyEntryBytes;
  options_.transfer_batch = std::min({options_.transfer_batch, kMaxWireBatch,
                                      std::max<size_t>(1, options_.max_batch_bytes / per_key)});
  RegisterDhtCommands(&commands_, limits_, this);
  AdaptDhtTimeouts(local_->transport());
  local_->AddObserver(this);
}

Dht::~Dht() {
  StopWatches();
  local_->RemoveObserver(this);
}

int64_t Dht::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t Dht::NextVersion(uint64_t existing) {
  // Microseconds of wall clock, so that versions from different owners over time compare in
  // write order; above the key's version and never below what this node issued before. The
  // node-wide counter does not follow one key's version: a key held at a version ahead of the
  // clock must not drag every other key's versions along. Versions held are at most
  // LatestVersion() (a day ahead), so adding one cannot wrap around.
  uint64_t now_us = uint64_t(std::max<int64_t>(0, NowMs())) * 1000;
  last_version_ = std::max(now_us, last_version_ + 1);
  return std::max(existing + 1, last_version_);
}

uint64_t Dht::LatestVersion() const {
  return uint64_t(std::max<int64_t>(0, NowMs()) + kClockLeadMs) * 1000;
}

Status Dht::CheckPlausible(const Record& record) const {
  if (record.entry.version > LatestVersion()) {
    return Status::BadArgument("record " + record.key + ": version " +
                               std::to_string(record.entry.version) +
                               " is more than a day ahead of this node's clock");
  }
  if (record.entry.written_at_ms > NowMs() + kClockLeadMs) {
    return Status::BadArgument("record " + record.key +
                               ": written_at_ms is more than a day ahead of this node's clock");
  }
  return Status::Ok();
}

Result<bool> Dht::Keep(const Record& record) {
  if (Collectible(record.entry) || !CheckPlausible(record).ok()) return false;
  auto stored = storage_->PutIfNewer(record.id, record.key, record.entry);
  if (!stored.ok() || !stored.value()) return stored;
  received_.fetch_add(1);
  NotifyWatchers();
  return true;
}

bool Dht::Collectible(const Entry& entry) const {
  const int64_t now = NowMs();
  if (entry.tombstone) return entry.written_at_ms + options_.tombstone_ttl_ms <= now;
  return entry.expires_at_ms != 0 && entry.expires_at_ms <= now;
}

bool Dht::Live(const Entry& entry) const {
  if (entry.tombstone) return false;
  return entry.expires_at_ms == 0 || entry.expires_at_ms > NowMs();
}

// ---------------------------------------------------------------------------------------------
// Client operations

Result<DhtAnswer> Dht::Set(const std::string& key, const DhtValue& value, int ttl_s) {
  return Route(DhtOp::kSet, key, value, ttl_s);
}
Result<DhtAnswer> Dht::Add(const std::string& key, const DhtValue& value, int ttl_s) {
  return Route(DhtOp::kAdd, key, value, ttl_s);
}
Result<DhtAnswer> Dht::Get(const std::string& key) { return Route(DhtOp::kGet, key, {}, 0); }
Result<DhtAnswer> Dht::Remove(const std::string& key) { return Route(DhtOp::kRemove, key, {}, 0); }

Result<LookupResult> Dht::Locate(const std::string& key) {
  Status check = CheckKey(key, limits_);
  if (!check.ok()) return check;
  // Confirmed: the answer names the owner to a client, which does not fall over by itself.
  auto found = local_->FindSuccessor(Id::Hash(key, local_->bits()));
  if (!found.ok()) return found;
  // The holders are the owner and its replicas-1 successors. An owner late in the successor
  // list that answered comes with fewer: take the rest from the last one's list (one call).
  std::vector<NodeRef>& holders = found->successors;
  if (holders.empty() || holders.front() != found->owner)
    holders.insert(holders.begin(), found->owner);
  const size_t want = size_t(options_.replicas);
  for (int asked = 0; holders.size() < want && asked < options_.replicas; ++asked) {
    const NodeRef last = holders.back();
    std::vector<NodeRef> next;
    if (last.address == local_->self().address) {
      next = local_->successors();
    } else {
      auto neighbors = local_->peers().GetNeighbors(last.address);
      if (!neighbors.ok()) break;
      next = neighbors->successors;
    }
    const size_t had = holders.size();
    for (const NodeRef& node : next) {
      if (holders.size() >= want) break;
      const bool known = std::any_of(holders.begin(), holders.end(),
                                     [&](const NodeRef& h) { return h.address == node.address; });
      if (known) break;  // round the ring: a ring smaller than `want`
      holders.push_back(node);
    }
    if (holders.size() == had) break;
  }
  return found;
}

Result<LookupResult> Dht::ServiceLocate(const std::string& key) {
  auto found = Locate(key);
  if (!found.ok()) return found;
  // The owner and the replicas-1 successors that hold copies.
  if (found->successors.size() > size_t(options_.replicas)) {
    found->successors.resize(size_t(options_.replicas));
  }
  return found;
}

Result<DhtAnswer> Dht::Route(DhtOp op, const std::string& key, const DhtValue& value, int ttl_s) {
  const bool writes = op == DhtOp::kSet || op == DhtOp::kAdd;
  for (const Status& check :
       {CheckKey(key, limits_), writes ? CheckValue(value, limits_) : Status(), CheckTtl(ttl_s)}) {
    if (!check.ok()) return check;
  }
  return RouteChecked(op, key, value, ttl_s);
}

Result<DhtAnswer> Dht::RouteChecked(DhtOp op, const std::string& key, const DhtValue& value,
                                    int ttl_s) {
  // The router finds the owner, and if it is down, its successor, which holds the range as a
  // replica and takes it over; a stale lookup is corrected by following predecessors.
  auto reply = router_.CallOnOwnerOfKey(key, kOwnerOpMethod,
                                        EncodeOwnerOp(OwnerRequest{op, key, value, ttl_s}));
  if (!reply.ok()) return reply.status();
  auto answer = DecodeOwnerReply(reply->value, limits_);
  if (!answer.ok()) return answer.status();
  answer->node = reply->owner;
  answer->hops = reply->hops;
  return answer;
}

std::vector<std::string> Dht::SuccessorAddresses(size_t count) const {
  const std::string self = local_->self().address;
  std::vector<std::string> addresses;
  for (const NodeRef& node : local_->successors()) {
    if (addresses.size() >= count || node.address == self) break;
    addresses.push_back(node.address);
  }
  return addresses;
}

std::optional<Entry> Dht::KeepNewest(const std::vector<Result<FetchedRecords>>& answers,
                                     const Id& id, const std::string& key, size_t* answered) {
  std::optional<Entry> found;
  for (const auto& answer : answers) {
    if (!answer.ok()) continue;
    ++*answered;
    if (answer->records.empty()) continue;
    const Record& record = answer->records.front();
    if (record.key != key || record.id != id) continue;
    if (!CheckPlausible(record).ok()) continue;
    Keep(record);
    if (!found || found->version < record.entry.version) found = record.entry;
  }
  return found;
}

std::optional<Entry> Dht::FetchFromSuccessors(const Id& id, const std::string& key) {
  // Once the range has been pulled completely, a miss here is a miss everywhere.
  if (Settled()) return std::nullopt;
  // Otherwise the key may still sit with the node that owned it before: the successor, or
  // further along when several nodes joined in the same gap. Replica holders are on the way.
  // The successor first (after a single join it is the one); if it lacks the key, the others
  // all at once: never more calls than asking one by one, in at most two rounds.
  std::vector<std::string> holders = SuccessorAddresses(size_t(options_.replicas) + 1);
  size_t answered = 0;
  if (holders.empty()) return std::nullopt;
  if (auto found = KeepNewest(peers_.FetchFromEach({holders.front()}, {key}), id, key, &answered)) {
    return found;
  }
  holders.erase(holders.begin());
  if (holders.empty()) return std::nullopt;
  return KeepNewest(peers_.FetchFromEach(holders, {key}), id, key, &answered);
}

Result<std::optional<Entry>> Dht::CompareWithReplicas(const Id& id, const std::string& key,
                                                      std::optional<Entry> local) {
  compared_ops_.fetch_add(1);
  // The successor took the range over while this node did not run; the replicas hold what it
  // acknowledged. All at once: one round of calls.
  const std::vector<std::string> holders = SuccessorAddresses(size_t(options_.replicas));
  if (holders.empty()) {
    // Alone after a stall, nobody else could have taken a write; alone after a cut, the rest
    // of the ring may have (see Heartbeat).
    if (!cut_off_.load()) return local;
    return Status::Unavailable(local_->self().address +
                               " is cut off from the ring and may have "
                               "missed writes of " +
                               key + "; it answers once it is back");
  }
  size_t answered = 0;
  std::optional<Entry> found = KeepNewest(peers_.FetchFromEach(holders, {key}), id, key, &answered);
  if (answered == 0) {
    return Status::Unavailable("this node may have missed writes of " + key +
                               " and none of its replicas answers");
  }
  if (found && (!local || local->version < found->version)) return found;
  return local;
}

Result<DhtAnswer> Dht::ServiceGetAtOnce(const std::string& key) {
  // What ExecuteAsOwner does for a get, minus everything that may call another node: a node
  // that knows no predecessor, or does not own the key, leaves the call to the routed way
  // (which confirms a dead predecessor or forwards); so does a miss in a range still arriving.
  const Id id = Id::Hash(key, local_->bits());
  if (!local_->joined() || !local_->predecessor() || !local_->Owns(id) || Suspect()) {
    return Status::WouldBlock();
  }
  std::optional<Entry> existing = storage_->Get(id, key);
  if (!existing && !Settled()) return Status::WouldBlock();
  return GetAnswer(existing);
}

DhtAnswer Dht::GetAnswer(const std::optional<Entry>& existing) const {
  DhtAnswer answer;
  answer.node = local_->self();
  if (existing && Live(*existing)) {
    answer.ok = true;
    answer.value = {existing->value, existing->binary};
  }
  return answer;
}

Result<DhtAnswer> Dht::ServiceOwnerOp(const OwnerRequest& request) {
  return ExecuteAsOwner(request);
}

Result<DhtAnswer> Dht::ExecuteAsOwner(const OwnerRequest& request) {
  const Id id = Id::Hash(request.key, local_->bits());
  Status owner = router_.CheckOwner(id);
  if (!owner.ok()) return owner;
  DhtAnswer answer;
  answer.node = local_->self();
  // A key moving into this node's range may still be on the successor only: look there once.
  // A node that may have missed writes compares with its replicas first, whatever the op: a
  // stale copy must neither be read nor decide an add.
  std::optional<Entry> existing = storage_->Get(id, request.key);
  if (Suspect()) {
    auto compared = CompareWithReplicas(id, request.key, existing);
    if (!compared.ok()) return compared.status();
    existing = compared.value();
  } else if (!existing) {
    existing = FetchFromSuccessors(id, request.key);
  }
  if (request.op == DhtOp::kGet) return GetAnswer(existing);
  Record record{id, request.key, {}};
  for (int attempt = 0; attempt < kOwnerWriteTries; ++attempt) {
    answer.ok = answer.exists = false;
    auto applied = WriteAsOwner(request, &record, &answer);
    if (!applied.ok()) return applied.status();
    if (!applied.value()) continue;  // a newer version won: retry
    if (!answer.exists) {
      writes_as_owner_.fetch_add(1);
      BOOST_LOG_TRIVIAL(debug) << (record.entry.tombstone ? "removed " : "stored ") << request.key
                               << " as owner, version " << record.entry.version;
      NotifyWatchers();
      Replicate(record);
    }
    return answer;
  }
  return Status::Unavailable("newer versions of " + request.key +
                             " kept arriving during the write; nothing was stored");
}

Result<bool> Dht::WriteAsOwner(const OwnerRequest& request, Record* record, DhtAnswer* answer) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::optional<Entry> existing = storage_->Get(record->id, record->key);
  const bool live = existing && Live(*existing);
  if (request.op == DhtOp::kAdd && live) {
    answer->exists = true;
    return true;  // nothing to write
  }
  Entry& entry = record->entry;
  entry = Entry{};
  entry.version = NextVersion(existing ? existing->version : 0);
  if (CallDeadline::Passed()) {
    // The caller gave up and may have had the write acknowledged elsewhere since, then newer
    // writes on top of it: stamped now, this one would bring the old value back for good.
    // (Checked after the version is taken: a version taken in time is older than any write made
    // after the caller gave up.)
    return RefuseLateWrite("the write of " + record->key);
  }
  if (entry.version > LatestVersion()) {
    // Only a clock that went back a day gets here; replicas would refuse the version.
    return Status::Unavailable("the version held of " + record->key +
                               " is ahead of this node's clock; nothing was stored");
  }
  entry.written_at_ms = NowMs();
  if (request.op == DhtOp::kRemove) {
    entry.tombstone = true;
  } else {
    entry.value = request.value.bytes;
    entry.binary = request.value.binary;
    entry.expires_at_ms =
        request.ttl_s > 0 ? entry.written_at_ms + int64_t(request.ttl_s) * 1000 : 0;
  }
  // Never acknowledge what was not applied: the answer says stored/removed only if it was.
  auto stored = storage_->PutIfNewer(record->id, record->key, entry);
  if (!stored.ok() || !stored.value()) return stored;
  answer->ok = request.op == DhtOp::kRemove ? live : true;
  return true;
}

Status Dht::RefuseLateWrite(const std::string& what) {
  const uint64_t refused = late_writes_refused_.fetch_add(1) + 1;
  Status status =
      Status::Unavailable(what + " arrived after its caller had given up; nothing was stored");
  // One line per 10 s at most: a node whose clock runs ahead of its callers' would refuse
  // every forwarded write, and that must be loud but not flood the log.
  const int64_t now = SteadyMs();
  int64_t last = last_late_write_log_ms_.load();
  if (last != 0 && now - last < 10000) return status;
  if (!last_late_write_log_ms_.compare_exchange_strong(last, now)) return status;
  BOOST_LOG_TRIVIAL(warning) << "refused " << what << ": it arrived "
                             << UnixMillis() - CallDeadline::Current()
                             << " ms after its caller had given up (" << refused
                             << " so far); if this node did not stall, check that the nodes' "
                                "clocks agree (NTP)";
  return status;
}

Result<size_t> Dht::SendRecords(const std::string& address, const std::vector<Record>& records) {
  size_t stored = 0;
  for (size_t begin = 0; begin < records.size();) {
    size_t end = begin, bytes = 0;
    do {
      bytes += RecordWireBytes(records[end++]);
    } while (end < records.size() &&
             bytes + RecordWireBytes(records[end]) <= options_.max_batch_bytes);
    auto sent = peers_.PutMany(
        address, std::vector<Record>(records.begin() + long(begin), records.begin() + long(end)));
    if (!sent.ok()) return sent.status();
    stored += sent.value();
    records_sent_.fetch_add(sent.value());
    begin = end;
  }
  return stored;
}

Result<std::vector<Record>> Dht::FetchAll(const std::string& address,
                                          const std::vector<std::string>& keys) {
  std::vector<Record> out;
  // Each answer covers at least one key, so this ends within keys.size() calls.
  for (size_t begin = 0; begin < keys.size();) {
    auto part =
        peers_.Fetch(address, std::vector<std::string>(keys.begin() + long(begin), keys.end()));
    if (!part.ok()) return part.status();
    for (auto& record : part->records) out.push_back(std::move(record));
    begin += part->answered;
  }
  return out;
}

void Dht::Replicate(const Record& record) {
  // A holder that does not answer is not live: the write is acknowledged by the live ones (the
  // router passes its turn to the next successor) and repair restores the copy later.
  auto replies = router_.CallOnSuccessors(size_t(options_.replicas - 1), kPutManyMethod,
                                          EncodePutMany({record}));
  for (const auto& reply : replies) {
    if (!reply.reply.ok()) {
      replica_misses_.fetch_add(1);
      BOOST_LOG_TRIVIAL(debug) << "replica " << reply.node.address << " missed " << record.key
                               << ": " << reply.reply.status().ToString();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Movement and repair

Status Dht::RepairStep(bool* busy) {
  repair_steps_.fetch_add(1);
  repair_busy_ = false;
  Status first;
  auto keep = [&first](const Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  if (local_->joined()) {
    auto predecessor = local_->predecessor();
    auto successors = local_->successors();
    size_t holders = std::min(successors.size(), size_t(options_.replicas - 1));
    NoteNeighbourhood(predecessor, successors, holders);
    const uint64_t gap = gap_generation_.load();
    const bool behind = behind_.load();
    if (behind) repair_busy_ = true;  // catching up: no slowing down
    // Alone after a stall, nobody else took writes; alone after a cut, others may have.
    if (behind && successors.empty() && !cut_off_.load()) CaughtUp(gap);
    if (predecessor && !successors.empty()) {
      // While behind: the successor must have taken this node back before the pull, else it
      // may still acknowledge writes in this range after the pull.
      const bool taken_back = behind && TakenBack(successors.front());
      bool complete = false;
      keep(PullOwnRange(*predecessor, successors.front(), &complete));
      if (taken_back && complete) CaughtUp(gap);
      for (size_t i = 0; i < holders; ++i) keep(PushToHolder(*predecessor, successors[i]));
      keep(HandOverForeign(*predecessor));
    }
  }
  CollectGarbage();
  // A failed round is not a quiet one: whatever failed is still to do.
  if (busy) *busy = repair_busy_ || !first.ok();
  return first;
}

void Dht::NoteNeighbourhood(const std::optional<NodeRef>& predecessor,
                            const std::vector<NodeRef>& successors, size_t holders) {
  std::vector<std::string> now;
  now.push_back(predecessor ? predecessor->address : std::string());
  for (size_t i = 0; i < holders; ++i) now.push_back(successors[i].address);
  std::lock_guard<std::mutex> lock(repair_mutex_);
  if (now != last_neighbourhood_) repair_busy_ = true;
  last_neighbourhood_ = std::move(now);
}

Status Dht::PullOwnRange(const NodeRef& predecessor, const NodeRef& successor, bool* complete) {
  const Id self = local_->self().id;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(settle_mutex_);
    generation = range_generation_;
  }
  auto arcs = DifferingArcs(successor.address, predecessor.id, self);
  if (!arcs.ok()) return arcs.status();
  if (!arcs->empty()) repair_busy_ = true;
  size_t budget = options_.max_batches_per_step;
  for (const auto& arc : arcs.value()) {
    auto done = PullArc(successor.address, arc, predecessor.id, self, &budget);
    if (!done.ok()) return done.status();
    if (!done.value()) return Status::Ok();  // the rest next round
  }
  // The whole range came over; see Settled() for when that makes it complete.
  if (complete) *complete = true;
  std::lock_guard<std::mutex> lock(settle_mutex_);
  if (range_generation_ == generation && ++complete_pulls_ > options_.replicas) settled_ = true;
  return Status::Ok();
}

Status Dht::PushToHolder(const NodeRef& predecessor, const NodeRef& holder) {
  const Id self = local_->self().id;
  auto arcs = DifferingArcs(holder.address, predecessor.id, self);
  if (!arcs.ok()) return arcs.status();
  if (!arcs->empty()) repair_busy_ = true;
  size_t budget = options_.max_batches_per_step;
  for (const auto& arc : arcs.value()) {
    auto done = PushArc(holder.address, arc, predecessor.id, self, &budget);
    if (!done.ok()) return done.status();
    if (!done.value()) break;  // the rest next round
  }
  return Status::Ok();
}

Result<std::vector<std::pair<Id, Id>>> Dht::DifferingArcs(const std::string& peer, const Id& from,
                                                          const Id& to) {
  const HashTree& tree = storage_->tree();
  std::vector<uint32_t> differing;
  for (int level = 0; level <= tree.depth(); ++level) {
    // Every child of a node that differs; children outside (from, to] hash to 0 on both sides.
    std::vector<uint32_t> asked;
    if (level == 0) asked.push_back(0);
    for (uint32_t parent : differing) {
      for (uint32_t c = 0; c < HashTree::kFanout; ++c)
        asked.push_back(parent * HashTree::kFanout + c);
    }
    auto theirs = peers_.TreeHashes(peer, from, to, level, asked);
    if (!theirs.ok()) return theirs.status();
    differing.clear();
    for (size_t i = 0; i < asked.size(); ++i) {
      if (theirs.value()[i] != storage_->RangeHash(level, asked[i], from, to)) {
        differing.push_back(asked[i]);
      }
    }
    if (differing.empty()) return std::vector<std::pair<Id, Id>>{};
  }
  // Runs of neighbouring leaves make one arc each, so that a range that differs throughout (a
  // newcomer's) is listed in full batches rather than leaf by leaf.
  std::vector<std::pair<Id, Id>> arcs;
  for (size_t i = 0; i < differing.size();) {
    size_t j = i;
    while (j + 1 < differing.size() && differing[j + 1] == differing[j] + 1) ++j;
    arcs.emplace_back(tree.Arc(tree.depth(), differing[i]).first,
                      tree.Arc(tree.depth(), differing[j]).second);
    i = j + 1;
  }
  return arcs;
}

Result<bool> Dht::PullArc(const std::string& peer, const std::pair<Id, Id>& arc, const Id& from,
                          const Id& to, size_t* budget) {
  const int bits = local_->bits();
  std::optional<std::string> after;
  for (;;) {
    if (*budget == 0) return false;
    --*budget;
    auto digests = peers_.Digest(peer, arc.first, arc.second, after, options_.transfer_batch);
    if (!digests.ok()) return digests.status();
    std::vector<std::string> wanted;
    for (const RecordDigest& d : digests.value()) {
      after = d.key;
      const Id id = Id::Hash(d.key, bits);
      if (!InHalfOpenInterval(id, from, to)) continue;  // the arc reaches past the range
      auto local = storage_->Get(id, d.key);
      if (!local || local->version < d.version) wanted.push_back(d.key);
    }
    if (!wanted.empty()) {
      auto records = FetchAll(peer, wanted);
      if (!records.ok()) return records.status();
      for (const auto& r : records.value()) {
        auto kept = Keep(r);
        if (!kept.ok()) return kept.status();
        if (kept.value()) received_as_owner_.fetch_add(1);
      }
    }
    if (digests->size() < options_.transfer_batch) return true;
  }
}

Result<bool> Dht::PushArc(const std::string& holder, const std::pair<Id, Id>& arc, const Id& from,
                          const Id& to, size_t* budget) {
  std::optional<RecordPosition> after;
  for (;;) {
    if (*budget == 0) return false;
    --*budget;
    auto records = storage_->Range(arc.first, arc.second, after, options_.transfer_batch);
    if (records.empty()) return true;
    after = RecordPosition{records.back().id, records.back().key};
    const bool last_batch = records.size() < options_.transfer_batch;
    // What would be collected anyway is not worth sending (and would come back after GC).
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [&](const Record& r) {
                                   return Collectible(r.entry) ||
                                          !InHalfOpenInterval(r.id, from, to);
                                 }),
                  records.end());
    std::vector<RecordDigest> digests;
    for (const auto& r : records) digests.push_back({r.key, r.entry.version});
    auto keys = peers_.Need(holder, digests);
    if (!keys.ok()) return keys.status();
    if (!keys->empty()) {
      std::vector<Record> missing;
      size_t k = 0;
      for (const auto& r : records) {
        if (k < keys->size() && (*keys)[k] == r.key) {
          missing.push_back(r);
          ++k;
        }
      }
      auto sent = SendRecords(holder, missing);
      if (!sent.ok()) return sent.status();
    }
    if (last_batch) return true;
  }
}

Status Dht::HandOverForeign(const NodeRef& predecessor) {
  const NodeRef self = local_->self();
  // This node keeps its own range and those it replicates: (P_replicas, self], where P_k is
  // its k-th predecessor. Find that boundary by walking predecessors.
  NodeRef boundary = predecessor;
  for (int k = 1; k < options_.replicas; ++k) {
    if (boundary.address == self.address) return Status::Ok();  // small ring: keep everything
    auto neighbors = local_->peers().GetNeighbors(boundary.address);
    if (!neighbors.ok()) return neighbors.status();  // unsure of the boundary: keep everything
    if (!neighbors->predecessor) return Status::Ok();
    boundary = *neighbors->predecessor;
  }
  if (boundary.address == self.address) return Status::Ok();
  // Entries in (self, boundary] belong to nodes that no longer count on this one: give each
  // run of them to its owner (one lookup per run), then drop them here.
  std::optional<RecordPosition> after;
  size_t lookups = 0;
  for (size_t batch = 0; batch < options_.max_batches_per_step; ++batch) {
    auto foreign = storage_->Range(self.id, boundary.id, after, options_.transfer_batch);
    if (foreign.empty()) break;
    after = RecordPosition{foreign.back().id, foreign.back().key};
    size_t i = 0;
    while (i < foreign.size()) {
      if (++lookups > options_.max_batches_per_step * 4) return Status::Ok();  // next round
      // Confirmed: a dead owner would fail the transfer below and stop this round's hand-over
      // until stabilize notices; the ping (background work) passes over it to its successor.
      auto owner = local_->FindSuccessor(foreign[i].id);
      if (!owner.ok()) return owner.status();
      // The lookup may answer from a successor list that has not learnt yet of nodes that
      // joined before the owner. Records given to a node after their owner would stay out of
      // the owner's sight (it pulls from its first successor only), so check that the owner's
      // predecessor lies before the record, and follow predecessors until it does.
      NodeRef target = owner->owner;
      bool checked = false;
      for (int k = 0; k < kMaxOwnerChecks && target.address != self.address && !checked; ++k) {
        auto neighbors = local_->peers().GetNeighbors(target.address);
        if (!neighbors.ok()) return neighbors.status();  // unsure of the owner: keep everything
        const auto& before = neighbors->predecessor;
        checked = !before || before->address == target.address ||
                  InHalfOpenInterval(foreign[i].id, before->id, target.id);
        if (!checked) target = *before;
      }
      if (target.address == self.address) {
        ++i;  // ours after all (the ring is moving): keep it
        continue;
      }
      if (!checked) return Status::Ok();  // the ring is moving: next round
      std::vector<Record> run;
      while (i < foreign.size() && InHalfOpenInterval(foreign[i].id, self.id, target.id)) {
        if (!Collectible(foreign[i].entry)) run.push_back(foreign[i]);
        ++i;
      }
      if (!run.empty()) {
        repair_busy_ = true;
        auto sent = SendRecords(target.address, run);
        if (!sent.ok()) return sent.status();
      }
      for (const auto& r : run) {
        auto erased = storage_->Erase(r.id, r.key, r.entry.version);
        if (!erased.ok()) return erased.status();  // sent twice next round: harmless
      }
    }
    if (foreign.size() < options_.transfer_batch) break;
  }
  return Status::Ok();
}

void Dht::ForEachRecord(size_t batch_size, size_t max_batches,
                        const std::function<bool(const Record&)>& visit) const {
  const Id self = local_->self().id;
  std::optional<RecordPosition> after;
  for (size_t batch = 0; batch < max_batches; ++batch) {
    auto records = storage_->Range(self, self, after, batch_size);
    if (records.empty()) return;
    after = RecordPosition{records.back().id, records.back().key};
    for (const auto& r : records) {
      if (!visit(r)) return;
    }
    if (records.size() < batch_size) return;
  }
}

void Dht::CollectGarbage() {
  if (!storage_->MayHoldGarbage()) return;
  std::lock_guard<std::mutex> lock(gc_mutex_);
  const Id zero;
  size_t scanned = 0;
  while (scanned < options_.gc_records_per_step) {
    const size_t asked = std::min(kScanBatch, options_.gc_records_per_step - scanned);
    auto records = storage_->Range(zero, zero, gc_after_, asked);
    scanned += records.size();
    for (const auto& r : records) {
      if (!Collectible(r.entry)) continue;
      auto erased = storage_->Erase(r.id, r.key, r.entry.version);
      if (!erased.ok()) {
        BOOST_LOG_TRIVIAL(warning) << "collecting " << r.key << ": " << erased.status().ToString();
      }
    }
    if (records.size() < asked) {
      gc_after_.reset();  // round the whole store: start again next step
      return;
    }
    gc_after_ = RecordPosition{records.back().id, records.back().key};
  }
}

Status Dht::HandOff() {
  const NodeRef self = local_->self();
  auto predecessor = local_->predecessor();
  // Without a known predecessor, hand over everything held: the successor keeps what it needs.
  const Id from = predecessor ? predecessor->id : self.id;
  Status last = Status::Ok();
  // The first successor that takes everything gets it; a dead one passes the turn to the next.
  for (const NodeRef& successor : local_->successors()) {
    std::optional<RecordPosition> after;
    size_t moved = 0;
    last = Status::Ok();
    while (true) {
      auto records = storage_->Range(from, self.id, after, options_.transfer_batch);
      if (records.empty()) break;
      after = RecordPosition{records.back().id, records.back().key};
      auto sent = SendRecords(successor.address, records);
      if (!sent.ok()) {
        last = Status(sent.status().code(), "hand-off to " + successor.address + " failed after " +
                                                std::to_string(moved) +
                                                " entries: " + sent.status().message());
        break;
      }
      moved += records.size();
      if (records.size() < options_.transfer_batch) break;
    }
    if (last.ok()) {
      BOOST_LOG_TRIVIAL(info) << "handed " << moved << " entries to " << successor.address;
      return last;
    }
    BOOST_LOG_TRIVIAL(warning) << last.ToString();
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Suspicion: reads never go back in time

int64_t Dht::SteadyMs() const {
  if (options_.steady_ms) return options_.steady_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::chrono::milliseconds Dht::HeartbeatPeriod() const {
  return std::chrono::milliseconds(std::max<int64_t>(1, options_.suspect_gap_ms / 5));
}

void Dht::Heartbeat() {
  const int64_t now = SteadyMs();
  const int64_t last = last_beat_ms_.load();
  if (last != 0 && now - last > options_.suspect_gap_ms) {
    {
      std::lock_guard<std::mutex> lock(suspect_mutex_);
      gap_generation_.fetch_add(1);
      behind_.store(true);  // before the new heartbeat: a reader sees one or the other
    }
    BOOST_LOG_TRIVIAL(warning) << local_->self().address << " did not run for " << now - last
                               << " ms: it may have missed writes, and compares its answers "
                                  "with its replicas until it has caught up";
  }
  last_beat_ms_.store(now);
  if (local_->joined() && local_->rounds_without_successor() >= kCutOffRounds) NoteCutOff();
}

void Dht::NoteCutOff() {
  bool was_cut_off = false;
  {
    std::lock_guard<std::mutex> lock(suspect_mutex_);
    gap_generation_.fetch_add(1);  // every heartbeat of the cut: no catch-up made before counts
    was_cut_off = cut_off_.exchange(true);
    behind_.store(true);
  }
  if (!was_cut_off) {
    BOOST_LOG_TRIVIAL(warning)
        << local_->self().address << " has reached no successor for "
        << local_->rounds_without_successor()
        << " stabilize rounds or more: cut off from the ring, it may miss writes, "
           "and compares its answers with its replicas until it has "
           "caught up";
  }
}

bool Dht::Suspect() const {
  const int64_t last = last_beat_ms_.load();  // before behind_: see Heartbeat
  if (behind_.load()) return true;
  return last != 0 && SteadyMs() - last > options_.suspect_gap_ms;
}

bool Dht::TakenBack(const NodeRef& successor) const {
  auto neighbors = local_->peers().GetNeighbors(successor.address);
  return neighbors.ok() && neighbors->predecessor &&
         neighbors->predecessor->address == local_->self().address;
}

void Dht::CaughtUp(uint64_t generation) {
  std::lock_guard<std::mutex> lock(suspect_mutex_);
  if (gap_generation_.load() != generation) return;  // a new gap: the next round catches up
  cut_off_.store(false);
  if (behind_.exchange(false)) {
    BOOST_LOG_TRIVIAL(info) << local_->self().address
                            << " has caught up with its successor: answers locally again";
  }
}

void Dht::OnPredecessorChanged(const std::optional<NodeRef>& before,
                               const std::optional<NodeRef>& after) {
  std::lock_guard<std::mutex> lock(settle_mutex_);
  // A node alone in its ring holds everything there is (its first notify arrives before it
  // adopts a successor), and its range can only shrink from there.
  if (local_->successors().empty()) {
    settled_ = true;
    return;
  }
  if (!after) return;  // the range is unknown until a new predecessor shows up
  bool shrank = before && (before->id == after->id ||
                           InOpenInterval(after->id, before->id, local_->self().id));
  if (!shrank) {
    settled_ = false;
    complete_pulls_ = 0;
    ++range_generation_;
  }
}

// ---------------------------------------------------------------------------------------------
// dht.watch

void Dht::NotifyWatchers() {
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    ++watch_generation_;
  }
  watch_changed_.notify_all();
}

void Dht::StopWatches() {
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watches_stopped_ = true;
  }
  watch_changed_.notify_all();
}

DhtWatch Dht::WatchState(const Id& id, const std::string& key) const {
  DhtWatch state;
  const NodeRef self = local_->self();
  state.owner = DhtNode{self.id.ToHex(local_->bits()), self.address};
  std::optional<Entry> entry = storage_->Get(id, key);
  // An expired entry counts as absent (version 0), so that its expiry shows as a change.
  if (!entry || (!entry->tombstone && !Live(*entry))) return state;
  state.version = entry->version;
  state.found = Live(*entry);
  if (state.found) state.value = {entry->value, entry->binary};
  return state;
}

Result<DhtWatch> Dht::ServiceWatch(const std::string& key, uint64_t version, int timeout_ms) {
  const Id id = Id::Hash(key, local_->bits());
  Status owner = router_.CheckOwner(id);
  if (!owner.ok()) return owner;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    if (watching_ >= kMaxWatches) {
      return Status::Busy("this node serves at most " + std::to_string(kMaxWatches) +
                          " watches at once; retry later");
    }
    ++watching_;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  DhtWatch state;
  std::unique_lock<std::mutex> lock(watch_mutex_);
  // Each round reads the key, then sleeps until a write or the deadline; the generation is
  // taken before the read, so a write between the read and the sleep is never missed.
  while (true) {
    const uint64_t generation = watch_generation_;
    lock.unlock();
    state = WatchState(id, key);  // storage only: no lock of ours is held
    lock.lock();
    state.changed = state.version != version;
    if (state.changed || watches_stopped_) break;
    if (!watch_changed_.wait_until(
            lock, deadline, [&] { return watch_generation_ != generation || watches_stopped_; })) {
      break;  // the deadline: unchanged
    }
  }
  --watching_;
  return state;
}

bool Dht::Settled() const {
  std::lock_guard<std::mutex> lock(settle_mutex_);
  return settled_;
}

void Dht::OnLeaving() {
  StopWatches();  // the node goes: its watchers ask the key's next owner
  Status status = HandOff();
  if (!status.ok()) BOOST_LOG_TRIVIAL(warning) << status.ToString();
}

Dht::Counters Dht::counters() const {
  Counters c;
  c.writes_as_owner = writes_as_owner_.load();
  c.replica_misses = replica_misses_.load();
  c.repair_steps = repair_steps_.load();
  c.records_sent = records_sent_.load();
  c.records_received = received_.load();
  c.received_as_owner = received_as_owner_.load();
  c.gaps = gap_generation_.load();
  c.compared_ops = compared_ops_.load();
  c.late_writes_refused = late_writes_refused_.load();
  return c;
}

DhtStats Dht::Stats() const {
  DhtStats stats;
  stats.received = received_.load();
  stats.received_as_owner = received_as_owner_.load();
  {
    std::lock_guard<std::mutex> lock(settle_mutex_);
    stats.settled = settled_;
  }
  if (!storage_->MayHoldGarbage()) {
    // No tombstone and nothing that expires: every record is live, and its id is all that
    // counts, so the values need not be read (dht.stats and /metrics of a node holding a
    // million records read some 100 MiB otherwise).
    const Id self = local_->self().id;
    std::optional<RecordPosition> after;
    while (true) {
      auto versions = storage_->Versions(self, self, after, kScanBatch);
      for (const RecordVersion& v : versions) ++(local_->Owns(v.id) ? stats.owned : stats.replicas);
      if (versions.size() < kScanBatch) return stats;
      after = RecordPosition{versions.back().id, versions.back().key};
    }
  }
  ForEachRecord(kScanBatch, SIZE_MAX, [&](const Record& r) {
    if (r.entry.tombstone) {
      ++stats.tombstones;
    } else if (Live(r.entry)) {
      ++(local_->Owns(r.id) ? stats.owned : stats.replicas);
    }
    return true;
  });
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Served commands (declared in dht_protocol.h)

DhtKeyList Dht::ServiceKeys(size_t limit) const {
  DhtKeyList list;
  ForEachRecord(kScanBatch, SIZE_MAX, [&](const Record& r) {
    if (!Live(r.entry)) return true;
    if (list.keys.size() >= limit) {
      list.truncated = true;
      return false;
    }
    list.keys.push_back({r.key, local_->Owns(r.id)});
    return true;
  });
  return list;
}

Result<size_t> Dht::ServicePutMany(const std::vector<Record>& records) {
  // All or nothing: a batch holding a record from the future is refused as a whole.
  for (size_t i = 0; i < records.size(); ++i) {
    Status plausible = CheckPlausible(records[i]);
    if (!plausible.ok()) {
      return Status::BadArgument("argument 1 (records)[" + std::to_string(i) +
                                 "]: " + plausible.message());
    }
  }
  // Never acknowledge a copy that was not applied: the caller counts it as a miss.
  return KeepMany(records);
}

FetchedRecords Dht::ServiceFetch(const std::vector<std::string>& keys) const {
  // The answer stays within max_batch_bytes (at least one key is always answered), so that a
  // batch of large values comes over in several calls instead of one the caller cannot take.
  FetchedRecords out;
  size_t bytes = 0;
  for (const auto& key : keys) {
    Id id = Id::Hash(key, local_->bits());
    auto entry = storage_->Get(id, key);
    if (entry) {
      Record record{id, key, *entry};
      bytes += RecordWireBytes(record);
      if (out.answered > 0 && bytes > options_.max_batch_bytes) break;
      out.records.push_back(std::move(record));
    }
    ++out.answered;
  }
  return out;
}

std::vector<RecordDigest> Dht::ServiceDigest(const Id& from, const Id& to,
                                             const std::optional<std::string>& after_key,
                                             size_t limit) const {
  std::optional<RecordPosition> after;
  if (after_key) after = RecordPosition{Id::Hash(*after_key, local_->bits()), *after_key};
  std::vector<RecordDigest> digests;
  for (auto& r : storage_->Versions(from, to, after, limit)) {
    digests.push_back({std::move(r.key), r.version});
  }
  return digests;
}

std::vector<uint64_t> Dht::ServiceTreeHashes(const Id& from, const Id& to, int level,
                                             const std::vector<uint32_t>& indices) const {
  std::vector<uint64_t> hashes;
  hashes.reserve(indices.size());
  for (uint32_t index : indices) hashes.push_back(storage_->RangeHash(level, index, from, to));
  return hashes;
}

std::vector<std::string> Dht::ServiceNeed(const std::vector<RecordDigest>& digests) const {
  std::vector<std::string> needed;
  for (const auto& d : digests) {
    if (d.version > LatestVersion()) continue;  // put_many would refuse it: do not ask for it
    auto entry = storage_->Get(Id::Hash(d.key, local_->bits()), d.key);
    if (!entry || entry->version < d.version) needed.push_back(d.key);
  }
  return needed;
}

}  // namespace chord
