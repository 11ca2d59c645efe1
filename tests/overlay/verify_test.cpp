// Neighbours are verified: over the in-process transport, a client's forged chord.notify and
// chord.leaving change no pointer, a predecessor that answers with another id is dropped, and a
// stable ring pays no extra call for the verification (each pair is remembered).
#define BOOST_TEST_MODULE overlay_verify
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
#include <memory>

#include "tests/common/sim_ring.h"
#include "tests/common/test_setup.h"

using chord::ErrorCode;
using chord::Id;
using chord::NodeRef;
using chord::testing::SimNode;
using chord::testing::SimRing;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

constexpr int kBits = 16;

chord::OverlayOptions Options() {
  chord::OverlayOptions options;
  options.id_bits = kBits;
  options.successors = 3;
  return options;
}

// Eight nodes at 0x1000, 0x3000, ... 0xf000, stabilized.
std::vector<SimNode*> BuildRing(SimRing* ring) {
  std::vector<SimNode*> nodes;
  for (uint64_t i = 0; i < 8; ++i)
    nodes.push_back(ring->AddNode(Id::FromUint(0x1000 + i * 0x2000, kBits)));
  BOOST_REQUIRE(nodes[0]->local->Create().ok());
  for (size_t i = 1; i < nodes.size(); ++i) {
    BOOST_REQUIRE(nodes[i]->local->Join(nodes[0]->address).ok());
  }
  BOOST_REQUIRE_MESSAGE(ring->StabilizeUntilCorrect(30) >= 0, ring->CheckRing());
  return nodes;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_forged_notify_naming_another_nodes_address_is_refused) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  SimNode* victim = nodes[3];  // 0x7000, predecessor 0x5000
  const auto before = victim->local->predecessor();
  chord::ChordStub client(ring.transport(), kBits);  // a client: no node address of its own
  // The attack: the id just before the victim, the address of another live node.
  const NodeRef forged{Id::FromUint(0x6fff, kBits), nodes[6]->address};
  BOOST_TEST(client.Notify(victim->address, forged).code() == ErrorCode::kRefused);
  // An address where nothing answers, and the victim's own successor under a closer id.
  const NodeRef nowhere{Id::FromUint(0x6ffe, kBits), "nowhere"};
  BOOST_TEST(client.Notify(victim->address, nowhere).code() == ErrorCode::kRefused);
  const NodeRef successor_as_closer{Id::FromUint(0x6ffd, kBits), nodes[4]->address};
  BOOST_TEST(client.Notify(victim->address, successor_as_closer).code() == ErrorCode::kRefused);
  BOOST_TEST((victim->local->predecessor() == before));
  BOOST_TEST(ring.CheckRing() == "");
  ring.StabilizeRound();
  BOOST_TEST(ring.CheckRing() == "");
}

BOOST_AUTO_TEST_CASE(a_real_node_that_notifies_is_still_adopted_at_once) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  SimNode* newcomer = ring.AddNode(Id::FromUint(0x6000, kBits));
  BOOST_REQUIRE(newcomer->local->Join(nodes[0]->address).ok());
  // Join notifies the successor, which verifies and adopts the newcomer before answering.
  BOOST_TEST((nodes[3]->local->predecessor() == newcomer->local->self()));
  BOOST_TEST(ring.StabilizeUntilCorrect(10) >= 0);
}

BOOST_AUTO_TEST_CASE(a_forged_leaving_notice_for_a_live_neighbour_changes_nothing) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  SimNode* victim = nodes[3];
  chord::ChordStub client(ring.transport(), kBits);
  const NodeRef predecessor = nodes[2]->local->self();
  const NodeRef successor = nodes[4]->local->self();
  // "My predecessor leaves, take this one instead" and "my successor leaves, here is its list".
  chord::LeavingNotice pred_leaves{predecessor, nodes[6]->local->self(), {victim->local->self()}};
  chord::LeavingNotice succ_leaves{successor, victim->local->self(), {nodes[6]->local->self()}};
  BOOST_TEST(client.Leaving(victim->address, pred_leaves).code() == ErrorCode::kRefused);
  BOOST_TEST(client.Leaving(victim->address, succ_leaves).code() == ErrorCode::kRefused);
  // A notice naming the victim itself as the leaving node.
  chord::LeavingNotice self_leaves{victim->local->self(), predecessor, {successor}};
  BOOST_TEST(client.Leaving(victim->address, self_leaves).code() == ErrorCode::kRefused);
  BOOST_TEST((victim->local->predecessor() == predecessor));
  BOOST_TEST(victim->local->successor() == successor);
  BOOST_TEST(ring.CheckRing() == "");
}

