// InProcessNetwork and InProcessTransport: a network of nodes inside one process.
//
// Each node's CommandRegistry is attached at an address; a call is dispatched straight into the
// target registry on the caller's thread, so the very same handlers run as over XML-RPC, with no
// sockets. For tests and the simulator the network injects faults: a node can be marked down
// (calls to it fail as Unavailable, like a crashed process), calls can be dropped at random, and
// the network can be partitioned: a transport that names its caller reaches only the nodes of
// the caller's group. Calls made with typed arguments (Transport::CallAny) skip XML-RPC values
// altogether: the command's typed handler gets the caller's C++ values.
//
// Thread-safety: all methods are safe to call concurrently. Registries are not owned; a registry
// must stay alive until it is detached.
#ifndef CHORD_COMMANDS_IN_PROCESS_NETWORK_H_
#define CHORD_COMMANDS_IN_PROCESS_NETWORK_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands/command_registry.h"
#include "commands/transport.h"

namespace chord {

class InProcessNetwork {
 public:
  InProcessNetwork() = default;
  InProcessNetwork(const InProcessNetwork&) = delete;
  InProcessNetwork& operator=(const InProcessNetwork&) = delete;

  // Makes `registry` reachable at `address`, replacing any previous one there.
  void Attach(const std::string& address, const CommandRegistry* registry);
  void Detach(const std::string& address);
  // A down node is attached but unreachable, as if its process had crashed or hung.
  void SetDown(const std::string& address, bool down);
  // Every call is dropped (fails as Unavailable) with probability `rate` (0..1).
  void SetDropRate(double rate, uint64_t seed);
  // Puts `address` in partition `group` (every address starts in group 0): a call from one
  // group to another fails as Unavailable both ways, as across a cut link. Calls whose caller
  // is not named ("") cross every partition (a test's own probes).
  void SetGroup(const std::string& address, int group);

  // Delivers one call from `from` ("" if not named). Errors: Unavailable if nothing is attached
  // there, the node is down, in another group than `from`, or the call was dropped; otherwise
  // the command's own result.
  Result<xmlrpc_c::value> Deliver(const std::string& address, const std::string& method,
                                  const xmlrpc_c::paramList& params, const std::string& from = "");

  // Delivers one call whose arguments are C++ values (Transport::CallAny): to the command's
  // typed handler when it has one that fits `args`, else as XML-RPC values (`params()`), with
  // the same faults injected either way.
  Result<std::any> DeliverAny(const std::string& address, const std::string& method, std::any& args,
                              const std::function<xmlrpc_c::paramList()>& params,
                              const std::string& from = "");

  // Delivers a batch (Transport::CallAll), one call after the other on the caller's thread.
  std::vector<Result<xmlrpc_c::value>> DeliverAll(const std::vector<CallSpec>& calls,
                                                  const std::string& from = "");

  // Calls delivered, each call of a batch included.
  uint64_t calls() const { return calls_.load(); }
  // Round trips a caller waited for: one per call outside a batch, one per batch (whose calls a
  // concurrent transport runs at once).
  uint64_t round_trips() const { return round_trips_.load(); }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, const CommandRegistry*> nodes_;  // guarded by mutex_
  std::unordered_set<std::string> down_;                           // guarded by mutex_
  std::unordered_map<std::string, int> groups_;                    // guarded by mutex_; absent: 0
  double drop_rate_ = 0;                                           // guarded by mutex_
  std::mt19937_64 random_;                                         // guarded by mutex_
  Result<xmlrpc_c::value> DeliverOne(const std::string& address, const std::string& method,
                                     const xmlrpc_c::paramList& params, const std::string& from);
  // The registry at `address` if a call from `from` reaches it (counted, faults injected).
  Result<const CommandRegistry*> Reach(const std::string& address, const std::string& method,
                                       const std::string& from);
  int GroupLocked(const std::string& address) const;

  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> round_trips_{0};
};

class InProcessTransport : public Transport {
 public:
  // `network` is not owned and must outlive the transport. `from`: the address of the node that
  // calls through this transport, subject to partitions (InProcessNetwork::SetGroup); "" for
  // none.
  explicit InProcessTransport(InProcessNetwork* network, std::string from = "")
      : network_(network), from_(std::move(from)) {}
  Result<xmlrpc_c::value> Call(const std::string& address, const std::string& method,
                               const xmlrpc_c::paramList& params) override {
    return network_->Deliver(address, method, params, from_);
  }
  Result<std::any> CallAny(const std::string& address, const std::string& method, std::any& args,
                           const std::function<xmlrpc_c::paramList()>& params) override {
    return network_->DeliverAny(address, method, args, params, from_);
  }
  std::vector<Result<xmlrpc_c::value>> CallAll(const std::vector<CallSpec>& calls) override {
    return network_->DeliverAll(calls, from_);
  }

 private:
  InProcessNetwork* network_;
  std::string from_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_IN_PROCESS_NETWORK_H_
