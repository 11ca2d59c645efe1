#include "commands/xmlrpc_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlrpc-c/abyss.h>
#include <xmlrpc-c/base.h>

#include <algorithm>
#include <boost/log/trivial.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <set>
#include <string_view>
#include <xmlrpc-c/xml.hpp>

#include "commands/auth.h"
#include "commands/xml_unicode.h"

namespace chord {

// Abyss parses HTTP and runs the call processor; the connections themselves are ours. The
// server thread accepts, and each connection is served on a thread of its own with
// ServerRunChannel (keep-alive included). Owning the sockets lets Stop() shut every connection
// down at once, where Abyss's own loop waits for idle keep-alive connections in 2 s steps.
struct XmlRpcServer::Abyss {
  TServer server{};
  bool server_created = false;
  int wake_pipe[2] = {-1, -1};  // written by Stop() to end the accept loop

  struct Connection {
    int fd;
    bool done = false;
    std::thread thread;
  };
  std::mutex mutex;
  std::condition_variable slot_freed;
  bool stopping = false;              // guarded by mutex
  std::list<Connection> connections;  // guarded by mutex
  static void ReapFinished(std::list<Connection>* connections);

  // Abyss's request handler (handleReq3Fn); `self` is the XmlRpcServer.
  static void HandleRequest(void* self, TSession* session, abyss_bool* handled);
};

namespace {

// Abyss needs one global initialisation per process before any server is created.
bool InitAbyssOnce(std::string* error) {
  static std::once_flag once;
  static std::string init_error;
  std::call_once(once, [] {
    const char* e = nullptr;
    AbyssInit(&e);
    if (e) {
      init_error = e;
      free(const_cast<char*>(e));  // xmlrpc-c allocates error strings with malloc
    }
  });
  *error = init_error;
  return init_error.empty();
}

std::string TakeError(const char* error) {
  std::string text = error ? error : "unknown error";
  if (error) free(const_cast<char*>(error));
  return text;
}

// The answer as XML for the wire. Values hold characters beyond U+FFFF in BMP form
// (commands/xml_unicode.h); the wire carries standard UTF-8. Only a value xmlrpc-c cannot
// write, which handlers cannot build, makes the answer an internal fault.
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

// A fault's message may quote what the caller sent (any text, or bytes that are not text): it
// is made XML text and put in BMP form so that the fault itself always encodes.
xmlrpc_c::rpcOutcome Fault(ErrorCode code, const std::string& message) {
  return xmlrpc_c::rpcOutcome(
      xmlrpc_c::fault(ToBmpForm(ToXmlText(message)), static_cast<xmlrpc_c::fault::code_t>(code)));
}

std::string OverLimit(size_t length, size_t limit) {
  return "request of " + std::to_string(length) + " bytes is over this node's limit of " +
         std::to_string(limit) + " bytes";
}

// Runs one call: parses it, dispatches it into the registry with the caller's access and
// encodes the answer. A non-ok Status becomes a fault whose code is the ErrorCode; a request
// that is not a well-formed XML-RPC call (invalid UTF-8 included) becomes a bad-argument fault.
// When a command is refused for want of a proof, the fault says what was wrong with the proof.
// (Outcomes are never copied: a successful rpcOutcome holds an uninitialised fault code in
// xmlrpc-c 1.33.)
std::string Answer(const CommandRegistry* registry, const std::string& body, Access access,
                   const Status& proof) {
  std::string name;
  xmlrpc_c::paramList params;
  try {
    std::string parsable;
    xmlrpc_c::xml::parseCall(WireXmlToBmp(body, &parsable) ? parsable : body, &name, &params);
  } catch (const std::exception& e) {
    return Encode(
        Fault(ErrorCode::kBadArgument, std::string("malformed XML-RPC call: ") + e.what()));
  }
  Result<xmlrpc_c::value> result = registry->Dispatch(name, params, access);
  if (result.ok()) return Encode(xmlrpc_c::rpcOutcome(result.value()));
  std::string message = result.status().message();
  if (result.status().code() == ErrorCode::kRefused && access != Access::kAll) {
    auto command = registry->Find(name);
    if (command && (command->audience == Audience::kPeer || access == Access::kNone)) {
      message += " (proof of the ring secret: " + proof.message() + ")";
    }
  }
  return Encode(Fault(result.status().code(), message));
}

// ---- HTTP, on Abyss's session -------------------------------------------------------------

void SendText(TSession* session, uint16_t status, const std::string& text,
              const char* allow = nullptr) {
  // Statuses >= 400 end the connection (Abyss sends "Connection: close"): a request we did not
  // read to its end leaves the stream at an unknown place.
  ResponseStatus(session, status);
  if (allow) ResponseAddField(session, "Allow", allow);
  ResponseContentType(session, "text/plain; charset=utf-8");
  ResponseContentLength(session, text.size());
  ResponseWriteStart(session);
  ResponseWriteBody(session, text.data(), static_cast<uint32_t>(text.size()));
  ResponseWriteEnd(session);
}

void SendXml(TSession* session, const std::string& xml) {
  ResponseStatus(session, 200);
  ResponseContentType(session, "text/xml; charset=utf-8");
  ResponseContentLength(session, xml.size());
  ResponseWriteStart(session);
  // ResponseWriteBody takes 32-bit lengths.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t at = 0; at < xml.size(); at += kPiece) {
    size_t piece = std::min(kPiece, xml.size() - at);
    if (!ResponseWriteBody(session, xml.data() + at, static_cast<uint32_t>(piece))) break;
  }
  ResponseWriteEnd(session);
}

// Reads `length` body bytes as they arrive (part may be buffered with the headers), appending
// them to *body, or dropping them when body is null: an over-limit body is never held in
// memory. False if the caller stops sending (Abyss's per-read time-out) or hangs up.
bool ReadBody(TSession* session, size_t length, std::string* body) {
  if (body) body->reserve(length);
  size_t read = 0;
  while (true) {
    const char* data = nullptr;
    size_t got = 0;
    SessionGetReadData(session, length - read, &data, &got);
    if (body) body->append(data, got);
    read += got;
    if (read == length) return true;
    if (!SessionRefillBuffer(session)) return false;
  }
}

// The Content-Length header: ok with the length, or the HTTP status and text to answer with.
struct BodyLength {
  size_t length = 0;
  uint16_t error_status = 0;  // 0: length is valid
  std::string error;
};

BodyLength ParseBodyLength(TSession* session) {
  BodyLength result;
  if (RequestHeaderValue(session, "transfer-encoding")) {
    // Abyss cannot read chunked bodies; every XML-RPC client we know sends a length.
    return {0, 411, "this server needs a Content-Length (chunked request bodies are not read)\n"};
  }
  const char* header = RequestHeaderValue(session, "content-length");
  if (!header) return {0, 411, "a Content-Length is required\n"};
  std::string_view text(header);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 18) return {0, 400, "unreadable Content-Length\n"};
  for (char c : text) {
    if (c < '0' || c > '9') return {0, 400, "unreadable Content-Length\n"};
    result.length = result.length * 10 + size_t(c - '0');
  }
  return result;
}

