#include "tools/virtual_node.h"

#include <boost/log/trivial.hpp>

#include "commands/xmlrpc_transport.h"
#include "dht/dht_metrics.h"
#include "settings/secret.h"
#include "tools/node_storage.h"

namespace chord {
namespace {

// Before joining: asks the node at settings->join for the ring's id size. Without an explicit
// --id-bits the node takes it; with one that differs, the join could only fail later with ids
// that do not fit, so it is refused here with what to do. A contact that does not answer is left
// to the join itself to report.
Status MatchRingIdBits(bool bits_given, Settings* settings) {
  std::string secret;
  if (!settings->secret_file.empty()) {
    auto loaded = LoadSecret(settings->secret_file);
    if (!loaded.ok()) return Status::Ok();  // NodeHost::Start reports it
    secret = loaded.value();
  }
  XmlRpcTransport transport(TransportOptionsFrom(*settings, secret));
  auto info = ChordStub(&transport, 0).Info(settings->join);
  if (!info.ok() || info->bits == settings->id_bits) return Status::Ok();
  if (!bits_given) {
    settings->id_bits = info->bits;
    return Status::Ok();
  }
  return Status::Refused(
      "the ring at " + settings->join + " uses " + std::to_string(info->bits) +
      "-bit ids, this node " + std::to_string(settings->id_bits) +
      "-bit ids (--id-bits): every node of a ring uses the same size; give --id-bits " +
      std::to_string(info->bits) + " or leave --id-bits out to take the ring's");
}

// Binds a NodeHost; if the port came from the data directory and is taken now, binds a free
// one instead (a new address, so a new id).
Result<std::unique_ptr<NodeHost>> Bind(Settings settings, bool kept_port) {
  auto host = std::make_unique<NodeHost>(settings);
  Status status = host->Start();
  if (!status.ok() && kept_port) {
    BOOST_LOG_TRIVIAL(warning) << "port " << settings.port << " of the data directory "
                               << settings.data_dir << ": " << status.ToString()
                               << "; starting on a free port (a new id)";
    settings.port = 0;
    host = std::make_unique<NodeHost>(settings);
    status = host->Start();
  }
  if (!status.ok()) return status;
  return host;
}

}  // namespace

Result<std::unique_ptr<VirtualNode>> VirtualNode::Open(Settings settings, bool port_given,
                                                       bool bits_given, bool match_ring_bits) {
  // The data directory first: one in use or unreadable is refused before anything binds, and
  // the identity it keeps (port, id size) applies to what follows.
  auto opened = OpenNodeStorage(settings);
  if (!opened.ok()) return opened.status();
  NodeStorage storage = std::move(opened).value();
  bool kept_port = false, kept_bits = false;
  if (storage.durable) {
    Status restored = RestoreIdentity(*storage.durable, port_given, bits_given, &settings,
                                      &kept_port, &kept_bits);
    if (!restored.ok()) return restored;
  }
  if (match_ring_bits && !settings.join.empty()) {
    Status bits = MatchRingIdBits(bits_given || kept_bits, &settings);
    if (!bits.ok()) return bits;
  }
  auto host = Bind(settings, kept_port);
  if (!host.ok()) return host.status();
  std::unique_ptr<VirtualNode> node(new VirtualNode());
  node->host_ = std::move(host).value();
  if (storage.durable) {
    Status saved = SaveIdentity(storage.durable, node->address(), settings.id_bits);
    if (!saved.ok()) {
      node->host_->Stop();
      return saved;
    }
  }
  node->dht_ = std::make_unique<Dht>(&node->host_->local(), &node->host_->registry(),
                                     DhtOptionsFrom(settings), std::move(storage.storage));
  Dht* dht = node->dht_.get();
  node->host_->AddMetrics([dht](std::ostream& out) { WriteDhtMetrics(*dht, out); });
  // In-sync rounds cost one call per replica; after quiet rounds, wait up to 4 periods.
  const std::chrono::milliseconds repair_period(settings.repair_ms);
  node->host_->maintenance().AddAdaptive("dht_repair", repair_period, 4 * repair_period, [dht] {
    bool busy = true;
    dht->RepairStep(&busy);
    return busy;
  });
  return node;
}

VirtualNode::~VirtualNode() {
  if (dht_) dht_->StopWatches();
  if (host_) host_->Stop();
  dht_.reset();  // before the host whose overlay and registry it uses
}

void VirtualNode::AddHeartbeat(Maintenance* heartbeat) {
  Dht* dht = dht_.get();
  heartbeat->Add("dht_heartbeat", dht->HeartbeatPeriod(), [dht] { dht->Heartbeat(); });
  dht->Heartbeat();
}

Status VirtualNode::Enter() { return host_->Enter(); }

Status VirtualNode::Leave() {
  dht_->StopWatches();  // no server worker waits out a watch; the server stops at the end
  return host_->Leave();
}

void VirtualNode::Stop() {
  dht_->StopWatches();
  host_->Stop();
}

}  // namespace chord
