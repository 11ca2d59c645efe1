// InProcessNetwork and InProcessTransport: delivery, down nodes, dropped calls, detaching.
#define BOOST_TEST_MODULE commands_in_process
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_registry.h"
#include "commands/in_process_network.h"
#include "tests/common/test_setup.h"

using chord::Audience;
using chord::Command;
using chord::CommandRegistry;
using chord::ErrorCode;
using chord::InProcessNetwork;
using chord::InProcessTransport;
using chord::Result;
using chord::Status;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

// A registry with "node.name" answering `name`, so a test can tell which node it reached.
struct Node {
  explicit Node(const std::string& name) {
    BOOST_REQUIRE(
        registry
            .Register(Command{"node.name", Audience::kClient, "s:", "Name of this node.",
                              [name](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                                return xmlrpc_c::value(xmlrpc_c::value_string(name));
                              }})
            .ok());
    BOOST_REQUIRE(registry
                      .Register(Command{"node.missing", Audience::kClient, "s:", "Always not found.",
                                        [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                                          return Status::NotFound("nothing");
                                        }})
                      .ok());
  }
  CommandRegistry registry;
};

Result<xmlrpc_c::value> CallName(chord::Transport* transport, const std::string& address) {
  return transport->Call(address, "node.name", xmlrpc_c::paramList());
}

std::string NameAt(chord::Transport* transport, const std::string& address) {
  auto result = CallName(transport, address);
  if (!result.ok()) return "<" + result.status().ToString() + ">";
  return xmlrpc_c::value_string(result.value());
}

}  // namespace

BOOST_AUTO_TEST_CASE(delivers_to_the_attached_registry) {
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  Node b("b");
  network.Attach("10.0.0.1:1", &a.registry);
  network.Attach("10.0.0.2:1", &b.registry);
  BOOST_CHECK_EQUAL(NameAt(&transport, "10.0.0.1:1"), "a");
  BOOST_CHECK_EQUAL(NameAt(&transport, "10.0.0.2:1"), "b");

  // The registry's own errors come back unchanged.
  auto missing = transport.Call("10.0.0.1:1", "node.missing", xmlrpc_c::paramList());
  BOOST_CHECK_EQUAL(missing.status().code(), ErrorCode::kNotFound);
  auto unknown = transport.Call("10.0.0.1:1", "node.nope", xmlrpc_c::paramList());
  BOOST_CHECK_EQUAL(unknown.status().code(), ErrorCode::kUnknownCommand);
  xmlrpc_c::paramList extra;
  extra.add(xmlrpc_c::value_int(1));
  BOOST_CHECK_EQUAL(transport.Call("10.0.0.1:1", "node.name", extra).status().code(),
                    ErrorCode::kBadArgument);
  // Introspection works through the network too.
  BOOST_CHECK(transport.Call("10.0.0.2:1", "system.listMethods", xmlrpc_c::paramList()).ok());

  // Attaching another registry at an address replaces the old one.
  network.Attach("10.0.0.1:1", &b.registry);
  BOOST_CHECK_EQUAL(NameAt(&transport, "10.0.0.1:1"), "b");
}

