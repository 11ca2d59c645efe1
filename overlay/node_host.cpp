#include "overlay/node_host.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/log/trivial.hpp>

#include "settings/secret.h"

namespace chord {
namespace {

Result<std::string> SecretOf(const Settings& settings) {
  if (settings.secret_file.empty()) return std::string();
  return LoadSecret(settings.secret_file);
}

// The loaded secret, or "" if there is none or it failed to load (Start() then refuses to run).
std::string SecretOrNone(const Result<std::string>& secret) {
  return secret.ok() ? secret.value() : std::string();
}

XmlRpcServer::Options ServerOptions(const Settings& settings, const std::string& secret) {
  XmlRpcServer::Options options;
  options.bind = settings.bind;
  options.port = settings.port;
  options.max_connections = settings.max_connections;
  options.secret = secret;
  options.client_auth = settings.client_auth;
  options.max_request_bytes = MaxRequestBytes(settings);
  return options;
}

// True for a numeric IPv4 address in 127.0.0.0/8.
bool IsLoopback(const std::string& address) {
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return false;
  return (ntohl(parsed.s_addr) >> 24) == 127;
}

}  // namespace

XmlRpcTransport::Options TransportOptionsFrom(const Settings& settings, const std::string& secret) {
  XmlRpcTransport::Options options;
  options.connect_timeout_ms = settings.connect_timeout_ms;
  options.call_timeout_ms = settings.call_timeout_ms;
  options.secret = secret;
  return options;
}

OverlayOptions OverlayOptionsFrom(const Settings& settings) {
  OverlayOptions options;
  options.id_bits = settings.id_bits;
  options.successors = settings.successors;
  options.max_lookup_hops = settings.max_lookup_hops;
  return options;
}

NodeHost::NodeHost(Settings settings)
    : settings_(std::move(settings)),
      secret_(SecretOf(settings_)),
      transport_(TransportOptionsFrom(settings_, SecretOrNone(secret_))),
      server_(&registry_, ServerOptions(settings_, SecretOrNone(secret_))) {}

NodeHost::~NodeHost() { Stop(); }

NodeStats NodeHost::TransportStats() const {
  XmlRpcServer::Stats served = server_.stats();
  NodeStats stats;
  stats.calls_served = int64_t(served.requests);
  stats.connections_accepted = int64_t(served.connections_accepted);
  stats.connections_evicted = int64_t(served.connections_evicted);
  stats.connections_refused = int64_t(served.connections_refused);
  stats.connections_open = served.connections_open;
  stats.server_threads_started = int64_t(served.threads_started);
  XmlRpcTransport::Stats made = transport_.stats();
  stats.calls_made = int64_t(made.requests);
  stats.connections_opened = int64_t(made.connections_opened);
  return stats;
}

Status NodeHost::Start() {
  if (local_) return Status::Refused("node already started");
  if (!secret_.ok()) return secret_.status();
  if (secret_.value().empty() && !IsLoopback(settings_.bind)) {
    BOOST_LOG_TRIVIAL(warning) << "binding " << settings_.bind
                               << " without --secret-file: any host that reaches this port can "
                                  "call peer commands (write any record, claim to be a neighbour)";
  }
  Status status = server_.Start();
  if (!status.ok()) return status;
  if (host_commands_.names().empty()) {
    RegisterStatsCommand(&host_commands_, [this] { return TransportStats(); });
  }
  local_ =
      std::make_unique<Local>(OverlayOptionsFrom(settings_), address(), &transport_, &registry_);
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
