// Router over the in-process network: calls reach the true owner with the lookup's hop count,
// calls to this node stay local, command errors are not retried, a crashed owner's successor
// takes over, a stale lookup follows predecessors, and successors are called for replication.
#define BOOST_TEST_MODULE overlay_router
#define BOOST_TEST_DYN_LINK
#include "overlay/router.h"

#include <atomic>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <random>
#include <string>

#include "commands/typed_command.h"
#include "tests/common/sim_ring.h"
#include "tests/common/test_setup.h"

using chord::Audience;
using chord::ErrorCode;
using chord::Id;
using chord::MakeCommand;
using chord::MakeParams;
using chord::Result;
using chord::Router;
using chord::Status;
using chord::testing::SimNode;
using chord::testing::SimRing;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

constexpr int kBits = 16;

// A tiny upper layer on each node, with a Router and three commands:
//   probe.owner(id_hex) -> this node's address, if it owns the id (else NotOwner)
//   probe.fail() -> always a bad-argument fault
//   probe.echo(n) -> n + 1
class Probe : public chord::OverlayObserver {
 public:
  explicit Probe(SimNode* node) : router_(node->local.get(), &node->registry) {
    const std::string address = node->address;
    Status status = node->registry.Register(MakeCommand<std::string(std::string)>(
        "probe.owner", Audience::kClient, "Answers with this node's address if it owns the id.",
        {"id"}, [this, address](const std::string& hex) -> Result<std::string> {
          ++owner_calls;
          if (crash_on_call) {
            // Dies between the caller's lookup and its call, as a process may.
            crash_on_call();
            return Status::Unavailable(address + " is down");
          }
          auto id = Id::FromHex(hex, kBits);
          if (!id.ok()) return id.status();
          Status owner = router_.CheckOwner(id.value());
          if (!owner.ok()) return owner;
          return address;
        }));
    BOOST_REQUIRE(status.ok());
    status = node->registry.Register(
        MakeCommand<int()>("probe.fail", Audience::kClient, "Always fails.", [this] {
          ++fail_calls;
          return Result<int>(Status::BadArgument("probe.fail always fails"));
        }));
    BOOST_REQUIRE(status.ok());
    status = node->registry.Register(MakeCommand<int(int)>("probe.echo", Audience::kClient, "n + 1",
                                                           {"n"}, [](int n) { return n + 1; }));
    BOOST_REQUIRE(status.ok());
  }

  const Router& router() const { return router_; }

  std::atomic<int> owner_calls{0};
  std::atomic<int> fail_calls{0};
  std::function<void()> crash_on_call;  // set by a test before any call; run once

 private:
  Router router_;
};

Probe& ProbeOf(SimNode* node) { return static_cast<Probe&>(*node->layer); }

chord::OverlayOptions Options(int successors) {
  chord::OverlayOptions options;
  options.id_bits = kBits;
  options.successors = successors;
  return options;
}

// A correct ring of `count` nodes with full finger tables, each with a Probe.
void BuildRing(SimRing* ring, int count) {
  ring->set_on_add([](SimNode* node) { node->layer = std::make_unique<Probe>(node); });
  SimNode* first = ring->AddNode();
  BOOST_REQUIRE(first->local->Create().ok());
  for (int i = 1; i < count; ++i) {
    BOOST_REQUIRE(ring->AddNode()->local->Join(first->address).ok());
    ring->StabilizeRound();
  }
  BOOST_REQUIRE_GE(ring->StabilizeUntilCorrect(10 * count), 0);
  ring->FixAllFingers();
}

