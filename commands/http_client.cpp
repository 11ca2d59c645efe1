#include "commands/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "commands/auth.h"
#include "commands/call_deadline.h"

namespace chord {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 32 << 10;  // on the caller's stack
constexpr uint32_t kHeaderLimit = 64 << 10;

// "A.B.C.D:PORT" -> *out. False if it is anything else.
bool ParseAddress(const std::string& address, sockaddr_in* out) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size() || address.size() - colon > 6) {
    return false;
  }
  int port = 0;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    if (address[i] < '0' || address[i] > '9') return false;
    port = port * 10 + (address[i] - '0');
  }
  if (port < 1 || port > 65535) return false;
  std::memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, address.substr(0, colon).c_str(), &out->sin_addr) == 1;
}

std::string ErrnoReason(int error) {
  switch (error) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
    case EPIPE:
      return "connection closed";
    case ETIMEDOUT:
      return "timed out";
    default:
      return std::strerror(error);
  }
}

int MillisUntil(Clock::time_point deadline, Clock::time_point now) {
  if (deadline <= now) return 0;
  // Rounded up: waking a little early would only spin.
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
  return static_cast<int>(std::min<int64_t>((us + 999) / 1000, 1 << 30));
}

}  // namespace

struct HttpClient::Exchange {
  enum class State { kConnecting, kSending, kReceiving, kDone };

  const HttpRequest* request = nullptr;
  sockaddr_in peer{};
  std::string head;  // request line and headers
  int fd = -1;
  State state = State::kDone;
  bool reused = false;          // fd came from the pool
  bool answer_started = false;  // a byte of the answer arrived on fd
  bool sent_all = false;        // the whole request was written on fd
  size_t sent = 0;              // bytes of head + body written on fd
  Clock::time_point started;
  Clock::time_point deadline;
  Clock::time_point connect_deadline;
  int64_t deadline_unix_ms = 0;  // `deadline` on the wall clock, sent as CallDeadline::kHeader
  int timeout_ms = 0;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string pending;  // received bytes the parser has not taken yet (a partial header)
  std::optional<Result<HttpResponse>> result;

  void NewParser(size_t body_limit) {
    parser.emplace();
    parser->eager(false);  // put() stops after the header: see Receive()
    parser->header_limit(kHeaderLimit);
    parser->body_limit(body_limit);
  }
  // Forgets everything about the connection, to start over on a fresh one.
  void Reset() {
    reused = answer_started = sent_all = false;
    sent = 0;
    parser.reset();
    pending.clear();
  }
};

HttpClient::HttpClient(Options options) : options_(options), last_sweep_(Clock::now()) {}

HttpClient::~HttpClient() {
  for (auto& peer : idle_) {
    for (const Idle& idle : peer.second) close(idle.fd);
  }
}

HttpClient::Stats HttpClient::stats() const {
  Stats stats;
  stats.requests = requests_.load(std::memory_order_relaxed);
  stats.connections_opened = connections_opened_.load(std::memory_order_relaxed);
  stats.reused = reused_.load(std::memory_order_relaxed);
  stats.retried = retried_.load(std::memory_order_relaxed);
  stats.timed_out = timed_out_.load(std::memory_order_relaxed);
  return stats;
}

Result<HttpResponse> HttpClient::Post(const HttpRequest& request) {
  Exchange exchange;
  exchange.request = &request;
  Run(&exchange, 1);
  return std::move(*exchange.result);
}

std::vector<Result<HttpResponse>> HttpClient::PostAll(const std::vector<HttpRequest>& requests) {
  std::vector<Exchange> exchanges(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) exchanges[i].request = &requests[i];
  Run(exchanges.data(), exchanges.size());
  std::vector<Result<HttpResponse>> results;
  results.reserve(exchanges.size());
  for (auto& exchange : exchanges) results.push_back(std::move(*exchange.result));
  return results;
}

// ---- The poll loop ------------------------------------------------------------------------

