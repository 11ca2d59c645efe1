// XmlRpcTransport: the XML-RPC/HTTP client side of Transport (libcurl + xmlrpc-c's XML codec).
//
// Why not xmlrpc-c's own curl transport: the Debian version (1.33) has no connect timeout and one
// client serializes its calls. Here each call borrows a curl handle from a per-peer pool, so
// calls from many threads run in parallel, and a returned handle keeps its HTTP keep-alive
// connection for the next call to the same peer. Each handle is used by one thread at a time.
//
// With Options::secret set, every call carries a fresh proof of it (X-Chord-Auth, see
// commands/auth.h and docs/security.md). Strings travel as standard UTF-8; values hold
// characters beyond U+FFFF in the BMP form of commands/xml_unicode.h.
//
// Thread-safety: Call() is safe from any number of threads.
#ifndef CHORD_COMMANDS_XMLRPC_TRANSPORT_H_
#define CHORD_COMMANDS_XMLRPC_TRANSPORT_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "commands/transport.h"

namespace chord {

class XmlRpcTransport : public Transport {
 public:
  struct Options {
    int connect_timeout_ms = 1000;  // TCP connect time-out
    int call_timeout_ms = 5000;     // whole call time-out, connect included
    size_t max_idle_per_peer = 4;   // kept-alive connections kept per peer (each holds a slot of
                                    // the peer's server: see XmlRpcServer)
    std::string secret;             // non-empty: every call carries proof of it (commands/auth.h)
  };

  explicit XmlRpcTransport(Options options);
  ~XmlRpcTransport() override;
  XmlRpcTransport(const XmlRpcTransport&) = delete;
  XmlRpcTransport& operator=(const XmlRpcTransport&) = delete;

  // See Transport. `address` is "HOST:PORT" with a numeric host. A fault from the peer keeps its
  // code when it is one of ours (1..6); xmlrpc-c's own faults (malformed call, ...) map to
  // BadArgument. Time-outs, refused connections and broken answers are Unavailable.
  Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                               const xmlrpc_c::paramList& params) override;

 private:
  void* Borrow(const std::string& address);  // a CURL*, never null
  void Return(const std::string& address, void* handle);

  Options options_;
  std::mutex mutex_;
  std::map<std::string, std::vector<void*>> idle_;  // guarded by mutex_
};

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_TRANSPORT_H_
