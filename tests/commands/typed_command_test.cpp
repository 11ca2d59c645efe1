// Typed commands: derived signatures and help, argument and result conversion (nested types
// included), the faults a wrong call gets, and a round trip over real XML-RPC.
#define BOOST_TEST_MODULE commands_typed_command
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands/command_registry.h"
#include "commands/typed_command.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "tests/common/test_setup.h"

using chord::Audience;
using chord::Bytes;
using chord::CommandRegistry;
using chord::ErrorCode;
using chord::MakeCommand;
using chord::MakeParams;
using chord::Result;
using chord::Status;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

struct Point {
  int x = 0;
  int y = 0;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("x", x);
    visit("y", y);
  }
};

struct Shape {
  std::string name;
  std::vector<Point> points;
  std::optional<std::string> color;
  std::map<std::string, double> weights;
  template <typename Visit>
  void Fields(Visit&& visit) {
    visit("name", name);
    visit("points", points);
    visit("color", color);
    visit("weights", weights);
  }
};

// Checks `status` is a bad-argument fault whose message contains `text`.
void CheckBadArgument(const Status& status, const std::string& text) {
  BOOST_CHECK_EQUAL(status.code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(status.message().find(text) != std::string::npos,
                      "'" << status.message() << "' lacks '" << text << "'");
}

xmlrpc_c::value Array(std::vector<xmlrpc_c::value> items) { return xmlrpc_c::value_array(items); }

xmlrpc_c::value Struct(std::map<std::string, xmlrpc_c::value> members) {
  return xmlrpc_c::value_struct(members);
}

}  // namespace

BOOST_AUTO_TEST_CASE(signature_is_derived_from_the_types) {
  auto command = MakeCommand<int(std::string, int, bool, double, Bytes, int64_t)>(
      "t.all", Audience::kClient, "help", {"s", "i", "b", "d", "bytes", "big"},
      [](std::string, int, bool, double, Bytes, int64_t) { return 1; });
  BOOST_CHECK_EQUAL(command.signature, "i:sibd68");
  auto nested =
      MakeCommand<Shape(std::vector<int>, std::map<std::string, std::string>, xmlrpc_c::value)>(
          "t.nested", Audience::kClient, "help", {"a", "m", "any"},
          [](std::vector<int>, std::map<std::string, std::string>, xmlrpc_c::value) {
            return Shape{};
          });
  BOOST_CHECK_EQUAL(nested.signature, "S:AS*");
  auto none = MakeCommand<bool()>("t.none", Audience::kClient, "help", [] { return true; });
  BOOST_CHECK_EQUAL(none.signature, "b:");
}

BOOST_AUTO_TEST_CASE(help_starts_with_a_usage_line) {
  auto command = MakeCommand<Shape(const std::string&, std::vector<Point>)>(
      "t.shape", Audience::kClient, "Makes a shape.", {"name", "points"},
      [](const std::string& name, std::vector<Point> points) {
        return Shape{name, points, std::nullopt, {}};
      });
  BOOST_CHECK_EQUAL(command.help,
                    "t.shape(name: string, points: array of struct {x: int, y: int}) -> struct "
                    "{name: string, points: array of struct {x: int, y: int}, color?: string, "
                    "weights: struct of double}\nMakes a shape.");
}

BOOST_AUTO_TEST_CASE(arguments_and_result_are_converted) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry
                    .Register(MakeCommand<Shape(std::string, std::vector<Point>, bool)>(
                        "t.shape", Audience::kClient, "help", {"name", "points", "red"},
                        [](const std::string& name, std::vector<Point> points, bool red) {
                          Shape shape{name, std::move(points), std::nullopt, {{"w", 0.5}}};
                          if (red) shape.color = "red";
                          return shape;
                        }))
                    .ok());
  auto params = MakeParams("square", std::vector<Point>{{1, 2}, {3, 4}}, true);
  auto reply = registry.Dispatch("t.shape", params);
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  auto shape = chord::FromValue<Shape>(reply.value());
  BOOST_REQUIRE_MESSAGE(shape.ok(), shape.status().ToString());
  BOOST_CHECK_EQUAL(shape->name, "square");
  BOOST_REQUIRE_EQUAL(shape->points.size(), 2u);
  BOOST_CHECK_EQUAL(shape->points[1].x, 3);
  BOOST_CHECK_EQUAL(shape->points[1].y, 4);
  BOOST_CHECK(shape->color == std::optional<std::string>("red"));
  BOOST_CHECK_EQUAL(shape->weights.at("w"), 0.5);

  // An empty optional member is absent on the wire, and decodes back as empty.
  reply = registry.Dispatch("t.shape", MakeParams("dot", std::vector<Point>{}, false));
  BOOST_REQUIRE(reply.ok());
  std::map<std::string, xmlrpc_c::value> members = xmlrpc_c::value_struct(reply.value());
  BOOST_CHECK_EQUAL(members.count("color"), 0u);
  BOOST_CHECK(!chord::FromValue<Shape>(reply.value())->color);
}

