// CounterLayer on a real ring: NodeHosts in this process, each with its own XML-RPC server on
// 127.0.0.1, called over XML-RPC like any client would. Increments from every node add up, the
// owner's successor keeps a copy, wrong calls get faults naming the argument, and counters
// survive a join, a graceful leave and a crash.
#define BOOST_TEST_MODULE counter
#define BOOST_TEST_DYN_LINK
#include <algorithm>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chord/commands/typed_command.h"
#include "chord/commands/xmlrpc_transport.h"
#include "chord/overlay/node_host.h"
#include "counter_layer.h"

namespace {

struct QuietLogs {
  QuietLogs() {
    boost::log::core::get()->set_filter(boost::log::trivial::severity >=
                                        boost::log::trivial::error);
  }
};
BOOST_GLOBAL_FIXTURE(QuietLogs);

struct Node {
  std::unique_ptr<chord::NodeHost> host;
  std::unique_ptr<CounterLayer> counters;
  bool running = false;

  const chord::NodeRef& self() const { return host->local().self(); }
};

class Ring {
 public:
  explicit Ring(int count) {
    for (int i = 0; i < count; ++i) {
      Node* node = Start();
      BOOST_REQUIRE(Enter(node).ok());
    }
    BOOST_REQUIRE(Converge());
  }

  ~Ring() {
    // Stop serving every node before any layer goes away, as the layer's contract asks. A
    // server with open keep-alive connections takes up to 2 s to stop, so all stop at once;
    // each host is handed to one thread and taken back by join().
    std::vector<std::thread> stoppers;
    for (auto& node : nodes_) {
      stoppers.emplace_back([host = node->host.get()] { host->Stop(); });
    }
    for (auto& stopper : stoppers) stopper.join();
    for (auto& node : nodes_) node->counters.reset();
  }

  // A started node with its layer attached, not yet in the ring.
  Node* Start() {
    chord::Settings settings;
    settings.bind = "127.0.0.1";
    settings.port = 0;
    settings.stabilize_ms = 50;
    settings.fix_fingers_ms = 50;
    settings.check_predecessor_ms = 100;
    if (nodes_.empty()) {
      settings.create = true;
    } else {
      settings.join = nodes_.front()->host->address();
    }
    auto node = std::make_unique<Node>();
    node->host = std::make_unique<chord::NodeHost>(settings);
    BOOST_REQUIRE(node->host->Start().ok());
    node->counters = std::make_unique<CounterLayer>(&node->host->local(), &node->host->registry());
    BOOST_REQUIRE(node->counters->Attach().ok());
    nodes_.push_back(std::move(node));
    return nodes_.back().get();
  }

  chord::Status Enter(Node* node) {
    chord::Status status = node->host->Enter();
    node->running = status.ok();
    return status;
  }

  // Running nodes in id order.
  std::vector<Node*> Sorted() const {
    std::vector<Node*> sorted;
    for (const auto& node : nodes_) {
      if (node->running) sorted.push_back(node.get());
    }
    std::sort(sorted.begin(), sorted.end(),
              [](Node* a, Node* b) { return a->self().id < b->self().id; });
    return sorted;
  }

  // Steps stabilization by hand (alongside the maintenance threads) until every successor and
  // predecessor is right: bounded rounds of RPCs, no sleeping.
  bool Converge() {
    for (int round = 0; round < 200; ++round) {
      if (Correct()) return true;
      for (Node* node : Sorted()) {
        node->host->local().CheckPredecessor();
        node->host->local().Stabilize();
      }
    }
    return Correct();
  }

  bool Correct() const {
    auto sorted = Sorted();
    const size_t n = sorted.size();
    for (size_t i = 0; i < n; ++i) {
      chord::Local& local = sorted[i]->host->local();
      if (local.successor() != sorted[(i + 1) % n]->self()) return false;
      auto predecessor = local.predecessor();
      if (n > 1 && (!predecessor || *predecessor != sorted[(i + n - 1) % n]->self())) {
        return false;
      }
    }
    return true;
  }

