#include "overlay/node_host.h"

namespace chord {
namespace {

XmlRpcTransport::Options TransportOptions(const Settings& settings) {
  XmlRpcTransport::Options options;
  options.connect_timeout_ms = settings.connect_timeout_ms;
  options.call_timeout_ms = settings.call_timeout_ms;
  return options;
}

XmlRpcServer::Options ServerOptions(const Settings& settings) {
  XmlRpcServer::Options options;
  options.bind = settings.bind;
  options.port = settings.port;
  options.max_connections = settings.max_connections;
  return options;
}

}  // namespace

OverlayOptions OverlayOptionsFrom(const Settings& settings) {
  OverlayOptions options;
  options.id_bits = settings.id_bits;
  options.successors = settings.successors;
  options.max_lookup_hops = settings.max_lookup_hops;
  return options;
}

NodeHost::NodeHost(Settings settings)
    : settings_(std::move(settings)),
      transport_(TransportOptions(settings_)),
      server_(&registry_, ServerOptions(settings_)) {}

NodeHost::~NodeHost() { Stop(); }

Status NodeHost::Start() {
  if (local_) return Status::Refused("node already started");
  Status status = server_.Start();
  if (!status.ok()) return status;
  local_ = std::make_unique<Local>(OverlayOptionsFrom(settings_), server_.address(), &transport_,
                                   &registry_);
  AddOverlayMaintenance(&maintenance_, local_.get(),
                        std::chrono::milliseconds(settings_.stabilize_ms),
                        std::chrono::milliseconds(settings_.fix_fingers_ms),
                        std::chrono::milliseconds(settings_.check_predecessor_ms));
  return Status::Ok();
}

Status NodeHost::Enter() {
  if (!local_) return Status::Refused("node not started");
  Status status;
  if (settings_.create) {
    status = local_->Create();
  } else if (!settings_.join.empty()) {
    status = local_->Join(settings_.join);
  } else {
    return Status::BadArgument("neither --create nor --join HOST:PORT was given");
  }
  if (!status.ok()) return status;
  // A first round right away, so the ring knows this node before the first period ends.
  local_->Stabilize();
  maintenance_.Start();
  return Status::Ok();
}

Status NodeHost::Leave() {
  if (!local_) return Status::Refused("node not started");
  maintenance_.Stop();
  Status status = local_->joined() ? local_->Leave() : Status::Ok();
  Stop();
  return status;
}

void NodeHost::Stop() {
  maintenance_.Stop();
  server_.Stop();
}

}  // namespace chord
