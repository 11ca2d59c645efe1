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

#include <any>
#include <string>
#include <tuple>

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

// A reply of Transport::CallAny as a T: the T itself, or an XML-RPC value converted (see
// ReadReply). Errors: MalformedReply for anything else.
template <typename T>
Result<T> ReadAny(std::any* reply, const std::string& who, const std::string& method) {
  if (T* typed = std::any_cast<T>(reply)) return std::move(*typed);
  if (auto* wire = std::any_cast<xmlrpc_c::value>(reply)) {
    return ReadReply<T>(Result<xmlrpc_c::value>(*wire), who, method);
  }
  return MalformedReply(
      who, Status::BadArgument("the reply of " + method + " is not of the declared type"));
}

// Calls `method` on `address` with `args` and reads the reply as a T: the same call as
// CallTyped(..., MakeParams(args...)), except that a transport in this process passes the C++
// values as they are (Transport::CallAny) to a command with a typed handler taking
// std::tuple<Args...> and answering a T, with no XML-RPC value built or read; otherwise the
// call carries XML-RPC values as CallTyped's does.
template <typename T, typename... Args>
Result<T> CallWith(Transport* transport, const std::string& address, const std::string& method,
                   const Args&... args) {
  std::any packed = std::tuple<typed_internal::WireType<Args>...>(args...);
  Result<std::any> reply =
      transport->CallAny(address, method, packed, [&] { return MakeParams(args...); });
  if (!reply.ok()) return reply.status();
  return ReadAny<T>(&reply.value(), address, method);
}

}  // namespace chord

#endif  // CHORD_COMMANDS_TYPED_CALL_H_
