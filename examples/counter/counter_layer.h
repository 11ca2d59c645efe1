// CounterLayer: named counters spread over a Chord ring, a layer built on the installed chord
// package the way any user's layer is.
//
// A counter lives on the node that owns the hash of its name; chord::Router takes every call
// there, whatever node a client asked. The owner copies each new value to its successor, which
// takes the counter over if the owner fails; a node leaving gracefully hands its counters to its
// successors first; a node that joins and becomes a counter's owner fetches it from its successor
// (the previous owner) the first time it is used. Every copy carries a version, and a copy only
// ever replaces an older one.
//
// Commands (all with typed arguments, see system.methodHelp):
//   counter.incr(name, delta) -> {value, owner, hops}   adds delta, answers the new value
//   counter.get(name)         -> {value, owner, hops}   a counter never written is 0
//   internal, between nodes:
//   counter.apply(name, delta) -> int       counter.incr on the owner
//   counter.read(name) -> int               counter.get on the owner
//   counter.peek(name) -> CounterCopy       this node's copy, version 0 if none
//   counter.store([CounterCopy]) -> int     keeps the copies newer than its own; answers how many
//
// It is an example, not a database: a call retried after a time-out may be applied twice, and
// copies a node no longer needs are never collected.
//
// Thread-safety: all methods are safe to call concurrently. Lifetime: stop serving calls (e.g.
// NodeHost::Leave or Stop) before destroying the layer; the Local and the registry must outlive
// it.
#ifndef CHORD_EXAMPLES_COUNTER_COUNTER_LAYER_H_
#define CHORD_EXAMPLES_COUNTER_COUNTER_LAYER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "chord/commands/command_registry.h"
#include "chord/commands/typed_command.h"
#include "chord/overlay/local.h"
#include "chord/overlay/overlay_observer.h"
#include "chord/overlay/router.h"

// [readme-begin types]
// What counter.incr and counter.get answer. Fields() lists the members of the XML-RPC struct.
struct CounterReply {
  int value = 0;      // the counter after the operation
  std::string owner;  // address of the node that holds the counter
  int hops = 0;       // lookup hops from the node asked to the owner
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("value", value);
    visit("owner", owner);
    visit("hops", hops);
  }
};
// [readme-end types]

// A counter as nodes copy it among themselves: a higher version is newer.
struct CounterCopy {
  std::string name;
  int value = 0;
  int64_t version = 0;  // 0: never written
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("name", name);
    visit("value", value);
    visit("version", version);
  }
};

class CounterLayer : public chord::OverlayObserver {
 public:
  // Neither `local` nor `registry` is owned. `replicas`: successors that keep a copy (>= 0).
  CounterLayer(chord::Local* local, chord::CommandRegistry* registry, int replicas = 1);
  // Unregisters the commands and stops observing the overlay.
  ~CounterLayer() override;
  CounterLayer(const CounterLayer&) = delete;
  CounterLayer& operator=(const CounterLayer&) = delete;

  // Registers the counter.* commands and starts observing the overlay; call it once, before
  // the node enters the ring. Errors: those of CommandRegistry::Register (e.g. Refused if a
  // command name is taken); nothing stays registered then.
  chord::Status Attach();

  // This node's copies (owned and replicated), for tests and tools.
  std::vector<CounterCopy> Copies() const;

  // OverlayObserver: hands every counter to the successor (the new owner) and to the copy
  // holders after it before the node leaves.
  void OnLeaving() override;

 private:
  void AddMoreCommands(std::vector<chord::Command>* commands);
  // Registers every command or none; then observes the overlay.
  chord::Status RegisterAll(std::vector<chord::Command> commands);
  chord::Result<CounterReply> Route(const std::string& name, const std::string& method,
                                    const xmlrpc_c::paramList& params);
  chord::Result<int> Apply(const std::string& name, int delta);
  chord::Result<int> Read(const std::string& name);
  CounterCopy Peek(const std::string& name) const;
  int Store(const std::vector<CounterCopy>& copies);
  // If this node has no copy of `name`, adopts its successor's (the previous owner's) copy.
  void AdoptFromSuccessor(const std::string& name);
  void Replicate(const std::vector<CounterCopy>& copies);

  chord::Local* local_;
  chord::CommandRegistry* registry_;
  chord::Router router_;
  const int replicas_;
  std::vector<std::string> command_names_;  // registered by Attach()
  bool observing_ = false;

  mutable std::mutex mutex_;
  std::map<std::string, CounterCopy> counters_;  // guarded by mutex_
};

#endif  // CHORD_EXAMPLES_COUNTER_COUNTER_LAYER_H_