// Closing a socket with unread data makes the kernel send a reset, which can destroy our last
// answer (a 413, say) before the caller reads it. So: send our end-of-stream, then read and drop
// what the caller still sends until it closes too, for at most 1 s and 1 MiB. Stop() shuts the
// socket down, which ends this at once.
void LingerBeforeClose(int fd) {
  if (shutdown(fd, SHUT_WR) != 0) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  char scratch[16384];
  for (size_t drained = 0; drained < (1u << 20);) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, int(left.count())) <= 0) return;
    ssize_t got = recv(fd, scratch, sizeof(scratch), 0);
    if (got <= 0) return;
    drained += size_t(got);
  }
}

}  // namespace

void SetXmlSizeLimit(size_t bytes) { xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes); }

XmlRpcServer::XmlRpcServer(const CommandRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)) {
  if (!options_.secret.empty()) checker_ = std::make_unique<ProofChecker>(options_.secret);
}

size_t XmlRpcServer::max_request_bytes() const {
  return std::min(options_.max_request_bytes, size_t(xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID)));
}

Access XmlRpcServer::AccessFor(TSession* session, const std::string& path, const std::string& body,
                               Status* proof) const {
  if (!checker_) return Access::kAll;
  const char* header = RequestHeaderValue(session, "x-chord-auth");
  *proof = checker_->Check(header ? header : "", path, body, UnixMillis());
  if (proof->ok()) return Access::kAll;
  BOOST_LOG_TRIVIAL(debug) << "XML-RPC request without a valid proof: " << proof->message();
  return options_.client_auth ? Access::kNone : Access::kClientOnly;
}

