// libFuzzer target: a request body as XmlRpcServer reads it (commands/xmlrpc_codec.h, the
// server's own code), then dispatched into a registry (signature checks of the system.*
// commands), and the parsed params written back as an answer.
//
// Properties: no crash, leak or undefined behaviour; a body the parser accepts encodes back
// (as an answer) without an internal fault; a malformed body gets a ready fault; dispatch never
// makes an internal fault.
#include <cstdint>
#include <string>
#include <vector>

#include "commands/command_registry.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const chord::CommandRegistry& Registry() {
  static const chord::CommandRegistry registry;  // system.* only
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  chord::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  chord::PeekMethodName(body);
  chord::ParsedCall call = chord::ParseCall(body);
  if (call.fault) {
    if (call.fault->find("<fault>") == std::string::npos) std::abort();
    return 0;
  }
  std::vector<xmlrpc_c::value> params;
  for (unsigned i = 0; i < call.params.size(); ++i) params.push_back(call.params[i]);
  const std::string answer = chord::EncodeAnswer(xmlrpc_c::value_array(params));
  if (answer.find("cannot encode the answer") != std::string::npos) {
    std::fprintf(stderr, "a parsed call does not encode back: %s\n", answer.c_str());
    std::abort();
  }
  chord::fuzz::ExpectNoInternal(Registry().Dispatch(call.name, call.params).status(), call.name);
  return 0;
}
