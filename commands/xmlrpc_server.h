// XmlRpcServer: serves a CommandRegistry over XML-RPC/HTTP (xmlrpc-c's Abyss server).
//
// Requests are posted to /RPC2 (or /). The server hands each request's XML to the registry
// itself rather than to xmlrpc-c's method registry, so that commands can come and go at run
// time and system.listMethods / methodHelp / methodSignature describe every one of them.
//
// Binds a numeric IPv4 address (127.0.0.1 by default); port 0 picks a free port, reported by
// port() after Start(). Every call is dispatched into the registry; a non-ok Status becomes an
// XML-RPC fault whose code is the ErrorCode (docs/faults.md). Malformed requests get a fault
// from xmlrpc-c itself and the server keeps serving.
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

namespace chord {

// Sets xmlrpc-c's process-global limit on the size of one XML document. Call once from main (or
// a test's set-up) before any thread starts; values above 1 MiB need more than the default.
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
    // Largest request body parsed. A larger one, up to kMaxDiscardedBody, is read and discarded
    // and answered with a bad_argument fault naming the limit; beyond that, HTTP 413.
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
  // "HOST:PORT" that peers use to reach this server.
  std::string address() const { return options_.bind + ":" + std::to_string(port_); }

 private:
  const CommandRegistry* registry_;
  Options options_;
  int port_ = 0;
  int socket_fd_ = -1;
  void AcceptLoop();                     // the server thread
  void Serve(int fd, void* connection);  // one connection's thread
  struct Abyss;  // xmlrpc-c's C server state and our connections, kept out of this header
  std::unique_ptr<Abyss> abyss_;
  std::thread thread_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_XMLRPC_SERVER_H_