void XmlRpcServer::Abyss::HandleRequest(void* self_arg, TSession* session, abyss_bool* handled) {
  *handled = true;  // every request is ours, errors included
  const auto* self = static_cast<const XmlRpcServer*>(self_arg);
  // Nothing may unwind through Abyss's C frames.
  try {
    const TRequestInfo* info = nullptr;
    SessionGetRequestInfo(session, &info);
    std::string path = info->uri ? info->uri : "";
    if (path != "/RPC2" && path != "/") {
      return SendText(session, 404, "XML-RPC is served at /RPC2 and /\n");
    }
    if (info->method != m_post) {
      return SendText(session, 405, "XML-RPC calls are POSTed\n", "POST");
    }
    BodyLength length = ParseBodyLength(session);
    if (length.error_status) return SendText(session, length.error_status, length.error);
    const size_t limit = self->max_request_bytes();
    if (length.length > kMaxDiscardedBody) {
      // Not worth reading: answer at once and close (a 4xx status ends the connection).
      return SendText(session, 413, OverLimit(length.length, limit) + "\n");
    }
    if (length.length > limit) {
      // Read and drop it, so the caller gets a fault it can read instead of a broken pipe, and
      // its connection stays usable.
      if (!ReadBody(session, length.length, nullptr)) {
        return SendText(session, 408, "timed out reading the request body\n");
      }
      return SendXml(session,
                     Encode(Fault(ErrorCode::kBadArgument, OverLimit(length.length, limit))));
    }
    std::string body;
    if (!ReadBody(session, length.length, &body)) {
      return SendText(session, 408, "timed out reading the request body\n");
    }
    Status proof;
    Access access = self->AccessFor(session, path, body, &proof);
    SendXml(session, Answer(self->registry_, body, access, proof));
  } catch (const std::exception& e) {
    BOOST_LOG_TRIVIAL(error) << "XML-RPC server: " << e.what();
    SendText(session, 500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    SendText(session, 500, "internal error\n");
  }
}

XmlRpcServer::~XmlRpcServer() { Stop(); }

Status XmlRpcServer::Start() {
  if (abyss_) return Status::Refused("server already started");
  std::string error;
  if (!InitAbyssOnce(&error)) return Status::Internal("cannot initialise Abyss: " + error);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.bind.c_str(), &addr.sin_addr) != 1) {
    return Status::BadArgument("bind address '" + options_.bind +
                               "' is not a numeric IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return Status::Unavailable("cannot bind " + options_.bind + ":" +
                               std::to_string(options_.port) + ": " + strerror(err));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  socket_fd_ = fd;

  if (listen(fd, 128) != 0) {
    int err = errno;
    close(fd);
    return Status::Unavailable("cannot listen on port " + std::to_string(port_) + ": " +
                               strerror(err));
  }
  socket_fd_ = fd;

  auto abyss = std::make_unique<Abyss>();
  auto fail = [&](const std::string& what) {
    if (abyss->server_created) ServerFree(&abyss->server);
    for (int end : abyss->wake_pipe) {
      if (end >= 0) close(end);
    }
    close(fd);
    socket_fd_ = -1;
    return Status::Internal("cannot start XML-RPC server: " + what);
  };
  if (pipe2(abyss->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return fail(strerror(errno));
  if (!ServerCreateNoAccept(&abyss->server, "chord", nullptr, nullptr)) {
    return fail("ServerCreateNoAccept failed");
  }
  abyss->server_created = true;

  // One handler for every request: it serves / and /RPC2 and answers anything else with an
  // HTTP error, so Abyss's default handler (which would serve files) never runs.
  ServerReqHandler3 handler{};
  handler.handleReq = &Abyss::HandleRequest;
  handler.userdata = this;
  abyss_bool added = false;
  ServerAddHandler3(&abyss->server, &handler, &added);
  if (!added) return fail("ServerAddHandler3 failed");
  // An idle keep-alive connection holds one of max_connections slots: free it after 10 s, so
  // that a ring of many peers, each keeping a few connections in its pool, cannot fill the
  // server with idle ones for long. (Clients reconnect transparently.)
  ServerSetKeepaliveTimeout(&abyss->server, 10);
  ServerSetKeepaliveMaxConn(&abyss->server, 1000000);
  ServerSetTimeout(&abyss->server, 30);
  ServerSetAdvertise(&abyss->server, false);
  // No ServerInit: a server without its own accept loop is not initialised (Abyss refuses).

  abyss_ = std::move(abyss);
  thread_ = std::thread([this] { AcceptLoop(); });
  BOOST_LOG_TRIVIAL(debug) << "XML-RPC server listening on " << address();
  return Status::Ok();
}

// Joins and forgets the connections whose thread has ended (it set `done` under the lock and
// touches nothing after, so the join is short). Called with the lock held.
void XmlRpcServer::Abyss::ReapFinished(std::list<Connection>* connections) {
  for (auto it = connections->begin(); it != connections->end();) {
    if (it->done) {
      it->thread.join();
      it = connections->erase(it);
    } else {
      ++it;
    }
  }
}

void XmlRpcServer::AcceptLoop() {
  // Abyss writes answers with plain send(): writing to a peer that hung up (a caller that timed
  // out, say) raises SIGPIPE, which kills the process by default. Block it here; connection
  // threads started from this thread inherit the mask, so such a write just fails with EPIPE.
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  Abyss& abyss = *abyss_;
  const size_t max_connections = size_t(std::max(1, options_.max_connections));
  while (true) {
    {
      // Wait for a free slot: a full server leaves new callers in the listen backlog instead
      // of failing them. Finished connections are reaped on every wake-up: a slot is freed by
      // a connection that ends, and it must count as free then (reaping only before waiting
      // left a full server waiting for ever once all its connections had ended).
      std::unique_lock<std::mutex> lock(abyss.mutex);
      abyss.slot_freed.wait(lock, [&] {
        Abyss::ReapFinished(&abyss.connections);
        return abyss.stopping || abyss.connections.size() < max_connections;
      });
      if (abyss.stopping) return;
    }
    pollfd fds[2] = {{socket_fd_, POLLIN, 0}, {abyss.wake_pipe[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      BOOST_LOG_TRIVIAL(error) << "XML-RPC server: poll: " << strerror(errno);
      return;
    }
    if (fds[1].revents) return;  // Stop()
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(socket_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the caller gave up already, or a transient error
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(abyss.mutex);
    if (abyss.stopping) {
      close(fd);
      return;
    }
    abyss.connections.push_back({fd, false, {}});
    auto* connection = &abyss.connections.back();
    connection->thread = std::thread([this, connection] { Serve(connection->fd, connection); });
  }
}

void XmlRpcServer::Serve(int fd, void* connection_handle) {
  Abyss& abyss = *abyss_;
  TChannel* channel = nullptr;
  struct abyss_unix_chaninfo* info = nullptr;
  const char* error = nullptr;
  ChannelUnixCreateFd(fd, &channel, &info, &error);
  if (error) {
    BOOST_LOG_TRIVIAL(warning) << "XML-RPC server: " << TakeError(error);
  } else {
    ServerRunChannel(&abyss.server, channel, info, &error);
    if (error) BOOST_LOG_TRIVIAL(debug) << "XML-RPC connection: " << TakeError(error);
    ChannelDestroy(channel);
    free(info);
  }
  LingerBeforeClose(fd);
  std::lock_guard<std::mutex> lock(abyss.mutex);
  close(fd);
  static_cast<Abyss::Connection*>(connection_handle)->done = true;
  abyss.slot_freed.notify_all();
}

void XmlRpcServer::Stop() {
  if (!abyss_) return;
  Abyss& abyss = *abyss_;
  {
    std::lock_guard<std::mutex> lock(abyss.mutex);
    abyss.stopping = true;
    // Wake every connection thread, idle keep-alive ones included: their reads end at once.
    for (auto& connection : abyss.connections) {
      if (!connection.done) shutdown(connection.fd, SHUT_RDWR);
    }
  }
  abyss.slot_freed.notify_all();
  char byte = 1;
  ssize_t ignored = write(abyss.wake_pipe[1], &byte, 1);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  std::list<Abyss::Connection> connections;
  {
    std::lock_guard<std::mutex> lock(abyss.mutex);
    connections.swap(abyss.connections);
  }
  for (auto& connection : connections) connection.thread.join();
  ServerFree(&abyss.server);
  for (int end : abyss.wake_pipe) close(end);
  abyss_.reset();
  if (socket_fd_ >= 0) {
    close(socket_fd_);
    socket_fd_ = -1;
  }
}

}  // namespace chord