void HttpClient::Run(Exchange* exchanges, size_t count) {
  requests_.fetch_add(count, std::memory_order_relaxed);
  Clock::time_point now = Clock::now();
  const int64_t now_unix_ms = UnixMillis();
  for (size_t i = 0; i < count; ++i) {
    Exchange& e = exchanges[i];
    e.timeout_ms = e.request->timeout_ms > 0 ? e.request->timeout_ms : options_.call_timeout_ms;
    e.started = now;
    e.deadline = now + std::chrono::milliseconds(e.timeout_ms);
    e.deadline_unix_ms = now_unix_ms + e.timeout_ms;
    Start(&e);
  }
  std::vector<pollfd> fds;
  std::vector<Exchange*> polled;
  char buffer[kReadChunk];
  for (;;) {
    fds.clear();
    polled.clear();
    Clock::time_point next = Clock::time_point::max();
    for (size_t i = 0; i < count; ++i) {
      Exchange& e = exchanges[i];
      if (e.state == Exchange::State::kDone) continue;
      short events = POLLIN;
      if (e.state == Exchange::State::kConnecting) {
        events = POLLOUT;
        next = std::min(next, e.connect_deadline);
      } else if (e.state == Exchange::State::kSending) {
        events = POLLIN | POLLOUT;
      }
      next = std::min(next, e.deadline);
      fds.push_back({e.fd, events, 0});
      polled.push_back(&e);
    }
    if (fds.empty()) break;
    int ready = poll(fds.data(), fds.size(), MillisUntil(next, Clock::now()));
    if (ready < 0 && errno != EINTR) {
      std::string reason = std::string("poll: ") + std::strerror(errno);
      for (Exchange* e : polled) Fail(e, reason);
      break;
    }
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      Exchange* e = polled[i];
      short revents = fds[i].revents;
      if (revents == 0 || e->fd != fds[i].fd) continue;
      if (e->state == Exchange::State::kConnecting) {
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        if (error != 0) {
          Fail(e, ErrnoReason(error));
          continue;
        }
        connections_opened_.fetch_add(1, std::memory_order_relaxed);
        e->state = Exchange::State::kSending;
        Send(e);
        continue;
      }
      // An early answer (413 before the body was read, ...) is read while still sending.
      if (revents & (POLLIN | POLLHUP | POLLERR)) Receive(e, buffer, sizeof buffer);
      if (e->state == Exchange::State::kSending && e->fd == fds[i].fd && (revents & POLLOUT)) {
        Send(e);
      }
    }
    now = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      Exchange& e = exchanges[i];
      if (e.state == Exchange::State::kDone) continue;
      if (e.state == Exchange::State::kConnecting && now >= e.connect_deadline &&
          e.connect_deadline < e.deadline) {
        Fail(&e, "connect timed out after " + std::to_string(options_.connect_timeout_ms) + " ms");
      } else if (now >= e.deadline) {
        timed_out_.fetch_add(1, std::memory_order_relaxed);
        Fail(&e, "timed out after " + std::to_string(e.timeout_ms) + " ms");
        if (options_.on_done) options_.on_done(*e.request, false, 0);
      }
    }
  }
}

void HttpClient::Start(Exchange* e) {
  const HttpRequest& request = *e->request;
  if (!ParseAddress(request.address, &e->peer)) {
    e->result.emplace(
        Status::BadArgument("'" + request.address + "': not HOST:PORT with a numeric IPv4 host"));
    return;
  }
  std::string& head = e->head;
  head.reserve(128 + request.path.size() + request.address.size());
  head.append("POST ").append(request.path).append(" HTTP/1.1\r\nHost: ");
  head.append(request.address).append("\r\nContent-Type: text/xml\r\nContent-Length: ");
  head.append(std::to_string(request.body.size())).append("\r\n");
  // The server applies no write once this caller has given up (see commands/call_deadline.h).
  head.append(CallDeadline::kHeader).append(": ");
  head.append(std::to_string(e->deadline_unix_ms)).append("\r\n");
  for (const auto& header : request.headers) {
    head.append(header.first).append(": ").append(header.second).append("\r\n");
  }
  head.append("\r\n");

  e->fd = Borrow(request.address);
  if (e->fd >= 0) {
    reused_.fetch_add(1, std::memory_order_relaxed);
    e->reused = true;
    e->state = Exchange::State::kSending;
    Send(e);
    return;
  }
  Connect(e);
}

