// XmlRpcTransport: the XML-RPC/HTTP client side of Transport (our HttpClient + xmlrpc-c's XML
// codec).
//
// Why not xmlrpc-c's own client: the Debian version (1.33) has no connect timeout and one client
// serializes its calls. Here each call borrows a kept-alive connection to the peer from
// HttpClient's per-peer pool (commands/http_client.h), so calls from many threads run in
// parallel and, against a server that keeps connections open, cost no TCP connect at steady
// state. CallAll() puts a whole batch in flight at once from the calling thread; no thread is
// ever started.
//
// With Options::secret set, every call carries a fresh proof of it (X-Chord-Auth, see
// commands/auth.h and docs/security.md). Calls of the methods given to AdaptTimeouts have a
// time-out that follows the peer's measured round trips (commands/rtt_estimator.h), between
// Options::min_call_timeout_ms and call_timeout_ms; every other call waits call_timeout_ms. Strings
// travel as standard UTF-8; values hold characters beyond U+FFFF in the BMP form of
// commands/xml_unicode.h.
//
// Thread-safety: Call(), CallAll() and stats() are safe from any number of threads.
// Lifetime: no call may be running when the transport is destroyed.
#ifndef CHORD_COMMANDS_XMLRPC_TRANSPORT_H_
#define CHORD_COMMANDS_XMLRPC_TRANSPORT_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "commands/http_client.h"
#include "commands/rtt_estimator.h"
#include "commands/transport.h"

namespace chord {

class XmlRpcTransport : public Transport {
 public:
  struct Options {
    int connect_timeout_ms = 1000;  // TCP connect time-out
    int call_timeout_ms = 5000;     // whole call time-out, connect included
    size_t max_idle_per_peer = 64;  // kept-alive connections kept per peer (each counts against
                                    // the peer's max_connections: see XmlRpcServer)
    std::string secret;             // non-empty: every call carries proof of it (commands/auth.h)
    // The shortest time-out of a method given to AdaptTimeouts; at call_timeout_ms or above,
    // every call waits call_timeout_ms.
    int min_call_timeout_ms = 200;
  };
  // Requests made, connections opened, reused and retried: see HttpClient::Stats.
  using Stats = HttpClient::Stats;

  explicit XmlRpcTransport(Options options);
  ~XmlRpcTransport() override;
  XmlRpcTransport(const XmlRpcTransport&) = delete;
  XmlRpcTransport& operator=(const XmlRpcTransport&) = delete;

  // See Transport. `address` is "HOST:PORT" with a numeric host. A fault from the peer keeps its
  // code when it is one of ours (1..7); xmlrpc-c's own faults (malformed call, ...) map to
  // BadArgument, as does an HTTP 413 (the request is too long for the peer: retrying elsewhere
  // will not help). Time-outs, refused connections, other HTTP statuses and broken answers are
  // Unavailable, and so is an address that is not HOST:PORT with a numeric IPv4 host: no node
  // can be reached there, and upper layers drop such an address as they drop a dead peer's.
  Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                               const xmlrpc_c::paramList& params) override;

  // See Transport: every call is in flight at once (HttpClient::PostAll), each with its own
  // call time-out; results come back in call order.
  std::vector<Result<xmlrpc_c::value>> CallAll(const std::vector<CallSpec>& calls) override;

  // See Transport. Safe at any time, also while calls run.
  void AdaptTimeouts(const std::string& method, const std::string& rtt_class) override;

  Stats stats() const { return client_.stats(); }

 private:
  HttpClient::Options ClientOptions();
  // The time-out of a call of `method` to `address`, and the estimate it samples ("" for none).
  int TimeoutFor(const std::string& address, const std::string& method, std::string* rtt_key) const;
  void OnDone(const HttpRequest& request, bool answered, int64_t elapsed_us);

  // The HTTP request of a call, or why it cannot be encoded.
  Result<HttpRequest> Encode(const std::string& address, const std::string& method,
                             const xmlrpc_c::paramList& params) const;
  // The call's result from the HTTP exchange.
  static Result<xmlrpc_c::value> Decode(const std::string& address, const std::string& method,
                                        Result<HttpResponse> response);

  const Options options_;
  RttEstimator rtt_;
  mutable std::mutex classes_mutex_;
  std::map<std::string, std::string> classes_;  // method -> rtt class; guarded by classes_mutex_
  HttpClient client_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_TRANSPORT_H_
