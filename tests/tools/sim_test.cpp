// Simulation (the library behind chord-sim): a 100-node ring that joins with no maintenance,
// heals, answers every lookup correctly, and heals again after crashes and graceful leaves.
#define BOOST_TEST_MODULE tools_sim
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "tests/common/test_setup.h"
#include "tools/sim_churn.h"
#include "tools/sim_invariants.h"
#include "tools/simulation.h"

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

constexpr int kNodes = 100;
constexpr int kLookups = 1000;

chord::OverlayOptions Options() {
  chord::OverlayOptions options;
  options.successors = 8;
  return options;
}

void CheckAllCorrect(const chord::LookupStats& stats, int live) {
  BOOST_TEST(stats.lookups == kLookups);
  BOOST_TEST(stats.answered == kLookups);
  BOOST_TEST(stats.correct == kLookups);
  BOOST_TEST(stats.mean_hops < std::log2(live));
  BOOST_TEST(stats.max_hops >= stats.p99_hops);
  BOOST_TEST(stats.p99_hops >= stats.p50_hops);
  int counted = 0;
  for (const auto& [hops, count] : stats.hops) counted += count;
  BOOST_TEST(counted == stats.answered);
  BOOST_TEST(stats.calls_per_lookup >= stats.mean_hops);  // every hop is at least one RPC
}

}  // namespace

BOOST_AUTO_TEST_CASE(ring_heals_after_crashes_and_leaves) {
  chord::Simulation sim(Options(), 2024);
  auto joined = sim.BuildRing(kNodes, 0);
  BOOST_REQUIRE(joined.ok());
  BOOST_REQUIRE_EQUAL(*joined, kNodes);
  int rounds = sim.StabilizeUntilCorrect(10 * kNodes);
  BOOST_TEST_MESSAGE("joins: correct after " << rounds << " rounds");
  BOOST_REQUIRE_MESSAGE(rounds >= 0, sim.CheckRing());
  sim.FixAllFingers();
  CheckAllCorrect(sim.RunLookups(kLookups), kNodes);

  BOOST_TEST(sim.Leave(5) == 5);
  BOOST_TEST(sim.Crash(5) == 5);
  BOOST_REQUIRE_EQUAL(sim.live_count(), kNodes - 10);
  rounds = sim.StabilizeUntilCorrect(10 * kNodes);
  BOOST_TEST_MESSAGE("failures: healed after " << rounds << " rounds");
  BOOST_REQUIRE_MESSAGE(rounds >= 0, sim.CheckRing());
  // Stale fingers to the departed nodes are routed around before they are fixed.
  CheckAllCorrect(sim.RunLookups(kLookups), kNodes - 10);
  sim.FixAllFingers();
  CheckAllCorrect(sim.RunLookups(kLookups), kNodes - 10);
}

BOOST_AUTO_TEST_CASE(settled_joins_keep_the_ring_correct_without_rounds) {
  chord::Simulation sim(Options(), 7);
  for (int i = 0; i < kNodes; ++i) {
    BOOST_REQUIRE(sim.JoinSettled() != nullptr);
    // Correct after every join, not just at the end: each join settles its own neighbourhood.
    BOOST_REQUIRE_MESSAGE(sim.CheckRing().empty(), "after join " << i << ": " << sim.CheckRing());
  }
  BOOST_TEST(sim.rounds() == 0);
  BOOST_TEST(sim.calls_to_dead() == 0u);
  sim.FixAllFingers();
  auto stats = sim.RunLookups(kLookups);
  CheckAllCorrect(stats, kNodes);
  BOOST_TEST(stats.timeouts.size() == 1u);  // every lookup met no dead node
  // Half the ring crashes: the lookups route around the dead, and count each call to one.
  BOOST_TEST(sim.Crash(kNodes / 2) == kNodes / 2);
  stats = sim.RunLookups(kLookups);
  BOOST_TEST(stats.timeouts_per_lookup > 0);
  int counted = 0;
  for (const auto& [timeouts, lookups] : stats.timeouts) counted += lookups;
  BOOST_TEST(counted == kLookups);
}