SimNode* NodeAt(SimRing* ring, const std::string& address) {
  for (SimNode* node : ring->Live()) {
    if (node->address == address) return node;
  }
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(calls_reach_the_true_owner_with_the_lookup_hops) {
  SimRing ring(Options(4));
  BuildRing(&ring, 16);
  std::mt19937_64 random(11);
  auto live = ring.Live();
  int local_calls = 0;
  for (int i = 0; i < 300; ++i) {
    Id id = Id::Hash("id-" + std::to_string(random()), kBits);
    SimNode* from = live[random() % live.size()];
    const chord::NodeRef owner = ring.TrueOwner(id);
    auto lookup = from->local->FindSuccessor(id);
    BOOST_REQUIRE(lookup.ok());
    const uint64_t calls_before = ring.network().calls();
    auto reply = ProbeOf(from).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
    BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    BOOST_CHECK_EQUAL(reply->owner, owner);
    BOOST_CHECK_EQUAL(chord::FromValue<std::string>(reply->value).value(), owner.address);
    BOOST_CHECK_EQUAL(reply->hops, lookup->hops);
    if (owner == from->local->self()) {
      // The owner is the caller: no message goes out.
      ++local_calls;
      BOOST_CHECK_EQUAL(ring.network().calls(), calls_before);
      BOOST_CHECK_EQUAL(reply->hops, 0);
    }
  }
  BOOST_CHECK_GT(local_calls, 0);
}

BOOST_AUTO_TEST_CASE(key_routing_uses_the_key_hash) {
  SimRing ring(Options(4));
  BuildRing(&ring, 8);
  SimNode* from = ring.Live().front();
  for (int i = 0; i < 50; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const Id id = Id::Hash(key, kBits);
    BOOST_CHECK(ProbeOf(from).router().KeyId(key) == id);
    auto reply =
        ProbeOf(from).router().CallOnOwnerOfKey(key, "probe.owner", MakeParams(id.ToHex(kBits)));
    BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    BOOST_CHECK_EQUAL(reply->owner, ring.TrueOwner(id));
  }
}

BOOST_AUTO_TEST_CASE(command_errors_come_back_once_without_retry) {
  SimRing ring(Options(4));
  BuildRing(&ring, 6);
  SimNode* from = ring.Live().front();
  const Id id = Id::Hash("anything", kBits);
  SimNode* owner = NodeAt(&ring, ring.TrueOwner(id).address);
  BOOST_REQUIRE(owner);
  auto reply = ProbeOf(from).router().CallOnOwner(id, "probe.fail", MakeParams());
  BOOST_CHECK_EQUAL(reply.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_EQUAL(reply.status().message(), "probe.fail always fails");
  BOOST_CHECK_EQUAL(ProbeOf(owner).fail_calls.load(), 1);
  // An unknown command is an answer too.
  reply = ProbeOf(from).router().CallOnOwner(id, "probe.missing", MakeParams());
  BOOST_CHECK_EQUAL(reply.status().code(), ErrorCode::kUnknownCommand);
}

BOOST_AUTO_TEST_CASE(a_crashed_owner_is_replaced_by_its_successor) {
  SimRing ring(Options(4));
  BuildRing(&ring, 8);
  std::mt19937_64 random(5);
  for (int round = 0; round < 4; ++round) {
    const Id id = Id::Hash("crash-" + std::to_string(random()), kBits);
    SimNode* owner = NodeAt(&ring, ring.TrueOwner(id).address);
    BOOST_REQUIRE(owner);
    const chord::NodeRef successor = owner->local->successor();
    SimNode* from = nullptr;
    for (SimNode* node : ring.Live()) {
      if (node != owner && node->local->self() != successor) from = node;
    }
    BOOST_REQUIRE(from);
    auto lookup = from->local->FindSuccessor(id);
    BOOST_REQUIRE(lookup.ok());
    BOOST_REQUIRE_EQUAL(lookup->owner, owner->local->self());
    const bool between = round % 2 == 0;
    if (between) {
      // The owner dies after the router's lookup named it: the call falls over to the next
      // node of the lookup's chain, one hop more.
      ProbeOf(owner).crash_on_call = [&ring, owner] { ring.Crash(owner); };
    } else {
      // The owner is dead before the lookup, which routes around it by itself.
      ring.Crash(owner);
    }
    auto reply = ProbeOf(from).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
    BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    BOOST_CHECK_EQUAL(reply->owner, successor);
    BOOST_CHECK_EQUAL(reply->owner, ring.TrueOwner(id));
    BOOST_CHECK_EQUAL(chord::FromValue<std::string>(reply->value).value(), successor.address);
    if (between) {
      BOOST_CHECK_EQUAL(reply->hops, lookup->hops + 1);
      BOOST_CHECK_EQUAL(ProbeOf(owner).owner_calls.load(), 1);
    }
    BOOST_REQUIRE_GE(ring.StabilizeUntilCorrect(50), 0);
    ring.FixAllFingers();
  }
}

BOOST_AUTO_TEST_CASE(a_stale_lookup_follows_predecessors_to_a_newcomer) {
  SimRing ring(Options(4));
  BuildRing(&ring, 8);
  SimNode* newcomer = ring.AddNode();
  const Id id = newcomer->local->self().id;
  SimNode* old_owner = NodeAt(&ring, ring.TrueOwner(id).address);
  BOOST_REQUIRE(old_owner);
  BOOST_REQUIRE(newcomer->local->Join(old_owner->address).ok());
  // Only the newcomer stabilizes: its successor learns of it, nobody else does.
  BOOST_REQUIRE(newcomer->local->Stabilize().ok());
  BOOST_REQUIRE(old_owner->local->predecessor() == newcomer->local->self());
  SimNode* from = nullptr;
  for (SimNode* node : ring.Live()) {
    if (node != newcomer && node != old_owner) from = node;
  }
  BOOST_REQUIRE(from);
  auto lookup = from->local->FindSuccessor(id);
  BOOST_REQUIRE(lookup.ok());
  BOOST_CHECK_EQUAL(lookup->owner, old_owner->local->self());  // stale
  auto reply = ProbeOf(from).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  BOOST_CHECK_EQUAL(reply->owner, newcomer->local->self());
  BOOST_CHECK_EQUAL(reply->hops, lookup->hops + 1);
  BOOST_CHECK_EQUAL(ProbeOf(old_owner).owner_calls.load(), 1);
}

BOOST_AUTO_TEST_CASE(not_owner_survives_the_wire_and_is_recognized) {
  Status status = Router::NotOwner(Id::FromUint(42, kBits), kBits);
  BOOST_CHECK(Router::IsNotOwner(status));
  BOOST_CHECK_EQUAL(status.code(), ErrorCode::kNotOwner);
  // Recognized by its code alone, whatever the message says: a refusal that happens to say
  // "not the owner" is not one, and a not_owner fault with any text is.
  BOOST_CHECK(Router::IsNotOwner(Status(ErrorCode::kNotOwner, "x")));
  BOOST_CHECK(!Router::IsNotOwner(Status::Refused(status.message())));
  BOOST_CHECK(!Router::IsNotOwner(Status::Unavailable(status.message())));
}

BOOST_AUTO_TEST_CASE(successors_are_called_skipping_dead_ones) {
  SimRing ring(Options(4));
  BuildRing(&ring, 6);
  SimNode* from = ring.Live().front();
  auto successors = from->local->successors();
  BOOST_REQUIRE_EQUAL(successors.size(), 4u);
  uint64_t calls = ring.network().calls();
  uint64_t round_trips = ring.network().round_trips();
  auto replies = ProbeOf(from).router().CallOnSuccessors(2, "probe.echo", MakeParams(41));
  BOOST_REQUIRE_EQUAL(replies.size(), 2u);
  // Both in one batch.
  BOOST_CHECK_EQUAL(ring.network().calls() - calls, 2u);
  BOOST_CHECK_EQUAL(ring.network().round_trips() - round_trips, 1u);
  for (size_t i = 0; i < 2; ++i) {
    BOOST_CHECK_EQUAL(replies[i].node, successors[i]);
    BOOST_REQUIRE(replies[i].reply.ok());
    BOOST_CHECK_EQUAL(chord::FromValue<int>(replies[i].reply.value()).value(), 42);
  }
  // A dead first successor is reported, and the next one is called instead.
  ring.Crash(NodeAt(&ring, successors[0].address));
  calls = ring.network().calls();
  round_trips = ring.network().round_trips();
  replies = ProbeOf(from).router().CallOnSuccessors(2, "probe.echo", MakeParams(1));
  BOOST_REQUIRE_EQUAL(replies.size(), 3u);
  // The first two together, then the replacement of the dead one.
  BOOST_CHECK_EQUAL(ring.network().calls() - calls, 3u);
  BOOST_CHECK_EQUAL(ring.network().round_trips() - round_trips, 2u);
  BOOST_CHECK_EQUAL(replies[0].node, successors[0]);
  BOOST_CHECK_EQUAL(replies[0].reply.status().code(), ErrorCode::kUnavailable);
  BOOST_CHECK_EQUAL(replies[1].node, successors[1]);
  BOOST_CHECK_EQUAL(replies[2].node, successors[2]);
  BOOST_CHECK(replies[1].reply.ok() && replies[2].reply.ok());
  // An error answer counts as reached.
  replies = ProbeOf(from).router().CallOnSuccessors(1, "probe.fail", MakeParams());
  BOOST_REQUIRE_EQUAL(replies.size(), 2u);
  BOOST_CHECK_EQUAL(replies[1].reply.status().code(), ErrorCode::kBadArgument);
}

BOOST_AUTO_TEST_CASE(an_id_covered_by_the_successor_list_is_found_with_no_message) {
  SimRing ring(Options(4));
  BuildRing(&ring, 16);
  for (SimNode* from : ring.Live()) {
    const auto successors = from->local->successors();
    BOOST_REQUIRE_EQUAL(successors.size(), 4u);
    chord::NodeRef previous = from->local->self();
    for (size_t i = 0; i < successors.size(); ++i) {
      // The last id of (s_{i-1}, s_i] and the first one: both owned by s_i.
      for (const Id& id : {successors[i].id, previous.id.Next(kBits)}) {
        const uint64_t calls = ring.network().calls();
        chord::LookupOptions options;
        options.confirm_owner = false;
        auto found = from->local->FindSuccessor(id, options);
        BOOST_REQUIRE(found.ok());
        BOOST_CHECK_EQUAL(found->owner, successors[i]);
        BOOST_CHECK_EQUAL(found->owner, ring.TrueOwner(id));
        BOOST_CHECK_EQUAL(found->hops, 0);
        // The owner and the rest of the list, for fail-over.
        BOOST_CHECK(found->successors ==
                    std::vector<chord::NodeRef>(successors.begin() + long(i), successors.end()));
        BOOST_CHECK_EQUAL(ring.network().calls(), calls);
        // Confirmed, the owner is pinged, and that is all.
        auto confirmed = from->local->FindSuccessor(id);
        BOOST_REQUIRE(confirmed.ok());
        BOOST_CHECK_EQUAL(confirmed->owner, successors[i]);
        BOOST_CHECK_EQUAL(confirmed->hops, 0);
        BOOST_CHECK_EQUAL(ring.network().calls(), calls + 1);
      }
      previous = successors[i];
    }
  }
}

BOOST_AUTO_TEST_CASE(a_dead_owner_at_the_end_of_a_successor_list_is_routed_around) {
  // The lookup names an owner that comes last in a successor list, so its chain holds nothing
  // after it; the owner (and maybe its successor) crashed unnoticed. Both the confirmed lookup
  // and the router must still find the live node that took the range over.
  std::mt19937_64 random(21);
  for (int crashed = 1; crashed <= 2; ++crashed) {
    for (int round = 0; round < 4; ++round) {
      SimRing ring(Options(4));
      BuildRing(&ring, 12);
      auto live = ring.Live();
      SimNode* from = live[random() % live.size()];
      const auto successors = from->local->successors();
      BOOST_REQUIRE_EQUAL(successors.size(), 4u);
      // An id owned by the last entry, s_3; then s_3 (and its successor) die.
      const Id id = successors[3].id;
      SimNode* dead = NodeAt(&ring, successors[3].address);
      SimNode* next = NodeAt(&ring, dead->local->successor().address);
      ring.Crash(dead);
      if (crashed == 2) ring.Crash(next);
      const chord::NodeRef owner = ring.TrueOwner(id);
      auto found = from->local->FindSuccessor(id);
      BOOST_REQUIRE_MESSAGE(found.ok(), found.status().ToString());
      BOOST_CHECK_EQUAL(found->owner, owner);
      auto reply =
          ProbeOf(from).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
      BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
      BOOST_CHECK_EQUAL(reply->owner, owner);
      BOOST_CHECK_EQUAL(chord::FromValue<std::string>(reply->value).value(), owner.address);
    }
  }
}

BOOST_AUTO_TEST_CASE(small_rings_and_nodes_outside_a_ring) {
  SimRing ring(Options(4));
  ring.set_on_add([](SimNode* node) { node->layer = std::make_unique<Probe>(node); });
  SimNode* alone = ring.AddNode();
  const Id id = Id::FromUint(7, kBits);
  auto reply = ProbeOf(alone).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
  BOOST_CHECK_EQUAL(reply.status().code(), ErrorCode::kRefused);
  BOOST_CHECK(!Router::IsNotOwner(reply.status()));
  BOOST_CHECK_EQUAL(ProbeOf(alone).router().CheckOwner(id).code(), ErrorCode::kRefused);

  BOOST_REQUIRE(alone->local->Create().ok());
  reply = ProbeOf(alone).router().CallOnOwner(id, "probe.owner", MakeParams(id.ToHex(kBits)));
  BOOST_REQUIRE(reply.ok());
  BOOST_CHECK_EQUAL(reply->owner, alone->local->self());
  BOOST_CHECK_EQUAL(reply->hops, 0);
  // A lone node has no successor to call.
  BOOST_CHECK(ProbeOf(alone).router().CallOnSuccessors(3, "probe.echo", MakeParams(1)).empty());

  // Two nodes: the successor list wraps to the caller, which is never called.
  SimNode* second = ring.AddNode();
  BOOST_REQUIRE(second->local->Join(alone->address).ok());
  BOOST_REQUIRE_GE(ring.StabilizeUntilCorrect(20), 0);
  auto replies = ProbeOf(alone).router().CallOnSuccessors(3, "probe.echo", MakeParams(1));
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(replies[0].node, second->local->self());
}
