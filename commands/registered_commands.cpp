#include "commands/registered_commands.h"

#include <boost/log/trivial.hpp>

namespace chord {

RegisteredCommands::~RegisteredCommands() {
  for (const auto& name : names_) registry_->Unregister(name);
}

Status RegisteredCommands::Add(Command command) {
  std::string name = command.name;
  Status status = registry_->Register(std::move(command));
  if (status.ok()) {
    names_.push_back(name);
  } else {
    BOOST_LOG_TRIVIAL(error) << "cannot register " << name << ": " << status.ToString();
  }
  return status;
}

}  // namespace chord