  // The node responsible for counter `name`: the first at or after the hash of the name.
  Node* OwnerOf(const std::string& name) const {
    auto sorted = Sorted();
    const chord::Id id = chord::Id::Hash(name, sorted.front()->host->local().bits());
    for (Node* node : sorted) {
      if (!(node->self().id < id)) return node;
    }
    return sorted.front();
  }

  Node* SuccessorOf(Node* node) const {
    auto sorted = Sorted();
    auto it = std::find(sorted.begin(), sorted.end(), node);
    return sorted[(it - sorted.begin() + 1) % sorted.size()];
  }

  void Crash(Node* node) {
    node->host->Stop();
    node->running = false;
  }

  chord::Status Leave(Node* node) {
    node->running = false;
    return node->host->Leave();
  }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
};

chord::XmlRpcTransport& Client() {
  static chord::XmlRpcTransport transport({});
  return transport;
}

chord::Result<CounterReply> Incr(Node* via, const std::string& name, int delta) {
  auto reply = Client().Call(via->host->address(), "counter.incr", chord::MakeParams(name, delta));
  if (!reply.ok()) return reply.status();
  return chord::FromValue<CounterReply>(reply.value());
}

chord::Result<CounterReply> Get(Node* via, const std::string& name) {
  auto reply = Client().Call(via->host->address(), "counter.get", chord::MakeParams(name));
  if (!reply.ok()) return reply.status();
  return chord::FromValue<CounterReply>(reply.value());
}

void CheckCounter(Ring* ring, const std::string& name, int want) {
  Node* owner = ring->OwnerOf(name);
  for (Node* node : ring->Sorted()) {
    auto got = Get(node, name);
    BOOST_REQUIRE_MESSAGE(
        got.ok(), name << " via " << node->host->address() << ": " << got.status().ToString());
    BOOST_CHECK_EQUAL(got->value, want);
    BOOST_CHECK_EQUAL(got->owner, owner->host->address());
    if (node == owner) BOOST_CHECK_EQUAL(got->hops, 0);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(increments_from_every_node_add_up) {
  Ring ring(4);
  constexpr int kRounds = 25;
  auto nodes = ring.Sorted();
  std::vector<std::thread> clients;
  std::vector<std::string> errors(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    clients.emplace_back([&, i] {
      for (int round = 0; round < kRounds; ++round) {
        const std::pair<const char*, int> kIncrements[] = {{"apples", 1}, {"pears", 2}};
        for (const auto& [name, delta] : kIncrements) {
          auto reply = Incr(nodes[i], name, delta);
          if (!reply.ok()) {
            errors[i] = reply.status().ToString();
            return;
          }
          if (reply->owner != ring.OwnerOf(name)->host->address()) {
            errors[i] = std::string(name) + " answered by " + reply->owner;
            return;
          }
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  for (const auto& error : errors) BOOST_CHECK_MESSAGE(error.empty(), error);
  const int n = int(nodes.size());
  CheckCounter(&ring, "apples", n * kRounds);
  CheckCounter(&ring, "pears", 2 * n * kRounds);
  CheckCounter(&ring, "never written", 0);
}

BOOST_AUTO_TEST_CASE(the_owner_successor_keeps_a_copy) {
  Ring ring(3);
  auto first = Incr(ring.Sorted().front(), "plums", 5);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  BOOST_CHECK_EQUAL(first->value, 5);
  Node* successor = ring.SuccessorOf(ring.OwnerOf("plums"));
  auto reply =
      Client().Call(successor->host->address(), "counter.peek", chord::MakeParams("plums"));
  BOOST_REQUIRE(reply.ok());
  auto copy = chord::FromValue<CounterCopy>(reply.value());
  BOOST_REQUIRE(copy.ok());
  BOOST_CHECK_EQUAL(copy->value, 5);
  BOOST_CHECK_EQUAL(copy->version, 1);
}

BOOST_AUTO_TEST_CASE(wrong_calls_get_faults_that_name_the_argument) {
  Ring ring(2);
  const std::string address = ring.Sorted().front()->host->address();
  auto wrong_type = Client().Call(address, "counter.incr", chord::MakeParams("x", "one"));
  BOOST_CHECK_EQUAL(wrong_type.status().code(), chord::ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(wrong_type.status().message().find(
                          "argument 2 (delta) must be int, got string") != std::string::npos,
                      wrong_type.status().message());
  auto missing = Client().Call(address, "counter.incr", chord::MakeParams("x"));
  BOOST_CHECK_EQUAL(missing.status().code(), chord::ErrorCode::kBadArgument);
  auto help = Client().Call(address, "system.methodHelp", chord::MakeParams("counter.incr"));
  BOOST_REQUIRE(help.ok());
  BOOST_CHECK_EQUAL(chord::FromValue<std::string>(help.value()).value(),
                    "counter.incr(name: string, delta: int) -> struct {value: int, owner: "
                    "string, hops: int}\nAdds delta to the named counter; answers its new "
                    "value, owner and hops.\nAudience: client");
}

BOOST_AUTO_TEST_CASE(counters_survive_a_join_a_leave_and_a_crash) {
  Ring ring(4);
  // A newcomer, started but not in the ring yet: its id is known, so are the names it will own.
  Node* newcomer = ring.Start();
  auto sorted = ring.Sorted();
  chord::NodeRef before = sorted.back()->self();  // the newcomer's predecessor-to-be
  for (Node* node : sorted) {
    if (node->self().id < newcomer->self().id) before = node->self();
  }
  std::vector<std::string> names;
  for (int i = 0; i < 100000 && names.size() < 3; ++i) {
    std::string name = "moving-" + std::to_string(i);
    chord::Id id = chord::Id::Hash(name, newcomer->host->local().bits());
    if (chord::InHalfOpenInterval(id, before.id, newcomer->self().id)) names.push_back(name);
  }
  BOOST_REQUIRE_EQUAL(names.size(), 3u);
  names.push_back("apples");
  for (size_t i = 0; i < names.size(); ++i) {
    BOOST_REQUIRE(Incr(sorted[i % sorted.size()], names[i], int(i) + 10).ok());
  }

  // Join: the newcomer owns the first three names now and fetches them when first used.
  BOOST_REQUIRE(ring.Enter(newcomer).ok());
  BOOST_REQUIRE(ring.Converge());
  for (size_t i = 0; i < 3; ++i) BOOST_CHECK(ring.OwnerOf(names[i]) == newcomer);
  for (size_t i = 0; i < names.size(); ++i) CheckCounter(&ring, names[i], int(i) + 10);

  // Graceful leave: the owner hands its counters to its successors.
  Node* owner = ring.OwnerOf("apples");
  BOOST_REQUIRE(ring.Leave(owner).ok());
  BOOST_REQUIRE(ring.Converge());
  BOOST_CHECK(ring.OwnerOf("apples") != owner);
  CheckCounter(&ring, "apples", 13);

  // Crash: the next owner dies without notice; its successor has the copy and takes over,
  // before the ring has even noticed.
  owner = ring.OwnerOf("apples");
  ring.Crash(owner);
  auto got = Get(ring.Sorted().front(), "apples");
  BOOST_REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  BOOST_CHECK_EQUAL(got->value, 13);
  BOOST_REQUIRE(ring.Converge());
  CheckCounter(&ring, "apples", 13);
  auto incr = Incr(ring.Sorted().back(), "apples", 1);
  BOOST_REQUIRE(incr.ok());
  BOOST_CHECK_EQUAL(incr->value, 14);
  for (size_t i = 0; i < 3; ++i) CheckCounter(&ring, names[i], int(i) + 10);
}
