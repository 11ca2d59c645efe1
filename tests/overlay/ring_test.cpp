// The overlay over the in-process transport: concurrent joins, lookups, leaves and a crash.
#define BOOST_TEST_MODULE overlay_ring
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <iostream>
#include <thread>

#include "commands/value_util.h"
#include "overlay/maintenance.h"
#include "tests/common/sim_ring.h"
#include "tests/common/test_setup.h"

using chord::Id;
using chord::testing::SimNode;
using chord::testing::SimRing;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

chord::OverlayOptions Options(int bits, int successors) {
  chord::OverlayOptions options;
  options.id_bits = bits;
  options.successors = successors;
  return options;
}

// Builds a ring of `count` nodes: one creates it, the rest join concurrently from `threads`
// threads, each through a random node that is already a member.
void JoinConcurrently(SimRing* ring, int count, int threads, uint64_t seed) {
  SimNode* first = ring->AddNode();
  BOOST_REQUIRE(first->local->Create().ok());
  std::vector<SimNode*> fresh;
  for (int i = 1; i < count; ++i) fresh.push_back(ring->AddNode());
  std::mutex mutex;
  std::vector<SimNode*> members{first};
  std::vector<std::thread> workers;
  std::vector<std::string> failures;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 random(seed + t);
      for (size_t i = t; i < fresh.size(); i += threads) {
        SimNode* via;
        {
          std::lock_guard<std::mutex> lock(mutex);
          via = members[random() % members.size()];
        }
        chord::Status status = fresh[i]->local->Join(via->address);
        std::lock_guard<std::mutex> lock(mutex);
        if (status.ok()) {
          members.push_back(fresh[i]);
        } else {
          failures.push_back(fresh[i]->address + ": " + status.ToString());
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& failure : failures) BOOST_ERROR("join failed: " << failure);
  BOOST_REQUIRE_EQUAL(ring->Live().size(), size_t(count));
}

void CheckLookups(SimRing* ring, int count, uint64_t seed) {
  std::mt19937_64 random(seed);
  auto live = ring->Live();
  int wrong = 0;
  long total_hops = 0;
  int max_hops = 0;
  for (int i = 0; i < count; ++i) {
    Id id = Id::Hash("key-" + std::to_string(random()), ring->options().id_bits);
    SimNode* from = live[random() % live.size()];
    auto found = from->local->FindSuccessor(id);
    BOOST_REQUIRE_MESSAGE(found.ok(), found.status().ToString());
    if (found->owner != ring->TrueOwner(id)) ++wrong;
    total_hops += found->hops;
    max_hops = std::max(max_hops, found->hops);
  }
  BOOST_TEST(wrong == 0);
  std::cout << count << " lookups on " << live.size() << " nodes: mean hops "
            << double(total_hops) / count << ", max " << max_hops << std::endl;
}

}  // namespace

BOOST_AUTO_TEST_CASE(single_node_ring_owns_everything) {
  SimRing ring(Options(160, 4));
  SimNode* node = ring.AddNode();
  auto refused = node->local->FindSuccessor(Id::Hash("x", 160));
  BOOST_TEST(refused.status().code() == chord::ErrorCode::kRefused);
  BOOST_REQUIRE(node->local->Create().ok());
  auto found = node->local->FindSuccessor(Id::Hash("x", 160));
  BOOST_REQUIRE(found.ok());
  BOOST_TEST(found->owner == node->local->self());
  BOOST_TEST(found->hops == 0);
  BOOST_TEST(node->local->Stabilize().ok());
  BOOST_TEST(ring.CheckRing() == "");
  BOOST_TEST(node->local->Create().code() == chord::ErrorCode::kRefused);
}

BOOST_AUTO_TEST_CASE(two_nodes_find_each_other) {
  SimRing ring(Options(160, 4));
  SimNode* a = ring.AddNode();
  SimNode* b = ring.AddNode();
  BOOST_REQUIRE(a->local->Create().ok());
  BOOST_REQUIRE(b->local->Join(a->address).ok());
  BOOST_TEST(ring.StabilizeUntilCorrect(5) >= 0);
  BOOST_TEST(ring.CheckRing() == "");
}

BOOST_AUTO_TEST_CASE(join_through_unreachable_node_says_why) {
  SimRing ring(Options(160, 4));
  SimNode* a = ring.AddNode();
  auto status = a->local->Join("nowhere");
  BOOST_TEST(status.code() == chord::ErrorCode::kUnavailable);
  BOOST_TEST(status.message().find("nowhere") != std::string::npos);
  BOOST_TEST(!a->local->joined());
}

