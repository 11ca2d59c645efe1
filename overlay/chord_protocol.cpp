#include "overlay/chord_protocol.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <variant>

#include "commands/auth.h"
#include "commands/typed_call.h"

namespace chord {
namespace {

// ---------------------------------------------------------------------------------------------
// Wire forms: exactly what travels. Ids are hex strings of the ring's size (docs/protocol.md).

struct WireNode {
  std::string id;
  std::string address;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("address", address);
  }
};

struct WirePing {
  std::string id;
  std::string address;
  std::optional<int> bits;  // absent from nodes older than the bits check
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("address", address);
    visit("bits", bits);
  }
};

struct WireProof {
  std::string id;
  std::string address;
  std::string proof;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("address", address);
    visit("proof", proof);
  }
};

struct WireFinger {
  int index = 0;
  std::string start;
  std::string id;
  std::string address;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("index", index);
    visit("start", start);
    visit("id", id);
    visit("address", address);
  }
};

struct WireInfo {
  std::string id;
  std::string address;
  int bits = 0;
  bool joined = false;
  std::optional<WireNode> predecessor;
  std::vector<WireNode> successors;
  std::vector<WireFinger> fingers;  // set fingers only
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("address", address);
    visit("bits", bits);
    visit("joined", joined);
    visit("predecessor", predecessor);
    visit("successors", successors);
    visit("fingers", fingers);
  }
};

struct WireFound {
  std::string id;
  std::string address;
  int hops = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("id", id);
    visit("address", address);
    visit("hops", hops);
  }
};

struct WireStep {
  bool done = false;
  std::vector<WireNode> nodes;
  std::vector<WireNode> successors;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("done", done);
    visit("nodes", nodes);
    visit("successors", successors);
  }
};

struct WireNeighbors {
  std::optional<WireNode> predecessor;
  std::vector<WireNode> successors;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("predecessor", predecessor);
    visit("successors", successors);
  }
};

struct WireLeaving {
  WireNode leaving;
  std::optional<WireNode> predecessor;
  std::optional<std::vector<WireNode>> successors;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("leaving", leaving);
    visit("predecessor", predecessor);
    visit("successors", successors);
  }
};

// The empty struct that notify and leaving answer.
struct WireEmpty {
  template <typename Visit>
  void Fields(Visit&&) {}
};

// ---------------------------------------------------------------------------------------------
// In-process calls (InProcessNetwork: the simulator, tests) of the commands maintenance and
// lookups make all the time pass the overlay's own values: no hex ids to write and parse, no
// wire checks (caller and callee are this very code, in one process). Every other caller and
// transport uses the wire forms, unchanged.

// `command` with a typed handler (Command::typed) that takes std::tuple<Args...> and answers
// an R.
template <typename R, typename... Args, typename F>
Command WithNative(Command command, F native) {
  command.typed = [native](std::any& args) -> std::optional<Result<std::any>> {
    auto* tuple = std::any_cast<std::tuple<Args...>>(&args);
    if (tuple == nullptr) return std::nullopt;
    Result<R> result = std::apply(native, std::move(*tuple));
    if (!result.ok()) return Result<std::any>(result.status());
    return Result<std::any>(std::any(std::move(result).value()));
  };
  return command;
}

// Calls `method` with `native` arguments (a std::tuple) where the transport can pass them, else
// with `params()`: the reply as a Native, or in its Wire form, still to be converted and checked.
template <typename Native, typename Wire>
Result<std::variant<Native, Wire>> CallNative(Transport* transport, const std::string& address,
                                              const std::string& method, std::any native,
                                              const std::function<xmlrpc_c::paramList()>& params) {
  Result<std::any> reply = transport->CallAny(address, method, native, params);
  if (!reply.ok()) return reply.status();
  if (auto* value = std::any_cast<Native>(&reply.value())) {
    return std::variant<Native, Wire>(std::in_place_index<0>, std::move(*value));
  }
  auto wire = ReadAny<Wire>(&reply.value(), address, method);
  if (!wire.ok()) return wire.status();
  return std::variant<Native, Wire>(std::in_place_index<1>, std::move(wire).value());
}

