// Eight chord-node processes (overlay + DHT) over real XML-RPC on loopback: 2,000 keys written
// through random nodes land on their owner and its two successors; after two ADJACENT nodes
// are killed with SIGKILL, every key is still readable, byte for byte and with its type, through
// every surviving node; the ring of six closes and repair restores three copies of each key;
// the survivors leave on SIGTERM and exit 0.
#define BOOST_TEST_MODULE dht_multiprocess
#define BOOST_TEST_DYN_LINK
#include <poll.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "commands/value_util.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "tests/common/test_setup.h"
#include "tools/node_process.h"
#include "tools/ring_walk.h"

using chord::NodeProcess;
using Clock = std::chrono::steady_clock;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

constexpr int kNodes = 8;
constexpr int kKeys = 2000;
constexpr int kReplicas = 3;
constexpr size_t kSuccessors = 6;

using chord::testing::Scaled;
using chord::testing::ScaledMs;
using std::chrono::seconds;

// Fast maintenance; the call time-outs (defaults 5000 and 200 ms) stretched in sanitized builds,
// where a live node's hand-offs took longer than 200 ms.
std::vector<std::string> Args(std::vector<std::string> args) {
  // Each option beside its value:
  // clang-format off
  const std::vector<std::string> fast = {
      "--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
      "--repair-ms", "300", "--replicas", "3", "--successors", "6", "--log-level", "warning",
      "--call-timeout-ms", ScaledMs(5000), "--min-call-timeout-ms", ScaledMs(200)};
  // clang-format on
  args.insert(args.end(), fast.begin(), fast.end());
  return args;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Key(int i) { return "key-" + std::to_string(i); }

bool IsBinary(int i) { return i % 10 == 0; }

// The bytes stored under key i: every 10th value is binary, with NUL and 0xff bytes.
std::string ValueBytes(int i) {
  std::string text = "value-" + std::to_string(i);
  if (!IsBinary(i)) return text;
  return std::string("\x00\xff", 2) + text + std::string("\xff\x00\x01\xfe", 4);
}

xmlrpc_c::value ValueToSend(int i) {
  std::string bytes = ValueBytes(i);
  if (!IsBinary(i)) return xmlrpc_c::value_string(bytes);
  return xmlrpc_c::value_bytestring(std::vector<unsigned char>(bytes.begin(), bytes.end()));
}

// Empty if `value` is exactly the value of key i, with its type; otherwise what differs.
std::string CompareValue(const xmlrpc_c::value& value, int i) {
  std::string want = ValueBytes(i);
  if (IsBinary(i)) {
    if (value.type() != xmlrpc_c::value::TYPE_BYTESTRING) {
      return "want base64, got xml-rpc type " + std::to_string(int(value.type()));
    }
    auto got = xmlrpc_c::value_bytestring(value).vectorUcharValue();
    if (std::string(got.begin(), got.end()) != want) return "binary value differs";
    return "";
  }
  if (value.type() != xmlrpc_c::value::TYPE_STRING) {
    return "want string, got xml-rpc type " + std::to_string(int(value.type()));
  }
  std::string got = xmlrpc_c::value_string(value);
  if (got != want) return "value differs: '" + got + "'";
  return "";
}

// Empty if the ring walked from `start` is a correct ring of `expected` nodes whose successor
// lists are full (min(kSuccessors, expected - 1) entries) and in ring order. Fills `walk`.
std::string RingProblem(chord::Transport* transport, const std::string& start, size_t expected,
                        chord::RingWalk* walk) {
  *walk = chord::WalkRing(transport, start, expected + 2);
  std::string problem = chord::CheckRing(*walk, expected);
  if (!problem.empty()) return problem;
  const auto& m = walk->members;
  const size_t n = m.size();
  const size_t want = std::min(kSuccessors, n - 1);
  for (size_t i = 0; i < n; ++i) {
    if (m[i].successors.size() != want) {
      return m[i].address + " has " + std::to_string(m[i].successors.size()) +
             " successors, want " + std::to_string(want);
    }
    for (size_t k = 0; k < want; ++k) {
      if (m[i].successors[k] != m[(i + 1 + k) % n].address) {
        return m[i].address + ": successor " + std::to_string(k) + " is " + m[i].successors[k] +
               ", want " + m[(i + 1 + k) % n].address;
      }
    }
  }
  return "";
}

std::string WaitForRing(chord::Transport* transport, const std::string& start, size_t expected,
                        chord::RingWalk* walk, std::chrono::seconds limit) {
  std::string problem = "not checked";
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    problem = RingProblem(transport, start, expected, walk);
    if (problem.empty()) return "";
    poll(nullptr, 0, 50);  // bounded by the deadline: waiting for the live processes
  }
  return problem;
}

