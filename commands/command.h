// Command: a named operation a node serves, with its signature, help text and handler.
//
// The overlay's own RPCs (chord.*), the DHT's (dht.*) and a user's commands are all Commands
// registered in a node's CommandRegistry, and every transport dispatches to the same handlers.
//
// Signatures use the XML-RPC introspection letters: "RET:ARGS", e.g. "S:si" is a command that
// takes a string and an int and returns a struct. Letters: i int, b boolean, d double,
// s string, 6 base64 (bytes), 8 i8 (64-bit int), A array, S struct, n nil, t datetime, and '*'
// for "any type". Several signatures may be separated by ',' ("S:s,S:si"). The registry checks
// arity and argument types against the signature before a handler runs, so handlers may read
// their arguments with paramList::getString(i) and the like without re-checking.
//
// Audience: every command is meant either for clients (dht.get, chord.find_successor, a user's
// own client commands) or for peers (the calls nodes make among themselves: chord.notify,
// dht.put_many, ...). When a node has a shared secret (--secret-file), a peer command runs only
// for a caller that proves it knows the secret; client commands stay open unless the node also
// asks clients for that proof (--client-auth). Without a secret every command is open, as
// before. The registry enforces this before any argument is checked (see
// CommandRegistry::Dispatch and Access).
//
// Thread-safety: a Handler may be called from many threads at once; it must synchronize its own
// state. Handlers report failures by returning a non-ok Status (never by throwing; anything
// thrown is caught and reported as an internal fault).
#ifndef CHORD_COMMANDS_COMMAND_H_
#define CHORD_COMMANDS_COMMAND_H_

#include <any>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

enum class Audience {
  kClient,  // served to anyone allowed to talk to the node
  kPeer,    // served only to callers that prove the ring's secret (when there is one)
};

// "client" or "peer".
const char* AudienceName(Audience audience);

using Handler = std::function<Result<xmlrpc_c::value>(const xmlrpc_c::paramList& params)>;

// A handler for a caller in this process that holds the arguments as C++ values: `args` holds
// a std::tuple of the argument types the command's protocol declares for it, and the result
// holds the C++ result that protocol's stub reads. Nothing is converted to or from XML-RPC on the
// way. Returns nullopt, without running anything, if `args` holds another type: the caller then
// sends XML-RPC values.
using TypedHandler = std::function<std::optional<Result<std::any>>(std::any& args)>;

struct Command {
  Command() = default;
  Command(std::string name, Audience audience, std::string signature, std::string help,
          Handler handler, std::vector<std::string> arg_names = {})
      : name(std::move(name)),
        audience(audience),
        signature(std::move(signature)),
        help(std::move(help)),
        handler(std::move(handler)),
        arg_names(std::move(arg_names)) {}

  std::string name;  // e.g. "dht.get"; letters, digits, '_', '-', '.'
  // Who may call it. A command that does not say is closed: peers only.
  Audience audience = Audience::kPeer;
  std::string signature;  // e.g. "S:s"; see above
  std::string help;       // one paragraph for system.methodHelp
  Handler handler;
  // Optional names of the arguments, so that a wrong call's fault names the argument
  // ("argument 2 (delta) must be int, got string"). MakeCommand fills them in.
  std::vector<std::string> arg_names;
  // Optional: the same command answered at once from this node's own state, or
  // Status::WouldBlock() when that is not possible (the key is not here, another node must be
  // asked). The XML-RPC server runs it on its network thread, which saves handing each call to
  // a worker thread and back (two thread wake-ups per call); after WouldBlock, `handler` runs
  // on a worker. It must never wait: no call to another node, no lock held for long. Other
  // transports call `handler` only.
  Handler quick;
  // Optional: the handler for in-process callers (see TypedHandler), set by the protocol that
  // declares the command together with its stub (overlay/chord_protocol.cpp), so that caller
  // and callee agree on the C++ types. Only InProcessNetwork uses it; the wire contract is that
  // of `handler` alone. A command without one is called in process with XML-RPC values.
  TypedHandler typed;
};

// `command` with its handler as its quick handler too: for commands that always answer at
// once from local state (chord.ping, chord.step, ...).
inline Command AnswersAtOnce(Command command) {
  command.quick = command.handler;
  return command;
}

}  // namespace chord

#endif  // CHORD_COMMANDS_COMMAND_H_
