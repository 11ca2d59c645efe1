// RegisteredCommands: the commands one layer registered, unregistered again when it goes.
//
// A layer (Local, the DHT, a user's layer) adds its commands through one of these and keeps it
// as a member, so that destroying the layer removes exactly its commands from the registry.
//
// Thread-safety: Add() and the destructor from the owning thread; the registry itself is
// thread-safe. The registry is not owned and must outlive this object.
#ifndef CHORD_COMMANDS_REGISTERED_COMMANDS_H_
#define CHORD_COMMANDS_REGISTERED_COMMANDS_H_

#include <string>
#include <vector>

#include "commands/command_registry.h"

namespace chord {

class RegisteredCommands {
 public:
  explicit RegisteredCommands(CommandRegistry* registry) : registry_(registry) {}
  ~RegisteredCommands();
  RegisteredCommands(const RegisteredCommands&) = delete;
  RegisteredCommands& operator=(const RegisteredCommands&) = delete;

  // Registers `command`. Errors: those of CommandRegistry::Register (the name is taken, the
  // command is malformed); a failure is also logged, since a layer missing a command is a bug.
  Status Add(Command command);

  const std::vector<std::string>& names() const { return names_; }

 private:
  CommandRegistry* registry_;
  std::vector<std::string> names_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_REGISTERED_COMMANDS_H_
