// XmlRpcServer: serves a CommandRegistry over XML-RPC/HTTP (xmlrpc-c's Abyss server).
//
// Requests are posted to /RPC2 (or /). The server hands each request's XML to the registry
// itself rather than to xmlrpc-c's method registry, so that commands can come and go at run
// time and system.listMethods / methodHelp / methodSignature describe every one of them.
//
// Binds a numeric IPv4 address (127.0.0.1 by default); port 0 picks a free port, reported by
// port() after Start(). Every call is dispatched into the registry; a non-ok Status becomes an
// XML-RPC fault whose code is the ErrorCode (docs/faults.md). Malformed requests (invalid UTF-8
// included) get a bad_argument fault and the server keeps serving.
//
// HTTP is read by our own Abyss handler rather than xmlrpc-c's, which refuses an over-limit
// body without reading it (the caller then sees a broken pipe, not an answer). Here a body up to
// max_request_bytes() is parsed; a longer one up to kMaxDiscardedBody is read as it arrives,
// dropped, and answered with a bad_argument fault naming the limit (the connection stays
// usable); beyond that, or without a Content-Length, the answer is HTTP 413 / 411 and the
// connection closes. Other paths get 404, other methods 405.
//
// Access: with Options::secret set, each request's X-Chord-Auth proof (commands/auth.h) decides
// what it may call: a valid proof everything, none or an invalid one client commands only, or
// only system.* with client_auth. The registry refuses the rest with a refused fault.
//
// Strings: characters beyond U+FFFF cross the wire as standard UTF-8 and reach handlers in the
// BMP form of commands/xml_unicode.h.
//
// Connections are accepted by the server thread and each is served (keep-alive included) on a
// thread of its own, at most max_connections at a time; further callers wait in the listen
// backlog rather than being refused.
//
// Thread-safety: Start() and Stop() must be called from the owning thread; the registry is
// called from the connection threads. Stop() is idempotent: it shuts every connection down at
// once (idle keep-alive ones included), ends all threads and joins them; the destructor calls
// Stop().
#ifndef CHORD_COMMANDS_XMLRPC_SERVER_H_
#define CHORD_COMMANDS_XMLRPC_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "commands/command_registry.h"

struct _TSession;  // Abyss's HTTP session (xmlrpc-c/abyss.h)

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
    int max_connections = 256;       // concurrent connections served (Abyss maxConn)
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

  int port() const { return port_; }
  // The largest body parsed: Options::max_request_bytes, or xmlrpc-c's process-wide XML size
  // limit (SetXmlSizeLimit) when that is smaller, since xmlrpc-c refuses to parse more.
  size_t max_request_bytes() const;
  // "HOST:PORT" that peers use to reach this server.
  std::string address() const { return options_.bind + ":" + std::to_string(port_); }

 private:
  const CommandRegistry* registry_;
  Options options_;
  int port_ = 0;
  int socket_fd_ = -1;
  std::unique_ptr<ProofChecker> checker_;  // null when there is no secret
  // What the request may call, from the secret and the request's proof (*proof: why not).
  Access AccessFor(_TSession* session, const std::string& path, const std::string& body,
                   Status* proof) const;
  void AcceptLoop();                     // the server thread
  void Serve(int fd, void* connection);  // one connection's thread
  struct Abyss;  // xmlrpc-c's C server state and our connections, kept out of this header
  std::unique_ptr<Abyss> abyss_;
  std::thread thread_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_SERVER_H_
