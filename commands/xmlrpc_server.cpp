#include "commands/xmlrpc_server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <xmlrpc-c/base.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/log/trivial.hpp>
#include <chrono>
#include <csignal>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "commands/auth.h"
#include "commands/call_deadline.h"
#include "commands/worker_pool.h"
#include "commands/xmlrpc_codec.h"

namespace chord {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeaderLimit = 16u << 10;
// An answer that ends the connection leaves the caller's unread bytes behind; they are drained
// for this long (and at most kMaxDrained bytes) so that closing does not reset the connection
// before the caller has read our answer.
constexpr auto kLinger = std::chrono::seconds(1);
constexpr size_t kMaxDrained = 1u << 20;
constexpr size_t kScratchBytes = 64u << 10;
// A call whose body is larger is never answered on the I/O thread: parsing it alone would hold
// up every other connection (a transfer batch, a large value).
constexpr size_t kQuickBodyLimit = 16u << 10;

std::string OverLimit(size_t length, size_t limit) {
  return "request of " + std::to_string(length) + " bytes is over this node's limit of " +
         std::to_string(limit) + " bytes";
}

// The encoded answer of a dispatched call. A non-ok Status becomes a fault whose code is the
// ErrorCode; when a command is refused for want of a proof, the fault says what was wrong with
// the proof.
std::string EncodeResult(const CommandRegistry* registry, const std::string& name,
                         const Result<xmlrpc_c::value>& result, Access access,
                         const Status& proof) {
  if (result.ok()) return EncodeAnswer(result.value());
  std::string message = result.status().message();
  if (result.status().code() == ErrorCode::kRefused && access != Access::kAll) {
    auto command = registry->Find(name);
    if (command && (command->audience == Audience::kPeer || access == Access::kNone)) {
      message += " (proof of the ring secret: " + proof.message() + ")";
    }
  }
  return EncodeFault(result.status().code(), message);
}

// The label a call is counted under: its name if it is a registered command.
std::string MetricsLabel(const CommandRegistry* registry, const std::string& name) {
  return registry->Find(name) ? name : CallMetrics::kUnknownCommand;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

// ---- The server's state and threads -------------------------------------------------------

struct XmlRpcServer::Impl {
  class Connection;
  explicit Impl(const XmlRpcServer* server)
      : server(server),
        workers("chord-worker", server->options_.min_threads, server->options_.max_threads) {}

  const XmlRpcServer* server;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> requests{0}, accepted{0}, evicted{0}, refused{0};
  // Requests are handled here: handlers may block, the I/O thread never does.
  WorkerPool workers;
  std::mutex mutex;
  // Open connections; an ended one leaves an expired entry, removed by MakeRoom. (A connection
  // does not take the lock as it ends: the last reference to it may be released under it.)
  std::list<std::weak_ptr<Connection>> connections;  // guarded by mutex
  // All network I/O runs on one thread (io_thread), so connections need no strand and no
  // thread waits on another for I/O.
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> keep_running;
  std::thread io_thread;

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // With the lock held: whether one more connection may open; *victim is set to a connection
  // to close for it (to be closed and released after the lock: releasing the last reference
  // ends the connection, which takes the lock).
  bool MakeRoom(std::shared_ptr<Connection>* victim);
};

// One HTTP connection: reads a request, answers it, and waits for the next one while the
// caller keeps it alive. Its handlers run on its strand, one at a time.
class XmlRpcServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl* impl, tcp::socket socket) : impl_(impl), stream_(std::move(socket)) {}

