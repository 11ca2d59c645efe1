// Typed calls: a command called through a Transport, its reply converted to a C++ type.
//
// The protocol files (overlay/chord_protocol, dht/dht_protocol) and a user's own layer read
// every reply through these, so a reply that does not fit its declared type is reported the
// same way everywhere: as Unavailable, because a peer that answers garbage is broken, which for
// the caller is as good as down (it is routed around like a dead node).
//
// Thread-safety: stateless; safe to call concurrently if the Transport is.
#ifndef CHORD_COMMANDS_TYPED_CALL_H_
#define CHORD_COMMANDS_TYPED_CALL_H_

#include <string>

#include "commands/transport.h"
#include "commands/typed_command.h"

namespace chord {

// The status for a reply from `who` that failed a check (`why`).
inline Status MalformedReply(const std::string& who, const Status& why) {
  return Status::Unavailable("malformed reply from " + who + ": " + why.message());
}

// `reply` (the outcome of calling `method` on `who`) as a T. Errors: the call's own; or
// MalformedReply if the reply does not convert.
template <typename T>
Result<T> ReadReply(const Result<xmlrpc_c::value>& reply, const std::string& who,
                    const std::string& method) {
  if (!reply.ok()) return reply.status();
  auto typed = FromValue<T>(reply.value(), "the reply of " + method);
  if (!typed.ok()) return MalformedReply(who, typed.status());
  return typed;
}

// Calls `method` on `address` and reads the reply as a T (see ReadReply).
template <typename T>
Result<T> CallTyped(Transport* transport, const std::string& address, const std::string& method,
                    const xmlrpc_c::paramList& params) {
  return ReadReply<T>(transport->Call(address, method, params), address, method);
}

}  // namespace chord

#endif  // CHORD_COMMANDS_TYPED_CALL_H_
