// Transport: how a node calls a command on another node.
//
// Two implementations carry the very same calls: XmlRpcTransport (HTTP to a real server) and
// InProcessTransport (direct dispatch into another registry in this process, for tests and the
// simulator). Upper layers only ever see this interface.
//
// Thread-safety: implementations are safe to call from many threads at once.
#ifndef CHORD_COMMANDS_TRANSPORT_H_
#define CHORD_COMMANDS_TRANSPORT_H_

#include <string>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

class Transport {
 public:
  virtual ~Transport() = default;

  // Calls `method` with `params` on the node at `address` ("HOST:PORT" for XML-RPC).
  // Errors: Unavailable when the node cannot be reached or does not answer in time (a dead peer
  // is never a hang); otherwise the remote command's own Status, with its fault code.
  virtual Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                                       const xmlrpc_c::paramList& params) = 0;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_TRANSPORT_H_