  void Start() { ReadHeader(); }
  // From any thread: closes the socket on the connection's strand, which ends it.
  void CloseSoon() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.close(); });
  }
  // Since when it has been waiting for a request, or nullopt while it serves one.
  std::optional<Clock::time_point> waiting_since() const {
    int64_t since = waiting_since_.load();
    if (since < 0) return std::nullopt;
    return Clock::time_point(Clock::duration(since));
  }

 private:
  const Options& options() const { return impl_->server->options_; }
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void DiscardBody(size_t length);
  void Respond(std::string xml, bool keep_alive,
               const char* content_type = "text/xml; charset=utf-8");
  // Answers a parsed call on a thread that may block (the command's ordinary handler) and
  // counts it; returns the encoded answer.
  std::string Answer(const ParsedCall& call, Access access, const Status& proof) const;
  // Counts a call answered with `code`.
  void Count(const std::string& name, ErrorCode code) const;
  void ServeMetrics(bool keep_alive);
  // Answers an HTTP error and ends the connection.
  void Refuse(http::status status, std::string text, const char* allow = nullptr);
  void OnWrite(bool keep_alive, beast::error_code ec);
  void Linger();

  Impl* impl_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> discard_;
  std::unique_ptr<char[]> scratch_;  // for bodies and bytes that are dropped
  size_t drained_ = 0;
  http::response<http::string_body> response_;
  std::atomic<int64_t> waiting_since_{-1};
  Clock::time_point started_;  // when the current request's body was complete
};

void XmlRpcServer::Impl::Accept() {
  acceptor.async_accept(
      io, [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void XmlRpcServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  if (!ec) {
    ++accepted;
    socket.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<Connection> connection, victim;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (MakeRoom(&victim)) {
        connection = std::make_shared<Connection>(this, std::move(socket));
        connections.push_back(connection);
      }
    }
    if (victim) {
      ++evicted;
      victim->CloseSoon();  // still counted until it has ended: the limit may be passed by a few
      victim.reset();
    }
    if (connection) {
      connection->Start();
    } else {
      ++refused;
      socket.close(ec);
    }
  }
  Accept();
}

// A free place for one more connection: there is one, or the connection that has waited
// longest for a request is closed for it. False when every connection is busy.
bool XmlRpcServer::Impl::MakeRoom(std::shared_ptr<Connection>* victim) {
  connections.remove_if([](const std::weak_ptr<Connection>& weak) { return weak.expired(); });
  if (connections.size() < size_t(std::max(1, server->options_.max_connections))) return true;
  std::shared_ptr<Connection>& oldest = *victim;
  Clock::time_point oldest_since = Clock::time_point::max();
  for (const auto& weak : connections) {
    auto connection = weak.lock();
    if (!connection) continue;
    auto since = connection->waiting_since();
    if (since && *since < oldest_since) {
      oldest_since = *since;
      oldest = connection;
    }
  }
  return oldest != nullptr;
}

// ---- One connection -------------------------------------------------------------------------

void XmlRpcServer::Impl::Connection::ReadHeader() {
  if (impl_->stopping) return stream_.close();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  // Bodies are limited once the header says how long they are (ReadBody, DiscardBody).
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // (Beast 1.74 mishandles none)
  waiting_since_ = Clock::now().time_since_epoch().count();
  stream_.expires_after(std::chrono::milliseconds(options().idle_timeout_ms));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void XmlRpcServer::Impl::Connection::OnHeader(beast::error_code ec) {
  waiting_since_ = -1;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::eof ||
      ec == net::error::connection_reset) {
    return stream_.close();  // the caller left, idled too long, or the server is stopping
  }
  if (ec) return Refuse(http::status::bad_request, "unreadable HTTP request: " + ec.message());
  const auto& request = parser_->get();
  std::string path(request.target());
  if (path == "/metrics") {
    if (request.method() != http::verb::get) {
      return Refuse(http::status::method_not_allowed, "metrics are read with GET", "GET");
    }
    if (!parser_->is_done()) return Refuse(http::status::bad_request, "GET takes no body");
    if (impl_->server->options_.client_auth) {
      // The figures name the ring's members, which --client-auth keeps from unproven callers.
      return Refuse(http::status::forbidden,
                    "with --client-auth, call chord.metrics with the proof instead");
    }
    return ServeMetrics(request.keep_alive());
  }
  if (path != "/RPC2" && path != "/") {
    return Refuse(http::status::not_found, "XML-RPC is served at /RPC2 and /, metrics at /metrics");
  }
  if (request.method() != http::verb::post) {
    return Refuse(http::status::method_not_allowed, "XML-RPC calls are POSTed", "POST");
  }
  if (parser_->chunked()) {
    return Refuse(http::status::length_required,
                  "this server needs a Content-Length (chunked request bodies are not read)");
  }
  if (!parser_->content_length()) {
    return Refuse(http::status::length_required, "a Content-Length is required");
  }
  const size_t length = size_t(*parser_->content_length());
  const size_t limit = impl_->server->max_request_bytes();
  if (length > kMaxDiscardedBody) {
    return Refuse(http::status::payload_too_large, OverLimit(length, limit));
  }
  auto expect = request[http::field::expect];
  if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
    // The caller waits for a go-ahead before it sends the body.
    static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(std::chrono::milliseconds(options().request_timeout_ms));
    return net::async_write(
        stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
        [self = shared_from_this(), length, limit](beast::error_code ec, size_t) {
          if (ec) return self->stream_.close();
          length > limit ? self->DiscardBody(length) : self->ReadBody();
        });
  }
  length > limit ? DiscardBody(length) : ReadBody();
}

