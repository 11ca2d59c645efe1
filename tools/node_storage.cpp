#include "tools/node_storage.h"

#include "dht/memory_storage.h"

namespace chord {
namespace {

constexpr char kAddressMeta[] = "address";
constexpr char kIdBitsMeta[] = "id_bits";

}  // namespace

Result<NodeStorage> OpenNodeStorage(const Settings& settings) {
  NodeStorage out;
  if (settings.data_dir.empty()) {
    out.storage = std::make_unique<MemoryStorage>();
    return out;
  }
  auto opened = LevelDbStorage::Open(settings.data_dir);
  if (!opened.ok()) return opened.status();
  out.durable = opened.value().get();
  out.storage = std::move(opened).value();
  return out;
}

Status RestoreIdentity(const LevelDbStorage& storage, bool port_given, bool bits_given,
                       Settings* settings, bool* kept_port, bool* kept_bits) {
  *kept_port = *kept_bits = false;
  auto bits = storage.ReadMeta(kIdBitsMeta);
  if (!bits.ok()) return bits.status();
  if (bits.value()) {
    const int kept = std::atoi(bits.value()->c_str());
    if (bits_given && kept != settings->id_bits) {
      return Status::Refused("the data directory " + settings->data_dir + " holds a node of " +
                             std::to_string(kept) + "-bit ids, not " +
                             std::to_string(settings->id_bits) + " (--id-bits): give --id-bits " +
                             std::to_string(kept) + " or another directory");
    }
    settings->id_bits = kept;
    *kept_bits = true;
  }
  auto address = storage.ReadMeta(kAddressMeta);
  if (!address.ok()) return address.status();
  int port = 0;
  if (!port_given && address.value() && ParseHostPort(*address.value(), nullptr, &port)) {
    settings->port = port;
    *kept_port = true;
  }
  return Status::Ok();
}

Status SaveIdentity(LevelDbStorage* storage, const std::string& address, int bits) {
  Status saved = storage->WriteMeta(kIdBitsMeta, std::to_string(bits));
  if (!saved.ok()) return saved;
  return storage->WriteMeta(kAddressMeta, address);
}

}  // namespace chord
