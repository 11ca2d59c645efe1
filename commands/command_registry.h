// CommandRegistry: the named commands one node serves.
//
// Every transport (XML-RPC server, in-process network) dispatches into a registry, so a command
// registered here is reachable the same way whatever carries the call. The registry itself
// provides system.listMethods, system.methodHelp and system.methodSignature.
//
// Thread-safety: all methods are safe to call concurrently. Dispatch runs the handler without
// holding the registry lock, so handlers may register or unregister commands, and a command
// unregistered while one of its calls runs lets that call finish.
#ifndef CHORD_COMMANDS_COMMAND_REGISTRY_H_
#define CHORD_COMMANDS_COMMAND_REGISTRY_H_

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command.h"

namespace chord {

// What a caller has shown it may call. The XML-RPC server decides it per request from the
// node's secret and the request's proof (see XmlRpcServer); in-process calls and a node's calls
// to itself are kAll.
enum class Access {
  kAll,         // peer and client commands: no secret is set, or the caller proved it
  kClientOnly,  // client commands only: a secret is set and the caller did not prove it
  kNone,        // nothing but introspection (system.*): --client-auth is set and no proof came
};

class CommandRegistry {
 public:
  CommandRegistry();
  CommandRegistry(const CommandRegistry&) = delete;
  CommandRegistry& operator=(const CommandRegistry&) = delete;

  // Adds a command. Errors: BadArgument if the name, signature or handler is invalid; Refused if
  // a command of that name is already registered.
  Status Register(Command command);

  // Removes a command; returns false if there was none of that name. system.* cannot be removed.
  bool Unregister(const std::string& name);

  // Runs a command: checks that `access` allows its audience, checks arity and types against
  // its signature, then calls its handler. Errors: UnknownCommand; Refused (before any argument
  // is looked at) when `access` does not cover the command's audience; BadArgument (naming the
  // wrong argument); or whatever the handler returns. Exceptions thrown by a handler become
  // Internal. The system.* introspection commands are open to every caller.
  Result<xmlrpc_c::value> Dispatch(const std::string& name, const xmlrpc_c::paramList& params,
                                   Access access = Access::kAll) const;

  // The same checks as Dispatch, then the command's quick handler (see Command::quick).
  // Errors: as Dispatch; WouldBlock when the command has no quick handler or it cannot answer
  // at once: then Dispatch it on a thread that may block.
  Result<xmlrpc_c::value> DispatchQuick(const std::string& name, const xmlrpc_c::paramList& params,
                                        Access access = Access::kAll) const;

  // For callers in this process: the same access check as Dispatch, then the command's typed
  // handler (Command::typed) with `args`, a std::tuple of the argument types. nullopt, with
  // nothing run, when the command has no typed handler or `args` does not fit it: then call
  // Dispatch with XML-RPC values. Errors: as Dispatch (no signature check: the C++ types are
  // the check).
  std::optional<Result<std::any>> DispatchTyped(const std::string& name, std::any& args,
                                                Access access = Access::kAll) const;

  // True if `name` is a command with a quick handler.
  bool HasQuick(const std::string& name) const;

  // Sorted names of all commands, system.* included.
  std::vector<std::string> Names() const;

  // The command, or nullptr if none has that name.
  std::shared_ptr<const Command> Find(const std::string& name) const;

 private:
  // Dispatch (quick false) and DispatchQuick (quick true).
  Result<xmlrpc_c::value> Run(const std::string& name, const xmlrpc_c::paramList& params,
                              Access access, bool quick) const;

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Command>> commands_;
};

// Checks `params` against a signature string such as "S:si,S:s". Returns ok or a BadArgument
// status that names the first argument that does not fit (by position, and by name when
// `arg_names` has one for it).
Status CheckSignature(const std::string& signature, const xmlrpc_c::paramList& params,
                      const std::vector<std::string>& arg_names = {});

}  // namespace chord

#endif  // CHORD_COMMANDS_COMMAND_REGISTRY_H_