void XmlRpcServer::Impl::Connection::ReadBody() {
  stream_.expires_after(std::chrono::milliseconds(options().request_timeout_ms));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void XmlRpcServer::Impl::Connection::OnBody(beast::error_code ec) {
  if (ec == beast::error::timeout) {
    return Refuse(http::status::request_timeout, "timed out reading the request body");
  }
  if (ec) return stream_.close();
  auto& request = parser_->get();
  const XmlRpcServer* server = impl_->server;
  Status proof;
  Access access = Access::kAll;
  if (server->checker_) {
    auto header = request["X-Chord-Auth"];
    proof = server->checker_->Check(std::string(header), std::string(request.target()),
                                    request.body(), UnixMillis());
    if (!proof.ok()) {
      BOOST_LOG_TRIVIAL(debug) << "XML-RPC request without a valid proof: " << proof.message();
      access = server->options_.client_auth ? Access::kNone : Access::kClientOnly;
    }
  }
  const CommandRegistry* registry = server->registry_;
  const bool keep_alive = request.keep_alive();
  const int64_t deadline = CallDeadline::Parse([&] {
    auto value = request[CallDeadline::kHeader];
    return std::string_view(value.data(), value.size());
  }());
  started_ = Clock::now();
  std::shared_ptr<ParsedCall> call;
  if (request.body().size() <= kQuickBodyLimit &&
      registry->HasQuick(PeekMethodName(request.body()))) {
    // A command that can answer from local state is answered here, on the I/O thread, unless
    // its quick handler finds it must wait for something.
    call = std::make_shared<ParsedCall>(ParseCall(request.body()));
    if (call->fault) {
      Count(CallMetrics::kUnknownCommand, ErrorCode::kBadArgument);
      return Respond(*call->fault, keep_alive);
    }
    CallDeadline::Scope scope(deadline);
    auto result = registry->DispatchQuick(call->name, call->params, access);
    if (result.status().code() != ErrorCode::kWouldBlock) {
      Count(call->name, result.status().code());
      return Respond(EncodeResult(registry, call->name, result, access, proof), keep_alive);
    }
  }
  // The connection waits (no I/O on it) while a worker answers; the answer goes out on the I/O
  // thread.
  impl_->workers.Submit([self = shared_from_this(), call, access, proof, keep_alive, deadline] {
    CallDeadline::Scope scope(deadline);
    std::string xml =
        self->Answer(call ? *call : ParseCall(self->parser_->get().body()), access, proof);
    net::post(self->stream_.get_executor(), [self, xml = std::move(xml), keep_alive]() mutable {
      self->Respond(std::move(xml), keep_alive);
    });
  });
}

std::string XmlRpcServer::Impl::Connection::Answer(const ParsedCall& call, Access access,
                                                   const Status& proof) const {
  if (call.fault) {
    Count(CallMetrics::kUnknownCommand, ErrorCode::kBadArgument);
    return *call.fault;
  }
  const CommandRegistry* registry = impl_->server->registry_;
  auto result = registry->Dispatch(call.name, call.params, access);
  Count(call.name, result.status().code());
  return EncodeResult(registry, call.name, result, access, proof);
}

void XmlRpcServer::Impl::Connection::Count(const std::string& name, ErrorCode code) const {
  const XmlRpcServer* server = impl_->server;
  server->call_metrics_.Record(MetricsLabel(server->registry_, name), code, SecondsSince(started_));
}

// Sources may take a while (the DHT counts its keys): on a worker, like a blocking command.
void XmlRpcServer::Impl::Connection::ServeMetrics(bool keep_alive) {
  impl_->workers.Submit([self = shared_from_this(), keep_alive] {
    std::string text = self->impl_->server->MetricsText();
    net::post(self->stream_.get_executor(), [self, text = std::move(text), keep_alive]() mutable {
      self->Respond(std::move(text), keep_alive, "text/plain; version=0.0.4; charset=utf-8");
    });
  });
}

// Reads an over-limit body as it arrives and drops it, then answers with a fault the caller can
// read (instead of a broken pipe); the connection stays usable.
void XmlRpcServer::Impl::Connection::DiscardBody(size_t length) {
  if (!discard_) {
    discard_.emplace(std::move(*parser_));
    if (!scratch_) scratch_.reset(new char[kScratchBytes]);
    stream_.expires_after(std::chrono::milliseconds(options().request_timeout_ms));
  }
  discard_->get().body().data = scratch_.get();
  discard_->get().body().size = kScratchBytes;
  http::async_read(
      stream_, buffer_, *discard_,
      [self = shared_from_this(), length](beast::error_code ec, size_t) {
        if (ec == http::error::need_buffer) ec = {};
        if (ec == beast::error::timeout) {
          return self->Refuse(http::status::request_timeout, "timed out reading the request body");
        }
        if (ec) return self->stream_.close();
        if (!self->discard_->is_done()) return self->DiscardBody(length);
        bool keep_alive = self->discard_->get().keep_alive();
        self->discard_.reset();
        size_t limit = self->impl_->server->max_request_bytes();
        self->Respond(EncodeFault(ErrorCode::kBadArgument, OverLimit(length, limit)), keep_alive);
      });
}

void XmlRpcServer::Impl::Connection::Respond(std::string xml, bool keep_alive,
                                             const char* content_type) {
  response_ = {};
  response_.result(http::status::ok);
  response_.version(11);
  response_.set(http::field::content_type, content_type);
  response_.body() = std::move(xml);
  response_.keep_alive(keep_alive);
  response_.prepare_payload();
  stream_.expires_after(std::chrono::milliseconds(options().request_timeout_ms));
  http::async_write(stream_, response_,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                      self->OnWrite(keep_alive, ec);
                    });
}

