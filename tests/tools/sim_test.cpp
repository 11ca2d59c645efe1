// Simulation (the library behind chord-sim): a 100-node ring that joins with no maintenance,
// heals, answers every lookup correctly, and heals again after crashes and graceful leaves.
#define BOOST_TEST_MODULE tools_sim
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "tools/simulation.h"
#include "tests/common/test_setup.h"

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
