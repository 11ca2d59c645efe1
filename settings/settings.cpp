#include "settings/settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <climits>
#include <string>

#include "settings/logging.h"

namespace chord {
namespace {

std::string Invalid(const std::string& option, const std::string& value, const std::string& rule) {
  return "invalid value for --" + option + ": " + value + " (must be " + rule + ")";
}

std::string Quoted(const std::string& text) { return "'" + text + "'"; }

// An integer field with its inclusive bounds; max == INT_MAX means "no upper bound".
struct IntRule {
  const char* option;
  int value;
  int min;
  int max;
};

std::string CheckInt(const IntRule& rule) {
  if (rule.value >= rule.min && rule.value <= rule.max) return "";
  std::string bounds = rule.max == INT_MAX
                           ? ">= " + std::to_string(rule.min)
                           : std::to_string(rule.min) + ".." + std::to_string(rule.max);
  return Invalid(rule.option, std::to_string(rule.value), bounds);
}

}  // namespace

namespace {
constexpr size_t kEnvelopeBytes = 64u << 10;
}  // namespace

size_t MaxBatchBytes(const Settings& settings) {
  const size_t value_bytes = size_t(std::max(0, settings.max_value_bytes));
  return (value_bytes + 56) / 57 * 78 + 6 * size_t(std::max(0, settings.max_key_bytes));
}

size_t MaxRequestBytes(const Settings& settings) {
  return MaxBatchBytes(settings) + kEnvelopeBytes;
}

bool ParseHostPort(const std::string& text, std::string* host, int* port) {
  const std::string::size_type colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string host_part = text.substr(0, colon);
  if (host_part.find(':') != std::string::npos) return false;
  const std::string port_part = text.substr(colon + 1);
  if (port_part.empty() || port_part.size() > 5) return false;
  int value = 0;
  for (char c : port_part) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  if (host != nullptr) *host = host_part;
  if (port != nullptr) *port = value;
  return true;
}

bool ParseAdvertise(const std::string& text, std::string* host, int* port) {
  std::string host_part = text;
  int value = 0;
  const std::string::size_type colon = text.rfind(':');
  if (colon != std::string::npos) {
    host_part = text.substr(0, colon);
    const std::string port_part = text.substr(colon + 1);
    if (port_part == "0") {
      value = 0;
    } else if (!ParseHostPort("h:" + port_part, nullptr, &value)) {
      return false;
    }
  }
  if (host_part.empty() || host_part.size() > 253 || host_part == "0.0.0.0") return false;
  for (char c : host_part) {
    if (c <= ' ' || c > '~' || c == ':') return false;
  }
  if (host != nullptr) *host = host_part;
  if (port != nullptr) *port = value;
  return true;
}

std::string AdvertisedAddress(const Settings& settings, int bound_port) {
  std::string host = settings.bind;
  int port = 0;
  if (!settings.advertise.empty()) ParseAdvertise(settings.advertise, &host, &port);
  return host + ":" + std::to_string(port != 0 ? port : bound_port);
}

std::string Validate(const Settings& s) {
  // Network.
  in_addr address{};
  if (inet_pton(AF_INET, s.bind.c_str(), &address) != 1) {
    return Invalid("bind", Quoted(s.bind), "a numeric IPv4 address such as 127.0.0.1");
  }
  if (!s.advertise.empty() && !ParseAdvertise(s.advertise, nullptr, nullptr)) {
    return Invalid("advertise", Quoted(s.advertise),
                   "HOST or HOST:PORT, HOST not 0.0.0.0, PORT 0..65535 (0: the bound port)");
  }
  // The wildcard is where the server listens, not an address a peer can call: advertised as
  // such, every other node would call itself (and the id would be the same on every host).
  if (s.advertise.empty() && address.s_addr == htonl(INADDR_ANY)) {
    return "--bind " + s.bind +
           " listens on every interface but is no address to call: add --advertise HOST[:PORT], "
           "the address other nodes and clients use to reach this one";
  }
  const IntRule rules[] = {
      {"port", s.port, 0, 65535},
      {"max-connections", s.max_connections, 1, INT_MAX},
      {"connect-timeout-ms", s.connect_timeout_ms, 1, INT_MAX},
      {"call-timeout-ms", s.call_timeout_ms, 1, INT_MAX},
      {"min-call-timeout-ms", s.min_call_timeout_ms, 1, INT_MAX},
      // Overlay.
      {"id-bits", s.id_bits, 1, 160},
      {"successors", s.successors, 1, INT_MAX},
      {"stabilize-ms", s.stabilize_ms, 1, INT_MAX},
      {"fix-fingers-ms", s.fix_fingers_ms, 1, INT_MAX},
      {"check-predecessor-ms", s.check_predecessor_ms, 1, INT_MAX},
      {"max-lookup-hops", s.max_lookup_hops, 1, INT_MAX},
      // DHT.
      {"replicas", s.replicas, 1, INT_MAX},
      {"max-key-bytes", s.max_key_bytes, 1, INT_MAX},
      {"max-value-bytes", s.max_value_bytes, 1, kMaxValueBytesLimit},
      {"repair-ms", s.repair_ms, 1, INT_MAX},
      {"tombstone-ttl-s", s.tombstone_ttl_s, 1, INT_MAX},
      {"transfer-batch", s.transfer_batch, 1, INT_MAX},
      {"suspect-gap-ms", s.suspect_gap_ms, 1, INT_MAX},
  };
  for (const IntRule& rule : rules) {
    std::string error = CheckInt(rule);
    if (!error.empty()) return error;
  }
  // successors >= 1 holds here; compute successors + 1 without overflow.
  const long long max_replicas = static_cast<long long>(s.successors) + 1;
  if (s.replicas > max_replicas) {
    return Invalid("replicas", std::to_string(s.replicas),
                   "1.." + std::to_string(max_replicas) + ", i.e. at most --successors + 1");
  }

  // Logging.
  if (!IsValidLogLevel(s.log_level)) {
    return Invalid("log-level", Quoted(s.log_level),
                   "one of trace, debug, info, warning, error, fatal");
  }

  // Node start.
  if (!s.join.empty() && !ParseHostPort(s.join, nullptr, nullptr)) {
    return Invalid("join", Quoted(s.join), "HOST:PORT with a numeric port 1..65535");
  }
  if (s.client_auth && s.secret_file.empty()) {
    return "--client-auth requires --secret-file FILE (the secret callers must prove)";
  }
  if (s.create && !s.join.empty()) {
    return "--create and --join are mutually exclusive (got --create and --join " + s.join + ")";
  }
  return "";
}

}  // namespace chord