void XmlRpcServer::Impl::Connection::Refuse(http::status status, std::string text,
                                            const char* allow) {
  response_ = {};
  response_.result(status);
  response_.version(11);
  if (allow) response_.set(http::field::allow, allow);
  response_.set(http::field::content_type, "text/plain; charset=utf-8");
  response_.body() = std::move(text) + "\n";
  // A request we did not read to its end leaves the stream at an unknown place: close.
  response_.keep_alive(false);
  response_.prepare_payload();
  stream_.expires_after(std::chrono::milliseconds(options().request_timeout_ms));
  http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWrite(false, ec);
  });
}

void XmlRpcServer::Impl::Connection::OnWrite(bool keep_alive, beast::error_code ec) {
  ++impl_->requests;
  if (ec) return stream_.close();
  if (keep_alive) return ReadHeader();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (!scratch_) scratch_.reset(new char[kScratchBytes]);
  stream_.expires_after(kLinger);
  Linger();
}

// Closing a socket with unread data makes the kernel send a reset, which can destroy our last
// answer (a 413, say) before the caller reads it. So after our end-of-stream, what the caller
// still sends is read and dropped until it closes too, for at most kLinger and kMaxDrained.
void XmlRpcServer::Impl::Connection::Linger() {
  stream_.async_read_some(net::buffer(scratch_.get(), kScratchBytes),
                          [self = shared_from_this()](beast::error_code ec, size_t got) {
                            self->drained_ += got;
                            if (ec || self->drained_ >= kMaxDrained) return self->stream_.close();
                            self->Linger();
                          });
}

// ---- XmlRpcServer -----------------------------------------------------------------------------

void SetXmlSizeLimit(size_t bytes) { xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes); }

XmlRpcServer::XmlRpcServer(const CommandRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)) {
  if (!options_.secret.empty()) checker_ = std::make_unique<ProofChecker>(options_.secret);
}