BOOST_AUTO_TEST_CASE(bad_ring_sizes_are_refused) {
  chord::OverlayOptions tiny = Options();
  tiny.id_bits = 3;
  chord::Simulation sim(tiny, 1);
  BOOST_TEST(sim.BuildRing(9, 0).status().code() == chord::ErrorCode::kRefused);
  BOOST_TEST(sim.BuildRing(0, 0).status().code() == chord::ErrorCode::kRefused);
  // A full 3-bit space: every id is taken, and each one still finds its true owner.
  auto joined = sim.BuildRing(8, 1);
  BOOST_REQUIRE(joined.ok());
  BOOST_TEST(*joined == 8);
  BOOST_REQUIRE(sim.StabilizeUntilCorrect(80) >= 0);
  sim.FixAllFingers();
  auto stats = sim.RunLookups(200);
  BOOST_TEST(stats.correct == 200);
  BOOST_TEST(sim.BuildRing(8, 0).status().code() == chord::ErrorCode::kRefused);
}

// ---------------------------------------------------------------------------------------------
// Zave's invariants (tools/sim_invariants.h) on hand-made pointer states.

namespace {

chord::NodeRef N(int id) {
  return chord::NodeRef{chord::Id::FromUint(uint64_t(id), 8), "n" + std::to_string(id)};
}

chord::MemberState M(int id, std::vector<int> successors) {
  chord::MemberState member{N(id), {}, std::nullopt};
  for (int s : successors) member.successors.push_back(N(s));
  return member;
}

bool Names(const chord::InvariantReport& report, const std::string& invariant) {
  for (const auto& v : report.violations) {
    if (v.rfind(invariant, 0) == 0) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(invariants_hold_on_an_ideal_ring_with_an_appendage) {
  // 10 -> 20 -> 30 -> 10, and 25 (a newcomer) points at 30: an appendage.
  auto report =
      chord::CheckInvariants({M(10, {20, 30}), M(20, {30, 10}), M(30, {10, 20}), M(25, {30, 10})});
  BOOST_TEST(report.ok());
  BOOST_TEST(report.rings == 1);
  BOOST_TEST(report.ring_size == 3);
  BOOST_TEST(report.appendages == 1);
  // A lone node is a ring of one.
  BOOST_TEST(chord::CheckInvariants({M(7, {})}).ok());
}

BOOST_AUTO_TEST_CASE(invariants_catch_each_kind_of_damage) {
  // Two rings: {10, 20} and {30, 40}.
  auto two = chord::CheckInvariants({M(10, {20}), M(20, {10}), M(30, {40}), M(40, {30})});
  BOOST_TEST(Names(two, "AtMostOneRing"));
  // A ring that goes round twice: 10 -> 30 -> 20 -> 40 -> 10.
  auto twice = chord::CheckInvariants({M(10, {30}), M(30, {20}), M(20, {40}), M(40, {10})});
  BOOST_TEST(Names(twice, "OrderedRing"));
  BOOST_TEST(Names(twice, "OrderedSuccessorLists") == false);
  // A list out of order, and one whose every entry is dead (n99 is no member).
  auto lists = chord::CheckInvariants({M(10, {30, 20}), M(20, {30}), M(30, {10}), M(40, {99})});
  BOOST_TEST(Names(lists, "OrderedSuccessorLists"));
  BOOST_TEST(Names(lists, "LiveSuccessor"));
  BOOST_TEST(Names(lists, "ConnectedAppendages"));
}

BOOST_AUTO_TEST_CASE(ring_grown_over_time_converges_in_few_rounds) {
  chord::Simulation sim(Options(), 7);
  auto joined = sim.GrowRing(200, 0.05);
  BOOST_REQUIRE(joined.ok());
  BOOST_REQUIRE_EQUAL(*joined, 200);
  const int rounds = sim.StabilizeUntilCorrect(200);
  BOOST_TEST_MESSAGE("grown over " << sim.rounds_grown() << " rounds; correct " << rounds
                                   << " rounds after the last join");
  BOOST_REQUIRE_MESSAGE(rounds >= 0, sim.CheckRing());
  BOOST_TEST(rounds <= 3 * 8);  // a few times log2(200)
}

BOOST_AUTO_TEST_CASE(churn_seeds_keep_the_invariants_and_the_writes) {
  chord::ChurnOptions options;
  options.nodes = 40;
  options.churn_rounds = 20;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    auto result = chord::RunChurn(seed, options);
    std::string messages;
    for (const auto& m : result.messages) messages += "\n  " + m;
    BOOST_TEST(result.ok(), "seed " << seed << messages);
    BOOST_TEST(result.writes > 0);
    BOOST_TEST(result.joins + result.leaves + result.crashes > 0);
  }
}