// chord.notify's answer in process (the wire's is an empty struct).
struct NativeDone {};

// ---------------------------------------------------------------------------------------------
// Conversions with checks

WireNode ToWire(const NodeRef& node, int bits) { return {node.id.ToHex(bits), node.address}; }

std::vector<WireNode> ToWire(const std::vector<NodeRef>& nodes, int bits) {
  std::vector<WireNode> out;
  out.reserve(nodes.size());
  for (const auto& node : nodes) out.push_back(ToWire(node, bits));
  return out;
}

std::optional<WireNode> ToWire(const std::optional<NodeRef>& node, int bits) {
  if (!node) return std::nullopt;
  return ToWire(*node, bits);
}

Result<Id> IdFromWire(const std::string& hex, int bits, const std::string& what) {
  auto id = Id::FromHex(hex, bits);
  if (!id.ok()) return Status::BadArgument(what + ": " + id.status().message());
  return id;
}

Result<NodeRef> FromWire(const WireNode& wire, int bits, const std::string& what) {
  auto id = IdFromWire(wire.id, bits, what);
  if (!id.ok()) return id.status();
  NodeRef node{id.value(), wire.address};
  Status check = CheckNode(node, what);
  if (!check.ok()) return check;
  return node;
}

Result<std::vector<NodeRef>> FromWire(const std::vector<WireNode>& wire, int bits,
                                      const std::string& what) {
  if (wire.size() > kMaxWireNodes) {
    return Status::BadArgument(what + " lists " + std::to_string(wire.size()) + " nodes, at most " +
                               std::to_string(kMaxWireNodes) + " allowed");
  }
  std::vector<NodeRef> nodes;
  nodes.reserve(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) {
    auto node = FromWire(wire[i], bits, what + "[" + std::to_string(i) + "]");
    if (!node.ok()) return node.status();
    nodes.push_back(node.value());
  }
  return nodes;
}

Result<std::optional<NodeRef>> FromWire(const std::optional<WireNode>& wire, int bits,
                                        const std::string& what) {
  if (!wire) return std::optional<NodeRef>();
  auto node = FromWire(*wire, bits, what);
  if (!node.ok()) return node.status();
  return std::optional<NodeRef>(node.value());
}

Result<NodeInfo> InfoFromWire(const WireInfo& wire, int expected_bits) {
  if (wire.bits < 1 || wire.bits > Id::kMaxBits) {
    return Status::BadArgument("bits " + std::to_string(wire.bits) + " is not 1.." +
                               std::to_string(Id::kMaxBits));
  }
  if (expected_bits > 0 && wire.bits != expected_bits) {
    return Status::BadArgument("the node uses " + std::to_string(wire.bits) + "-bit ids, not " +
                               std::to_string(expected_bits));
  }
  const int bits = wire.bits;
  NodeInfo info;
  info.bits = bits;
  info.joined = wire.joined;
  auto self = FromWire(WireNode{wire.id, wire.address}, bits, "self");
  auto predecessor = FromWire(wire.predecessor, bits, "predecessor");
  auto successors = FromWire(wire.successors, bits, "successors");
  for (const Status& s : {self.status(), predecessor.status(), successors.status()}) {
    if (!s.ok()) return s;
  }
  info.self = self.value();
  info.predecessor = predecessor.value();
  info.successors = successors.value();
  info.fingers.resize(size_t(bits));
  for (int i = 0; i < bits; ++i) info.finger_starts.push_back(info.self.id.AddPowerOfTwo(i, bits));
  for (const WireFinger& finger : wire.fingers) {
    const std::string what = "fingers[" + std::to_string(finger.index) + "]";
    if (finger.index < 0 || finger.index >= bits) {
      return Status::BadArgument(what + ": index out of range");
    }
    auto node = FromWire(WireNode{finger.id, finger.address}, bits, what);
    if (!node.ok()) return node.status();
    info.fingers[size_t(finger.index)] = node.value();
  }
  return info;
}