XmlRpcServer::~XmlRpcServer() { Stop(); }

size_t XmlRpcServer::max_request_bytes() const {
  return std::min(options_.max_request_bytes, size_t(xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID)));
}

Status XmlRpcServer::Start() {
  if (impl_) return Status::Refused("server already started");
  in_addr parsed{};
  if (inet_pton(AF_INET, options_.bind.c_str(), &parsed) != 1) {
    return Status::BadArgument("bind address '" + options_.bind +
                               "' is not a numeric IPv4 address");
  }
  auto impl = std::make_unique<Impl>(this);
  tcp::endpoint endpoint(net::ip::make_address_v4(ntohl(parsed.s_addr)),
                         static_cast<uint16_t>(options_.port));
  const std::string where = options_.bind + ":" + std::to_string(options_.port);
  beast::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (ec) return Status::Unavailable("cannot open a socket for " + where + ": " + ec.message());
  impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  impl->acceptor.bind(endpoint, ec);
  if (ec) return Status::Unavailable("cannot bind " + where + ": " + ec.message());
  impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  port_ = impl->acceptor.local_endpoint().port();
  impl_ = std::move(impl);
  impl_->workers.Start();
  impl_->keep_running.emplace(impl_->io.get_executor());
  impl_->Accept();
  impl_->io_thread = std::thread([io = &impl_->io] {
    // Asio sends with MSG_NOSIGNAL; this is for any other write to a closed socket.
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
    pthread_setname_np(pthread_self(), "chord-io");
    io->run();  // handlers do not throw
  });
  BOOST_LOG_TRIVIAL(debug) << "XML-RPC server listening on " << address();
  return Status::Ok();
}

void XmlRpcServer::AddMetrics(MetricsSource source) {
  std::lock_guard<std::mutex> lock(sources_mutex_);
  sources_.push_back(std::move(source));
}

std::string XmlRpcServer::MetricsText() const {
  std::ostringstream out;
  call_metrics_.Write(out);
  const Stats s = stats();
  auto counter = [&out](const char* name, const char* help, uint64_t value) {
    WriteMetric(out, name, "counter", help, int64_t(value));
  };
  counter("chord_server_requests_total", "HTTP requests answered.", s.requests);
  counter("chord_server_connections_accepted_total", "Connections accepted.",
          s.connections_accepted);
  counter("chord_server_connections_evicted_total",
          "Idle connections closed to make room for new ones.", s.connections_evicted);
  counter("chord_server_connections_refused_total",
          "Connections closed at once because every connection was busy.", s.connections_refused);
  counter("chord_server_threads_started_total", "Server threads started.", s.threads_started);
  WriteMetric(out, "chord_server_connections_open", "gauge", "Connections open now.",
              s.connections_open);
  std::vector<MetricsSource> sources;
  {
    std::lock_guard<std::mutex> lock(sources_mutex_);
    sources = sources_;
  }
  for (const auto& source : sources) source(out);
  return out.str();
}

XmlRpcServer::Stats XmlRpcServer::stats() const {
  Stats stats;
  if (!impl_) return stats;
  stats.requests = impl_->requests;
  stats.connections_accepted = impl_->accepted;
  stats.connections_evicted = impl_->evicted;
  stats.connections_refused = impl_->refused;
  stats.threads_started = impl_->workers.stats().threads_started + 1;  // + the I/O thread
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (const auto& weak : impl_->connections) stats.connections_open += !weak.expired();
  return stats;
}

void XmlRpcServer::Stop() {
  if (!impl_) return;
  Impl& impl = *impl_;
  std::vector<std::shared_ptr<Impl::Connection>> open;
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    impl.stopping = true;
    for (const auto& weak : impl.connections) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  // Every connection ends at once, idle keep-alive ones included; one whose request a worker is
  // answering ends when the handler returns (its answer then fails to go out).
  for (auto& connection : open) connection->CloseSoon();
  open.clear();
  net::post(impl.io, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  impl.workers.Stop();  // waits for running handlers, drops queued requests
  // With the acceptor and every socket closed, the I/O thread runs out of work and returns.
  impl.keep_running.reset();
  impl.io_thread.join();
  impl_.reset();
}

}  // namespace chord