BOOST_AUTO_TEST_CASE(scalars_round_trip) {
  BOOST_CHECK_EQUAL(chord::FromValue<int>(chord::ToValue(-7)).value(), -7);
  BOOST_CHECK_EQUAL(chord::FromValue<bool>(chord::ToValue(true)).value(), true);
  BOOST_CHECK_EQUAL(chord::FromValue<double>(chord::ToValue(2.25)).value(), 2.25);
  const int64_t big = int64_t(1) << 40;
  BOOST_CHECK_EQUAL(chord::FromValue<int64_t>(chord::ToValue(big)).value(), big);
  // A nested i8 also accepts an i4, as clients send small numbers.
  BOOST_CHECK_EQUAL(chord::FromValue<int64_t>(chord::ToValue(5)).value(), 5);
  const Bytes bytes(std::string("a\0b\xff", 4));
  BOOST_CHECK(chord::FromValue<Bytes>(chord::ToValue(bytes)).value() == bytes);
  BOOST_CHECK_EQUAL(chord::ToValue(bytes).type(), xmlrpc_c::value::TYPE_BYTESTRING);
  BOOST_CHECK_EQUAL(chord::FromValue<std::string>(chord::ToValue("text")).value(), "text");
  auto any = chord::FromValue<xmlrpc_c::value>(chord::ToValue(3));
  BOOST_CHECK_EQUAL(any->type(), xmlrpc_c::value::TYPE_INT);
  std::map<std::string, std::vector<int>> map{{"a", {1, 2}}, {"b", {}}};
  BOOST_CHECK(chord::FromValue<decltype(map)>(chord::ToValue(map)).value() == map);
}

BOOST_AUTO_TEST_CASE(faults_name_the_wrong_argument) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry
                    .Register(MakeCommand<int(std::string, std::vector<int>, Shape)>(
                        "t.sum", Audience::kClient, "help", {"name", "deltas", "shape"},
                        [](const std::string&, const std::vector<int>& deltas, const Shape&) {
                          int sum = 0;
                          for (int d : deltas) sum += d;
                          return sum;
                        }))
                    .ok());
  const xmlrpc_c::value shape = chord::ToValue(Shape{"s", {{1, 1}}, std::nullopt, {}});
  const xmlrpc_c::value ints = chord::ToValue(std::vector<int>{1, 2, 3});
  auto ok = registry.Dispatch("t.sum", MakeParams("n", ints, shape));
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  BOOST_CHECK_EQUAL(int(xmlrpc_c::value_int(ok.value())), 6);

  // Top level: the registry's own check against the derived signature.
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", 5, shape)).status(),
                   "argument 2 (deltas) must be array, got int");
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", ints)).status(), "got 2 argument");
  // Nested: the conversion names the element or member.
  auto mixed = Array({xmlrpc_c::value_int(1), xmlrpc_c::value_int(2), xmlrpc_c::value_string("x")});
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", mixed, shape)).status(),
                   "argument 2 (deltas[2]) must be int, got string");
  auto no_name = Struct({{"points", Array({})}, {"weights", Struct({})}});
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", ints, no_name)).status(),
                   "argument 3 (shape.name) is missing");
  auto bad_point = Struct(
      {{"name", xmlrpc_c::value_string("s")},
       {"points",
        Array({Struct({{"x", xmlrpc_c::value_int(1)}, {"y", xmlrpc_c::value_boolean(true)}})})},
       {"weights", Struct({})}});
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", ints, bad_point)).status(),
                   "argument 3 (shape.points[0].y) must be int, got boolean");
  auto bad_color = Struct({{"name", xmlrpc_c::value_string("s")},
                           {"points", Array({})},
                           {"color", xmlrpc_c::value_int(3)},
                           {"weights", Struct({})}});
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", ints, bad_color)).status(),
                   "argument 3 (shape.color) must be string, got int");
  auto bad_weight = Struct({{"name", xmlrpc_c::value_string("s")},
                            {"points", Array({})},
                            {"weights", Struct({{"w", xmlrpc_c::value_string("heavy")}})}});
  CheckBadArgument(registry.Dispatch("t.sum", MakeParams("n", ints, bad_weight)).status(),
                   "argument 3 (shape.weights.w) must be double, got string");
  // Unknown members are ignored, so newer clients may send more.
  auto extra = Struct({{"name", xmlrpc_c::value_string("s")},
                       {"points", Array({})},
                       {"weights", Struct({})},
                       {"future", xmlrpc_c::value_int(1)}});
  BOOST_CHECK(registry.Dispatch("t.sum", MakeParams("n", ints, extra)).ok());
}

