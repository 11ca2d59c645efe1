// XmlRpcServer: serves a CommandRegistry over XML-RPC/HTTP/1.1 (Boost.Beast for HTTP, xmlrpc-c
// for the XML).
//
// Requests are posted to /RPC2 (or /). The server hands each request's XML to the registry
// itself, so that commands can come and go at run time and system.listMethods / methodHelp /
// methodSignature describe every one of them.
//
// Metrics: GET /metrics answers in the Prometheus text format: calls, faults and a latency
// histogram per command (CallMetrics), the server's connection and thread counters, then what
// every source added with AddMetrics writes (the overlay's and the DHT's figures). It is open
// to every caller (it shows counts and the node's neighbours, never keys or values), except
// with client_auth: then it answers 403, and chord.metrics, a client command, needs the proof.
//
// Binds a numeric IPv4 address (127.0.0.1 by default); port 0 picks a free port, reported by
// port() after Start(). Every call is dispatched into the registry; a non-ok Status becomes an
// XML-RPC fault whose code is the ErrorCode (docs/faults.md). Malformed requests (invalid UTF-8
// included) get a bad_argument fault and the server keeps serving.
//
// Sizes: a body up to max_request_bytes() is parsed; a longer one up to kMaxDiscardedBody is read
// as it arrives, dropped, and answered with a bad_argument fault naming the limit (the
// connection stays usable); beyond that, or without a Content-Length, the answer is HTTP 413 /
// 411 and the connection closes. Other paths get 404, other methods 405, unreadable headers 400.
//
// Access: with Options::secret set, each request's X-Chord-Auth proof (commands/auth.h) decides
// what it may call: a valid proof everything, none or an invalid one client commands only, or
// only system.* with client_auth. The registry refuses the rest with a refused fault.
//
// Strings: characters beyond U+FFFF cross the wire as standard UTF-8 and reach handlers in the
// BMP form of commands/xml_unicode.h.
//
// Connections and threads: connections are kept alive (HTTP/1.1) and cost no thread while they
// wait. A fixed, small set of threads does all the I/O and runs the handlers; as handlers may
// block (a command that calls other nodes), the set grows by one thread whenever every thread
// is busy, up to max_threads, and never shrinks before Stop(), so a steady load starts no
// thread. Deadlines bound every connection: the next request's header must be complete within
// idle_timeout_ms of the previous answer (or of the accept), and its body within
// request_timeout_ms; a connection that misses one is closed. At most max_connections are open:
// a new one then evicts the connection that has waited longest for a request, or is refused
// (closed at once) when every connection is busy, so idle or slow callers cannot lock the node
// out.
//
// Thread-safety: Start() and Stop() must be called from the owning thread; stats() from any
// thread; the registry is called from the server's threads. Stop() is idempotent: it closes
// every connection at once (idle keep-alive ones included), waits for running handlers to
// return, and joins all threads; the destructor calls Stop().
#ifndef CHORD_COMMANDS_XMLRPC_SERVER_H_
#define CHORD_COMMANDS_XMLRPC_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "commands/call_metrics.h"
#include "commands/command_registry.h"

namespace chord {

class ProofChecker;

// The largest request body the server reads (and drops) to answer with a fault when it is over
// Options::max_request_bytes; a longer one gets HTTP 413 and the connection is closed unread.
// 64 MiB, the largest value a client could sensibly try, plus room for the XML around it.
inline constexpr size_t kMaxDiscardedBody = (size_t{64} << 20) + (size_t{1} << 20);

// Sets xmlrpc-c's process-global limit on the size of one XML document. Call once from main (or
// a test's set-up) before any thread starts; values above 1 MiB need more than the default.
// xmlrpc-c parses nothing longer, so it caps what a server accepts (see max_request_bytes()):
// set it at least to Options::max_request_bytes, with some room, because characters beyond
// U+FFFF take 9 bytes instead of 4 once in BMP form (commands/xml_unicode.h).
void SetXmlSizeLimit(size_t bytes);

class XmlRpcServer {
 public:
  struct Options {
    std::string bind = "127.0.0.1";  // numeric IPv4 address
    int port = 0;                    // 0 = any free port
    int max_connections = 1024;      // open connections (see above: eviction, refusal)
    int idle_timeout_ms = 30000;     // until the next request's header is complete
    int request_timeout_ms = 30000;  // for a request's body once its header is read
    int min_threads = 2;             // threads started by Start()
    int max_threads = 64;            // the most threads the server grows to
    // The ring's shared secret; empty: no proof is asked and every command is open (Access::kAll).
    // When set, a request that carries no valid proof (see commands/auth.h) may call client
    // commands only (Access::kClientOnly), or nothing but system.* with client_auth.
    std::string secret;
    bool client_auth = false;
    // Largest request body parsed (capped by SetXmlSizeLimit). A larger one, up to
    // kMaxDiscardedBody, is read and discarded and answered with a bad_argument fault naming
    // the limit; beyond that, HTTP 413.
    size_t max_request_bytes = 4u << 20;
  };

  // `registry` is not owned and must outlive the server.
  XmlRpcServer(const CommandRegistry* registry, Options options);
  ~XmlRpcServer();
  XmlRpcServer(const XmlRpcServer&) = delete;
  XmlRpcServer& operator=(const XmlRpcServer&) = delete;

  // Binds and starts serving on a background thread.
  // Errors: BadArgument for an unparsable bind address; Unavailable if the port cannot be bound.
  Status Start();
  // Stops accepting, finishes and joins. Idempotent.
  void Stop();

  // What the server has done since Start(), for benchmarks and chord.stats.
  struct Stats {
    uint64_t requests = 0;              // HTTP requests answered
    uint64_t connections_accepted = 0;  // connections taken from the listen queue
    uint64_t connections_evicted = 0;   // idle ones closed to make room (max_connections)
    uint64_t connections_refused = 0;   // closed at once: every connection was busy
    uint64_t threads_started = 0;       // Start()'s threads included
    int connections_open = 0;
  };
  Stats stats() const;

  // Writes Prometheus text lines (with their # HELP and # TYPE lines) for GET /metrics.
  using MetricsSource = std::function<void(std::ostream& out)>;
  // Adds a source to GET /metrics. Safe from any thread, before or after Start(). Sources run
  // on a worker thread, outside every server lock, and must stay callable until Stop().
  void AddMetrics(MetricsSource source);
  // The whole GET /metrics text.
  std::string MetricsText() const;

  int port() const { return port_; }
  // The largest body parsed: Options::max_request_bytes, or xmlrpc-c's process-wide XML size
  // limit (SetXmlSizeLimit) when that is smaller, since xmlrpc-c refuses to parse more.
  size_t max_request_bytes() const;
  // "HOST:PORT" that peers use to reach this server.
  std::string address() const { return options_.bind + ":" + std::to_string(port_); }

 private:
  struct Impl;  // Asio state, connections and threads, kept out of this header
  const CommandRegistry* registry_;
  Options options_;
  int port_ = 0;
  std::unique_ptr<ProofChecker> checker_;  // null when there is no secret
  mutable CallMetrics call_metrics_;       // internally synchronized; counted from const paths
  mutable std::mutex sources_mutex_;
  std::vector<MetricsSource> sources_;  // guarded by sources_mutex_
  std::unique_ptr<Impl> impl_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_SERVER_H_
