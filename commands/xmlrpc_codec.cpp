#include "commands/xmlrpc_codec.h"

#include <exception>
#include <xmlrpc-c/xml.hpp>

#include "commands/xml_unicode.h"

namespace chord {
namespace {

// The answer as XML for the wire. (Outcomes are never copied: a successful rpcOutcome holds an
// uninitialised fault code in xmlrpc-c 1.33.)
std::string Encode(const xmlrpc_c::rpcOutcome& outcome) {
  std::string response;
  try {
    xmlrpc_c::xml::generateResponse(outcome, &response);
  } catch (const std::exception& e) {
    xmlrpc_c::xml::generateResponse(
        xmlrpc_c::rpcOutcome(
            xmlrpc_c::fault(std::string("cannot encode the answer: ") + e.what(),
                            static_cast<xmlrpc_c::fault::code_t>(ErrorCode::kInternal))),
        &response);
  }
  std::string wire;
  return BmpXmlToWire(response, &wire) ? wire : response;
}

}  // namespace

ParsedCall ParseCall(const std::string& body) {
  ParsedCall call;
  try {
    std::string parsable;
    xmlrpc_c::xml::parseCall(WireXmlToBmp(body, &parsable) ? parsable : body, &call.name,
                             &call.params);
  } catch (const std::exception& e) {
    call.fault =
        EncodeFault(ErrorCode::kBadArgument, std::string("malformed XML-RPC call: ") + e.what());
  }
  return call;
}

std::string PeekMethodName(const std::string& body) {
  static const std::string kOpen = "<methodName>", kClose = "</methodName>";
  const size_t begin = body.find(kOpen);
  if (begin == std::string::npos || begin > 512) return "";
  const size_t end = body.find(kClose, begin + kOpen.size());
  if (end == std::string::npos || end - begin > 256) return "";
  return body.substr(begin + kOpen.size(), end - begin - kOpen.size());
}

std::string EncodeAnswer(const xmlrpc_c::value& value) {
  return Encode(xmlrpc_c::rpcOutcome(value));
}

std::string EncodeFault(ErrorCode code, const std::string& message) {
  return Encode(xmlrpc_c::rpcOutcome(
      xmlrpc_c::fault(ToBmpForm(ToXmlText(message)), static_cast<xmlrpc_c::fault::code_t>(code))));
}

}  // namespace chord
