// NodeHost: the wiring of one node in a process, built from Settings.
//
// It owns the pieces a running node needs and connects them: a CommandRegistry, an XmlRpcServer
// serving it, an XmlRpcTransport for outgoing calls, the Local overlay and the Maintenance thread
// that schedules the overlay's steps. It holds no protocol logic of its own. Upper layers (the
// DHT, a user's layer) attach between Start() and Enter(): they register commands in registry(),
// observe local() and add their periodic steps to maintenance().
//
//   NodeHost host(settings);
//   host.Start();                      // binds; address() and local() are valid from here
//   MyLayer layer(&host);              // registers its commands
//   host.Enter();                      // creates or joins a ring, starts maintenance
//   ...
//   host.Leave();                      // graceful: hands over and closes the ring
//
// Thread-safety: Start/Enter/Leave/Stop from the owning thread. The accessors' objects have
// their own rules. Stop() is idempotent; the destructor calls it (without leaving).
#ifndef CHORD_OVERLAY_NODE_HOST_H_
#define CHORD_OVERLAY_NODE_HOST_H_

#include <memory>
#include <string>

#include "commands/command_registry.h"
#include "commands/registered_commands.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "overlay/chord_protocol.h"
#include "overlay/local.h"
#include "overlay/maintenance.h"
#include "settings/settings.h"

namespace chord {

class NodeHost {
 public:
  explicit NodeHost(Settings settings);
  ~NodeHost();
  NodeHost(const NodeHost&) = delete;
  NodeHost& operator=(const NodeHost&) = delete;

  // Binds the server (settings.bind, settings.port; port 0 picks one) and creates the overlay
  // node at that address. With settings.secret_file the server asks callers for proof of the
  // secret (and with settings.client_auth, for client commands too) and the transport signs
  // every call; binding a non-loopback address without a secret logs a warning.
  // Errors: BadArgument if the secret file cannot be loaded (see LoadSecret); those of
  // XmlRpcServer::Start. The node's address (its identity) is address() below.
  Status Start();
  // Creates a ring (settings.create) or joins through settings.join, then starts maintenance.
  // Errors: those of Local::Create / Local::Join; BadArgument if neither is set.
  Status Enter();
  // Leaves the ring gracefully, then stops maintenance and the server.
  Status Leave();
  // Stops maintenance and the server without telling anyone (as a crash would look).
  void Stop();

  const Settings& settings() const { return settings_; }
  // The address peers and clients use (settings.advertise, else bind:port); valid after Start().
  std::string address() const { return AdvertisedAddress(settings_, server_.port()); }
  CommandRegistry& registry() { return registry_; }
  Transport& transport() { return transport_; }
  Maintenance& maintenance() { return maintenance_; }
  // The counters chord.stats reports (server and client side of this node's transport).
  NodeStats TransportStats() const;
  // Adds lines to GET /metrics (see XmlRpcServer::AddMetrics): an upper layer's figures.
  void AddMetrics(XmlRpcServer::MetricsSource source) { server_.AddMetrics(std::move(source)); }
  // Valid after Start().
  Local& local() { return *local_; }

 private:
  // The overlay's lines of GET /metrics: this node, its neighbours, its calls to others.
  void WriteOverlayMetrics(std::ostream& out) const;
  Settings settings_;
  Result<std::string> secret_;  // LoadSecret(settings.secret_file), "" without one
  CommandRegistry registry_;
  XmlRpcTransport transport_;
  XmlRpcServer server_;
  std::unique_ptr<Local> local_;
  RegisteredCommands host_commands_{&registry_};  // chord.stats
  Maintenance maintenance_;
};

// Overlay options taken from Settings.
OverlayOptions OverlayOptionsFrom(const Settings& settings);
// Client options taken from Settings (time-outs) and the ring's secret ("" for none): what a
// node uses for its calls, and what a tool talking to the ring uses for its own.
XmlRpcTransport::Options TransportOptionsFrom(const Settings& settings, const std::string& secret);

}  // namespace chord

#endif  // CHORD_OVERLAY_NODE_HOST_H_
