#include "commands/xmlrpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/girerr.hpp>
#include <xmlrpc-c/registry.hpp>
#include <xmlrpc-c/server_abyss.hpp>

#include <boost/log/trivial.hpp>
#include <cerrno>
#include <cstring>

namespace chord {
namespace {

// Every method name goes through here: the registry, not xmlrpc-c, knows the commands, so that
// commands can be added and removed at run time and the in-process transport sees the same set.
class DispatchingMethod : public xmlrpc_c::defaultMethod {
 public:
  explicit DispatchingMethod(const CommandRegistry* registry) : registry_(registry) {}

  void execute(const std::string& name, const xmlrpc_c::paramList& params,
               xmlrpc_c::value* result) override {
    Result<xmlrpc_c::value> outcome = registry_->Dispatch(name, params);
    if (!outcome.ok()) {
      throw xmlrpc_c::fault(outcome.status().message(),
                            static_cast<xmlrpc_c::fault::code_t>(outcome.status().code()));
    }
    *result = outcome.value();
  }

 private:
  const CommandRegistry* registry_;
};

}  // namespace

void SetXmlSizeLimit(size_t bytes) { xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes); }

XmlRpcServer::XmlRpcServer(const CommandRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)) {}

XmlRpcServer::~XmlRpcServer() { Stop(); }

Status XmlRpcServer::Start() {
  if (server_) return Status::Refused("server already started");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.bind.c_str(), &addr.sin_addr) != 1) {
    return Status::BadArgument("bind address '" + options_.bind + "' is not a numeric IPv4 address");
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

  try {
    xmlrpc_registry_ = std::make_unique<xmlrpc_c::registry>();
    // Our registry answers system.listMethods and friends, so it can describe every command.
    xmlrpc_registry_->disableIntrospection();
    xmlrpc_registry_->setDefaultMethod(
        xmlrpc_c::defaultMethodPtr(new DispatchingMethod(registry_)));
    server_ = std::make_unique<xmlrpc_c::serverAbyss>(
        xmlrpc_c::serverAbyss::constrOpt()
            .registryP(xmlrpc_registry_.get())
            .socketFd(fd)
            .maxConn(static_cast<unsigned>(options_.max_connections))
            .maxConnBacklog(128)
            .keepaliveTimeout(30)
            .keepaliveMaxConn(1000000)
            .timeout(30)
            .serverOwnsSignals(false)
            .dontAdvertise(true));
  } catch (const std::exception& e) {
    server_.reset();
    close(fd);
    socket_fd_ = -1;
    return Status::Internal(std::string("cannot start XML-RPC server: ") + e.what());
  }
  thread_ = std::thread([this] {
    try {
      server_->run();
    } catch (const std::exception& e) {
      BOOST_LOG_TRIVIAL(error) << "XML-RPC server stopped: " << e.what();
    }
  });
  BOOST_LOG_TRIVIAL(debug) << "XML-RPC server listening on " << address();
  return Status::Ok();
}

void XmlRpcServer::Stop() {
  if (!server_) return;
  server_->terminate();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  xmlrpc_registry_.reset();
  if (socket_fd_ >= 0) {
    close(socket_fd_);
    socket_fd_ = -1;
  }
}

}  // namespace chord
