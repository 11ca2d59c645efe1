// Dht's batched writes (dht.set_many): kept apart from dht.cpp, whose single-key paths they
// reuse.
#include <algorithm>
#include <boost/log/trivial.hpp>

#include "commands/call_deadline.h"
#include "dht/dht.h"

namespace chord {
namespace {

// Times the owner tries to write a key when newer versions keep arriving (as ExecuteAsOwner).
constexpr int kOwnerWriteTries = 3;

DhtNode WireNodeOf(const NodeRef& node, int bits) { return {node.id.ToHex(bits), node.address}; }

}  // namespace

std::vector<DhtSetResult> Dht::ServiceSetMany(const std::vector<DhtSetItem>& items,
                                              NodeRef* answered_by) {
  *answered_by = local_->self();
  std::vector<DhtSetResult> results(items.size());
  std::vector<Record> owned, stored;
  std::vector<size_t> owned_index, routed;
  for (size_t i = 0; i < items.size(); ++i) {
    Record record{Id::Hash(items[i].key, local_->bits()), items[i].key, {}};
    Status owner = router_.CheckOwner(record.id);
    if (Router::IsNotOwner(owner)) {
      routed.push_back(i);
    } else if (!owner.ok()) {
      results[i].status = owner;
    } else {
      owned.push_back(std::move(record));
      owned_index.push_back(i);
    }
  }
  PrefetchFromSuccessors(owned);
  std::vector<bool> written;
  Status batch = WriteManyAsOwner(items, owned_index, &owned, &written);
  stored.reserve(owned.size());
  for (size_t j = 0; j < owned.size(); ++j) {
    // Keys the batch did not store (a newer version arrived, or the engine failed) are tried
    // again one by one, as dht.set would.
    Status set =
        batch.ok() && written[j] ? Status::Ok() : SetAsOwner(items[owned_index[j]], &owned[j]);
    results[owned_index[j]].status = set;
    if (set.ok()) stored.push_back(std::move(owned[j]));
  }
  if (!stored.empty()) {
    writes_as_owner_.fetch_add(stored.size());
    NotifyWatchers();
    ReplicateMany(stored);  // acknowledged after the copies, as dht.set is
  }
  // A stale guess of the client's: these keys go to their owners one by one.
  for (size_t i : routed) {
    auto answer = RouteChecked(DhtOp::kSet, items[i].key, items[i].value, items[i].ttl_s);
    if (!answer.ok()) {
      results[i].status = answer.status();
      continue;
    }
    results[i].owner = WireNodeOf(answer->node, local_->bits());
    if (!answer->ok) results[i].status = Status::Internal("the owner did not store the key");
  }
  return results;
}

void Dht::PrefetchFromSuccessors(const std::vector<Record>& records) {
  // A key moving into this node's range may still be on a successor only: its version there
  // must be known before a new one is made (as ExecuteAsOwner does key by key).
  if (Settled()) return;
  std::vector<std::string> missing;
  for (const Record& r : records) {
    if (!storage_->Get(r.id, r.key)) missing.push_back(r.key);
  }
  const std::string self = local_->self().address;
  std::vector<std::string> holders;
  for (const NodeRef& node : local_->successors()) {
    if (holders.size() >= size_t(options_.replicas) + 1 || node.address == self) break;
    holders.push_back(node.address);
  }
  if (holders.empty()) return;
  for (size_t begin = 0; begin < missing.size(); begin += options_.transfer_batch) {
    const size_t end = std::min(missing.size(), begin + options_.transfer_batch);
    const std::vector<std::string> keys(missing.begin() + long(begin), missing.begin() + long(end));
    for (const auto& answer : peers_.FetchFromEach(holders, keys)) {
      if (!answer.ok()) continue;
      for (const Record& record : answer->records) Keep(record);  // the newest copy stays
    }
  }
}

Status Dht::WriteManyAsOwner(const std::vector<DhtSetItem>& items, const std::vector<size_t>& index,
                             std::vector<Record>* records, std::vector<bool>* written) {
  written->assign(records->size(), false);
  if (records->empty()) return Status::Ok();
  // As WriteAsOwner for each set, the versions assigned and the records written under one
  // hold of write_mutex_, in one storage batch.
  std::lock_guard<std::mutex> lock(write_mutex_);
  const int64_t now = NowMs();
  const uint64_t latest = LatestVersion();
  std::vector<bool> plausible(records->size(), true);
  for (size_t j = 0; j < records->size(); ++j) {
    Record& record = (*records)[j];
    const DhtSetItem& item = items[index[j]];
    std::optional<Entry> existing = storage_->Get(record.id, record.key);
    Entry& entry = record.entry;
    entry = Entry{};
    entry.version = NextVersion(existing ? existing->version : 0);
    // A version ahead of what replicas accept: left to SetAsOwner, which refuses it.
    plausible[j] = entry.version <= latest;
    entry.written_at_ms = now;
    entry.value = item.value.bytes;
    entry.binary = item.value.binary;
    entry.expires_at_ms = item.ttl_s > 0 ? now + int64_t(item.ttl_s) * 1000 : 0;
  }
  if (std::find(plausible.begin(), plausible.end(), false) != plausible.end()) {
    return Status::Unavailable("a version held is ahead of this node's clock");
  }
  if (CallDeadline::Passed()) {
    // As in WriteAsOwner: the caller gave up, and may have had these keys written since.
    return RefuseLateWrite("a batch of " + std::to_string(records->size()) + " keys from " +
                           records->front().key);
  }
  Status put = storage_->PutManyIfNewer(*records, written);
  if (!put.ok()) written->assign(records->size(), false);
  return put;
}

Result<size_t> Dht::KeepMany(const std::vector<Record>& records) {
  // Only records that Keep would take: collectible ones are left out (rarely any).
  std::vector<Record> kept;
  const std::vector<Record>* batch = &records;
  if (std::any_of(records.begin(), records.end(),
                  [this](const Record& r) { return Collectible(r.entry); })) {
    for (const Record& r : records) {
      if (!Collectible(r.entry)) kept.push_back(r);
    }
    batch = &kept;
  }
  std::vector<bool> stored;
  Status put = storage_->PutManyIfNewer(*batch, &stored);
  if (!put.ok()) return put;
  const size_t count = size_t(std::count(stored.begin(), stored.end(), true));
  if (count > 0) {
    received_.fetch_add(count);
    NotifyWatchers();
  }
  return count;
}

Status Dht::SetAsOwner(const DhtSetItem& item, Record* record) {
  const OwnerRequest request{DhtOp::kSet, item.key, item.value, item.ttl_s};
  for (int attempt = 0; attempt < kOwnerWriteTries; ++attempt) {
    DhtAnswer answer;
    auto applied = WriteAsOwner(request, record, &answer);
    if (!applied.ok()) return applied.status();
    if (applied.value()) return Status::Ok();
  }
  return Status::Unavailable("newer versions of " + item.key +
                             " kept arriving during the write; nothing was stored");
}

void Dht::ReplicateMany(const std::vector<Record>& records) {
  const size_t holders = size_t(options_.replicas - 1);
  if (holders == 0) return;
  for (size_t begin = 0; begin < records.size();) {
    size_t end = begin, bytes = 0;
    do {
      bytes += RecordWireBytes(records[end++]);
    } while (end < records.size() && end - begin < kMaxWireBatch &&
             bytes + RecordWireBytes(records[end]) <= options_.max_batch_bytes);
    const std::vector<Record> batch(records.begin() + long(begin), records.begin() + long(end));
    // As Replicate: a holder that does not answer is not live; repair restores its copies.
    for (const auto& reply :
         router_.CallOnSuccessors(holders, kPutBatchMethod, EncodePutBatch(batch))) {
      if (reply.reply.ok()) continue;
      replica_misses_.fetch_add(batch.size());
      BOOST_LOG_TRIVIAL(debug) << "replica " << reply.node.address << " missed " << batch.size()
                               << " keys of a batch: " << reply.reply.status().ToString();
    }
    begin = end;
  }
}

DhtOwnedPage Dht::ServiceOwned(const std::string& after, size_t limit) const {
  DhtOwnedPage page;
  page.address = local_->self().address;
  const Id self = local_->self().id;
  auto predecessor = local_->predecessor();
  const Id from = predecessor ? predecessor->id : self;  // alone (or unknown): the whole ring
  std::optional<RecordPosition> position;
  if (!after.empty()) position = RecordPosition{Id::Hash(after, local_->bits()), after};
  size_t bytes = 0;
  // Scanned in storage batches until the page is full or the range ends (dead records, such as
  // tombstones, are skipped: a page that stopped early would give the caller no cursor).
  while (true) {
    auto records = storage_->Range(from, self, position, limit);
    for (const Record& r : records) {
      position = RecordPosition{r.id, r.key};
      if (!Live(r.entry)) continue;
      Record counted{r.id, r.key, r.entry};
      bytes += RecordWireBytes(counted);
      page.records.push_back({r.key, {r.entry.value, r.entry.binary}});
      if (page.records.size() >= limit || bytes >= options_.max_batch_bytes) {
        page.more = true;
        return page;
      }
    }
    if (records.size() < limit) return page;  // the end of the range
  }
}

}  // namespace chord