WireInfo InfoToWire(const NodeInfo& info) {
  const int bits = info.bits;
  WireInfo wire;
  wire.id = info.self.id.ToHex(bits);
  wire.address = info.self.address;
  wire.bits = bits;
  wire.joined = info.joined;
  wire.predecessor = ToWire(info.predecessor, bits);
  wire.successors = ToWire(info.successors, bits);
  for (size_t i = 0; i < info.fingers.size(); ++i) {
    if (!info.fingers[i]) continue;
    wire.fingers.push_back({int(i), info.finger_starts[i].ToHex(bits),
                            info.fingers[i]->id.ToHex(bits), info.fingers[i]->address});
  }
  return wire;
}

// chord.stats travels as NodeStats itself: counters need no conversion, only the check that
// none is negative.
struct WireStats : NodeStats {
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("calls_served", calls_served);
    visit("connections_accepted", connections_accepted);
    visit("connections_evicted", connections_evicted);
    visit("connections_refused", connections_refused);
    visit("connections_open", connections_open);
    visit("server_threads_started", server_threads_started);
    visit("calls_made", calls_made);
    visit("connections_opened", connections_opened);
  }
};

Status CheckStats(WireStats stats) {
  bool negative = false;
  stats.Fields([&](const char*, int64_t value) { negative = negative || value < 0; });
  return negative ? Status::BadArgument("a negative counter") : Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Registration

void RegisterQueries(RegisteredCommands* commands, int bits, ChordService* service) {
  commands->Add(WithNative<PingReply>(
      AnswersAtOnce(MakeCommand<WirePing()>(
          "chord.ping", Audience::kClient,
          "A liveness check: this node's id and address, and the ring's id size in bits.",
          [service, bits]() -> Result<WirePing> {
            NodeRef self = service->ServiceSelf();
            return WirePing{self.id.ToHex(bits), self.address, bits};
          })),
      [service, bits]() -> Result<PingReply> {
        return PingReply{service->ServiceSelf(), bits};
      }));
  commands->Add(AnswersAtOnce(MakeCommand<WireInfo()>(
      "chord.info", Audience::kClient,
      "This node's state: predecessor (absent if none), successor list and the set fingers.",
      [service]() -> Result<WireInfo> { return InfoToWire(service->ServiceInfo()); })));
  commands->Add(MakeCommand<WireFound(std::string)>(
      "chord.find_successor", Audience::kClient,
      "The node responsible for the id (hex), found by an iterative lookup from this node.", {"id"},
      [service, bits](const std::string& hex) -> Result<WireFound> {
        auto id = IdFromWire(hex, bits, "argument 1 (id)");
        if (!id.ok()) return id.status();
        auto found = service->ServiceFindSuccessor(id.value());
        if (!found.ok()) return found.status();
        return WireFound{found->owner.id.ToHex(bits), found->owner.address, found->hops};
      }));
}

void RegisterMaintenance(RegisteredCommands* commands, int bits, ChordService* service) {
  commands->Add(WithNative<LookupStep, Id>(
      AnswersAtOnce(MakeCommand<WireStep(std::string)>(
          "chord.step", Audience::kPeer,
          "One hop of an iterative lookup: if done, nodes is the owner followed by its successors; "
          "otherwise the next hops, best first; successors is this node's successor list.",
          {"id"},
          [service, bits](const std::string& hex) -> Result<WireStep> {
            auto id = IdFromWire(hex, bits, "argument 1 (id)");
            if (!id.ok()) return id.status();
            auto step = service->ServiceStep(id.value());
            if (!step.ok()) return step.status();
            return WireStep{step->done, ToWire(step->nodes, bits), ToWire(step->successors, bits)};
          })),
      [service](const Id& id) -> Result<LookupStep> { return service->ServiceStep(id); }));
  commands->Add(WithNative<Neighbors>(
      AnswersAtOnce(MakeCommand<WireNeighbors()>(
          "chord.neighbors", Audience::kPeer,
          "This node's predecessor (absent if none) and successor list; used by stabilize.",
          [service, bits]() -> Result<WireNeighbors> {
            auto neighbors = service->ServiceNeighbors();
            if (!neighbors.ok()) return neighbors.status();
            return WireNeighbors{ToWire(neighbors->predecessor, bits),
                                 ToWire(neighbors->successors, bits)};
          })),
      [service]() -> Result<Neighbors> { return service->ServiceNeighbors(); }));
  commands->Add(WithNative<NativeDone, NodeRef>(
      MakeCommand<WireEmpty(WireNode)>("chord.notify", Audience::kPeer,
                                       "The caller believes it is this node's predecessor.",
                                       {"node"},
                                       [service, bits](const WireNode& wire) -> Result<WireEmpty> {
                                         auto node = FromWire(wire, bits, "argument 1 (node)");
                                         if (!node.ok()) return node.status();
                                         Status handled = service->ServiceNotify(node.value());
                                         if (!handled.ok()) return handled;
                                         return WireEmpty{};
                                       }),
      [service](const NodeRef& node) -> Result<NativeDone> {
        Status handled = service->ServiceNotify(node);
        if (!handled.ok()) return handled;
        return NativeDone{};
      }));
  commands->Add(MakeCommand<WireEmpty(WireLeaving)>(
      "chord.leaving", Audience::kPeer,
      "A neighbour leaves gracefully; its predecessor and successor list let this node close "
      "the ring at once.",
      {"notice"}, [service, bits](const WireLeaving& wire) -> Result<WireEmpty> {
        auto leaving = FromWire(wire.leaving, bits, "notice.leaving");
        auto predecessor = FromWire(wire.predecessor, bits, "notice.predecessor");
        auto successors =
            FromWire(wire.successors.value_or(std::vector<WireNode>{}), bits, "notice.successors");
        for (const Status& s : {leaving.status(), predecessor.status(), successors.status()}) {
          if (!s.ok()) return s;
        }
        Status handled =
            service->ServiceLeaving({leaving.value(), predecessor.value(), successors.value()});
        if (!handled.ok()) return handled;
        return WireEmpty{};
      }));
}

}  // namespace

