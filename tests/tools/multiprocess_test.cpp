// Five chord-node processes over real XML-RPC on loopback: they form a correct ring, agree on
// lookups, accept a node of this test process that serves a custom command, and exit 0 on
// SIGTERM after leaving.
#define BOOST_TEST_MODULE multiprocess
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <memory>
#include <random>

#include "commands/value_util.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "overlay/node_host.h"
#include "tools/node_process.h"
#include "tests/common/test_setup.h"

using chord::NodeProcess;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

const std::vector<std::string> kFast = {"--stabilize-ms", "100", "--fix-fingers-ms", "50",
                                        "--check-predecessor-ms", "200", "--log-level",
                                        "warning"};

std::vector<std::string> Args(std::vector<std::string> args) {
  args.insert(args.end(), kFast.begin(), kFast.end());
  return args;
}

struct Peer {
  std::string id;
  std::string address;
};

// Empty if the ring of `peers` is correct as each node reports it through chord.info.
std::string CheckRing(chord::Transport* transport, std::vector<Peer> peers) {
  std::sort(peers.begin(), peers.end(), [](const Peer& a, const Peer& b) { return a.id < b.id; });
  const size_t n = peers.size();
  for (size_t i = 0; i < n; ++i) {
    auto info = transport->Call(peers[i].address, "chord.info", xmlrpc_c::paramList());
    if (!info.ok()) return peers[i].address + ": " + info.status().ToString();
    auto successors = chord::StructArray(info.value(), "successors");
    if (!successors.ok() || successors->empty()) return peers[i].address + ": no successors";
    auto succ = chord::StructString(successors->front(), "address");
    if (!succ.ok() || succ.value() != peers[(i + 1) % n].address) {
      return peers[i].address + ": wrong successor";
    }
    if (!chord::StructHas(info.value(), "predecessor")) return peers[i].address + ": no pred";
    auto pred = chord::StructString(chord::StructMember(info.value(), "predecessor").value(),
                                    "address");
    if (!pred.ok() || pred.value() != peers[(i + n - 1) % n].address) {
      return peers[i].address + ": wrong predecessor";
    }
    if (successors->size() != std::min<size_t>(8, n - 1)) {
      return peers[i].address + ": successor list not full yet";
    }
  }
  return "";
}

std::string WaitForRing(chord::Transport* transport, const std::vector<Peer>& peers) {
  std::string problem;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    problem = CheckRing(transport, peers);
    if (problem.empty()) return "";
    poll(nullptr, 0, 50);
  }
  return problem;
}

std::string TrueOwner(std::vector<Peer> peers, const std::string& id_hex) {
  std::sort(peers.begin(), peers.end(), [](const Peer& a, const Peer& b) { return a.id < b.id; });
  for (const auto& p : peers) {
    if (p.id >= id_hex) return p.address;
  }
  return peers.front().address;
}

}  // namespace

BOOST_AUTO_TEST_CASE(five_processes_form_a_ring_and_agree_on_lookups) {
  chord::XmlRpcTransport transport({});
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  nodes.push_back(std::make_unique<NodeProcess>(CHORD_NODE_BINARY, Args({"--create"})));
  BOOST_REQUIRE_MESSAGE(nodes[0]->ok(), nodes[0]->error());
  for (int i = 1; i < 5; ++i) {
    nodes.push_back(std::make_unique<NodeProcess>(
        CHORD_NODE_BINARY, Args({"--join", nodes[i - 1]->address()})));
    BOOST_REQUIRE_MESSAGE(nodes[i]->ok(), nodes[i]->error());
  }
  std::vector<Peer> peers;
  for (auto& node : nodes) peers.push_back({node->id(), node->address()});
  std::string problem = WaitForRing(&transport, peers);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);

  // Every node answers find_successor with the true owner.
  std::mt19937_64 random(11);
  int wrong = 0;
  for (int i = 0; i < 100; ++i) {
    std::string id = chord::Id::Hash("k" + std::to_string(random()), 160).ToHex(160);
    for (const auto& peer : peers) {
      xmlrpc_c::paramList params;
      params.add(xmlrpc_c::value_string(id));
      auto answer = transport.Call(peer.address, "chord.find_successor", params);
      BOOST_REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
      if (chord::StructString(answer.value(), "address").value() != TrueOwner(peers, id)) ++wrong;
      BOOST_TEST(chord::StructInt(answer.value(), "hops").ok());
    }
  }
  BOOST_TEST(wrong == 0);

  // A node in this process joins the ring and serves a command of the test's own.
  chord::Settings settings;
  settings.join = peers[2].address;
  settings.stabilize_ms = 100;
  settings.fix_fingers_ms = 50;
  chord::NodeHost host(settings);
  BOOST_REQUIRE(host.Start().ok());
  chord::Status registered = host.registry().Register(
      {"test.greet", chord::Audience::kClient, "s:s", "greet(name): says hello.",
       [](const xmlrpc_c::paramList& params) -> chord::Result<xmlrpc_c::value> {
         return xmlrpc_c::value(xmlrpc_c::value_string("hello, " + params.getString(0)));
       }});
  BOOST_REQUIRE(registered.ok());
  BOOST_REQUIRE(host.Enter().ok());
  peers.push_back({host.local().self().id.ToHex(160), host.address()});
  problem = WaitForRing(&transport, peers);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  xmlrpc_c::paramList greet;
  greet.add(xmlrpc_c::value_string("ring"));
  auto hello = transport.Call(host.address(), "test.greet", greet);
  BOOST_REQUIRE_MESSAGE(hello.ok(), hello.status().ToString());
  BOOST_TEST(std::string(xmlrpc_c::value_string(hello.value())) == "hello, ring");
  auto wrong_type = transport.Call(host.address(), "test.greet", xmlrpc_c::paramList());
  BOOST_TEST(wrong_type.status().code() == chord::ErrorCode::kBadArgument);
  auto methods = transport.Call(host.address(), "system.listMethods", xmlrpc_c::paramList());
  BOOST_REQUIRE_MESSAGE(methods.ok(), methods.status().ToString());
  bool listed = false;
  for (const auto& name : xmlrpc_c::value_array(methods.value()).vectorValueValue()) {
    listed = listed || std::string(xmlrpc_c::value_string(name)) == "test.greet";
  }
  BOOST_TEST(listed);

  // It leaves; the ring of processes closes around it.
  BOOST_REQUIRE(host.Leave().ok());
  peers.pop_back();
  problem = WaitForRing(&transport, peers);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);

  // SIGTERM: each node leaves gracefully and exits 0.
  for (auto& node : nodes) {
    int status = node->Stop(std::chrono::seconds(15));
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
  }
}