bool HttpClient::Connect(Exchange* e) {
  e->Reset();
  e->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e->fd < 0) {
    Fail(e, std::string("socket: ") + std::strerror(errno));
    return false;
  }
  int one = 1;
  setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(e->fd, reinterpret_cast<const sockaddr*>(&e->peer), sizeof e->peer) == 0) {
    connections_opened_.fetch_add(1, std::memory_order_relaxed);
    e->state = Exchange::State::kSending;
    Send(e);
    return true;
  }
  if (errno != EINPROGRESS && errno != EINTR) {  // interrupted, it goes on in the background
    Fail(e, ErrnoReason(errno));
    return false;
  }
  e->state = Exchange::State::kConnecting;
  e->connect_deadline =
      std::min(e->deadline, Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms));
  return true;
}

void HttpClient::Send(Exchange* e) {
  const std::string& body = e->request->body;
  const size_t total = e->head.size() + body.size();
  while (e->sent < total) {
    iovec parts[2];
    int n = 0;
    if (e->sent < e->head.size()) {
      parts[n++] = {const_cast<char*>(e->head.data()) + e->sent, e->head.size() - e->sent};
      if (!body.empty()) parts[n++] = {const_cast<char*>(body.data()), body.size()};
    } else {
      size_t offset = e->sent - e->head.size();
      parts[n++] = {const_cast<char*>(body.data()) + offset, body.size() - offset};
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = n;
    ssize_t written = sendmsg(e->fd, &message, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // poll says when to go on
      // The peer is gone, or answered early and closed: an answer may still be readable.
      e->state = Exchange::State::kReceiving;
      return;
    }
    e->sent += static_cast<size_t>(written);
  }
  e->sent_all = true;
  e->state = Exchange::State::kReceiving;
}

void HttpClient::Receive(Exchange* e, char* buffer, size_t size) {
  const int fd = e->fd;
  while (e->fd == fd && e->state != Exchange::State::kDone) {
    ssize_t got = recv(fd, buffer, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      FailOrRetry(e, ErrnoReason(errno).c_str());
      return;
    }
    if (got == 0) {
      boost::system::error_code error;
      if (e->parser && e->parser->is_header_done() && e->parser->need_eof()) {
        e->parser->put_eof(error);  // a body that ends with the connection
        if (!error && e->parser->is_done()) {
          Finish(e, false);
          return;
        }
      }
      FailOrRetry(e, "connection closed");
      return;
    }
    e->answer_started = true;
    if (!e->parser) e->NewParser(options_.max_response_bytes);
    // The parser takes what it can; a partial header waits in `pending` for more bytes.
    const char* data = buffer;
    size_t length = static_cast<size_t>(got);
    if (!e->pending.empty()) {
      e->pending.append(buffer, length);
      data = e->pending.data();
      length = e->pending.size();
    }
    size_t used = 0;
    while (used < length) {
      boost::system::error_code error;
      size_t taken = e->parser->put(boost::asio::const_buffer(data + used, length - used), error);
      used += taken;
      if (error == http::error::need_more) break;
      if (error) {
        Fail(e, error == http::error::body_limit
                    ? "answer body over " + std::to_string(options_.max_response_bytes) + " bytes"
                    : "unreadable HTTP answer (" + error.message() + ")");
        return;
      }
      if (!e->parser->eager() && e->parser->is_header_done()) {
        // Beast 1.74 lets a Content-Length over body_limit through (it checks chunked and
        // until-EOF bodies only) and reserves that much for the body, so the announced length
        // is checked here, between the header and the body.
        auto announced = e->parser->content_length();
        if (announced && *announced > options_.max_response_bytes) {
          Fail(e, "answer body over " + std::to_string(options_.max_response_bytes) + " bytes");
          return;
        }
        e->parser->eager(true);
      }
      if (e->parser->is_done()) {
        int status = e->parser->get().result_int();
        if (status >= 100 && status < 200 && status != 101) {
          e->NewParser(options_.max_response_bytes);  // 100 Continue and the like: read on
          continue;
        }
        // Bytes after the answer are junk: the connection is not reused.
        Finish(e, used == length);
        return;
      }
      if (taken == 0) break;
    }
    if (e->pending.empty()) {
      e->pending.assign(data + used, length - used);
    } else {
      e->pending.erase(0, used);
    }
  }
}

void HttpClient::Finish(Exchange* e, bool keep) {
  auto& message = e->parser->get();
  keep = keep && e->sent_all && e->parser->keep_alive() && !e->parser->need_eof();
  HttpResponse response;
  response.status = message.result_int();
  response.body = std::move(message.body());
  e->result.emplace(std::move(response));
  if (keep) {
    Return(e->request->address, e->fd);
  } else {
    close(e->fd);
  }
  e->fd = -1;
  e->state = Exchange::State::kDone;
  if (options_.on_done) {
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - e->started);
    options_.on_done(*e->request, true, elapsed.count());
  }
}

