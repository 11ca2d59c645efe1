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
#include <xmlrpc-c/server_abyss.h>

#include <boost/log/trivial.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <set>
#include <xmlrpc-c/xml.hpp>

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

// Runs one call: parses it, dispatches it into the registry and encodes the answer. A non-ok
// Status becomes a fault whose code is the ErrorCode; a request that is not a well-formed
// XML-RPC call becomes a bad-argument fault.
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
  return response;
}

xmlrpc_c::rpcOutcome Fault(ErrorCode code, const std::string& message) {
  return xmlrpc_c::rpcOutcome(xmlrpc_c::fault(message, static_cast<xmlrpc_c::fault::code_t>(code)));
}

// Runs one call: parses it, dispatches it into the registry and encodes the answer. A non-ok
// Status becomes a fault whose code is the ErrorCode; a request that is not a well-formed
// XML-RPC call becomes a bad-argument fault. (Outcomes are never copied: a successful
// rpcOutcome holds an uninitialised fault code in xmlrpc-c 1.33.)
std::string Answer(const CommandRegistry* registry, const std::string& call_xml) {
  std::string name;
  xmlrpc_c::paramList params;
  try {
    xmlrpc_c::xml::parseCall(call_xml, &name, &params);
  } catch (const std::exception& e) {
    return Encode(
        Fault(ErrorCode::kBadArgument, std::string("malformed XML-RPC call: ") + e.what()));
  }
  Result<xmlrpc_c::value> result = registry->Dispatch(name, params);
  if (!result.ok()) return Encode(Fault(result.status().code(), result.status().message()));
  return Encode(xmlrpc_c::rpcOutcome(result.value()));
}

void ProcessCall(xmlrpc_env* env, void* arg, const char* xml, size_t length, TSession*,
                 xmlrpc_mem_block** response_block) {
  auto* registry = static_cast<const CommandRegistry*>(arg);
  std::string response;
  try {
    response = Answer(registry, std::string(xml, length));
  } catch (const std::exception& e) {
    xmlrpc_faultf(env, "internal error: %s", e.what());
    return;
  }
  *response_block = XMLRPC_MEMBLOCK_NEW(char, env, 0);
  if (env->fault_occurred) return;
  XMLRPC_MEMBLOCK_APPEND(char, env, *response_block, response.data(), response.size());
}

}  // namespace

void SetXmlSizeLimit(size_t bytes) { xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes); }

XmlRpcServer::XmlRpcServer(const CommandRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)) {}

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

  xmlrpc_env env;
  xmlrpc_env_init(&env);
  for (const char* path : {"/RPC2", "/"}) {
    xmlrpc_server_abyss_handler_parms parms{};
    parms.xml_processor = &ProcessCall;
    parms.xml_processor_arg = const_cast<CommandRegistry*>(registry_);
    parms.xml_processor_max_stack = 1024 * 1024;
    parms.uri_path = path;
    parms.chunk_response = false;
    xmlrpc_server_abyss_set_handler3(&env, &abyss->server, &parms, XMLRPC_AHPSIZE(chunk_response));
    if (env.fault_occurred) {
      std::string what = env.fault_string;
      xmlrpc_env_clean(&env);
      return fail(what);
    }
  }
  xmlrpc_env_clean(&env);
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
      // Reap finished connection threads, and wait for a free slot: a full server leaves new
      // callers in the listen backlog instead of failing them.
      std::unique_lock<std::mutex> lock(abyss.mutex);
      for (auto it = abyss.connections.begin(); it != abyss.connections.end();) {
        if (it->done) {
          it->thread.join();
          it = abyss.connections.erase(it);
        } else {
          ++it;
        }
      }
      abyss.slot_freed.wait(
          lock, [&] { return abyss.stopping || abyss.connections.size() < max_connections; });
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
