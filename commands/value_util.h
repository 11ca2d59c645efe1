// Small helpers to build and read XML-RPC structs without boilerplate.
//
// Thread-safety: free functions on immutable values; safe everywhere.
#ifndef CHORD_COMMANDS_VALUE_UTIL_H_
#define CHORD_COMMANDS_VALUE_UTIL_H_

#include <map>
#include <string>
#include <utility>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

using StructMembers = std::map<std::string, xmlrpc_c::value>;

// The XML-RPC name of a value type ("int", "string", "base64", ...), for fault messages.
const char* ValueTypeName(xmlrpc_c::value::type_t type);

// A parameter list from values: Params({xmlrpc_c::value_string("k"), ...}).
inline xmlrpc_c::paramList Params(std::initializer_list<xmlrpc_c::value> values) {
  xmlrpc_c::paramList params;
  for (const auto& value : values) params.add(value);
  return params;
}

inline xmlrpc_c::value MakeStruct(const StructMembers& members) {
  return xmlrpc_c::value_struct(members);
}

// Member `name` of struct `value` as a string / int / bool / struct / array.
// Errors: BadArgument naming the member if it is absent or of the wrong type.
Result<std::string> StructString(const xmlrpc_c::value& value, const std::string& name);
Result<int> StructInt(const xmlrpc_c::value& value, const std::string& name);
Result<bool> StructBool(const xmlrpc_c::value& value, const std::string& name);
Result<xmlrpc_c::value> StructMember(const xmlrpc_c::value& value, const std::string& name);
Result<std::vector<xmlrpc_c::value>> StructArray(const xmlrpc_c::value& value,
                                                 const std::string& name);
// True if struct `value` has member `name` (false too if `value` is not a struct).
bool StructHas(const xmlrpc_c::value& value, const std::string& name);

}  // namespace chord

#endif  // CHORD_COMMANDS_VALUE_UTIL_H_