BOOST_AUTO_TEST_CASE(a_real_leave_still_closes_the_ring_at_once) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  BOOST_REQUIRE(nodes[3]->local->Leave().ok());
  nodes[3]->alive = false;
  BOOST_TEST(nodes[2]->local->successor() == nodes[4]->local->self());
  BOOST_TEST((nodes[4]->local->predecessor() == nodes[2]->local->self()));
  // The successor lists further back learn it by stabilize, a round per node back.
  BOOST_TEST(ring.StabilizeUntilCorrect(5) >= 0);
}

BOOST_AUTO_TEST_CASE(a_predecessor_that_answers_with_another_id_is_dropped) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  SimNode* victim = nodes[3];
  const std::string address = nodes[2]->address;
  // Another node (another id) now answers at the predecessor's address.
  chord::CommandRegistry registry;
  chord::Local impostor(Options(), address, Id::FromUint(0x9999, kBits), ring.transport(),
                        &registry);
  ring.network().Attach(address, &registry);
  BOOST_TEST(victim->local->CheckPredecessor().code() == ErrorCode::kRefused);
  BOOST_TEST(!victim->local->predecessor());
  ring.network().Attach(address, &nodes[2]->registry);  // the real one is back: it notifies
  BOOST_TEST(ring.StabilizeUntilCorrect(5) >= 0);
}

BOOST_AUTO_TEST_CASE(a_stable_ring_pays_no_call_for_verification) {
  SimRing ring(Options());
  std::vector<SimNode*> nodes = BuildRing(&ring);
  ring.StabilizeRound();  // every pair verified and remembered by now
  const uint64_t before = ring.network().calls();
  ring.StabilizeRound();
  // Per node: check-predecessor's ping and stabilize's chord.neighbors; no chord.notify, as
  // every successor already names its predecessor.
  BOOST_TEST(ring.network().calls() - before == 2 * nodes.size());
}

BOOST_AUTO_TEST_CASE(with_a_secret_a_neighbour_proves_its_id) {
  chord::OverlayOptions options = Options();
  options.secret = "the ring's secret";
  SimRing ring(options);
  std::vector<SimNode*> nodes = BuildRing(&ring);  // every join and stabilize verified by proof
  SimNode* victim = nodes[3];
  const auto before = victim->local->predecessor();
  // A node that answers for its address but does not know the secret (its answer is not proven)
  // cannot become anyone's neighbour.
  chord::OverlayOptions wrong = options;
  wrong.secret = "another secret";
  chord::CommandRegistry registry;
  chord::Local impostor(wrong, "impostor", Id::FromUint(0x6000, kBits), ring.transport(),
                        &registry);
  ring.network().Attach("impostor", &registry);
  BOOST_TEST(impostor.Join(nodes[0]->address).code() == ErrorCode::kRefused);
  chord::ChordStub client(ring.transport(), kBits);
  BOOST_TEST(client.Notify(victim->address, impostor.self()).code() == ErrorCode::kRefused);
  BOOST_TEST((victim->local->predecessor() == before));
  ring.network().Detach("impostor");
  // One that knows it joins as usual.
  SimNode* newcomer = ring.AddNode(Id::FromUint(0x6000, kBits));
  BOOST_REQUIRE(newcomer->local->Join(nodes[0]->address).ok());
  BOOST_TEST((victim->local->predecessor() == newcomer->local->self()));
  BOOST_TEST(ring.StabilizeUntilCorrect(10) >= 0);
}
