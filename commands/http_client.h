// HttpClient: a small HTTP/1.1 client for POSTs to "HOST:PORT" peers, with keep-alive.
//
// Each request borrows a connected socket from a per-peer pool of idle connections (or opens
// one), writes the request, reads the answer and, when the answer was complete and the server
// keeps the connection open, returns the socket to the pool for the next request to that peer.
// So at steady state calls cost no TCP connect.
//
// No threads: Post() runs on the calling thread; PostAll() puts a whole batch in flight at once
// from the calling thread (non-blocking sockets, one poll() loop), so the batch takes about as
// long as its slowest request.
//
// Failures are Unavailable with the address and a short reason ("connection refused",
// "timed out", "connection closed", "unreadable HTTP answer", ...): a dead or silent peer costs
// at most the call time-out, never a hang. A pooled connection the server closed while it was
// idle (the answer fails before its first byte: EOF, reset or broken pipe) is retried once on a
// fresh connection; that is not a failure (Stats::retried counts it). A request is thus sent
// twice only if the server closed the connection without answering it.
//
// Sockets are SOCK_CLOEXEC and written with MSG_NOSIGNAL: a peer closing never raises SIGPIPE.
//
// Thread-safety: Post(), PostAll() and stats() are safe from any number of threads at once.
// Lifetime: the destructor closes the pooled connections; no call may be running then.
#ifndef CHORD_COMMANDS_HTTP_CLIENT_H_
#define CHORD_COMMANDS_HTTP_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "commands/status.h"

namespace chord {

struct HttpRequest {
  std::string address;  // "HOST:PORT", numeric IPv4 host
  std::string path;     // "/RPC2"
  // Extra header lines (name, value); Host, Content-Type: text/xml and Content-Length are
  // always sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // > 0: this request's whole time-out (connect included) instead of Options::call_timeout_ms.
  int timeout_ms = 0;
  std::string tag;  // the caller's own label, for Options::on_done
};

struct HttpResponse {
  int status = 0;  // any status: 404 or 413 are answers too, not errors
  std::string body;
};

class HttpClient {
 public:
  struct Options {
    int connect_timeout_ms = 1000;  // TCP connect time-out
    int call_timeout_ms = 5000;     // whole request time-out, connect (and any retry) included
    size_t max_idle_per_peer = 64;  // idle keep-alive connections kept per peer
    // A pooled connection idle longer than this is closed rather than reused: servers close
    // idle keep-alive connections after a while (often 30 s), and reusing one they are about to
    // close would cost a retry.
    int max_idle_ms = 20000;
    size_t max_response_bytes = size_t{256} << 20;  // a longer answer body is unreadable
    // If set, called on the calling thread once per request that got an answer (`answered`,
    // after `elapsed_us`) or ran out of its time-out (not `answered`); not for other failures
    // (refused, closed, unreadable). No lock is held. For round-trip estimates.
    std::function<void(const HttpRequest& request, bool answered, int64_t elapsed_us)> on_done;
  };

  // Counters since construction.
  struct Stats {
    uint64_t requests = 0;            // Post() requests plus PostAll() requests
    uint64_t connections_opened = 0;  // TCP connections established
    uint64_t reused = 0;              // requests sent on a pooled connection
    uint64_t retried = 0;             // requests resent after a pooled connection proved closed
    uint64_t timed_out = 0;           // requests that had no answer within their time-out
  };

  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `request` and returns the server's answer, whatever its status.
  // Errors: BadArgument for an unparsable address; Unavailable when the peer cannot be reached,
  // does not answer within its time-out (request.timeout_ms, else call_timeout_ms), closes the
  // connection or answers something that is not HTTP (or a body over max_response_bytes).
  Result<HttpResponse> Post(const HttpRequest& request);

  // POSTs every request at once (each with its own deadline) and returns the
  // results in request order. Requests to the same peer go on separate connections.
  std::vector<Result<HttpResponse>> PostAll(const std::vector<HttpRequest>& requests);

  Stats stats() const;

 private:
  struct Exchange;  // one request in flight (http_client.cpp)
  struct Idle {
    int fd;
    std::chrono::steady_clock::time_point since;
  };

  void Run(Exchange* exchanges, size_t count);
  void Start(Exchange* exchange);
  bool Connect(Exchange* exchange);
  void Send(Exchange* exchange);
  void Receive(Exchange* exchange, char* buffer, size_t size);
  void Finish(Exchange* exchange, bool keep);
  void FailOrRetry(Exchange* exchange, const char* reason);
  void Fail(Exchange* exchange, const std::string& reason);

  // A live idle connection to `address`, or -1.
  int Borrow(const std::string& address);
  void Return(const std::string& address, int fd);

  const Options options_;
  std::mutex mutex_;
  std::map<std::string, std::vector<Idle>> idle_;     // oldest first; guarded by mutex_
  std::chrono::steady_clock::time_point last_sweep_;  // guarded by mutex_
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> reused_{0};
  std::atomic<uint64_t> retried_{0};
  std::atomic<uint64_t> timed_out_{0};
};

}  // namespace chord

#endif  // CHORD_COMMANDS_HTTP_CLIENT_H_
