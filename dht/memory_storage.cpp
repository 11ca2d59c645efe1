#include "dht/memory_storage.h"

namespace chord {

std::optional<Entry> MemoryStorage::Get(const Id& id, const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find({id, key});
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

Result<bool> MemoryStorage::PutIfNewer(const Id& id, const std::string& key, const Entry& entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = entries_.try_emplace({id, key}, entry);
  if (inserted) return true;
  if (it->second.version >= entry.version) return false;
  it->second = entry;
  return true;
}

Result<bool> MemoryStorage::Erase(const Id& id, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find({id, key});
  if (it == entries_.end() || it->second.version > version) return false;
  entries_.erase(it);
  return true;
}

template <typename Visit>
void MemoryStorage::Scan(const Id& from, const Id& to, const std::optional<RecordPosition>& after,
                         size_t limit, Visit&& visit) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // Iterate in ring order starting just after `from`: first the ids above it, then (wrapped)
  // from the smallest id. (from, to] is a prefix of that order, so stop at the first id outside.
  auto it = entries_.end();
  bool wrapped = false;
  if (after) {
    if (!InHalfOpenInterval(after->first, from, to)) return;
    it = entries_.upper_bound(*after);
    wrapped = !(from < after->first);
  } else {
    it = entries_.lower_bound({from, std::string()});
    while (it != entries_.end() && it->first.first == from) ++it;
  }
  for (size_t visited = 0; visited < limit;) {
    if (it == entries_.end()) {
      if (wrapped) break;
      wrapped = true;
      it = entries_.begin();
      continue;
    }
    const Id& id = it->first.first;
    if (wrapped && from < id) break;  // back where we started
    if (!InHalfOpenInterval(id, from, to)) break;
    visit(*it);
    ++visited;
    ++it;
  }
}

std::vector<Record> MemoryStorage::Range(const Id& from, const Id& to,
                                         const std::optional<RecordPosition>& after,
                                         size_t limit) const {
  std::vector<Record> out;
  Scan(from, to, after, limit, [&out](const auto& item) {
    out.push_back({item.first.first, item.first.second, item.second});
  });
  return out;
}

std::vector<RecordVersion> MemoryStorage::Versions(const Id& from, const Id& to,
                                                   const std::optional<RecordPosition>& after,
                                                   size_t limit) const {
  std::vector<RecordVersion> out;
  Scan(from, to, after, limit, [&out](const auto& item) {
    out.push_back({item.first.first, item.first.second, item.second.version});
  });
  return out;
}

size_t MemoryStorage::Count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace chord