BOOST_AUTO_TEST_CASE(unknown_address_is_unavailable) {
  InProcessNetwork network;
  InProcessTransport transport(&network);
  auto result = CallName(&transport, "10.9.9.9:9");
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kUnavailable);
  BOOST_CHECK(result.status().message().find("10.9.9.9:9") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(down_node_is_unavailable_until_restored) {
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  Node b("b");
  network.Attach("a", &a.registry);
  network.Attach("b", &b.registry);

  network.SetDown("a", true);
  BOOST_CHECK_EQUAL(CallName(&transport, "a").status().code(), ErrorCode::kUnavailable);
  // Even commands that exist nowhere fail as Unavailable: the node cannot be reached at all.
  BOOST_CHECK_EQUAL(transport.Call("a", "node.nope", xmlrpc_c::paramList()).status().code(),
                    ErrorCode::kUnavailable);
  BOOST_CHECK_EQUAL(NameAt(&transport, "b"), "b");  // other nodes are unaffected

  network.SetDown("a", false);
  BOOST_CHECK_EQUAL(NameAt(&transport, "a"), "a");

  // Re-attaching a down node brings it back up.
  network.SetDown("a", true);
  network.Attach("a", &a.registry);
  BOOST_CHECK_EQUAL(NameAt(&transport, "a"), "a");

  // Marking an unattached address down (or up) is harmless.
  network.SetDown("nowhere", true);
  network.SetDown("nowhere", false);
  BOOST_CHECK_EQUAL(CallName(&transport, "nowhere").status().code(), ErrorCode::kUnavailable);
}

BOOST_AUTO_TEST_CASE(drop_rate) {
  constexpr int kCalls = 500;
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  network.Attach("a", &a.registry);

  network.SetDropRate(1.0, 1);
  for (int i = 0; i < kCalls; ++i) {
    auto result = CallName(&transport, "a");
    BOOST_REQUIRE_EQUAL(result.status().code(), ErrorCode::kUnavailable);
  }

  network.SetDropRate(0.0, 1);
  for (int i = 0; i < kCalls; ++i) {
    auto result = CallName(&transport, "a");
    BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  }

  // A rate in between drops some and delivers some; the seed makes it reproducible.
  auto count_delivered = [&](uint64_t seed) {
    network.SetDropRate(0.5, seed);
    int delivered = 0;
    for (int i = 0; i < kCalls; ++i) {
      auto result = CallName(&transport, "a");
      if (result.ok()) {
        ++delivered;
      } else {
        BOOST_REQUIRE_EQUAL(result.status().code(), ErrorCode::kUnavailable);
      }
    }
    return delivered;
  };
  int delivered = count_delivered(7);
  BOOST_CHECK_GT(delivered, 0);
  BOOST_CHECK_LT(delivered, kCalls);
  BOOST_CHECK_EQUAL(count_delivered(7), delivered);
}

BOOST_AUTO_TEST_CASE(detach) {
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  Node b("b");
  network.Attach("a", &a.registry);
  network.Attach("b", &b.registry);
  network.Detach("a");
  BOOST_CHECK_EQUAL(CallName(&transport, "a").status().code(), ErrorCode::kUnavailable);
  BOOST_CHECK_EQUAL(NameAt(&transport, "b"), "b");
  network.Detach("a");        // twice is harmless
  network.Detach("nowhere");  // so is an unknown address

  // Detaching clears the down mark: attaching again finds the node up.
  network.SetDown("b", true);
  network.Detach("b");
  network.Attach("b", &b.registry);
  BOOST_CHECK_EQUAL(NameAt(&transport, "b"), "b");
}

BOOST_AUTO_TEST_CASE(calls_counts_every_delivery_attempt) {
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  network.Attach("a", &a.registry);
  BOOST_CHECK_EQUAL(network.calls(), 0u);

  BOOST_CHECK(CallName(&transport, "a").ok());
  BOOST_CHECK_EQUAL(network.calls(), 1u);
  BOOST_CHECK(!CallName(&transport, "nowhere").ok());
  BOOST_CHECK_EQUAL(network.calls(), 2u);
  network.SetDown("a", true);
  BOOST_CHECK(!CallName(&transport, "a").ok());
  BOOST_CHECK_EQUAL(network.calls(), 3u);
  network.SetDown("a", false);
  BOOST_CHECK(!transport.Call("a", "node.missing", xmlrpc_c::paramList()).ok());
  BOOST_CHECK_EQUAL(network.calls(), 4u);
  BOOST_CHECK(network.Deliver("a", "node.name", xmlrpc_c::paramList()).ok());
  BOOST_CHECK_EQUAL(network.calls(), 5u);

  // Concurrent callers are all counted.
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 1000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (!CallName(&transport, "a").ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_CHECK_EQUAL(failures.load(), 0);
  BOOST_CHECK_EQUAL(network.calls(), 5u + kThreads * kCallsPerThread);
}

BOOST_AUTO_TEST_CASE(concurrent_faults_and_calls) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 500;
  InProcessNetwork network;
  InProcessTransport transport(&network);
  Node a("a");
  network.Attach("a", &a.registry);
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto result = CallName(&transport, "a");
        if (!result.ok() && result.status().code() != ErrorCode::kUnavailable) ++unexpected;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kCallsPerThread; ++i) {
      network.SetDown("a", i % 2 == 0);
      network.SetDropRate(i % 3 == 0 ? 0.5 : 0.0, i);
      if (i % 7 == 0) {
        network.Detach("a");
        network.Attach("a", &a.registry);
      }
    }
  });
  for (auto& thread : threads) thread.join();
  BOOST_CHECK_EQUAL(unexpected.load(), 0);
  network.SetDown("a", false);
  network.SetDropRate(0, 0);
  BOOST_CHECK_EQUAL(NameAt(&transport, "a"), "a");
}