// The address of the ring member (in walk order) that owns `id_hex`: the first id >= it.
size_t OwnerIndex(const std::vector<chord::RingMember>& members, const std::string& id_hex) {
  size_t best = members.size();
  size_t lowest = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].id < members[lowest].id) lowest = i;
    if (members[i].id >= id_hex && (best == members.size() || members[i].id < members[best].id)) {
      best = i;
    }
  }
  return best == members.size() ? lowest : best;
}

struct StatsSum {
  int owned = 0;
  int replicas = 0;
  std::string problem;
};

StatsSum SumStats(chord::Transport* transport, const std::vector<std::string>& addresses) {
  StatsSum sum;
  for (const auto& address : addresses) {
    auto stats = transport->Call(address, "dht.stats", xmlrpc_c::paramList());
    if (!stats.ok()) {
      sum.problem = address + ": " + stats.status().ToString();
      return sum;
    }
    sum.owned += chord::StructInt(stats.value(), "owned").value();
    sum.replicas += chord::StructInt(stats.value(), "replicas").value();
  }
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keys_survive_the_crash_of_two_adjacent_nodes) {
  chord::XmlRpcTransport::Options options;
  options.call_timeout_ms = int(options.call_timeout_ms * chord::testing::TimeScale());
  chord::XmlRpcTransport transport(options);
  const auto test_start = Clock::now();

  // 1. Eight processes, each joining the previous one; wait for a correct ring.
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  nodes.push_back(std::make_unique<NodeProcess>(CHORD_NODE_BINARY, Args({"--create"})));
  BOOST_REQUIRE_MESSAGE(nodes[0]->ok(), nodes[0]->error());
  for (int i = 1; i < kNodes; ++i) {
    nodes.push_back(std::make_unique<NodeProcess>(
        CHORD_NODE_BINARY, Args({"--join", nodes[size_t(i) - 1]->address()})));
    BOOST_REQUIRE_MESSAGE(nodes[size_t(i)]->ok(), nodes[size_t(i)]->error());
  }
  chord::RingWalk walk;
  std::string problem =
      WaitForRing(&transport, nodes[0]->address(), kNodes, &walk, Scaled(seconds(60)));
  BOOST_REQUIRE_MESSAGE(problem.empty(), "the ring of 8 did not become correct: " << problem);
  {
    std::set<std::string> walked, started;
    for (const auto& m : walk.members) walked.insert(m.address);
    for (const auto& node : nodes) started.insert(node->address());
    BOOST_REQUIRE(walked == started);
  }
  std::cout << "ring of " << kNodes << " correct after " << Seconds(Clock::now() - test_start)
            << " s" << std::endl;

  // 2. Write the keys through random nodes.
  std::mt19937 random(20240611);
  std::uniform_int_distribution<size_t> any_node(0, nodes.size() - 1);
  auto write_start = Clock::now();
  int not_stored = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string& address = nodes[any_node(random)]->address();
    xmlrpc_c::paramList params;
    params.add(xmlrpc_c::value_string(Key(i)));
    params.add(ValueToSend(i));
    auto answer = transport.Call(address, "dht.set", params);
    BOOST_REQUIRE_MESSAGE(answer.ok(), "dht.set " << Key(i) << " through " << address << ": "
                                                  << answer.status().ToString());
    auto stored = chord::StructBool(answer.value(), "stored");
    if (!stored.ok() || !stored.value()) {
      ++not_stored;
      BOOST_ERROR("dht.set " << Key(i) << " through " << address << ": stored is not true");
    }
  }
  double write_s = Seconds(Clock::now() - write_start);
  std::cout << "wrote " << kKeys << " keys in " << write_s << " s (" << kKeys / write_s
            << " writes/s)" << std::endl;
  BOOST_REQUIRE(not_stored == 0);

  // 3. Placement before the crash: each key on its owner and the owner's next two successors.
  const auto& members = walk.members;  // ring order
  const size_t n = members.size();
  std::map<size_t, int> owned_by;  // member index -> keys it owns
  int misplaced = 0;
  auto locate_start = Clock::now();
  for (int i = 0; i < kKeys; ++i) {
    const std::string& address = nodes[any_node(random)]->address();
    xmlrpc_c::paramList params;
    params.add(xmlrpc_c::value_string(Key(i)));
    auto answer = transport.Call(address, "dht.locate", params);
    BOOST_REQUIRE_MESSAGE(answer.ok(), "dht.locate " << Key(i) << " through " << address << ": "
                                                     << answer.status().ToString());
    std::string id = chord::StructString(answer.value(), "id").value();
    size_t owner = OwnerIndex(members, id);
    ++owned_by[owner];
    std::string located =
        chord::StructString(chord::StructMember(answer.value(), "node").value(), "address").value();
    auto replicas = chord::StructArray(answer.value(), "replicas").value();
    bool right = located == members[owner].address && replicas.size() == size_t(kReplicas - 1);
    for (size_t k = 0; right && k < replicas.size(); ++k) {
      right = chord::StructString(replicas[k], "address").value() ==
              members[(owner + 1 + k) % n].address;
    }
    if (!right) {
      if (++misplaced <= 10) {
        BOOST_ERROR("dht.locate " << Key(i) << " through " << address << " says owner " << located
                                  << ", want " << members[owner].address);
      }
    }
  }
  std::cout << "located " << kKeys << " keys in " << Seconds(Clock::now() - locate_start) << " s"
            << std::endl;
  BOOST_REQUIRE_MESSAGE(misplaced == 0, misplaced << " keys located at the wrong node");
  StatsSum before = SumStats(&transport, [&] {
    std::vector<std::string> all;
    for (const auto& m : members) all.push_back(m.address);
    return all;
  }());
  BOOST_REQUIRE_MESSAGE(before.problem.empty(), before.problem);
  BOOST_TEST(before.owned == kKeys);
  BOOST_TEST(before.replicas == kKeys * (kReplicas - 1));

  // The victims: an owner and its successor, adjacent in ring order, the owner holding the
  // most keys (those keys then lose their owner and their first replica).
  size_t victim = 0;
  for (size_t j = 0; j < n; ++j) {
    if (owned_by[j] > owned_by[victim]) victim = j;
  }
  const size_t victim_next = (victim + 1) % n;
  BOOST_REQUIRE(owned_by[victim] > 0);
  std::set<std::string> dead = {members[victim].address, members[victim_next].address};
  std::cout << "killing " << members[victim].address << " (owns " << owned_by[victim]
            << " keys) and its successor " << members[victim_next].address << " (owns "
            << owned_by[victim_next] << " keys)" << std::endl;

  // 4. kill -9 both.
  std::vector<std::string> survivors;
  for (auto& node : nodes) {
    if (dead.count(node->address())) {
      node->Kill();
    } else {
      survivors.push_back(node->address());
    }
  }
  BOOST_REQUIRE(survivors.size() == size_t(kNodes - 2));
  const auto crash_time = Clock::now();

  // 5. Every key, through every survivor, with a bounded retry for reads right at the crash.
  const auto read_deadline = crash_time + Scaled(seconds(90));
  const auto per_key_limit = Scaled(seconds(3));
  const int max_attempts = 60;
  int retried = 0, failed = 0, attempts_total = 0;
  for (const auto& address : survivors) {
    for (int i = 0; i < kKeys; ++i) {
      BOOST_REQUIRE_MESSAGE(Clock::now() < read_deadline, "reads did not finish within "
                                                              << Seconds(read_deadline - crash_time)
                                                              << " s of the crash");
      auto key_deadline = Clock::now() + per_key_limit;
      std::string last;
      int attempts = 0;
      while (attempts < max_attempts) {
        ++attempts;
        xmlrpc_c::paramList params;
        params.add(xmlrpc_c::value_string(Key(i)));
        auto answer = transport.Call(address, "dht.get", params);
        if (!answer.ok()) {
          last = answer.status().ToString();
        } else {
          auto found = chord::StructBool(answer.value(), "found");
          if (!found.ok() || !found.value()) {
            last = "found=false";
          } else {
            auto value = chord::StructMember(answer.value(), "value");
            last = value.ok() ? CompareValue(value.value(), i) : "found=true without a value";
          }
        }
        if (last.empty() || Clock::now() >= key_deadline) break;
        poll(nullptr, 0, 50);  // bounded by attempts and the per-key deadline
      }
      attempts_total += attempts;
      if (attempts > 1) ++retried;
      if (!last.empty()) {
        if (++failed <= 20) {
          BOOST_ERROR("dht.get " << Key(i) << " through " << address << " after " << attempts
                                 << " attempts, " << Seconds(Clock::now() - crash_time)
                                 << " s after the crash: " << last);
        }
        BOOST_REQUIRE_MESSAGE(failed <= 50, "too many failed reads; giving up");
      }
    }
  }
  double read_s = Seconds(Clock::now() - crash_time);
  std::cout << "read " << kKeys << " keys through each of " << survivors.size() << " survivors ("
            << survivors.size() * kKeys << " gets, " << attempts_total << " attempts) in " << read_s
            << " s (" << double(survivors.size() * kKeys) / read_s << " gets/s); " << retried
            << " needed a retry, " << failed << " failed" << std::endl;
  BOOST_TEST(failed == 0);

  // 6. The ring of six closes; repair restores three copies of every key.
  problem =
      WaitForRing(&transport, survivors.front(), survivors.size(), &walk, Scaled(seconds(60)));
  BOOST_REQUIRE_MESSAGE(problem.empty(), "the ring of 6 did not become correct: " << problem);
  std::cout << "ring of " << survivors.size() << " correct " << Seconds(Clock::now() - crash_time)
            << " s after the crash" << std::endl;
  StatsSum after;
  auto repair_deadline = Clock::now() + Scaled(seconds(60));
  while (true) {
    after = SumStats(&transport, survivors);
    bool done =
        after.problem.empty() && after.owned == kKeys && after.replicas == kKeys * (kReplicas - 1);
    if (done || Clock::now() >= repair_deadline) break;
    poll(nullptr, 0, 100);  // bounded by the deadline: repair runs every 300 ms
  }
  BOOST_TEST(after.problem.empty(), after.problem);
  BOOST_TEST(after.owned == kKeys);
  BOOST_TEST(after.replicas == kKeys * (kReplicas - 1));
  std::cout << "stats over survivors: owned " << after.owned << ", replicas " << after.replicas
            << ", " << Seconds(Clock::now() - crash_time) << " s after the crash" << std::endl;

  // 7. SIGTERM: each survivor leaves and exits 0.
  auto stop_start = Clock::now();
  for (auto& node : nodes) {
    if (node->pid() <= 0) continue;  // killed above
    int status = node->Stop(Scaled(seconds(15)));
    BOOST_TEST(WIFEXITED(status), node->address() << " did not exit by itself");
    BOOST_TEST(WEXITSTATUS(status) == 0, node->address() << " exit status");
  }
  std::cout << "stopped " << survivors.size() << " survivors in "
            << Seconds(Clock::now() - stop_start) << " s" << std::endl;
  std::cout << "total " << Seconds(Clock::now() - test_start) << " s" << std::endl;
}
