#include "commands/command_registry.h"

#include <algorithm>
#include <mutex>
#include <sstream>

#include "commands/value_util.h"

namespace chord {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool ValidTypeLetter(char c) {
  static const std::string kLetters = "ibds68ASnt*";
  return kLetters.find(c) != std::string::npos;
}

std::vector<std::string> SplitAlternatives(const std::string& signature) {
  std::vector<std::string> out;
  std::string current;
  for (char c : signature) {
    if (c == ',') {
      out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  out.push_back(current);
  return out;
}

// "S:si" -> args "si"; returns false if malformed.
bool ArgLetters(const std::string& alternative, std::string* args) {
  auto colon = alternative.find(':');
  if (colon != 1 || !ValidTypeLetter(alternative[0])) return false;
  *args = alternative.substr(2);
  for (char c : *args) {
    if (!ValidTypeLetter(c)) return false;
  }
  return true;
}

bool ValidSignature(const std::string& signature) {
  std::string args;
  for (const auto& alt : SplitAlternatives(signature)) {
    if (!ArgLetters(alt, &args)) return false;
  }
  return true;
}

const char* TypeName(char letter) {
  switch (letter) {
    case 'i':
      return "int";
    case 'b':
      return "boolean";
    case 'd':
      return "double";
    case 's':
      return "string";
    case '6':
      return "base64";
    case '8':
      return "i8";
    case 'A':
      return "array";
    case 'S':
      return "struct";
    case 'n':
      return "nil";
    case 't':
      return "dateTime.iso8601";
    default:
      return "any";
  }
}

bool Matches(char letter, xmlrpc_c::value::type_t type) {
  switch (letter) {
    case '*':
      return true;
    case 'i':
      return type == xmlrpc_c::value::TYPE_INT;
    case 'b':
      return type == xmlrpc_c::value::TYPE_BOOLEAN;
    case 'd':
      return type == xmlrpc_c::value::TYPE_DOUBLE;
    case 's':
      return type == xmlrpc_c::value::TYPE_STRING;
    case '6':
      return type == xmlrpc_c::value::TYPE_BYTESTRING;
    case '8':
      return type == xmlrpc_c::value::TYPE_I8;
    case 'A':
      return type == xmlrpc_c::value::TYPE_ARRAY;
    case 'S':
      return type == xmlrpc_c::value::TYPE_STRUCT;
    case 'n':
      return type == xmlrpc_c::value::TYPE_NIL;
    case 't':
      return type == xmlrpc_c::value::TYPE_DATETIME;
  }
  return false;
}

std::string DescribeArity(const std::vector<std::string>& alternatives) {
  std::ostringstream out;
  for (size_t i = 0; i < alternatives.size(); ++i) {
    std::string args;
    ArgLetters(alternatives[i], &args);
    if (i > 0) out << " or ";
    out << "(";
    for (size_t j = 0; j < args.size(); ++j) out << (j ? ", " : "") << TypeName(args[j]);
    out << ")";
  }
  return out.str();
}

bool IsIntrospection(const std::string& name) { return name.rfind("system.", 0) == 0; }

Status CheckAccess(const Command& command, Access access) {
  if (access == Access::kAll || IsIntrospection(command.name)) return Status::Ok();
  if (access == Access::kClientOnly && command.audience == Audience::kClient) return Status::Ok();
  if (command.audience == Audience::kPeer) {
    return Status::Refused(
        command.name + " is a peer command: only nodes that prove the ring's secret may call it");
  }
  return Status::Refused(command.name +
                         ": this node asks clients to prove the ring's secret (--client-auth)");
}

}  // namespace

const char* AudienceName(Audience audience) {
  return audience == Audience::kPeer ? "peer" : "client";
}

Status CheckSignature(const std::string& signature, const xmlrpc_c::paramList& params,
                      const std::vector<std::string>& arg_names) {
  auto alternatives = SplitAlternatives(signature);
  Status first_mismatch;
  bool arity_matched = false;
  for (const auto& alt : alternatives) {
    std::string args;
    if (!ArgLetters(alt, &args)) return Status::Internal("malformed signature " + signature);
    if (args.size() != params.size()) continue;
    arity_matched = true;
    bool all = true;
    for (size_t i = 0; i < args.size(); ++i) {
      auto type = params[i].type();
      if (!Matches(args[i], type)) {
        if (first_mismatch.ok()) {
          std::string which = std::to_string(i + 1);
          if (i < arg_names.size() && !arg_names[i].empty()) which += " (" + arg_names[i] + ")";
          first_mismatch = Status::BadArgument("argument " + which + " must be " +
                                               TypeName(args[i]) + ", got " + ValueTypeName(type));
        }
        all = false;
        break;
      }
    }
    if (all) return Status::Ok();
  }
  if (!arity_matched) {
    return Status::BadArgument("expected " + DescribeArity(alternatives) + ", got " +
                               std::to_string(params.size()) + " argument(s)");
  }
  return first_mismatch;
}

CommandRegistry::CommandRegistry() {
  // Introspection commands hold a raw pointer to the registry that owns them: they cannot
  // outlive it.
  const CommandRegistry* self = this;
  Command list{"system.listMethods", Audience::kClient,
               "A:", "Names of every command this node serves.",
               [self](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                 std::vector<xmlrpc_c::value> names;
                 for (const auto& name : self->Names())
                   names.push_back(xmlrpc_c::value_string(name));
                 return xmlrpc_c::value(xmlrpc_c::value_array(names));
               }};
  Command help{"system.methodHelp", Audience::kClient, "s:s",
               "Help text of the named command; its last line names its audience "
               "(\"Audience: client\" or \"Audience: peer\").",
               [self](const xmlrpc_c::paramList& params) -> Result<xmlrpc_c::value> {
                 auto command = self->Find(params.getString(0));
                 if (!command) return Status::UnknownCommand("no command " + params.getString(0));
                 return xmlrpc_c::value(xmlrpc_c::value_string(
                     command->help + "\nAudience: " + AudienceName(command->audience)));
               }};
  Command signature{
      "system.methodSignature", Audience::kClient, "A:s",
      "Signatures of the named command: an array of arrays of type names, result type first.",
      [self](const xmlrpc_c::paramList& params) -> Result<xmlrpc_c::value> {
        auto command = self->Find(params.getString(0));
        if (!command) return Status::UnknownCommand("no command " + params.getString(0));
        std::vector<xmlrpc_c::value> all;
        for (const auto& alt : SplitAlternatives(command->signature)) {
          std::vector<xmlrpc_c::value> types;
          types.push_back(xmlrpc_c::value_string(TypeName(alt[0])));
          for (size_t i = 2; i < alt.size(); ++i) {
            types.push_back(xmlrpc_c::value_string(TypeName(alt[i])));
          }
          all.push_back(xmlrpc_c::value_array(types));
        }
        return xmlrpc_c::value(xmlrpc_c::value_array(all));
      }};
  for (auto* command : {&list, &help, &signature}) {
    // Copy the key first: in C++17 the right-hand side of '=' is evaluated before the left, so
    // indexing with command->name would see the name already moved out.
    std::string name = command->name;
    commands_[name] = std::make_shared<const Command>(std::move(*command));
  }
}

Status CommandRegistry::Register(Command command) {
  if (!ValidName(command.name)) {
    return Status::BadArgument("invalid command name '" + command.name + "'");
  }
  if (!ValidSignature(command.signature)) {
    return Status::BadArgument("invalid signature '" + command.signature + "' for " + command.name);
  }
  if (!command.handler) return Status::BadArgument("command " + command.name + " has no handler");
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (commands_.count(command.name)) {
    return Status::Refused("command " + command.name + " is already registered");
  }
  std::string name = command.name;
  commands_[name] = std::make_shared<const Command>(std::move(command));
  return Status::Ok();
}

bool CommandRegistry::Unregister(const std::string& name) {
  if (name.rfind("system.", 0) == 0) return false;
  std::unique_lock<std::shared_mutex> lock(mutex_);
  return commands_.erase(name) > 0;
}

std::shared_ptr<const Command> CommandRegistry::Find(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : it->second;
}

std::vector<std::string> CommandRegistry::Names() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& entry : commands_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

Result<xmlrpc_c::value> CommandRegistry::Dispatch(const std::string& name,
                                                  const xmlrpc_c::paramList& params,
                                                  Access access) const {
  return Run(name, params, access, false);
}

Result<xmlrpc_c::value> CommandRegistry::DispatchQuick(const std::string& name,
                                                       const xmlrpc_c::paramList& params,
                                                       Access access) const {
  return Run(name, params, access, true);
}

std::optional<Result<std::any>> CommandRegistry::DispatchTyped(const std::string& name,
                                                               std::any& args,
                                                               Access access) const {
  auto command = Find(name);
  if (!command || !command->typed) return std::nullopt;
  Status allowed = CheckAccess(*command, access);
  if (!allowed.ok()) return Result<std::any>(allowed);
  try {
    return command->typed(args);
  } catch (const std::exception& e) {
    return Result<std::any>(Status::Internal(name + ": " + e.what()));
  } catch (...) {
    return Result<std::any>(Status::Internal(name + ": unknown exception"));
  }
}

bool CommandRegistry::HasQuick(const std::string& name) const {
  auto command = Find(name);
  return command && command->quick;
}

Result<xmlrpc_c::value> CommandRegistry::Run(const std::string& name,
                                             const xmlrpc_c::paramList& params, Access access,
                                             bool quick) const {
  auto command = Find(name);
  if (!command) return Status::UnknownCommand("no command named '" + name + "'");
  Status allowed = CheckAccess(*command, access);
  if (!allowed.ok()) return allowed;
  Status check = CheckSignature(command->signature, params, command->arg_names);
  if (!check.ok()) return Status(check.code(), name + ": " + check.message());
  if (quick && !command->quick) return Status::WouldBlock();
  try {
    return quick ? command->quick(params) : command->handler(params);
  } catch (const std::exception& e) {
    return Status::Internal(name + ": " + e.what());
  } catch (...) {
    return Status::Internal(name + ": unknown exception");
  }
}

}  // namespace chord