void HttpClient::FailOrRetry(Exchange* e, const char* reason) {
  // A pooled connection that fails before any byte of the answer was most likely closed by the
  // server while it sat idle: the request goes once more, on a fresh connection.
  if (e->reused && !e->answer_started && Clock::now() < e->deadline) {
    retried_.fetch_add(1, std::memory_order_relaxed);
    close(e->fd);
    e->fd = -1;
    Connect(e);
    return;
  }
  Fail(e, reason);
}

void HttpClient::Fail(Exchange* e, const std::string& reason) {
  if (e->fd >= 0) close(e->fd);
  e->fd = -1;
  e->state = Exchange::State::kDone;
  e->result.emplace(Status::Unavailable(e->request->address + ": " + reason));
}

// ---- The pool -----------------------------------------------------------------------------

int HttpClient::Borrow(const std::string& address) {
  const Clock::time_point now = Clock::now();
  const auto max_idle = std::chrono::milliseconds(options_.max_idle_ms);
  for (;;) {
    Idle idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = idle_.find(address);
      if (it == idle_.end() || it->second.empty()) return -1;
      idle = it->second.back();  // the most recently used: the least likely to be closed
      it->second.pop_back();
    }
    // An idle connection has nothing to read: if it is readable, the server closed it (or sent
    // junk).
    pollfd check{idle.fd, POLLIN, 0};
    if (now - idle.since > max_idle || poll(&check, 1, 0) != 0) {
      close(idle.fd);
      continue;
    }
    return idle.fd;
  }
}

void HttpClient::Return(const std::string& address, int fd) {
  const Clock::time_point now = Clock::now();
  const auto max_idle = std::chrono::milliseconds(options_.max_idle_ms);
  auto expired = [&](const Idle& idle) { return now - idle.since > max_idle; };
  std::lock_guard<std::mutex> lock(mutex_);
  // Now and then, connections to peers no longer called are closed too.
  if (now - last_sweep_ > max_idle) {
    last_sweep_ = now;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      auto end = std::find_if_not(list.begin(), list.end(), expired);  // oldest first
      for (auto i = list.begin(); i != end; ++i) close(i->fd);
      list.erase(list.begin(), end);
      it = list.empty() && it->first != address ? idle_.erase(it) : std::next(it);
    }
  }
  auto& list = idle_[address];
  auto end = std::find_if_not(list.begin(), list.end(), expired);
  for (auto i = list.begin(); i != end; ++i) close(i->fd);
  list.erase(list.begin(), end);
  if (list.size() < options_.max_idle_per_peer) {
    list.push_back({fd, now});
  } else {
    close(fd);
  }
}

}  // namespace chord
