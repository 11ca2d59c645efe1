// libFuzzer target: every chord.* message's conversion and checks (overlay/chord_protocol.h),
// both ways: a request dispatched into the registered commands (served by a fake service that
// answers with fixed values), or a reply handed to the ChordStub call that reads it.
//
// Input: see tests/fuzz/fuzz_support.h. First byte b: message b % kMessages (requests in the
// order of kRequests, then the replies of kReplies); the ring size the stub checks replies
// with is kStubBits[(b / kMessages) % 3].
//
// Properties: no crash, leak or undefined behaviour, and never an internal fault.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "commands/command_registry.h"
#include "commands/registered_commands.h"
#include "overlay/chord_protocol.h"
#include "tests/fuzz/fuzz_support.h"

namespace chord {
namespace {

constexpr int kBits = 160;

NodeRef Node(const std::string& address) { return {Id::Hash(address, kBits), address}; }

// Answers with fixed, valid values: the target is the checks around the service, not it.
class FixedChordService : public ChordService {
 public:
  NodeRef ServiceSelf() const override { return Node("127.0.0.1:1"); }
  NodeInfo ServiceInfo() const override {
    NodeInfo info;
    info.self = ServiceSelf();
    info.bits = kBits;
    info.joined = true;
    info.successors = {Node("127.0.0.1:2")};
    info.fingers.resize(kBits);
    for (int i = 0; i < kBits; ++i)
      info.finger_starts.push_back(info.self.id.AddPowerOfTwo(i, kBits));
    return info;
  }
  Result<FoundOwner> ServiceFindSuccessor(const Id&) override {
    return FoundOwner{Node("127.0.0.1:2"), 1, kBits};
  }
  Result<LookupStep> ServiceStep(const Id&) override {
    return LookupStep{true, {Node("127.0.0.1:2")}, {Node("127.0.0.1:2")}};
  }
  Result<Neighbors> ServiceNeighbors() override {
    return Neighbors{Node("127.0.0.1:3"), {Node("127.0.0.1:2")}};
  }
  Status ServiceNotify(const NodeRef&) override { return Status::Ok(); }
  Status ServiceLeaving(const LeavingNotice&) override { return Status::Ok(); }
  Result<std::string> ServiceProve(const std::string& challenge) const override {
    return challenge;
  }
};

struct Server {
  CommandRegistry registry;
  RegisteredCommands commands{&registry};
  FixedChordService service;
  std::vector<std::string> names;  // the chord.* commands, in registration order
  Server() {
    RegisterChordCommands(&commands, kBits, &service);
    RegisterStatsCommand(&commands, [] { return NodeStats{}; });
    RegisterMetricsCommand(&commands, [] { return std::string("# none\n"); });
    names = commands.names();
  }
};

Server& TheServer() {
  static Server server;
  return server;
}

const std::string kPeer = "127.0.0.1:9";
const Id kSomeId = Id::Hash("key", kBits);

using ReplyReader = std::function<Status(const ChordStub&)>;
const std::vector<ReplyReader> kReplies = {
    [](const ChordStub& s) { return s.Ping(kPeer).status(); },
    [](const ChordStub& s) { return s.Info(kPeer).status(); },
    [](const ChordStub& s) { return s.FindSuccessor(kPeer, kSomeId).status(); },
    [](const ChordStub& s) { return s.FindSuccessorOfHex(kPeer, "0a").status(); },
    [](const ChordStub& s) { return s.Step(kPeer, kSomeId).status(); },
    [](const ChordStub& s) { return s.GetNeighbors(kPeer).status(); },
    [](const ChordStub& s) { return s.Notify(kPeer, Node("127.0.0.1:1")); },
    [](const ChordStub& s) {
      return s.Leaving(kPeer, {Node("127.0.0.1:1"), Node("127.0.0.1:3"), {Node("127.0.0.1:2")}});
    },
    [](const ChordStub& s) { return s.Stats(kPeer).status(); },
    [](const ChordStub& s) { return s.Metrics(kPeer).status(); },
};
// 0: a client tool that does not know the ring's size.
constexpr int kStubBits[] = {kBits, 0, 16};

void Request(const std::string& name, const xmlrpc_c::paramList& params) {
  const CommandRegistry& registry = TheServer().registry;
  fuzz::ExpectNoInternal(registry.Dispatch(name, params).status(), name);
  fuzz::ExpectNoInternal(registry.DispatchQuick(name, params).status(), name + " (quick)");
}

void Reply(size_t reader, int bits, const xmlrpc_c::paramList& params) {
  if (params.size() == 0) return;
  fuzz::ReplyTransport transport(params[0]);
  ChordStub stub(&transport, bits);
  fuzz::ExpectNoInternal(kReplies[reader](stub), "reply " + std::to_string(reader) + " at " +
                                                     std::to_string(bits) + " bits");
}

}  // namespace
}  // namespace chord

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  chord::fuzz::QuietLogs();
  chord::TheServer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto params = chord::fuzz::ParamsOf(data, size, 1);
  if (!params) return 0;
  const auto& names = chord::TheServer().names;
  const size_t messages = names.size() + chord::kReplies.size();
  const size_t message = data[0] % messages;
  if (message < names.size()) {
    chord::Request(names[message], *params);
  } else {
    chord::Reply(message - names.size(), chord::kStubBits[(data[0] / messages) % 3], *params);
  }
  return 0;
}
