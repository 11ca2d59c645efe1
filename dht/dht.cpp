#include "dht/dht.h"

#include <boost/log/trivial.hpp>
#include <chrono>
#include <cstdint>

#include "commands/value_util.h"
#include "dht/record_codec.h"

namespace chord {
namespace {

constexpr size_t kMaxWireBatch = 4096;
constexpr size_t kScanBatch = 4096;  // records per storage scan for stats and listings

const char* OpName(int op) {
  static const char* kNames[] = {"set", "add", "get", "remove"};
  return kNames[op];
}

}  // namespace

Result<DhtValue> DhtValueFromXml(const xmlrpc_c::value& value) {
  DhtValue out;
  if (value.type() == xmlrpc_c::value::TYPE_STRING) {
    out.bytes = std::string(xmlrpc_c::value_string(value));
  } else if (value.type() == xmlrpc_c::value::TYPE_BYTESTRING) {
    auto bytes = xmlrpc_c::value_bytestring(value).vectorUcharValue();
    out.bytes.assign(bytes.begin(), bytes.end());
    out.binary = true;
  } else {
    return Status::BadArgument("value must be string or base64, got " +
                               std::string(ValueTypeName(value.type())));
  }
  return out;
}

DhtOptions DhtOptionsFrom(const Settings& settings) {
  DhtOptions options;
  options.replicas = settings.replicas;
  options.max_key_bytes = size_t(settings.max_key_bytes);
  options.max_value_bytes = size_t(settings.max_value_bytes);
  options.tombstone_ttl_ms = int64_t(settings.tombstone_ttl_s) * 1000;
  options.transfer_batch = size_t(settings.transfer_batch);
  return options;
}

Dht::Dht(Local* local, CommandRegistry* registry, DhtOptions options,
         std::unique_ptr<Storage> storage)
    : local_(local),
      router_(local, registry),
      options_(std::move(options)),
      storage_(std::move(storage)),
      commands_(registry) {
  if (options_.replicas < 1) options_.replicas = 1;
  if (options_.transfer_batch < 1) options_.transfer_batch = 1;
  RegisterCommands();
  local_->AddObserver(this);
}

Dht::~Dht() { local_->RemoveObserver(this); }

int64_t Dht::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t Dht::NextVersion(uint64_t existing) {
  // Microseconds of wall clock, so that versions from different owners over time compare in
  // write order; never below what this node has seen or issued.
  uint64_t now_us = uint64_t(NowMs()) * 1000;
  last_version_ = std::max({existing + 1, now_us, last_version_ + 1});
  return last_version_;
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

Status Dht::CheckKey(const std::string& key) const {
  if (key.empty()) return Status::BadArgument("key is empty");
  if (key.size() > options_.max_key_bytes) {
    return Status::BadArgument("key is " + std::to_string(key.size()) + " bytes, limit " +
                               std::to_string(options_.max_key_bytes));
  }
  return Status::Ok();
}

Status Dht::CheckValue(const DhtValue& value) const {
  if (value.bytes.size() > options_.max_value_bytes) {
    return Status::BadArgument("value is " + std::to_string(value.bytes.size()) + " bytes, limit " +
                               std::to_string(options_.max_value_bytes));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Client operations

Result<DhtAnswer> Dht::Set(const std::string& key, const DhtValue& value, int ttl_s) {
  return Route(Op::kSet, key, value, ttl_s);
}
Result<DhtAnswer> Dht::Add(const std::string& key, const DhtValue& value, int ttl_s) {
  return Route(Op::kAdd, key, value, ttl_s);
}
Result<DhtAnswer> Dht::Get(const std::string& key) { return Route(Op::kGet, key, {}, 0); }
Result<DhtAnswer> Dht::Remove(const std::string& key) { return Route(Op::kRemove, key, {}, 0); }

Result<LookupResult> Dht::Locate(const std::string& key) {
  Status check = CheckKey(key);
  if (!check.ok()) return check;
  return local_->FindSuccessor(Id::Hash(key, local_->bits()));
}

Result<DhtAnswer> Dht::Route(Op op, const std::string& key, const DhtValue& value, int ttl_s) {
  Status check = CheckKey(key);
  if (!check.ok()) return check;
  if (op == Op::kSet || op == Op::kAdd) {
    check = CheckValue(value);
    if (!check.ok()) return check;
  }
  if (ttl_s < 0) return Status::BadArgument("ttl must be >= 0 seconds");
  StructMembers request{{"op", xmlrpc_c::value_string(OpName(int(op)))},
                        {"key", xmlrpc_c::value_string(key)},
                        {"ttl", xmlrpc_c::value_int(ttl_s)}};
  if (op == Op::kSet || op == Op::kAdd) request["value"] = ValueToXml(value.bytes, value.binary);
  // The router finds the owner, and if it is down, its successor, which holds the range as a
  // replica and takes it over; a stale lookup is corrected by following predecessors.
  auto reply = router_.CallOnOwnerOfKey(key, "dht.owner_op", Params({MakeStruct(request)}));
  if (!reply.ok()) return reply.status();
  DhtAnswer answer;
  answer.node = reply->owner;
  answer.hops = reply->hops;
  auto ok = StructBool(reply->value, "ok");
  if (!ok.ok()) return ok.status();
  answer.ok = ok.value();
  answer.exists = StructHas(reply->value, "exists") && StructBool(reply->value, "exists").value();
  if (StructHas(reply->value, "value")) {
    auto v = DhtValueFromXml(StructMember(reply->value, "value").value());
    if (!v.ok()) return v.status();
    answer.value = v.value();
  }
  return answer;
}

std::optional<Entry> Dht::FetchFromSuccessors(const Id& id, const std::string& key) {
  // Once the range has been pulled completely, a miss here is a miss everywhere.
  if (Settled()) return std::nullopt;
  // Otherwise the key may still sit with the node that owned it before: the successor, or
  // further along when several nodes joined in the same gap. Replica holders are on the way.
  const std::string self = local_->self().address;
  std::vector<xmlrpc_c::value> keys{xmlrpc_c::value_string(key)};
  auto successors = local_->successors();
  const size_t look = std::min(successors.size(), size_t(options_.replicas) + 1);
  for (size_t i = 0; i < look; ++i) {
    if (successors[i].address == self) break;
    auto reply = local_->transport()->Call(successors[i].address, "dht.fetch",
                                           Params({xmlrpc_c::value_array(keys)}));
    if (!reply.ok()) continue;
    auto records_value = StructMember(reply.value(), "records");
    if (!records_value.ok()) continue;
    auto records = RecordsFromXml(records_value.value(), local_->bits());
    if (!records.ok() || records->empty()) continue;
    const Record& record = records->front();
    if (record.key != key || record.id != id) continue;
    if (!Collectible(record.entry) && storage_->PutIfNewer(id, key, record.entry)) {
      received_.fetch_add(1);
    }
    return record.entry;
  }
  return std::nullopt;
}

Result<DhtAnswer> Dht::ExecuteAsOwner(Op op, const std::string& key, const DhtValue& value,
                                      int ttl_s) {
  const Id id = Id::Hash(key, local_->bits());
  Status owner = router_.CheckOwner(id);
  if (!owner.ok()) return owner;
  DhtAnswer answer;
  answer.node = local_->self();
  // A key moving into this node's range may still be on the successor only: look there once.
  std::optional<Entry> existing = storage_->Get(id, key);
  if (!existing) existing = FetchFromSuccessors(id, key);
  if (op == Op::kGet) {
    if (existing && Live(*existing)) {
      answer.ok = true;
      answer.value = {existing->value, existing->binary};
    }
    return answer;
  }
  Record record{id, key, {}};
  {
    std::lock_guard<std::mutex> lock(write_mutex_);
    existing = storage_->Get(id, key);
    bool live = existing && Live(*existing);
    if (op == Op::kAdd && live) {
      answer.exists = true;
      return answer;
    }
    Entry& entry = record.entry;
    entry.version = NextVersion(existing ? existing->version : 0);
    entry.written_at_ms = NowMs();
    if (op == Op::kRemove) {
      entry.tombstone = true;
      answer.ok = live;
    } else {
      entry.value = value.bytes;
      entry.binary = value.binary;
      entry.expires_at_ms = ttl_s > 0 ? entry.written_at_ms + int64_t(ttl_s) * 1000 : 0;
      answer.ok = true;
    }
    storage_->PutIfNewer(id, key, entry);
  }
  Replicate(record);
  return answer;
}

void Dht::Replicate(const Record& record) {
  // A holder that does not answer is not live: the write is acknowledged by the live ones (the
  // router passes its turn to the next successor) and repair restores the copy later.
  auto replies = router_.CallOnSuccessors(size_t(options_.replicas - 1), "dht.put_many",
                                          Params({RecordsToXml({record})}));
  for (const auto& reply : replies) {
    if (!reply.reply.ok()) {
      BOOST_LOG_TRIVIAL(debug) << "replica " << reply.node.address << " missed " << record.key
                               << ": " << reply.reply.status().ToString();
    }
  }
}

Result<size_t> Dht::SendRecords(const std::string& address, const std::vector<Record>& records) {
  auto reply = local_->transport()->Call(address, "dht.put_many", Params({RecordsToXml(records)}));
  if (!reply.ok()) return reply.status();
  auto stored = StructInt(reply.value(), "stored");
  if (!stored.ok()) return stored.status();
  return size_t(stored.value());
}

// ---------------------------------------------------------------------------------------------
// Movement and repair

Status Dht::RepairStep() {
  Status first;
  auto keep = [&first](const Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  if (local_->joined()) {
    auto predecessor = local_->predecessor();
    auto successors = local_->successors();
    if (predecessor && !successors.empty()) {
      keep(PullOwnRange(*predecessor, successors.front()));
      size_t holders = std::min(successors.size(), size_t(options_.replicas - 1));
      for (size_t i = 0; i < holders; ++i) keep(PushToHolder(*predecessor, successors[i]));
      keep(HandOverForeign(*predecessor));
    }
  }
  CollectGarbage();
  return first;
}

Status Dht::PullOwnRange(const NodeRef& predecessor, const NodeRef& successor) {
  const int bits = local_->bits();
  const NodeRef self = local_->self();
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(settle_mutex_);
    generation = range_generation_;
  }
  std::string after;
  for (size_t batch = 0; batch < options_.max_batches_per_step; ++batch) {
    xmlrpc_c::paramList params = Params({xmlrpc_c::value_string(predecessor.id.ToHex(bits)),
                                         xmlrpc_c::value_string(self.id.ToHex(bits))});
    if (!after.empty()) params.add(xmlrpc_c::value_string(after));
    params.add(xmlrpc_c::value_int(int(options_.transfer_batch)));
    auto reply = local_->transport()->Call(successor.address, "dht.digest", params);
    if (!reply.ok()) return reply.status();
    auto digests = StructArray(reply.value(), "digests");
    if (!digests.ok()) return digests.status();
    std::vector<xmlrpc_c::value> wanted;
    for (const auto& d : digests.value()) {
      auto key = StructString(d, "key");
      auto version = StructString(d, "version");
      if (!key.ok() || !version.ok()) return Status::Internal("malformed digest");
      after = key.value();
      auto local = storage_->Get(Id::Hash(key.value(), bits), key.value());
      if (!local || local->version < std::stoull(version.value())) {
        wanted.push_back(xmlrpc_c::value_string(key.value()));
      }
    }
    if (!wanted.empty()) {
      auto fetched = local_->transport()->Call(successor.address, "dht.fetch",
                                               Params({xmlrpc_c::value_array(wanted)}));
      if (!fetched.ok()) return fetched.status();
      auto records = RecordsFromXml(StructMember(fetched.value(), "records").value(), bits);
      if (!records.ok()) return records.status();
      for (const auto& r : records.value()) {
        if (!Collectible(r.entry) && storage_->PutIfNewer(r.id, r.key, r.entry)) {
          received_.fetch_add(1);
          received_as_owner_.fetch_add(1);
        }
      }
    }
    if (digests->size() < options_.transfer_batch) {
      // The whole range came over; see Settled() for when that makes it complete.
      std::lock_guard<std::mutex> lock(settle_mutex_);
      if (range_generation_ == generation && ++complete_pulls_ > options_.replicas) {
        settled_ = true;
      }
      break;
    }
  }
  return Status::Ok();
}

Status Dht::PushToHolder(const NodeRef& predecessor, const NodeRef& holder) {
  const NodeRef self = local_->self();
  std::optional<RecordPosition> after;
  for (size_t batch = 0; batch < options_.max_batches_per_step; ++batch) {
    auto records = storage_->Range(predecessor.id, self.id, after, options_.transfer_batch);
    if (records.empty()) break;
    after = RecordPosition{records.back().id, records.back().key};
    const bool last_batch = records.size() < options_.transfer_batch;
    // What would be collected anyway is not worth sending (and would come back after GC).
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [this](const Record& r) { return Collectible(r.entry); }),
                  records.end());
    std::vector<xmlrpc_c::value> digests;
    for (const auto& r : records) {
      digests.push_back(
          MakeStruct({{"key", xmlrpc_c::value_string(r.key)},
                      {"version", xmlrpc_c::value_string(std::to_string(r.entry.version))}}));
    }
    auto reply = local_->transport()->Call(holder.address, "dht.need",
                                           Params({xmlrpc_c::value_array(digests)}));
    if (!reply.ok()) return reply.status();
    auto keys = StructArray(reply.value(), "keys");
    if (!keys.ok()) return keys.status();
    if (!keys->empty()) {
      std::vector<Record> missing;
      size_t k = 0;
      for (const auto& r : records) {
        if (k < keys->size() && std::string(xmlrpc_c::value_string((*keys)[k])) == r.key) {
          missing.push_back(r);
          ++k;
        }
      }
      auto sent = SendRecords(holder.address, missing);
      if (!sent.ok()) return sent.status();
    }
    if (last_batch) break;
  }
  return Status::Ok();
}

Status Dht::HandOverForeign(const NodeRef& predecessor) {
  const NodeRef self = local_->self();
  const int bits = local_->bits();
  // This node keeps its own range and those it replicates: (P_replicas, self], where P_k is
  // its k-th predecessor. Find that boundary by walking predecessors.
  NodeRef boundary = predecessor;
  for (int k = 1; k < options_.replicas; ++k) {
    if (boundary.address == self.address) return Status::Ok();  // small ring: keep everything
    auto reply =
        local_->transport()->Call(boundary.address, "chord.neighbors", xmlrpc_c::paramList());
    if (!reply.ok()) return reply.status();  // unsure of the boundary: keep everything
    if (!StructHas(reply.value(), "predecessor")) return Status::Ok();
    auto next = NodeFromValue(StructMember(reply.value(), "predecessor").value(), bits);
    if (!next.ok()) return next.status();
    boundary = next.value();
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
      auto owner = local_->FindSuccessor(foreign[i].id);
      if (!owner.ok()) return owner.status();
      if (owner->owner.address == self.address) {
        ++i;  // ours after all (the ring is moving): keep it
        continue;
      }
      std::vector<Record> run;
      while (i < foreign.size() && InHalfOpenInterval(foreign[i].id, self.id, owner->owner.id)) {
        if (!Collectible(foreign[i].entry)) run.push_back(foreign[i]);
        ++i;
      }
      if (!run.empty()) {
        auto sent = SendRecords(owner->owner.address, run);
        if (!sent.ok()) return sent.status();
      }
      for (const auto& r : run) storage_->Erase(r.id, r.key, r.entry.version);
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
  ForEachRecord(options_.transfer_batch, options_.max_batches_per_step * 4,
                [this](const Record& r) {
                  if (Collectible(r.entry)) storage_->Erase(r.id, r.key, r.entry.version);
                  return true;
                });
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

bool Dht::Settled() const {
  std::lock_guard<std::mutex> lock(settle_mutex_);
  return settled_;
}

void Dht::OnLeaving() {
  Status status = HandOff();
  if (!status.ok()) BOOST_LOG_TRIVIAL(warning) << status.ToString();
}

DhtStats Dht::Stats() const {
  DhtStats stats;
  stats.received = received_.load();
  stats.received_as_owner = received_as_owner_.load();
  {
    std::lock_guard<std::mutex> lock(settle_mutex_);
    stats.settled = settled_;
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
// Commands

void Dht::RegisterCommands() {
  auto add = [this](Command command) { commands_.Add(std::move(command)); };
  const int bits = local_->bits();
  auto node_members = [bits](const DhtAnswer& a) {
    return StructMembers{{"node", NodeToValue(a.node, bits)},
                         {"hops", xmlrpc_c::value_int(a.hops)}};
  };

  auto write_command = [this, node_members](Op op, const char* name, const char* help) {
    return Command{
        name, Audience::kClient, "S:s*,S:s*i", help,
        [this, op, node_members](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
          auto value = DhtValueFromXml(p[1]);
          if (!value.ok()) return value.status();
          int ttl = p.size() > 2 ? p.getInt(2) : 0;
          auto answer = Route(op, p.getString(0), value.value(), ttl);
          if (!answer.ok()) return answer.status();
          StructMembers m = node_members(answer.value());
          m["stored"] = xmlrpc_c::value_boolean(answer->ok);
          if (op == Op::kAdd) m["exists"] = xmlrpc_c::value_boolean(answer->exists);
          return MakeStruct(m);
        }};
  };
  add(write_command(Op::kSet, "dht.set",
                    "set(key, value[, ttl_seconds]): store or overwrite; value is a string or "
                    "base64 and comes back with the same type. Answer {stored, node, hops}."));
  add(write_command(Op::kAdd, "dht.add",
                    "add(key, value[, ttl_seconds]): store only if absent. Answer {stored, "
                    "exists, node, hops}; an existing key gives stored=false, exists=true."));

  add({"dht.get", Audience::kClient, "S:s",
       "get(key): answer {found, value (if found), node, hops}.",
       [this, node_members](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto answer = Get(p.getString(0));
         if (!answer.ok()) return answer.status();
         StructMembers m = node_members(answer.value());
         m["found"] = xmlrpc_c::value_boolean(answer->ok);
         if (answer->ok) m["value"] = ValueToXml(answer->value.bytes, answer->value.binary);
         return MakeStruct(m);
       }});
  add({"dht.remove", Audience::kClient, "S:s",
       "remove(key): answer {removed, node, hops}; removed=false if absent.",
       [this, node_members](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto answer = Remove(p.getString(0));
         if (!answer.ok()) return answer.status();
         StructMembers m = node_members(answer.value());
         m["removed"] = xmlrpc_c::value_boolean(answer->ok);
         return MakeStruct(m);
       }});
  add({"dht.locate", Audience::kClient, "S:s",
       "locate(key): the owner without the value: {id (of the key), node, hops, replicas}.",
       [this, bits](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto found = Locate(p.getString(0));
         if (!found.ok()) return found.status();
         std::vector<NodeRef> replicas;
         for (size_t i = 1; i < found->successors.size() && int(i) < options_.replicas; ++i) {
           replicas.push_back(found->successors[i]);
         }
         return MakeStruct(
             {{"id", xmlrpc_c::value_string(Id::Hash(p.getString(0), bits).ToHex(bits))},
              {"node", NodeToValue(found->owner, bits)},
              {"hops", xmlrpc_c::value_int(found->hops)},
              {"replicas", NodesToValue(replicas, bits)}});
       }});
  add({"dht.stats", Audience::kClient, "S:",
       "Entries held here: {owned, replicas, tombstones, received, received_as_owner, settled "
       "(this node holds its whole range)}.",
       [this](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
         DhtStats s = Stats();
         return MakeStruct({{"owned", xmlrpc_c::value_int(int(s.owned))},
                            {"replicas", xmlrpc_c::value_int(int(s.replicas))},
                            {"tombstones", xmlrpc_c::value_int(int(s.tombstones))},
                            {"received", xmlrpc_c::value_int(int(s.received))},
                            {"received_as_owner", xmlrpc_c::value_int(int(s.received_as_owner))},
                            {"settled", xmlrpc_c::value_boolean(s.settled)}});
       }});
  add({"dht.keys", Audience::kClient, "S:,S:i",
       "keys([limit]): live keys held here, in id order: {keys: [{key, owned}], truncated}. "
       "Default limit 1000.",
       [this](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         size_t limit = p.size() > 0 ? size_t(std::max(0, p.getInt(0))) : 1000;
         std::vector<xmlrpc_c::value> keys;
         bool truncated = false;
         ForEachRecord(kScanBatch, SIZE_MAX, [&](const Record& r) {
           if (!Live(r.entry)) return true;
           if (keys.size() >= limit) {
             truncated = true;
             return false;
           }
           keys.push_back(MakeStruct({{"key", xmlrpc_c::value_string(r.key)},
                                      {"owned", xmlrpc_c::value_boolean(local_->Owns(r.id))}}));
           return true;
         });
         return MakeStruct({{"keys", xmlrpc_c::value_array(keys)},
                            {"truncated", xmlrpc_c::value_boolean(truncated)}});
       }});

  // --- internal: between nodes ---
  add({"dht.owner_op", Audience::kPeer, "S:S",
       "Internal: run {op, key, value, ttl} on this node as the key's owner. Answer {ok, exists, "
       "value}; a refused 'not the owner' fault if the key belongs to a node before this one.",
       [this](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto op_name = StructString(p[0], "op");
         auto key = StructString(p[0], "key");
         if (!op_name.ok()) return op_name.status();
         if (!key.ok()) return key.status();
         Status check = CheckKey(key.value());
         if (!check.ok()) return check;
         Op op;
         if (op_name.value() == "set") {
           op = Op::kSet;
         } else if (op_name.value() == "add") {
           op = Op::kAdd;
         } else if (op_name.value() == "get") {
           op = Op::kGet;
         } else if (op_name.value() == "remove") {
           op = Op::kRemove;
         } else {
           return Status::BadArgument("unknown op '" + op_name.value() + "'");
         }
         DhtValue value;
         if (op == Op::kSet || op == Op::kAdd) {
           auto v = StructMember(p[0], "value");
           if (!v.ok()) return v.status();
           auto parsed = DhtValueFromXml(v.value());
           if (!parsed.ok()) return parsed.status();
           value = parsed.value();
           check = CheckValue(value);
           if (!check.ok()) return check;
         }
         int ttl = StructHas(p[0], "ttl") ? StructInt(p[0], "ttl").value() : 0;
         auto answer = ExecuteAsOwner(op, key.value(), value, ttl);
         if (!answer.ok()) return answer.status();
         StructMembers m{{"ok", xmlrpc_c::value_boolean(answer->ok)},
                         {"exists", xmlrpc_c::value_boolean(answer->exists)}};
         if (op == Op::kGet && answer->ok) {
           m["value"] = ValueToXml(answer->value.bytes, answer->value.binary);
         }
         return MakeStruct(m);
       }});
  add({"dht.put_many", Audience::kPeer, "S:A",
       "Internal: store records (newest version wins). Answer {stored: count}.",
       [this, bits](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto records = RecordsFromXml(p[0], bits);
         if (!records.ok()) return records.status();
         int stored = 0;
         for (const auto& r : records.value()) {
           if (r.key.empty() || r.key.size() > options_.max_key_bytes ||
               r.entry.value.size() > options_.max_value_bytes) {
             return Status::BadArgument("record for key of " + std::to_string(r.key.size()) +
                                        " bytes exceeds the limits");
           }
         }
         for (const auto& r : records.value()) {
           if (!Collectible(r.entry) && storage_->PutIfNewer(r.id, r.key, r.entry)) ++stored;
         }
         received_.fetch_add(uint64_t(stored));
         return MakeStruct({{"stored", xmlrpc_c::value_int(stored)}});
       }});
  add({"dht.fetch", Audience::kPeer, "S:A",
       "Internal: the records (tombstones included) held here for the given keys: {records}.",
       [this, bits](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         std::vector<Record> out;
         auto keys = xmlrpc_c::value_array(p[0]).vectorValueValue();
         if (keys.size() > kMaxWireBatch) return Status::BadArgument("too many keys");
         for (const auto& k : keys) {
           if (k.type() != xmlrpc_c::value::TYPE_STRING) {
             return Status::BadArgument("keys must be strings");
           }
           std::string key = xmlrpc_c::value_string(k);
           Id id = Id::Hash(key, bits);
           auto entry = storage_->Get(id, key);
           if (entry) out.push_back({id, key, *entry});
         }
         return MakeStruct({{"records", RecordsToXml(out)}});
       }});
  add({"dht.digest", Audience::kPeer, "S:ssi,S:sssi",
       "Internal: digest(from_hex, to_hex[, after_key], limit): {digests: [{key, version}]} of "
       "the records held here with ids in (from, to], in ring order.",
       [this, bits](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         auto from = Id::FromHex(p.getString(0), bits);
         if (!from.ok()) return from.status();
         auto to = Id::FromHex(p.getString(1), bits);
         if (!to.ok()) return to.status();
         std::optional<RecordPosition> after;
         if (p.size() == 4) {
           std::string key = p.getString(2);
           after = RecordPosition{Id::Hash(key, bits), key};
         }
         int limit = p.getInt(p.size() - 1);
         if (limit < 1 || size_t(limit) > kMaxWireBatch) {
           return Status::BadArgument("limit must be 1.." + std::to_string(kMaxWireBatch));
         }
         std::vector<xmlrpc_c::value> digests;
         for (const auto& r : storage_->Range(from.value(), to.value(), after, size_t(limit))) {
           digests.push_back(
               MakeStruct({{"key", xmlrpc_c::value_string(r.key)},
                           {"version", xmlrpc_c::value_string(std::to_string(r.entry.version))}}));
         }
         return MakeStruct({{"digests", xmlrpc_c::value_array(digests)}});
       }});
  add({"dht.need", Audience::kPeer, "S:A",
       "Internal: need([{key, version}]): {keys} this node lacks or holds in an older version, "
       "in the order given.",
       [this, bits](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
         std::vector<xmlrpc_c::value> needed;
         for (const auto& d : xmlrpc_c::value_array(p[0]).vectorValueValue()) {
           auto key = StructString(d, "key");
           auto version = StructString(d, "version");
           if (!key.ok() || !version.ok()) return Status::BadArgument("malformed digest");
           auto entry = storage_->Get(Id::Hash(key.value(), bits), key.value());
           uint64_t v = 0;
           try {
             v = std::stoull(version.value());
           } catch (const std::exception&) {
             return Status::BadArgument("malformed version");
           }
           if (!entry || entry->version < v) needed.push_back(xmlrpc_c::value_string(key.value()));
         }
         return MakeStruct({{"keys", xmlrpc_c::value_array(needed)}});
       }});
}

}  // namespace chord
