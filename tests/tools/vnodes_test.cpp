// chord-node --vnodes: two processes of four virtual nodes each form one correct ring of eight
// members, keys set through a virtual node of one process read back through any virtual node
// of the other, both processes own keys, and SIGTERM makes each process leave and exit 0.
#define BOOST_TEST_MODULE vnodes
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
#include <memory>
#include <set>

#include "commands/xmlrpc_transport.h"
#include "dht/dht_client.h"
#include "tests/common/test_setup.h"
#include "tools/node_process.h"
#include "tools/ring_walk.h"
#include "tools/shell.h"

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

constexpr size_t kVnodes = 4;

// Quick maintenance, so that the rings settle within a second or two.
const std::vector<std::string> kFast = {
    "--stabilize-ms",         "50",  "--fix-fingers-ms", "50",
    "--check-predecessor-ms", "200", "--log-level",      "warning"};

std::vector<std::string> Args(std::vector<std::string> args) {
  args.insert(args.end(), {"--vnodes", std::to_string(kVnodes)});
  args.insert(args.end(), kFast.begin(), kFast.end());
  return args;
}

// Empty once a walk from `start` finds a correct ring of `expected` members (bounded wait).
std::string WaitForRing(chord::Transport* transport, const std::string& start, size_t expected) {
  std::string problem;
  for (int attempt = 0; attempt < 300; ++attempt) {  // 300 x 50 ms
    problem = chord::CheckRing(chord::WalkRing(transport, start, expected + 1), expected);
    if (problem.empty()) return "";
    poll(nullptr, 0, 50);
  }
  return problem;
}

// A client that sends every call to `address` (no routing to the owner).
chord::DhtClient Through(chord::Transport* transport, const std::string& address) {
  chord::DhtClientOptions options;
  options.route_to_owner = false;
  options.seed = 1;
  return chord::DhtClient(transport, {address}, options);
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_processes_of_four_vnodes_form_one_ring_and_share_keys) {
  chord::XmlRpcTransport transport({});
  chord::NodeProcess first(CHORD_NODE_BINARY, Args({"--create"}), std::chrono::seconds(20),
                           kVnodes);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.error());
  chord::NodeProcess second(CHORD_NODE_BINARY, Args({"--join", first.members().back().address}),
                            std::chrono::seconds(20), kVnodes);
  BOOST_REQUIRE_MESSAGE(second.ok(), second.error());
  BOOST_REQUIRE_EQUAL(first.members().size(), kVnodes);
  BOOST_REQUIRE_EQUAL(second.members().size(), kVnodes);
  std::set<std::string> addresses;
  for (const auto* process : {&first, &second}) {
    for (const auto& member : process->members()) addresses.insert(member.address);
  }
  BOOST_REQUIRE_EQUAL(addresses.size(), 2 * kVnodes);  // each virtual node its own address

  std::string problem = WaitForRing(&transport, second.address(), 2 * kVnodes);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  chord::RingWalk walk = chord::WalkRing(&transport, first.address(), 2 * kVnodes + 1);
  std::set<std::string> walked;
  for (const auto& member : walk.members) walked.insert(member.address);
  BOOST_TEST((walked == addresses));

  // Set through each virtual node of one process, read through one of the other's.
  std::set<std::string> owners;
  for (size_t i = 0; i < 40; ++i) {
    const auto& writer = (i % 2 ? first : second).members()[i % kVnodes];
    const auto& reader = (i % 2 ? second : first).members()[(i + 1) % kVnodes];
    const std::string key = "key-" + std::to_string(i);
    auto set = Through(&transport, writer.address).Set(key, {"value " + key, false});
    BOOST_REQUIRE_MESSAGE(set.ok(), set.status().ToString());
    auto got = Through(&transport, reader.address).Get(key);
    BOOST_REQUIRE_MESSAGE(got.ok(), got.status().ToString());
    BOOST_TEST(got->ok);
    BOOST_TEST(got->value.bytes == "value " + key);
    owners.insert(got->owner.address);
  }
  auto owned_by = [&owners](const chord::NodeProcess& process) {
    for (const auto& member : process.members()) {
      if (owners.count(member.address)) return true;
    }
    return false;
  };
  BOOST_TEST(owners.size() > kVnodes);  // 40 keys over 8 members: more than one process's worth
  BOOST_TEST(owned_by(first));
  BOOST_TEST(owned_by(second));

  // SIGTERM: the second process's virtual nodes leave one by one and it exits 0; the first
  // closes the ring around them and still serves every key.
  int status = second.Stop(std::chrono::seconds(15));
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  problem = WaitForRing(&transport, first.address(), kVnodes);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  auto kept = Through(&transport, first.members()[1].address).Get("key-7");
  BOOST_REQUIRE_MESSAGE(kept.ok(), kept.status().ToString());
  BOOST_TEST(kept->ok);
  status = first.Stop(std::chrono::seconds(15));
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

// create_chord's launcher: every virtual node is a member it lists; any of them names its process.
BOOST_AUTO_TEST_CASE(launcher_lists_every_vnode_and_stops_a_process_by_any_of_them) {
  chord::XmlRpcTransport transport({});
  chord::ProcessLauncher launcher(CHORD_NODE_BINARY, kFast);
  launcher.set_vnodes(3);
  auto created = launcher.Create();
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().ToString());
  auto joined = launcher.Join(launcher.addresses()[2]);
  BOOST_REQUIRE_MESSAGE(joined.ok(), joined.status().ToString());
  BOOST_REQUIRE_EQUAL(launcher.size(), 2u);
  BOOST_REQUIRE_EQUAL(launcher.addresses().size(), 6u);
  std::string problem = WaitForRing(&transport, launcher.addresses()[0], 6);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);

  const std::string last_of_second = launcher.addresses()[5];
  chord::Status left = launcher.Leave(last_of_second);  // SIGTERM to the second process
  BOOST_REQUIRE_MESSAGE(left.ok(), left.ToString());
  BOOST_TEST(launcher.size() == 1u);
  BOOST_TEST(launcher.addresses().size() == 3u);
  BOOST_TEST(launcher.Leave(last_of_second).code() == chord::ErrorCode::kNotFound);
  problem = WaitForRing(&transport, launcher.addresses()[0], 3);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
}
