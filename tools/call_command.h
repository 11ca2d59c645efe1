// The pieces of `call METHOD [ARGS...]` (the shell and the one-shot client): any command a node
// serves, a user's own layer's included, called with arguments typed from the command's
// system.methodSignature, and the answer shown as JSON.
//
// Arguments are words. By the type the signature gives: int and i8 are decimal integers in
// range, boolean is true/false/1/0, double a decimal number, string and base64 the word's bytes,
// array and struct a JSON text ('[1, "a"]', '{"name": "x"}'), nil the word nil. A command whose
// signature is unknown gets every argument as a string.
//
// Thread-safety: pure functions.
#ifndef CHORD_TOOLS_CALL_COMMAND_H_
#define CHORD_TOOLS_CALL_COMMAND_H_

#include <string>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

// From system.methodSignature's answer (an array of [result, arg...] arrays of type names, or
// the string "undef"): the argument types of the alternative taking `count` arguments; all
// "string" if the signature is unknown. Errors: BadArgument with the usages there are.
Result<std::vector<std::string>> ArgumentTypes(const std::string& method,
                                               const xmlrpc_c::value& signatures, size_t count);

// The words converted to `types` (as many of each). Errors: BadArgument naming the argument
// ("argument 2 must be int, not 'x'").
Result<xmlrpc_c::paramList> TypedParams(const std::vector<std::string>& types,
                                        const std::vector<std::string>& words);

// A JSON text as an XML-RPC value: objects become structs, arrays arrays, integers int (i8 when
// beyond 32 bits), other numbers double, true/false boolean, null nil. Errors: BadArgument
// saying where the text is malformed; nesting beyond 64 levels is refused.
Result<xmlrpc_c::value> JsonToValue(const std::string& text);

// A value as JSON: base64 as its base64 text, date-times as their ISO 8601 text, nil as null,
// strings in standard UTF-8.
std::string ValueToJson(const xmlrpc_c::value& value);

// For --raw: a string value as its bytes, base64 as the decoded bytes, anything else as JSON.
std::string ValueToRaw(const xmlrpc_c::value& value);

}  // namespace chord

#endif  // CHORD_TOOLS_CALL_COMMAND_H_
