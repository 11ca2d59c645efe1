#include "commands/xmlrpc_transport.h"

#include <curl/curl.h>

#include <xmlrpc-c/girerr.hpp>
#include <xmlrpc-c/xml.hpp>

#include "commands/auth.h"
#include "commands/xml_unicode.h"

namespace chord {
namespace {

constexpr size_t kMaxResponseBytes = 256u << 20;

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t bytes = size * count;
  if (body->size() + bytes > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, bytes);
  return bytes;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
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

XmlRpcTransport::XmlRpcTransport(Options options) : options_(options) { GlobalInitOnce(); }

XmlRpcTransport::~XmlRpcTransport() {
  for (auto& peer : idle_) {
    for (void* handle : peer.second) curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

void* XmlRpcTransport::Borrow(const std::string& address) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = idle_.find(address);
    if (it != idle_.end() && !it->second.empty()) {
      void* handle = it->second.back();
      it->second.pop_back();
      return handle;
    }
  }
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // time-outs without SIGALRM: threads are safe
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, long(options_.call_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  return curl;
}

void XmlRpcTransport::Return(const std::string& address, void* handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& idle = idle_[address];
  if (idle.size() < options_.max_idle_per_peer) {
    idle.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

Result<xmlrpc_c::value> XmlRpcTransport::Call(const std::string& address, const std::string& method,
                                              const xmlrpc_c::paramList& params) {
  std::string request;
  try {
    xmlrpc_c::xml::generateCall(method, params, &request);
  } catch (const std::exception& e) {
    return Status::BadArgument("cannot encode call to " + method + ": " + e.what());
  }
  std::string wire;
  if (BmpXmlToWire(request, &wire)) request.swap(wire);
  CURL* curl = static_cast<CURL*>(Borrow(address));
  static const char kPath[] = "/RPC2";
  std::string url = "http://" + address + kPath;
  std::string response;
  // "Expect:" stops curl from waiting for a 100-continue before sending large bodies.
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/xml");
  headers = curl_slist_append(headers, "Expect:");
  if (!options_.secret.empty()) {
    // A fresh proof per call: the server accepts each one once.
    std::string proof = std::string(kAuthHeader) + ": " +
                        SignRequest(options_.secret, kPath, request, UnixMillis(), NewNonce());
    headers = curl_slist_append(headers, proof.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    // A failed handle may hold a broken connection: do not pool it.
    curl_easy_cleanup(curl);
    return Status::Unavailable(method + " on " + address + ": " + curl_easy_strerror(code));
  }
  Return(address, curl);
  if (http_status == 413) {
    // The server would not even read a request this long; retrying elsewhere will not help.
    return Status::BadArgument(method + " on " + address + ": " + response);
  }
  if (http_status != 200) {
    return Status::Unavailable(method + " on " + address + ": HTTP status " +
                               std::to_string(http_status));
  }
  try {
    xmlrpc_c::rpcOutcome outcome;
    std::string parsable;
    xmlrpc_c::xml::parseResponse(WireXmlToBmp(response, &parsable) ? parsable : response, &outcome);
    if (!outcome.succeeded()) return FromFault(outcome.getFault());
    return outcome.getResult();
  } catch (const std::exception& e) {
    return Status::Unavailable(method + " on " + address + ": unreadable answer: " + e.what());
  }
}

}  // namespace chord
