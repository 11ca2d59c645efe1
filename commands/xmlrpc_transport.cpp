#include "commands/xmlrpc_transport.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <xmlrpc-c/girerr.hpp>
#include <xmlrpc-c/xml.hpp>

#include "commands/auth.h"
#include "commands/xml_unicode.h"

namespace chord {
namespace {

constexpr char kPath[] = "/RPC2";

RttEstimator::Options RttOptions(const XmlRpcTransport::Options& options) {
  RttEstimator::Options rtt;
  rtt.ceiling_ms = options.call_timeout_ms;
  rtt.floor_ms = std::min(options.min_call_timeout_ms, options.call_timeout_ms);
  // An unknown peer gets TCP's conservative initial time-out (RFC 6298), within the bounds.
  rtt.initial_ms = std::max(rtt.floor_ms, std::min(1000, options.call_timeout_ms));
  // A silent peer costs a call at most what an unknown one does.
  rtt.max_backoff_ms = rtt.initial_ms;
  return rtt;
}

Status FromFault(const xmlrpc_c::fault& fault) {
  int code = static_cast<int>(fault.getCode());
  if (code >= static_cast<int>(ErrorCode::kBadArgument) &&
      code <= static_cast<int>(kLastErrorCode)) {
    return Status(static_cast<ErrorCode>(code), FromBmpForm(fault.getDescription()));
  }
  // xmlrpc-c's own faults (-500 .. -510) are about the request itself.
  return Status::BadArgument(fault.getDescription() + " (fault " + std::to_string(code) + ")");
}

}  // namespace

XmlRpcTransport::XmlRpcTransport(Options options)
    : options_(std::move(options)), rtt_(RttOptions(options_)), client_(ClientOptions()) {}

HttpClient::Options XmlRpcTransport::ClientOptions() {
  HttpClient::Options client;
  client.connect_timeout_ms = options_.connect_timeout_ms;
  client.call_timeout_ms = options_.call_timeout_ms;
  client.max_idle_per_peer = options_.max_idle_per_peer;
  client.on_done = [this](const HttpRequest& request, bool answered, int64_t elapsed_us) {
    OnDone(request, answered, elapsed_us);
  };
  return client;
}

void XmlRpcTransport::AdaptTimeouts(const std::string& method, const std::string& rtt_class) {
  if (options_.min_call_timeout_ms >= options_.call_timeout_ms) return;  // adaptation is off
  std::lock_guard<std::mutex> lock(classes_mutex_);
  classes_[method] = rtt_class;
}

int XmlRpcTransport::TimeoutFor(const std::string& address, const std::string& method,
                                std::string* rtt_key) const {
  {
    std::lock_guard<std::mutex> lock(classes_mutex_);
    auto it = classes_.find(method);
    if (it == classes_.end()) return options_.call_timeout_ms;
    *rtt_key = it->second + " " + address;
  }
  return rtt_.TimeoutMs(*rtt_key);
}

void XmlRpcTransport::OnDone(const HttpRequest& request, bool answered, int64_t elapsed_us) {
  if (request.tag.empty()) return;  // a call with the fixed time-out
  if (answered) {
    rtt_.Observe(request.tag, elapsed_us);
  } else {
    rtt_.ObserveTimeout(request.tag, request.timeout_ms);
  }
}

XmlRpcTransport::~XmlRpcTransport() = default;

Result<HttpRequest> XmlRpcTransport::Encode(const std::string& address, const std::string& method,
                                            const xmlrpc_c::paramList& params) const {
  HttpRequest request;
  try {
    xmlrpc_c::xml::generateCall(method, params, &request.body);
  } catch (const std::exception& e) {
    return Status::BadArgument("cannot encode call to " + method + ": " + e.what());
  }
  std::string wire;
  if (BmpXmlToWire(request.body, &wire)) request.body.swap(wire);
  request.address = address;
  request.path = kPath;
  request.timeout_ms = TimeoutFor(address, method, &request.tag);
  if (!options_.secret.empty()) {
    // A fresh proof per call: the server accepts each one once.
    request.headers.emplace_back(
        kAuthHeader, SignRequest(options_.secret, kPath, request.body, UnixMillis(), NewNonce()));
  }
  return request;
}

Result<xmlrpc_c::value> XmlRpcTransport::Decode(const std::string& address,
                                                const std::string& method,
                                                Result<HttpResponse> response) {
  if (!response.ok()) {
    // HttpClient's message starts with the address. Its BadArgument (an unparsable address) is
    // Unavailable here: see the header.
    return Status::Unavailable(method + " on " + response.status().message());
  }
  const HttpResponse& answer = response.value();
  if (answer.status == 413) {
    // The server would not even read a request this long; retrying elsewhere will not help.
    return Status::BadArgument(method + " on " + address + ": " + answer.body);
  }
  if (answer.status != 200) {
    return Status::Unavailable(method + " on " + address + ": HTTP status " +
                               std::to_string(answer.status));
  }
  try {
    xmlrpc_c::rpcOutcome outcome;
    std::string parsable;
    xmlrpc_c::xml::parseResponse(WireXmlToBmp(answer.body, &parsable) ? parsable : answer.body,
                                 &outcome);
    if (!outcome.succeeded()) return FromFault(outcome.getFault());
    return outcome.getResult();
  } catch (const std::exception& e) {
    return Status::Unavailable(method + " on " + address + ": unreadable answer: " + e.what());
  }
}

Result<xmlrpc_c::value> XmlRpcTransport::Call(const std::string& address, const std::string& method,
                                              const xmlrpc_c::paramList& params) {
  Result<HttpRequest> request = Encode(address, method, params);
  if (!request.ok()) return request.status();
  return Decode(address, method, client_.Post(request.value()));
}

std::vector<Result<xmlrpc_c::value>> XmlRpcTransport::CallAll(const std::vector<CallSpec>& calls) {
  std::vector<HttpRequest> requests;
  std::vector<size_t> sent;  // index in `calls` of each request
  std::vector<std::optional<Result<xmlrpc_c::value>>> results(calls.size());
  requests.reserve(calls.size());
  sent.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    Result<HttpRequest> request = Encode(calls[i].address, calls[i].method, calls[i].params);
    if (!request.ok()) {
      results[i].emplace(request.status());
      continue;
    }
    requests.push_back(std::move(request).value());
    sent.push_back(i);
  }
  std::vector<Result<HttpResponse>> responses = client_.PostAll(requests);
  for (size_t j = 0; j < responses.size(); ++j) {
    const CallSpec& call = calls[sent[j]];
    results[sent[j]].emplace(Decode(call.address, call.method, std::move(responses[j])));
  }
  std::vector<Result<xmlrpc_c::value>> out;
  out.reserve(calls.size());
  for (auto& result : results) out.push_back(std::move(*result));
  return out;
}

}  // namespace chord
