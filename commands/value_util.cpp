#include "commands/value_util.h"

namespace chord {
namespace {

Result<xmlrpc_c::value> Member(const xmlrpc_c::value& value, const std::string& name,
                               xmlrpc_c::value::type_t type, const char* type_name) {
  if (value.type() != xmlrpc_c::value::TYPE_STRUCT) {
    return Status::BadArgument("expected a struct with member '" + name + "'");
  }
  std::map<std::string, xmlrpc_c::value> members = xmlrpc_c::value_struct(value);
  auto it = members.find(name);
  if (it == members.end()) return Status::BadArgument("struct member '" + name + "' is missing");
  if (type != xmlrpc_c::value::TYPE_DEAD && it->second.type() != type) {
    return Status::BadArgument("struct member '" + name + "' must be " + type_name);
  }
  return it->second;
}

}  // namespace

const char* ValueTypeName(xmlrpc_c::value::type_t type) {
  switch (type) {
    case xmlrpc_c::value::TYPE_INT:
      return "int";
    case xmlrpc_c::value::TYPE_BOOLEAN:
      return "boolean";
    case xmlrpc_c::value::TYPE_DOUBLE:
      return "double";
    case xmlrpc_c::value::TYPE_DATETIME:
      return "dateTime.iso8601";
    case xmlrpc_c::value::TYPE_STRING:
      return "string";
    case xmlrpc_c::value::TYPE_BYTESTRING:
      return "base64";
    case xmlrpc_c::value::TYPE_ARRAY:
      return "array";
    case xmlrpc_c::value::TYPE_STRUCT:
      return "struct";
    case xmlrpc_c::value::TYPE_NIL:
      return "nil";
    case xmlrpc_c::value::TYPE_I8:
      return "i8";
    default:
      return "unknown";
  }
}

Result<xmlrpc_c::value> StructMember(const xmlrpc_c::value& value, const std::string& name) {
  return Member(value, name, xmlrpc_c::value::TYPE_DEAD, "any");
}

Result<std::string> StructString(const xmlrpc_c::value& value, const std::string& name) {
  auto member = Member(value, name, xmlrpc_c::value::TYPE_STRING, "a string");
  if (!member.ok()) return member.status();
  return std::string(xmlrpc_c::value_string(member.value()));
}

Result<int> StructInt(const xmlrpc_c::value& value, const std::string& name) {
  auto member = Member(value, name, xmlrpc_c::value::TYPE_INT, "an int");
  if (!member.ok()) return member.status();
  return int(xmlrpc_c::value_int(member.value()));
}

Result<bool> StructBool(const xmlrpc_c::value& value, const std::string& name) {
  auto member = Member(value, name, xmlrpc_c::value::TYPE_BOOLEAN, "a boolean");
  if (!member.ok()) return member.status();
  return bool(xmlrpc_c::value_boolean(member.value()));
}

Result<std::vector<xmlrpc_c::value>> StructArray(const xmlrpc_c::value& value,
                                                 const std::string& name) {
  auto member = Member(value, name, xmlrpc_c::value::TYPE_ARRAY, "an array");
  if (!member.ok()) return member.status();
  return xmlrpc_c::value_array(member.value()).vectorValueValue();
}

bool StructHas(const xmlrpc_c::value& value, const std::string& name) {
  if (value.type() != xmlrpc_c::value::TYPE_STRUCT) return false;
  std::map<std::string, xmlrpc_c::value> members = xmlrpc_c::value_struct(value);
  return members.count(name) > 0;
}

}  // namespace chord
