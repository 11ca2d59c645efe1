// The XML of the server's side of XML-RPC: reading a request body as a call, and writing an
// answer or a fault. XmlRpcServer uses these for every request; they are apart from the server
// so that the fuzz target (tests/fuzz/xmlrpc_request_fuzz.cpp) runs the very same code.
//
// Strings: the wire carries standard UTF-8; values inside the process hold characters beyond
// U+FFFF in BMP form (commands/xml_unicode.h). ParseCall converts incoming XML, the encoders
// outgoing XML.
//
// Thread-safety: pure functions (xmlrpc-c's parser and generator keep no shared state once
// SetXmlSizeLimit has run).
#ifndef CHORD_COMMANDS_XMLRPC_CODEC_H_
#define CHORD_COMMANDS_XMLRPC_CODEC_H_

#include <optional>
#include <string>
#include <xmlrpc-c/base.hpp>

#include "commands/status.h"

namespace chord {

// A request body read as an XML-RPC call. A body that is not a well-formed call (invalid
// UTF-8 included) has a fault ready instead, a bad-argument fault.
struct ParsedCall {
  std::string name;
  xmlrpc_c::paramList params;
  std::optional<std::string> fault;  // the encoded answer to a malformed call
};
ParsedCall ParseCall(const std::string& body);

// The method name of a call, read without parsing it: the text between the first
// <methodName> and </methodName> (empty if there is none). Used only to choose the thread
// that answers; the call itself is always parsed in full.
std::string PeekMethodName(const std::string& body);

// A successful answer as XML for the wire. Only a value xmlrpc-c cannot write, which handlers
// cannot build, makes it an internal fault instead.
std::string EncodeAnswer(const xmlrpc_c::value& value);

// A fault as XML for the wire. The message may quote what the caller sent (any text, or bytes
// that are not text): it is made XML text first, so that the fault itself always encodes.
std::string EncodeFault(ErrorCode code, const std::string& message);

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_CODEC_H_