Status CheckNode(const NodeRef& node, const std::string& what) {
  const std::string& address = node.address;
  if (address.empty()) return Status::BadArgument(what + ": address is empty");
  if (address.size() > kMaxAddressBytes) {
    return Status::BadArgument(what + ": address is longer than " +
                               std::to_string(kMaxAddressBytes) + " bytes");
  }
  for (unsigned char c : address) {
    if (c <= ' ' || c >= 0x7f) {
      return Status::BadArgument(what + ": address holds a space or a non-printable byte");
    }
  }
  return Status::Ok();
}

namespace {

Status CheckChallenge(const std::string& challenge) {
  const bool hex = std::all_of(challenge.begin(), challenge.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (challenge.empty() || challenge.size() > kMaxChallengeBytes || !hex) {
    return Status::BadArgument("argument 1 (challenge): 1 to " +
                               std::to_string(kMaxChallengeBytes) + " lowercase hex digits");
  }
  return Status::Ok();
}

void RegisterProof(RegisteredCommands* commands, int bits, ChordService* service) {
  commands->Add(AnswersAtOnce(MakeCommand<WireProof(std::string)>(
      "chord.prove", Audience::kPeer,
      "This node's id and address with a proof, bound to the challenge (hex), that it knows the "
      "ring's secret; refused on a ring without one.",
      {"challenge"}, [service, bits](const std::string& challenge) -> Result<WireProof> {
        Status checked = CheckChallenge(challenge);
        if (!checked.ok()) return checked;
        auto proof = service->ServiceProve(challenge);
        if (!proof.ok()) return proof.status();
        NodeRef self = service->ServiceSelf();
        return WireProof{self.id.ToHex(bits), self.address, proof.value()};
      })));
}

}  // namespace

void RegisterChordCommands(RegisteredCommands* commands, int bits, ChordService* service) {
  RegisterQueries(commands, bits, service);
  RegisterMaintenance(commands, bits, service);
  RegisterProof(commands, bits, service);
}

std::string NodeProof(const std::string& secret, const NodeRef& node, int bits,
                      const std::string& challenge) {
  return SignRequest(secret, "chord.prove", node.id.ToHex(bits) + " " + node.address, 0, challenge);
}

void AdaptChordTimeouts(Transport* transport) {
  // An estimate per peer for each: maintenance pings a silent predecessor often, and its
  // time-outs should not lengthen the lookups' steps.
  for (const char* method : {"chord.ping", "chord.step", "chord.neighbors"}) {
    transport->AdaptTimeouts(method, method);
  }
}

void RegisterStatsCommand(RegisteredCommands* commands, std::function<NodeStats()> stats) {
  commands->Add(AnswersAtOnce(MakeCommand<WireStats()>(
      "chord.stats", Audience::kClient,
      "Counters of this node's transport since it started: calls served and made, connections "
      "accepted, evicted, refused, open and opened, server threads started.",
      [stats = std::move(stats)]() -> Result<WireStats> { return WireStats{stats()}; })));
}

void RegisterMetricsCommand(RegisteredCommands* commands, std::function<std::string()> text) {
  commands->Add(MakeCommand<std::string()>(
      "chord.metrics", Audience::kClient,
      "This node's figures in the Prometheus text format: what GET /metrics answers, for "
      "XML-RPC clients.",
      [text = std::move(text)]() -> Result<std::string> { return text(); }));
}

// ---------------------------------------------------------------------------------------------
// Stubs

Result<PingReply> ChordStub::Ping(const std::string& address) const {
  auto reply = CallNative<PingReply, WirePing>(transport_, address, "chord.ping", std::tuple<>(),
                                               [] { return xmlrpc_c::paramList(); });
  if (!reply.ok()) return reply.status();
  if (auto* native = std::get_if<PingReply>(&reply.value())) return *native;
  const WirePing* wire = &std::get<WirePing>(reply.value());
  const int bits = wire->bits.value_or(WireBits());
  if (bits < 1 || bits > Id::kMaxBits) {
    return MalformedReply(address, Status::BadArgument("bits " + std::to_string(bits)));
  }
  // The id is read at the node's own size: the caller compares the sizes itself.
  auto node = FromWire(WireNode{wire->id, wire->address}, bits, "the reply of chord.ping");
  if (!node.ok()) return MalformedReply(address, node.status());
  return PingReply{node.value(), bits};
}

Result<NodeStats> ChordStub::Stats(const std::string& address) const {
  auto wire = CallWith<WireStats>(transport_, address, "chord.stats");
  if (!wire.ok()) return wire.status();
  Status checked = CheckStats(wire.value());
  if (!checked.ok()) return MalformedReply(address, checked);
  return NodeStats(wire.value());
}

Result<std::string> ChordStub::Metrics(const std::string& address) const {
  return CallWith<std::string>(transport_, address, "chord.metrics");
}

Result<NodeInfo> ChordStub::Info(const std::string& address) const {
  auto wire = CallWith<WireInfo>(transport_, address, "chord.info");
  if (!wire.ok()) return wire.status();
  auto info = InfoFromWire(wire.value(), bits_);
  if (!info.ok()) return MalformedReply(address, info.status());
  return info;
}

Result<FoundOwner> ChordStub::FindSuccessor(const std::string& address, const Id& id) const {
  return FindSuccessorOfHex(address, id.ToHex(WireBits()));
}

Result<FoundOwner> ChordStub::FindSuccessorOfHex(const std::string& address,
                                                 const std::string& hex) const {
  auto id = Id::FromHex(hex, WireBits());
  if (!id.ok()) return id.status();
  auto wire = CallWith<WireFound>(transport_, address, "chord.find_successor", hex);
  if (!wire.ok()) return wire.status();
  // A caller that does not know the ring's size reads the id at the size its digits give.
  const int reply_bits =
      bits_ > 0 ? bits_ : std::max(1, std::min(Id::kMaxBits, 4 * int(wire->id.size())));
  auto owner = FromWire(WireNode{wire->id, wire->address}, reply_bits, "owner");
  if (!owner.ok()) return MalformedReply(address, owner.status());
  if (wire->hops < 0) return MalformedReply(address, Status::BadArgument("negative hops"));
  return FoundOwner{owner.value(), wire->hops, reply_bits};
}

Result<LookupStep> ChordStub::Step(const std::string& address, const Id& id) const {
  auto reply =
      CallNative<LookupStep, WireStep>(transport_, address, "chord.step", std::tuple<Id>(id),
                                       [&] { return MakeParams(id.ToHex(bits_)); });
  if (!reply.ok()) return reply.status();
  if (auto* native = std::get_if<LookupStep>(&reply.value())) return std::move(*native);
  const WireStep* wire = &std::get<WireStep>(reply.value());
  auto nodes = FromWire(wire->nodes, bits_, "nodes");
  if (!nodes.ok()) return MalformedReply(address, nodes.status());
  auto successors = FromWire(wire->successors, bits_, "successors");
  if (!successors.ok()) return MalformedReply(address, successors.status());
  return LookupStep{wire->done, nodes.value(), successors.value()};
}

Result<Neighbors> ChordStub::GetNeighbors(const std::string& address) const {
  auto reply = CallNative<Neighbors, WireNeighbors>(
      transport_, address, "chord.neighbors", std::tuple<>(), [] { return xmlrpc_c::paramList(); });
  if (!reply.ok()) return reply.status();
  if (auto* native = std::get_if<Neighbors>(&reply.value())) return std::move(*native);
  const WireNeighbors* wire = &std::get<WireNeighbors>(reply.value());
  auto predecessor = FromWire(wire->predecessor, bits_, "predecessor");
  if (!predecessor.ok()) return MalformedReply(address, predecessor.status());
  auto successors = FromWire(wire->successors, bits_, "successors");
  if (!successors.ok()) return MalformedReply(address, successors.status());
  return Neighbors{predecessor.value(), successors.value()};
}

Status ChordStub::Notify(const std::string& address, const NodeRef& self) const {
  return CallNative<NativeDone, WireEmpty>(transport_, address, "chord.notify",
                                           std::tuple<NodeRef>(self),
                                           [&] { return MakeParams(ToWire(self, bits_)); })
      .status();
}

Result<std::pair<NodeRef, std::string>> ChordStub::Prove(const std::string& address,
                                                         const std::string& challenge) const {
  auto wire = CallWith<WireProof>(transport_, address, "chord.prove", challenge);
  if (!wire.ok()) return wire.status();
  auto node = FromWire(WireNode{wire->id, wire->address}, WireBits(), "the reply of chord.prove");
  if (!node.ok()) return MalformedReply(address, node.status());
  return std::make_pair(node.value(), wire->proof);
}

Status ChordStub::Leaving(const std::string& address, const LeavingNotice& notice) const {
  WireLeaving wire{ToWire(notice.leaving, bits_), ToWire(notice.predecessor, bits_),
                   ToWire(notice.successors, bits_)};
  return CallWith<WireEmpty>(transport_, address, "chord.leaving", wire).status();
}

}  // namespace chord
