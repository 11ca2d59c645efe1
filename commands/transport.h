// Transport: how a node calls a command on another node.
//
// Two implementations carry the very same calls: XmlRpcTransport (HTTP to a real server) and
// InProcessTransport (direct dispatch into another registry in this process, for tests and the
// simulator). Upper layers only ever see this interface.
//
// Thread-safety: implementations are safe to call from many threads at once.
#ifndef CHORD_COMMANDS_TRANSPORT_H_
#define CHORD_COMMANDS_TRANSPORT_H_

#include <any>
#include <functional>
#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

// One call of a batch (Transport::CallAll).
struct CallSpec {
  std::string address;
  std::string method;
  xmlrpc_c::paramList params;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Calls `method` with `params` on the node at `address` ("HOST:PORT" for XML-RPC).
  // Errors: Unavailable when the node cannot be reached or does not answer in time (a dead peer
  // is never a hang); otherwise the remote command's own Status, with its fault code.
  virtual Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                                       const xmlrpc_c::paramList& params) = 0;

  // Makes every call of `calls` and returns their results in the same order. Implementations
  // that can do so run them concurrently (XmlRpcTransport: all in flight at once from the
  // calling thread, no thread started), so the batch takes about as long as its slowest call;
  // this default runs them one after the other.
  virtual std::vector<Result<xmlrpc_c::value>> CallAll(const std::vector<CallSpec>& calls) {
    std::vector<Result<xmlrpc_c::value>> results;
    results.reserve(calls.size());
    for (const auto& call : calls) results.push_back(Call(call.address, call.method, call.params));
    return results;
  }

  // A call whose arguments are C++ values: `args` holds a std::tuple of them (see
  // commands/typed_call.h, CallWith). A transport inside this process (InProcessTransport)
  // hands them to the command's typed handler as they are, and the result holds the command's
  // C++ result; every other transport, and a command without a typed handler, sends `params()`
  // (the same arguments as XML-RPC values) through Call, and the result holds the
  // xmlrpc_c::value that came back. Errors: as Call.
  virtual Result<std::any> CallAny(const std::string& address, const std::string& method,
                                   std::any& args,
                                   const std::function<xmlrpc_c::paramList()>& params) {
    (void)args;
    auto reply = Call(address, method, params());
    if (!reply.ok()) return reply.status();
    return std::any(reply.value());
  }

  // From now on, calls of `method` wait for an answer as long as the round trips of earlier
  // calls of `rtt_class` to the same peer suggest (see commands/rtt_estimator.h), rather than a
  // fixed time-out. Only for commands whose serving time is the peer's own work: a command that
  // waits on purpose (dht.watch) or on calls of its own to other nodes must keep the fixed one,
  // or its caller would give up before it could answer. Transports without time-outs ignore it.
  virtual void AdaptTimeouts(const std::string& method, const std::string& rtt_class) {
    (void)method;
    (void)rtt_class;
  }
};

}  // namespace chord

#endif  // CHORD_COMMANDS_TRANSPORT_H_
