// libFuzzer target: every dht.* message's conversion and checks (dht/dht_protocol.h), both
// ways: a request dispatched into the registered commands (served by a fake service that answers
// with fixed values), or a reply handed to the decoder or stub call that reads it.
//
// Input: see tests/fuzz/fuzz_support.h. First byte b: message b % kMessages (the requests in
// registration order, then the replies of kReplies).
//
// Properties: no crash, leak or undefined behaviour, and never an internal fault.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "commands/command_registry.h"
#include "commands/registered_commands.h"
#include "dht/dht_protocol.h"
#include "tests/fuzz/fuzz_support.h"

namespace chord {
namespace {

const DhtLimits kLimits;  // the defaults a node runs with

NodeRef Node(const std::string& address) { return {Id::Hash(address, kLimits.bits), address}; }

Record SomeRecord(const std::string& key) {
  return Record{Id::Hash(key, kLimits.bits), key, Entry{"value", false, 7, false, 0, 1}};
}

// Answers with fixed, valid values: the target is the checks around the service, not it.
class FixedDhtService : public DhtService {
 public:
  Result<DhtAnswer> ServiceClientOp(DhtOp, const std::string&, const DhtValue&, int) override {
    return Answer();
  }
  Result<LookupResult> ServiceLocate(const std::string&) override {
    return LookupResult{Node("127.0.0.1:2"), 1, {Node("127.0.0.1:2"), Node("127.0.0.1:3")}};
  }
  DhtStats ServiceStats() const override { return DhtStats{1, 2, 3, 4, 5, true}; }
  DhtKeyList ServiceKeys(size_t) const override {
    return DhtKeyList{"127.0.0.1:1", {{"key", true}}, false};
  }
  Result<DhtAnswer> ServiceGetAtOnce(const std::string&) override { return Answer(); }
  Result<DhtWatch> ServiceWatch(const std::string&, uint64_t version, int) override {
    return DhtWatch{"127.0.0.1:1", {"00", "127.0.0.1:1"}, true,
                    true,          {"value", false},      version + 1};
  }
  Result<DhtAnswer> ServiceOwnerOp(const OwnerRequest&) override { return Answer(); }
  Result<size_t> ServicePutMany(const std::vector<Record>& records) override {
    return records.size();
  }
  FetchedRecords ServiceFetch(const std::vector<std::string>& keys) const override {
    return FetchedRecords{{SomeRecord(keys.front())}, keys.size()};
  }
  std::vector<RecordDigest> ServiceDigest(const Id&, const Id&, const std::optional<std::string>&,
                                          size_t) const override {
    return {{"key", 7}};
  }
  std::vector<std::string> ServiceNeed(const std::vector<RecordDigest>& digests) const override {
    std::vector<std::string> keys;
    for (const auto& digest : digests) keys.push_back(digest.key);
    return keys;
  }
  std::vector<uint64_t> ServiceTreeHashes(const Id&, const Id&, int,
                                          const std::vector<uint32_t>& indices) const override {
    return std::vector<uint64_t>(indices.size(), 7);
  }
  std::vector<DhtSetResult> ServiceSetMany(const std::vector<DhtSetItem>& items,
                                           NodeRef* answered_by) override {
    *answered_by = NodeRef{};
    return std::vector<DhtSetResult>(items.size());
  }
  DhtOwnedPage ServiceOwned(const std::string&, size_t) const override { return {}; }

 private:
  static DhtAnswer Answer() {
    return DhtAnswer{true, false, {"value", false}, Node("127.0.0.1:2"), 1};
  }
};

struct Server {
  CommandRegistry registry;
  RegisteredCommands commands{&registry};
  FixedDhtService service;
  std::vector<std::string> names;  // the dht.* commands, in registration order
  Server() {
    RegisterDhtCommands(&commands, kLimits, &service);
    names = commands.names();
  }
};

Server& TheServer() {
  static Server server;
  return server;
}

const std::string kPeer = "127.0.0.1:9";
const std::vector<std::string> kKeys = {"a", "b"};

DhtClientStub ClientStub(const xmlrpc_c::value& reply) {
  return DhtClientStub([reply](const std::string&, const xmlrpc_c::paramList&,
                               std::string* answered_by) -> Result<xmlrpc_c::value> {
    *answered_by = kPeer;
    return reply;
  });
}

using ReplyReader = std::function<Status(const xmlrpc_c::value& reply)>;
const std::vector<ReplyReader> kReplies = {
    [](const xmlrpc_c::value& r) { return DecodeOwnerReply(r, kLimits).status(); },
    [](const xmlrpc_c::value& r) { return DecodePutManyReply(r).status(); },
    [](const xmlrpc_c::value& r) {
      fuzz::ReplyTransport transport(r);
      return DhtPeerStub(&transport, kLimits).Fetch(kPeer, kKeys).status();
    },
    [](const xmlrpc_c::value& r) {
      fuzz::ReplyTransport transport(r);
      auto results = DhtPeerStub(&transport, kLimits).FetchFromEach({kPeer, kPeer}, kKeys);
      return results.front().status();
    },
    [](const xmlrpc_c::value& r) {
      fuzz::ReplyTransport transport(r);
      DhtPeerStub stub(&transport, kLimits);
      return stub.Digest(kPeer, Id(), Id::Hash("x", kLimits.bits), std::string("a"), 10).status();
    },
    [](const xmlrpc_c::value& r) {
      fuzz::ReplyTransport transport(r);
      return DhtPeerStub(&transport, kLimits).Need(kPeer, {{"a", 1}, {"b", 2}}).status();
    },
    [](const xmlrpc_c::value& r) {
      return ClientStub(r).Set("k", {"v", false}, 0).status();
    },
    [](const xmlrpc_c::value& r) {
      return ClientStub(r).Add("k", {"v", true}, 5).status();
    },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Get("k").status(); },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Remove("k").status(); },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Locate("k").status(); },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Stats().status(); },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Keys(10).status(); },
    [](const xmlrpc_c::value& r) { return ClientStub(r).Watch("k", 3, 100).status(); },
};

void Request(const std::string& name, const xmlrpc_c::paramList& params) {
  const CommandRegistry& registry = TheServer().registry;
  fuzz::ExpectNoInternal(registry.Dispatch(name, params).status(), name);
  fuzz::ExpectNoInternal(registry.DispatchQuick(name, params).status(), name + " (quick)");
}

void Reply(size_t reader, const xmlrpc_c::paramList& params) {
  if (params.size() == 0) return;
  fuzz::ExpectNoInternal(kReplies[reader](params[0]), "reply " + std::to_string(reader));
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
  const size_t message = data[0] % (names.size() + chord::kReplies.size());
  if (message < names.size()) {
    chord::Request(names[message], *params);
  } else {
    chord::Reply(message - names.size(), *params);
  }
  return 0;
}
