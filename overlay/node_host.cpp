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
  options.min_call_timeout_ms = settings.min_call_timeout_ms;
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

namespace {

// One line of an info-style metric: `name{labels} 1`.
void NodeLine(std::ostream& out, const char* name, const std::string& extra, const NodeRef& node,
              int bits) {
  out << name << "{" << extra << "id=\"" << node.id.ToHex(bits) << "\",address=\""
      << PrometheusLabel(node.address) << "\"} 1\n";
}

}  // namespace

void NodeHost::WriteOverlayMetrics(std::ostream& out) const {
  const NodeInfo info = local_->Info();
  const int bits = info.bits;
  out << "# HELP chord_node This node: its id and address.\n# TYPE chord_node gauge\n";
  NodeLine(out, "chord_node", "", info.self, bits);
  WriteMetric(out, "chord_ring_joined", "gauge", "1 while this node is in a ring.",
              info.joined ? 1 : 0);
  out << "# HELP chord_ring_predecessor This node's predecessor (absent if none).\n"
         "# TYPE chord_ring_predecessor gauge\n";
  if (info.predecessor) NodeLine(out, "chord_ring_predecessor", "", *info.predecessor, bits);
  out << "# HELP chord_ring_successor This node's successor list, position 0 first.\n"
         "# TYPE chord_ring_successor gauge\n";
  for (size_t i = 0; i < info.successors.size(); ++i) {
    NodeLine(out, "chord_ring_successor", "position=\"" + std::to_string(i) + "\",",
             info.successors[i], bits);
  }
  int64_t fingers = 0;
  for (const auto& finger : info.fingers) fingers += finger ? 1 : 0;
  WriteMetric(out, "chord_ring_fingers_set", "gauge", "Finger table entries that point to a node.",
              fingers);
  const NodeStats stats = TransportStats();
  WriteMetric(out, "chord_client_calls_total", "counter", "Calls this node made to other nodes.",
              stats.calls_made);
  WriteMetric(out, "chord_client_connections_opened_total", "counter",
              "Connections this node opened to other nodes.", stats.connections_opened);
  WriteMetric(out, "chord_client_calls_timed_out_total", "counter",
              "Calls this node made to other nodes that had no answer within their time-out.",
              int64_t(transport_.stats().timed_out));
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
    RegisterMetricsCommand(&host_commands_, [this] { return server_.MetricsText(); });
  }
  OverlayOptions overlay = OverlayOptionsFrom(settings_);
  overlay.secret = SecretOrNone(secret_);  // neighbours prove their ids with it
  local_ = std::make_unique<Local>(overlay, address(), &transport_, &registry_);
  server_.AddMetrics([this](std::ostream& out) { WriteOverlayMetrics(out); });
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
