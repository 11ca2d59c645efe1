#include "tools/fs/chunk_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace chord {

ChunkCache::ChunkCache(FsStore* store, WorkerPool* pool, size_t capacity_bytes, int read_ahead)
    : store_(store), pool_(pool), capacity_bytes_(capacity_bytes), read_ahead_(read_ahead) {}

std::string ChunkCache::SlotKey(const std::string& path, const DhtFileInfo& info, uint64_t index) {
  return DhtClient::ChunkKey(info, FileKey(path), index) + "|" + info.sha1;
}

void ChunkCache::StartFetch(const std::string& path, const DhtFileInfo& info, uint64_t index) {
  const std::string key = SlotKey(path, info, index);
  if (slots_.count(key)) return;
  slots_[key].last_use = ++clock_;
  pool_->Submit([this, path, info, index, key] {
    auto chunk = store_->GetChunk(path, info, index);
    const uint64_t want =
        std::min<uint64_t>(info.chunk_bytes, info.size - index * info.chunk_bytes);
    Status status = chunk.status();
    if (chunk.ok() && chunk->size() != want) {
      status = Status::Unavailable("chunk " + std::to_string(index) + " of " + path + " has " +
                                   std::to_string(chunk->size()) + " bytes, want " +
                                   std::to_string(want));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Slot& slot = slots_[key];
    slot.ready = true;
    if (status.ok()) {
      slot.bytes = std::make_shared<const std::string>(std::move(chunk.value()));
      bytes_ += slot.bytes->size();
    } else {
      slot.status = status;
    }
    arrived_.notify_all();
  });
}

void ChunkCache::Evict() {
  while (bytes_ > capacity_bytes_) {  // each turn drops one chunk: bounded by their number
    auto oldest = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if (it->second.ready && it->second.bytes &&
          (oldest == slots_.end() || it->second.last_use < oldest->second.last_use)) {
        oldest = it;
      }
    }
    if (oldest == slots_.end()) return;
    bytes_ -= oldest->second.bytes->size();
    slots_.erase(oldest);
  }
}

Result<std::shared_ptr<const std::string>> ChunkCache::Chunk(const std::string& path,
                                                             const DhtFileInfo& info,
                                                             uint64_t index) {
  const std::string key = SlotKey(path, info, index);
  std::unique_lock<std::mutex> lock(mutex_);
  StartFetch(path, info, index);
  for (uint64_t ahead = index + 1; ahead <= index + uint64_t(read_ahead_) && ahead < info.chunks;
       ++ahead) {
    StartFetch(path, info, ahead);
  }
  // A fetch retries for at most the store's time-out per call; allow a few calls more.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(3 * store_->options().timeout_ms + 10000);
  auto ready = [&] {
    auto it = slots_.find(key);
    return it == slots_.end() || it->second.ready;  // gone: another reader took its error
  };
  if (!arrived_.wait_until(lock, deadline, ready)) {
    return Status::Unavailable("chunk " + std::to_string(index) + " of " + path +
                               " did not arrive in time");
  }
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    return Status::Unavailable("chunk " + std::to_string(index) + " of " + path +
                               " could not be fetched");
  }
  Slot& slot = it->second;
  if (!slot.status.ok()) {
    Status failed = slot.status;
    slots_.erase(key);  // the next read tries again
    return failed;
  }
  slot.last_use = ++clock_;
  auto bytes = slot.bytes;
  Evict();
  return bytes;
}

Result<size_t> ChunkCache::Read(const std::string& path, const DhtFileInfo& info, uint64_t offset,
                                size_t size, char* out) {
  if (offset >= info.size) return size_t(0);
  size = size_t(std::min<uint64_t>(size, info.size - offset));
  size_t done = 0;
  while (done < size) {  // one chunk per turn
    const uint64_t at = offset + done;
    const uint64_t index = at / info.chunk_bytes;
    auto chunk = Chunk(path, info, index);
    if (!chunk.ok()) return chunk.status();
    const size_t within = size_t(at - index * info.chunk_bytes);
    const size_t n = std::min(size - done, chunk.value()->size() - within);
    std::memcpy(out + done, chunk.value()->data() + within, n);
    done += n;
  }
  return done;
}

Status ChunkCache::ReadAll(const std::string& path, const DhtFileInfo& info, int fd) {
  for (uint64_t index = 0; index < info.chunks; ++index) {
    auto chunk = Chunk(path, info, index);
    if (!chunk.ok()) return chunk.status();
    const std::string& bytes = *chunk.value();
    if (pwrite(fd, bytes.data(), bytes.size(), off_t(index * info.chunk_bytes)) !=
        ssize_t(bytes.size())) {
      return Status::Internal(std::string("cannot write the local copy: ") + strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace chord