BOOST_AUTO_TEST_CASE(taken_id_is_refused) {
  // A 1-bit ring has two ids: the third node must collide.
  SimRing ring(Options(160, 4));
  chord::CommandRegistry r1, r2;
  chord::Local a(Options(1, 2), "a", Id::FromUint(0, 1), ring.transport(), &r1);
  chord::Local b(Options(1, 2), "b", Id::FromUint(0, 1), ring.transport(), &r2);
  ring.network().Attach("a", &r1);
  ring.network().Attach("b", &r2);
  BOOST_REQUIRE(a.Create().ok());
  auto status = b.Join("a");
  BOOST_TEST(status.code() == chord::ErrorCode::kRefused);
  BOOST_TEST(status.message().find("already taken by a") != std::string::npos);
  ring.network().Detach("a");
  ring.network().Detach("b");
}

BOOST_AUTO_TEST_CASE(teaching_ring_of_five_bits) {
  SimRing ring(Options(5, 3));
  JoinConcurrently(&ring, 8, 1, 7);
  int rounds = ring.StabilizeUntilCorrect(40);
  BOOST_TEST_MESSAGE("5-bit ring correct after " << rounds << " rounds");
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
  ring.FixAllFingers();
  CheckLookups(&ring, 200, 3);
}

BOOST_AUTO_TEST_CASE(small_rings_with_long_successor_lists) {
  // Fewer nodes than successor-list entries: every list stops before wrapping around to its
  // node, and lookups answered from it (at any node, with no hop) must still be right.
  for (int count = 2; count <= 9; ++count) {
    SimRing ring(Options(160, 8));
    JoinConcurrently(&ring, count, 1, uint64_t(count));
    BOOST_REQUIRE_MESSAGE(ring.StabilizeUntilCorrect(40) >= 0, ring.CheckRing());
    ring.FixAllFingers();
    CheckLookups(&ring, 100, uint64_t(count));
    for (auto* from : ring.Live()) {
      for (auto* to : ring.Live()) {
        // The owner of a node's own id is that node, found with no hop.
        auto found = from->local->FindSuccessor(to->local->self().id);
        BOOST_REQUIRE(found.ok());
        BOOST_TEST(found->owner == to->local->self());
        BOOST_TEST(found->hops == 0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(sixty_four_concurrent_joins_then_lookups_leaves_and_a_crash) {
  SimRing ring(Options(160, 6));
  JoinConcurrently(&ring, 64, 4, 42);
  int rounds = ring.StabilizeUntilCorrect(64);
  std::cout << "64 concurrent joins: ring correct after " << rounds << " stabilize rounds"
            << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());

  ring.FixAllFingers();
  CheckLookups(&ring, 1000, 99);

  // Ten graceful leaves: the ring closes at once around each one.
  std::mt19937_64 random(5);
  for (int i = 0; i < 10; ++i) {
    auto live = ring.Live();
    SimNode* leaving = live[random() % live.size()];
    chord::NodeRef pred = *leaving->local->predecessor();
    chord::NodeRef succ = leaving->local->successor();
    BOOST_REQUIRE(leaving->local->Leave().ok());
    leaving->alive = false;
    ring.network().SetDown(leaving->address, true);
    SimNode* pred_node = nullptr;
    SimNode* succ_node = nullptr;
    for (auto* node : ring.Live()) {
      if (node->address == pred.address) pred_node = node;
      if (node->address == succ.address) succ_node = node;
    }
    BOOST_REQUIRE(pred_node && succ_node);
    BOOST_TEST(pred_node->local->successor() == succ);
    BOOST_TEST((succ_node->local->predecessor() && *succ_node->local->predecessor() == pred));
  }
  rounds = ring.StabilizeUntilCorrect(8);
  std::cout << "10 leaves: successor lists correct after " << rounds << " rounds" << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
  CheckLookups(&ring, 300, 100);  // stale fingers to departed nodes are routed around

  // One crash with no notice.
  auto live = ring.Live();
  ring.Crash(live[random() % live.size()]);
  CheckLookups(&ring, 300, 101);  // lookups route around the dead node at once
  rounds = ring.StabilizeUntilCorrect(8);
  std::cout << "1 crash: ring healed after " << rounds << " rounds" << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
  ring.FixAllFingers();
  CheckLookups(&ring, 1000, 102);
}

BOOST_AUTO_TEST_CASE(a_lossy_network_slows_the_ring_but_it_recovers) {
  SimRing ring(Options(160, 6));
  JoinConcurrently(&ring, 32, 2, 77);
  BOOST_REQUIRE(ring.StabilizeUntilCorrect(40) >= 0);
  ring.FixAllFingers();
  // 10% of all calls are lost for 20 rounds of maintenance and lookups.
  ring.network().SetDropRate(0.10, 5);
  std::mt19937_64 random(8);
  int answered = 0, right = 0;
  for (int round = 0; round < 20; ++round) {
    ring.StabilizeRound();
    for (auto* node : ring.Live()) node->local->FixFingers();
    for (int i = 0; i < 20; ++i) {
      Id id = Id::Hash("lossy-" + std::to_string(random()), 160);
      auto live = ring.Live();
      auto found = live[random() % live.size()]->local->FindSuccessor(id);
      if (!found.ok()) continue;
      ++answered;
      if (found->owner == ring.TrueOwner(id)) ++right;
    }
  }
  std::cout << "10% calls dropped: " << answered << " of 400 lookups answered, " << right
            << " with the true owner" << std::endl;
  // Once the network is clean again the ring converges and every lookup is right.
  ring.network().SetDropRate(0, 0);
  int rounds = ring.StabilizeUntilCorrect(20);
  std::cout << "after the losses stopped: ring correct after " << rounds << " rounds" << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
  ring.FixAllFingers();
  CheckLookups(&ring, 500, 9);
}

BOOST_AUTO_TEST_CASE(info_reports_the_contract_fields) {
  SimRing ring(Options(160, 4));
  JoinConcurrently(&ring, 3, 1, 1);
  BOOST_REQUIRE(ring.StabilizeUntilCorrect(10) >= 0);
  ring.FixAllFingers();
  SimNode* node = ring.Live()[0];
  auto info = ring.transport()->Call(node->address, "chord.info", xmlrpc_c::paramList());
  BOOST_REQUIRE(info.ok());
  BOOST_TEST(chord::StructString(info.value(), "id").value() == node->local->self().id.ToHex(160));
  BOOST_TEST(chord::StructString(info.value(), "address").value() == node->address);
  BOOST_TEST(chord::StructHas(info.value(), "predecessor"));
  BOOST_TEST(chord::StructArray(info.value(), "successors").value().size() == 2u);
  BOOST_TEST(!chord::StructArray(info.value(), "fingers").value().empty());
  xmlrpc_c::paramList bad;
  bad.add(xmlrpc_c::value_string("not-hex"));
  auto fault = ring.transport()->Call(node->address, "chord.find_successor", bad);
  BOOST_TEST(fault.status().code() == chord::ErrorCode::kBadArgument);
}

namespace {

// One round of maintenance as a process runs it, with a check-membership step every
// `membership_every` rounds (a node runs it every ten stabilize periods; tests run it more often
// to keep the rounds few).
void MaintenanceRound(SimRing* ring, int round, int membership_every) {
  ring->StabilizeRound();
  if (round % membership_every != 0) return;
  for (auto* node : ring->Live()) node->local->CheckMembership();
}

// Rounds of MaintenanceRound until `done` holds; the rounds used, or -1 after `max_rounds`.
int RoundsUntil(SimRing* ring, int max_rounds, int membership_every,
                const std::function<bool()>& done) {
  for (int round = 0; round <= max_rounds; ++round) {
    if (done()) return round;
    MaintenanceRound(ring, round + 1, membership_every);
  }
  return -1;
}

std::vector<SimNode*> AllBut(SimRing* ring, SimNode* excluded) {
  std::vector<SimNode*> rest;
  for (auto* node : ring->Live()) {
    if (node != excluded) rest.push_back(node);
  }
  return rest;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_node_cut_off_is_alone_and_rejoins_once_the_cut_heals) {
  SimRing ring(Options(160, 3));
  JoinConcurrently(&ring, 8, 1, 13);
  BOOST_REQUIRE(ring.StabilizeUntilCorrect(20) >= 0);
  SimNode* cut = ring.Live()[3];
  BOOST_REQUIRE(!cut->local->known_members().empty());

  // Cut off both ways: it ends up alone, the other seven close their ring without it.
  ring.CutOff(cut, true);
  const std::vector<SimNode*> rest = AllBut(&ring, cut);
  int rounds = RoundsUntil(&ring, 20, 2, [&] {
    return cut->local->successor() == cut->local->self() && ring.CheckRing(rest).empty();
  });
  std::cout << "cut off: alone, and the rest a ring, after " << rounds << " rounds" << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing(rest));
  BOOST_TEST(cut->local->joined());
  // It still remembers members to come back through.
  BOOST_TEST(!cut->local->known_members().empty());

  ring.CutOff(cut, false);
  rounds = RoundsUntil(&ring, 20, 2, [&] { return ring.CheckRing().empty(); });
  std::cout << "cut healed: one ring again after " << rounds << " rounds" << std::endl;
  BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
}

BOOST_AUTO_TEST_CASE(two_rings_merge_when_one_node_learns_a_member_of_the_other) {
  struct Case {
    int first_size, second_size, learner, learnt;
  };
  for (const Case& c : {Case{5, 5, 2, 3}, Case{2, 8, 0, 5}, Case{7, 3, 6, 0}, Case{1, 6, 0, 2}}) {
    BOOST_TEST_CONTEXT("rings of " << c.first_size << " and " << c.second_size) {
      SimRing ring(Options(160, 3));
      std::vector<SimNode*> first, second;
      for (auto [side, size] : {std::pair{&first, c.first_size}, {&second, c.second_size}}) {
        for (int i = 0; i < size; ++i) side->push_back(ring.AddNode());
        BOOST_REQUIRE(side->front()->local->Create().ok());
        for (int i = 1; i < size; ++i) {
          BOOST_REQUIRE((*side)[i]->local->Join((*side)[i - 1]->address).ok());
        }
      }
      int rounds = RoundsUntil(&ring, 20, 1, [&] {
        return ring.CheckRing(first).empty() && ring.CheckRing(second).empty();
      });
      BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing(first) << " / " << ring.CheckRing(second));
      BOOST_REQUIRE(!ring.CheckRing().empty());  // two rings, not one

      first[c.learner]->local->AddKnownMember(second[c.learnt]->address);
      rounds = RoundsUntil(&ring, 40, 1, [&] { return ring.CheckRing().empty(); });
      std::cout << "rings of " << c.first_size << " and " << c.second_size << ": one ring "
                << rounds << " rounds after one member met" << std::endl;
      BOOST_REQUIRE_MESSAGE(rounds >= 0, ring.CheckRing());
      ring.FixAllFingers();
      CheckLookups(&ring, 100, 21);
    }
  }
}

BOOST_AUTO_TEST_CASE(membership_checks_leave_a_healthy_ring_alone) {
  SimRing ring(Options(160, 3));
  JoinConcurrently(&ring, 16, 2, 31);
  BOOST_REQUIRE(ring.StabilizeUntilCorrect(30) >= 0);
  // Every node knows members outside its successor list (its bootstrap, earlier successors):
  // each check asks one, every round, and the ring must stay exactly right all along.
  for (auto* node : ring.Live()) node->local->AddKnownMember(ring.Live()[0]->address);
  uint64_t calls = 0;
  for (int round = 0; round < 10; ++round) {
    const uint64_t before = ring.network().calls();
    for (auto* node : ring.Live()) node->local->CheckMembership();
    calls += ring.network().calls() - before;
    BOOST_REQUIRE_MESSAGE(ring.CheckRing().empty(), "round " << round << ": " << ring.CheckRing());
    ring.StabilizeRound();
  }
  std::cout << "membership checks on a healthy ring of 16: " << calls << " calls in 10 rounds"
            << std::endl;
  BOOST_TEST(calls > 0);  // the checks did ask (a lookup each), and changed nothing
  BOOST_TEST(ring.CheckRing() == "");
}

BOOST_AUTO_TEST_CASE(a_member_that_does_not_answer_is_asked_less_and_less) {
  SimRing ring(Options(160, 3));
  JoinConcurrently(&ring, 4, 1, 3);
  BOOST_REQUIRE(ring.StabilizeUntilCorrect(10) >= 0);
  SimNode* node = ring.Live()[0];
  // Every other known member is a neighbour (successor list of 3 in a ring of 4): only the dead
  // one is ever asked, and a dead one is passed over 2, 4, ... 32 turns after each failure.
  node->local->AddKnownMember("nowhere");
  const uint64_t before = ring.network().calls();
  for (int turn = 0; turn < 64; ++turn) node->local->CheckMembership();
  const uint64_t calls = ring.network().calls() - before;
  std::cout << "64 membership checks with one dead member: " << calls << " calls" << std::endl;
  BOOST_TEST(calls >= 2u);
  BOOST_TEST(calls <= 6u);
}

BOOST_AUTO_TEST_CASE(adaptive_maintenance_waits_longer_while_quiet) {
  using std::chrono::milliseconds;
  const milliseconds period(200), max(1600);
  milliseconds wait = period;
  std::vector<int64_t> waits;
  for (int step = 0; step < 5; ++step) {
    wait = chord::Maintenance::NextWait(wait, period, max, false);
    waits.push_back(wait.count());
  }
  BOOST_TEST(waits == (std::vector<int64_t>{400, 800, 1600, 1600, 1600}));
  BOOST_TEST(chord::Maintenance::NextWait(wait, period, max, true).count() == 200);
  // A task added with Add (max == period) never slows down.
  BOOST_TEST(chord::Maintenance::NextWait(period, period, period, false).count() == 200);
}
