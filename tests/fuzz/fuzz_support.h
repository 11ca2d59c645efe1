// What the libFuzzer targets share: reading a fuzz input as an XML-RPC call with the server's
// own parser, a Transport that answers every call with a given reply, and the one property
// every target checks: bad input never makes an `internal` fault (docs/faults.md), which
// would mean a bug.
//
// Input of the protocol targets: the first byte chooses the message (and a variant, such as the
// ring size a stub checks with); the rest is an XML-RPC <methodCall> body, whose params are the
// request's arguments, or whose first param is the peer's reply. The method name in the body
// is ignored. The seed corpus (tests/fuzz/corpus/<target>/) holds real messages in this form.
#ifndef CHORD_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define CHORD_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "commands/status.h"
#include "commands/transport.h"
#include "commands/xmlrpc_codec.h"

namespace chord {
namespace fuzz {

// Logs are dropped: a fuzz run makes millions of calls, and bad input is logged at debug or
// warning level only.
inline void QuietLogs() {
  boost::log::core::get()->set_filter(boost::log::trivial::severity >= boost::log::trivial::fatal);
}

// The params of `data[offset..]` read as a call body by the server's own parser, or nothing
// when the server would answer it with a bad_argument fault.
inline std::optional<xmlrpc_c::paramList> ParamsOf(const uint8_t* data, size_t size,
                                                   size_t offset) {
  if (size < offset) return std::nullopt;
  ParsedCall call =
      ParseCall(std::string(reinterpret_cast<const char*>(data) + offset, size - offset));
  if (call.fault) return std::nullopt;
  return call.params;
}

// Aborts (a finding) if `status` is an internal fault: bad input must be refused with a stable
// code, never reported as a bug of ours. With CHORD_FUZZ_TRACE set, prints every message's
// outcome: `CHORD_FUZZ_TRACE=1 TARGET tests/fuzz/corpus/TARGET/*` shows that each seed reaches
// its message and passes its checks.
inline void ExpectNoInternal(const Status& status, const std::string& what) {
  static const bool trace = std::getenv("CHORD_FUZZ_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "%s: %s\n", what.c_str(), status.ToString().c_str());
  if (status.code() != ErrorCode::kInternal) return;
  std::fprintf(stderr, "%s: internal fault from bad input: %s\n", what.c_str(),
               status.message().c_str());
  std::abort();
}

// Answers every call with one reply, as a peer that sent exactly these bytes would.
class ReplyTransport : public Transport {
 public:
  explicit ReplyTransport(xmlrpc_c::value reply) : reply_(std::move(reply)) {}
  Result<xmlrpc_c::value> Call(const std::string&, const std::string&,
                               const xmlrpc_c::paramList&) override {
    return reply_;
  }

 private:
  xmlrpc_c::value reply_;
};

}  // namespace fuzz
}  // namespace chord

#endif  // CHORD_TESTS_FUZZ_FUZZ_SUPPORT_H_
