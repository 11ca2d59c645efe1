// VirtualNode: one member of the ring that chord-node hosts: its storage, its NodeHost (server
// on a port of its own, overlay, maintenance) and its Dht. `chord-node --vnodes V` runs V of them
// in one process. A node's id is the hash of its address and peers call it there, so each
// virtual node is a full node with its own address; they share the process, its logger and one
// heartbeat thread, nothing else.
//
//   auto node = VirtualNode::Open(settings, port_given, bits_given);  // storage, bind
//   node->AddHeartbeat(&heartbeat);   // before heartbeat.Start()
//   node->Enter();                    // creates or joins (settings.create / settings.join)
//   ...
//   node->Leave();                    // graceful: hands its keys over
//
// Thread-safety: every method from the owning (main) thread. Lifetime: the Dht refers to the
// host's overlay and registry and is destroyed first; the heartbeat task given to
// AddHeartbeat refers to this node, so the heartbeat thread must stop before it is destroyed.
#ifndef CHORD_TOOLS_VIRTUAL_NODE_H_
#define CHORD_TOOLS_VIRTUAL_NODE_H_

#include <memory>
#include <string>

#include "dht/dht.h"
#include "overlay/maintenance.h"
#include "overlay/node_host.h"
#include "settings/settings.h"

namespace chord {

class VirtualNode {
 public:
  // Opens settings.data_dir (or memory), takes the identity kept there (port, id size) unless
  // given (port_given, bits_given, as RestoreIdentity), asks settings.join for the ring's id
  // size when `match_ring_bits`, binds and records the bound identity. A port kept in the
  // directory that is taken now is given up for a free one (a new id; repair moves the kept
  // records to their owners). Errors: Refused (directory in use, id size mismatch), those of
  // NodeHost::Start and SaveIdentity.
  static Result<std::unique_ptr<VirtualNode>> Open(Settings settings, bool port_given,
                                                   bool bits_given, bool match_ring_bits);
  ~VirtualNode();
  VirtualNode(const VirtualNode&) = delete;
  VirtualNode& operator=(const VirtualNode&) = delete;

  // Adds this node's DHT heartbeat to `heartbeat` (a thread shared by the process's nodes).
  void AddHeartbeat(Maintenance* heartbeat);
  // Creates or joins the ring and starts maintenance. Errors: those of NodeHost::Enter.
  Status Enter();
  // Graceful: hands keys over, closes the ring, stops the server.
  Status Leave();
  // As on a crash: stops without telling anyone (the whole ring is stopping).
  void Stop();

  // The settings in effect (port and id size as restored or matched).
  const Settings& settings() const { return host_->settings(); }
  std::string address() const { return host_->address(); }
  std::string id_hex() { return host_->local().self().id.ToHex(settings().id_bits); }

 private:
  VirtualNode() = default;
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<Dht> dht_;
};

}  // namespace chord

#endif  // CHORD_TOOLS_VIRTUAL_NODE_H_