BOOST_AUTO_TEST_CASE(from_value_names_what_it_reads) {
  auto wrong = chord::FromValue<std::vector<std::string>>(chord::ToValue(std::vector<int>{1}),
                                                          "the reply of t.list");
  CheckBadArgument(wrong.status(), "the reply of t.list[0] must be string, got int");
  CheckBadArgument(chord::FromValue<Point>(chord::ToValue(1)).status(),
                   "value must be struct, got int");
}

BOOST_AUTO_TEST_CASE(handler_statuses_become_faults) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry
                    .Register(MakeCommand<int(int)>("t.half", Audience::kClient, "help", {"n"},
                                                    [](int n) -> Result<int> {
                                                      if (n % 2)
                                                        return Status::BadArgument(
                                                            "n must be even");
                                                      return n / 2;
                                                    }))
                    .ok());
  BOOST_CHECK_EQUAL(xmlrpc_c::value_int(registry.Dispatch("t.half", MakeParams(8)).value()), 4);
  CheckBadArgument(registry.Dispatch("t.half", MakeParams(7)).status(), "n must be even");
  // A name that is taken is refused by the registry, as for any command.
  auto again =
      registry.Register(MakeCommand<int(int)>("t.half", Audience::kClient, "help", {"n"}, [](int n) { return n; }));
  BOOST_CHECK_EQUAL(again.code(), ErrorCode::kRefused);
}

BOOST_AUTO_TEST_CASE(handlers_may_keep_state_and_be_move_only) {
  CommandRegistry registry;
  auto counter = std::make_unique<int>(0);
  BOOST_REQUIRE(
      registry
          .Register(MakeCommand<int()>(
              "t.next", Audience::kClient, "help", [counter = std::move(counter)]() mutable { return ++*counter; }))
          .ok());
  BOOST_CHECK_EQUAL(xmlrpc_c::value_int(registry.Dispatch("t.next", MakeParams()).value()), 1);
  BOOST_CHECK_EQUAL(xmlrpc_c::value_int(registry.Dispatch("t.next", MakeParams()).value()), 2);
}

BOOST_AUTO_TEST_CASE(round_trip_over_xmlrpc) {
  CommandRegistry registry;
  BOOST_REQUIRE(
      registry
          .Register(MakeCommand<std::map<std::string, Bytes>(std::vector<Bytes>, int64_t)>(
              "t.tag", Audience::kClient, "Tags each blob with its index plus offset.", {"blobs", "offset"},
              [](const std::vector<Bytes>& blobs, int64_t offset) {
                std::map<std::string, Bytes> out;
                for (size_t i = 0; i < blobs.size(); ++i) {
                  out[std::to_string(offset + int64_t(i))] = blobs[i];
                }
                return out;
              }))
          .ok());
  chord::XmlRpcServer server(&registry, {});
  BOOST_REQUIRE(server.Start().ok());
  chord::XmlRpcTransport transport({});
  const int64_t offset = int64_t(1) << 33;
  std::vector<Bytes> blobs{Bytes(std::string("\0\1\2", 3)), Bytes("plain")};
  auto reply = transport.Call(server.address(), "t.tag", MakeParams(blobs, offset));
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  auto tags = chord::FromValue<std::map<std::string, Bytes>>(reply.value());
  BOOST_REQUIRE_MESSAGE(tags.ok(), tags.status().ToString());
  BOOST_CHECK(tags->at(std::to_string(offset)) == blobs[0]);
  BOOST_CHECK(tags->at(std::to_string(offset + 1)) == blobs[1]);

  auto help = transport.Call(server.address(), "system.methodHelp", MakeParams("t.tag"));
  BOOST_REQUIRE(help.ok());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(help.value())),
                    "t.tag(blobs: array of base64, offset: i8) -> struct of base64\n"
                    "Tags each blob with its index plus offset.\nAudience: client");
  // A fault keeps its code and names the argument across the wire.
  std::vector<xmlrpc_c::value> wrong{xmlrpc_c::value_string("not bytes")};
  auto fault = transport.Call(server.address(), "t.tag",
                              MakeParams(xmlrpc_c::value(xmlrpc_c::value_array(wrong)), offset));
  CheckBadArgument(fault.status(), "argument 1 (blobs[0]) must be base64, got string");
  server.Stop();
}
