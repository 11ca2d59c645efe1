// CommandRegistry: registration, signature checks, introspection and concurrent dispatch.
#define BOOST_TEST_MODULE commands_registry
#define BOOST_TEST_DYN_LINK
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_registry.h"
#include "tests/common/test_setup.h"

using chord::Audience;
using chord::Command;
using chord::CommandRegistry;
using chord::ErrorCode;
using chord::Result;
using chord::Status;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

// A handler that answers with its first argument, or "ok" when it has none.
Result<xmlrpc_c::value> EchoFirst(const xmlrpc_c::paramList& params) {
  if (params.size() == 0) return xmlrpc_c::value(xmlrpc_c::value_string("ok"));
  return params[0];
}

Command MakeCommand(const std::string& name, const std::string& signature,
                    const std::string& help = "help text") {
  return Command{name, Audience::kClient, signature, help, EchoFirst};
}

xmlrpc_c::paramList Params() { return xmlrpc_c::paramList(); }

xmlrpc_c::paramList Params(const xmlrpc_c::value& a) {
  xmlrpc_c::paramList params;
  params.add(a);
  return params;
}

xmlrpc_c::paramList Params(const xmlrpc_c::value& a, const xmlrpc_c::value& b) {
  xmlrpc_c::paramList params;
  params.add(a);
  params.add(b);
  return params;
}

xmlrpc_c::value Str(const std::string& s) { return xmlrpc_c::value_string(s); }
xmlrpc_c::value Int(int i) { return xmlrpc_c::value_int(i); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> StringsOf(const xmlrpc_c::value& array) {
  std::vector<std::string> out;
  for (const auto& item : xmlrpc_c::value_array(array).vectorValueValue()) {
    out.push_back(xmlrpc_c::value_string(item));
  }
  return out;
}

bool Listed(const CommandRegistry& registry, const std::string& name) {
  auto listed = registry.Dispatch("system.listMethods", Params());
  BOOST_REQUIRE(listed.ok());
  for (const auto& n : StringsOf(listed.value())) {
    if (n == name) return true;
  }
  return false;
}

// One sample value of every XML-RPC type, keyed by its signature letter.
std::map<char, xmlrpc_c::value> SampleOfEveryType() {
  std::map<char, xmlrpc_c::value> samples;
  samples.emplace('i', xmlrpc_c::value_int(7));
  samples.emplace('b', xmlrpc_c::value_boolean(true));
  samples.emplace('d', xmlrpc_c::value_double(1.5));
  samples.emplace('s', xmlrpc_c::value_string("s"));
  samples.emplace('6', xmlrpc_c::value_bytestring(std::vector<unsigned char>{1, 0, 2}));
  samples.emplace('8', xmlrpc_c::value_i8(1LL << 40));
  samples.emplace('A', xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{}));
  samples.emplace('S', xmlrpc_c::value_struct(std::map<std::string, xmlrpc_c::value>{}));
  samples.emplace('n', xmlrpc_c::value_nil());
  samples.emplace('t', xmlrpc_c::value_datetime(static_cast<time_t>(1700000000)));
  return samples;
}

}  // namespace

BOOST_AUTO_TEST_CASE(register_dispatch_and_unregister_at_run_time) {
  CommandRegistry registry;
  BOOST_CHECK(!registry.Find("test.echo"));
  BOOST_REQUIRE(registry.Register(MakeCommand("test.echo", "s:s")).ok());
  BOOST_REQUIRE(registry.Find("test.echo"));
  BOOST_CHECK_EQUAL(registry.Find("test.echo")->signature, "s:s");

  auto result = registry.Dispatch("test.echo", Params(Str("hello")));
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(result.value())), "hello");

  BOOST_CHECK(registry.Unregister("test.echo"));
  BOOST_CHECK(!registry.Find("test.echo"));
  BOOST_CHECK(!registry.Unregister("test.echo"));
  BOOST_CHECK_EQUAL(registry.Dispatch("test.echo", Params(Str("x"))).status().code(),
                    ErrorCode::kUnknownCommand);

  // The name is free again.
  BOOST_REQUIRE(registry.Register(MakeCommand("test.echo", "s:s")).ok());
  BOOST_CHECK(registry.Dispatch("test.echo", Params(Str("again"))).ok());
}

BOOST_AUTO_TEST_CASE(duplicate_name_is_refused) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.once", "s:")).ok());
  Status second = registry.Register(MakeCommand("test.once", "i:i", "other"));
  BOOST_CHECK_EQUAL(second.code(), ErrorCode::kRefused);
  BOOST_CHECK(Contains(second.message(), "test.once"));
  // The first registration is untouched.
  BOOST_CHECK_EQUAL(registry.Find("test.once")->signature, "s:");
  // Built-in names are taken too.
  BOOST_CHECK_EQUAL(registry.Register(MakeCommand("system.listMethods", "A:")).code(),
                    ErrorCode::kRefused);
}

BOOST_AUTO_TEST_CASE(invalid_names_are_bad_arguments) {
  CommandRegistry registry;
  for (const std::string& name :
       {std::string(), std::string("has space"), std::string("a/b"), std::string("a:b"),
        std::string("caf\xc3\xa9"), std::string("tab\t"), std::string(129, 'x')}) {
    Status status = registry.Register(MakeCommand(name, "s:"));
    BOOST_CHECK_MESSAGE(status.code() == ErrorCode::kBadArgument, "name '" << name << "'");
  }
  BOOST_CHECK(registry.Register(MakeCommand("Ab_c-d.9", "s:")).ok());
  BOOST_CHECK(registry.Register(MakeCommand(std::string(128, 'y'), "s:")).ok());
}

BOOST_AUTO_TEST_CASE(invalid_signatures_are_bad_arguments) {
  CommandRegistry registry;
  for (const char* signature :
       {"", "s", ":s", "ss:s", "x:s", "s:q", "s:s,", ",s:s", "s:s,,i:i", "s;s", "s:s i"}) {
    Status status = registry.Register(MakeCommand("test.sig", signature));
    BOOST_CHECK_MESSAGE(status.code() == ErrorCode::kBadArgument,
                        "signature '" << signature << "' gave " << status.ToString());
  }
  BOOST_CHECK(!registry.Find("test.sig"));
  // Every letter is valid, as a result or an argument.
  BOOST_CHECK(registry.Register(MakeCommand("test.all", "*:ibds68ASnt*,n:,i:i")).ok());
}

BOOST_AUTO_TEST_CASE(missing_handler_is_a_bad_argument) {
  CommandRegistry registry;
  Status status = registry.Register(Command{"test.nohandler", Audience::kClient, "s:", "help", nullptr});
  BOOST_CHECK_EQUAL(status.code(), ErrorCode::kBadArgument);
  BOOST_CHECK(!registry.Find("test.nohandler"));
}

BOOST_AUTO_TEST_CASE(unknown_command) {
  CommandRegistry registry;
  auto result = registry.Dispatch("no.such.command", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kUnknownCommand);
  BOOST_CHECK(Contains(result.status().message(), "no.such.command"));
}

BOOST_AUTO_TEST_CASE(type_mismatch_names_the_argument) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.is", "s:is")).ok());
  auto result = registry.Dispatch("test.is", Params(Int(1), Int(2)));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "argument 2 must be string, got int"),
                      result.status().message());
  BOOST_CHECK(Contains(result.status().message(), "test.is"));

  result = registry.Dispatch("test.is", Params(Str("a"), Str("b")));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "argument 1 must be int, got string"),
                      result.status().message());

  BOOST_CHECK(registry.Dispatch("test.is", Params(Int(1), Str("b"))).ok());
}

BOOST_AUTO_TEST_CASE(wrong_arity_is_a_bad_argument) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.si", "s:si")).ok());
  BOOST_REQUIRE(registry.Register(MakeCommand("test.none", "s:")).ok());

  auto result = registry.Dispatch("test.si", Params(Str("a")));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "expected (string, int)"),
                      result.status().message());
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "got 1 argument"),
                      result.status().message());

  result = registry.Dispatch("test.si", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK(Contains(result.status().message(), "got 0 argument"));

  result = registry.Dispatch("test.none", Params(Str("extra")));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "got 1 argument"),
                      result.status().message());
  BOOST_CHECK(registry.Dispatch("test.none", Params()).ok());
}

BOOST_AUTO_TEST_CASE(multiple_signatures) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.multi", "S:s,S:si")).ok());
  BOOST_CHECK(registry.Dispatch("test.multi", Params(Str("a"))).ok());
  BOOST_CHECK(registry.Dispatch("test.multi", Params(Str("a"), Int(1))).ok());

  auto result = registry.Dispatch("test.multi", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "(string) or (string, int)"),
                      result.status().message());

  result = registry.Dispatch("test.multi", Params(Str("a"), Str("b")));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "argument 2 must be int, got string"),
                      result.status().message());

  result = registry.Dispatch("test.multi", Params(Int(1)));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "argument 1 must be string, got int"),
                      result.status().message());

  // Alternatives of the same arity: the first that fits wins; none fitting names the first
  // mismatch.
  BOOST_REQUIRE(registry.Register(MakeCommand("test.either", "s:i,s:s")).ok());
  BOOST_CHECK(registry.Dispatch("test.either", Params(Int(1))).ok());
  BOOST_CHECK(registry.Dispatch("test.either", Params(Str("x"))).ok());
  result = registry.Dispatch("test.either", Params(xmlrpc_c::value_boolean(true)));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK(Contains(result.status().message(), "argument 1 must be int, got boolean"));
}

BOOST_AUTO_TEST_CASE(every_type_letter_accepts_its_type_only) {
  CommandRegistry registry;
  auto samples = SampleOfEveryType();
  for (const auto& want : samples) {
    std::string name = std::string("test.type_") + (want.first == '6' ? "b64" : "") +
                       (want.first == '8' ? "i8" : "") + want.first;
    BOOST_REQUIRE(registry.Register(MakeCommand(name, std::string("*:") + want.first)).ok());
    for (const auto& given : samples) {
      auto result = registry.Dispatch(name, Params(given.second));
      if (given.first == want.first) {
        BOOST_CHECK_MESSAGE(result.ok(), name << ": " << result.status().ToString());
      } else {
        BOOST_CHECK_MESSAGE(result.status().code() == ErrorCode::kBadArgument,
                            name << " given '" << given.first << "'");
        BOOST_CHECK_MESSAGE(Contains(result.status().message(), "argument 1 must be"),
                            result.status().message());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(star_accepts_any_type) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.any", "*:*i")).ok());
  for (const auto& sample : SampleOfEveryType()) {
    auto result = registry.Dispatch("test.any", Params(sample.second, Int(0)));
    BOOST_CHECK_MESSAGE(result.ok(),
                        "type '" << sample.first << "': " << result.status().ToString());
  }
  // '*' still counts as one argument, and the others are still checked.
  BOOST_CHECK_EQUAL(registry.Dispatch("test.any", Params(Int(0))).status().code(),
                    ErrorCode::kBadArgument);
  auto result = registry.Dispatch("test.any", Params(Int(0), Str("x")));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK(Contains(result.status().message(), "argument 2 must be int, got string"));
}

BOOST_AUTO_TEST_CASE(handler_status_passes_through) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry
                    .Register(Command{"test.missing", Audience::kClient, "s:", "help",
                                      [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                                        return Status::NotFound("nothing here");
                                      }})
                    .ok());
  auto result = registry.Dispatch("test.missing", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kNotFound);
  BOOST_CHECK_EQUAL(result.status().message(), "nothing here");
}

BOOST_AUTO_TEST_CASE(throwing_handler_is_internal) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry
                    .Register(Command{"test.throws", Audience::kClient, "s:", "help",
                                      [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                                        throw std::runtime_error("kaboom");
                                      }})
                    .ok());
  BOOST_REQUIRE(registry
                    .Register(Command{
                        "test.throws_int", Audience::kClient, "s:", "help",
                        [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> { throw 42; }})
                    .ok());
  // A handler that reads a wrong-typed argument: xmlrpc-c throws girerr::error.
  BOOST_REQUIRE(registry
                    .Register(Command{"test.misreads", Audience::kClient, "s:*", "help",
                                      [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
                                        return xmlrpc_c::value(
                                            xmlrpc_c::value_string(p.getString(0)));
                                      }})
                    .ok());

  auto result = registry.Dispatch("test.throws", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kInternal);
  BOOST_CHECK(Contains(result.status().message(), "kaboom"));
  BOOST_CHECK(Contains(result.status().message(), "test.throws"));

  BOOST_CHECK_EQUAL(registry.Dispatch("test.throws_int", Params()).status().code(),
                    ErrorCode::kInternal);
  BOOST_CHECK_EQUAL(registry.Dispatch("test.misreads", Params(Int(3))).status().code(),
                    ErrorCode::kInternal);
  BOOST_CHECK(registry.Dispatch("test.misreads", Params(Str("fine"))).ok());
}

BOOST_AUTO_TEST_CASE(list_methods_follows_registrations) {
  CommandRegistry registry;
  BOOST_CHECK(Listed(registry, "system.listMethods"));
  BOOST_CHECK(Listed(registry, "system.methodHelp"));
  BOOST_CHECK(Listed(registry, "system.methodSignature"));
  BOOST_CHECK(!Listed(registry, "test.b"));

  BOOST_REQUIRE(registry.Register(MakeCommand("test.b", "s:")).ok());
  BOOST_REQUIRE(registry.Register(MakeCommand("test.a", "s:")).ok());
  BOOST_CHECK(Listed(registry, "test.a"));
  BOOST_CHECK(Listed(registry, "test.b"));

  std::vector<std::string> expected = {"system.listMethods", "system.methodHelp",
                                       "system.methodSignature", "test.a", "test.b"};
  std::vector<std::string> names = registry.Names();
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), expected.begin(), expected.end());
  auto listed = registry.Dispatch("system.listMethods", Params());
  BOOST_REQUIRE(listed.ok());
  std::vector<std::string> listed_names = StringsOf(listed.value());
  BOOST_CHECK_EQUAL_COLLECTIONS(listed_names.begin(), listed_names.end(), expected.begin(),
                                expected.end());

  BOOST_REQUIRE(registry.Unregister("test.a"));
  BOOST_CHECK(!Listed(registry, "test.a"));
  BOOST_CHECK(Listed(registry, "test.b"));

  // system.listMethods takes no arguments.
  BOOST_CHECK_EQUAL(registry.Dispatch("system.listMethods", Params(Str("x"))).status().code(),
                    ErrorCode::kBadArgument);
}

BOOST_AUTO_TEST_CASE(method_help) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.helped", "s:", "Does a helpful thing.")).ok());
  auto help = registry.Dispatch("system.methodHelp", Params(Str("test.helped")));
  BOOST_REQUIRE_MESSAGE(help.ok(), help.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(help.value())),
                    "Does a helpful thing.\nAudience: client");

  // Note: a Result<xmlrpc_c::value> holding a value cannot be assigned to (xmlrpc-c's
  // value::operator= throws on an instantiated value), hence a fresh variable per call.
  auto builtin_help = registry.Dispatch("system.methodHelp", Params(Str("system.listMethods")));
  BOOST_REQUIRE(builtin_help.ok());
  BOOST_CHECK(!std::string(xmlrpc_c::value_string(builtin_help.value())).empty());

  auto unknown = registry.Dispatch("system.methodHelp", Params(Str("no.such")));
  BOOST_CHECK_EQUAL(unknown.status().code(), ErrorCode::kUnknownCommand);
  BOOST_CHECK(Contains(unknown.status().message(), "no.such"));

  BOOST_CHECK_EQUAL(registry.Dispatch("system.methodHelp", Params()).status().code(),
                    ErrorCode::kBadArgument);
  BOOST_CHECK_EQUAL(registry.Dispatch("system.methodHelp", Params(Int(1))).status().code(),
                    ErrorCode::kBadArgument);
}

BOOST_AUTO_TEST_CASE(method_signature) {
  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("test.multi", "S:s,S:si")).ok());
  BOOST_REQUIRE(registry.Register(MakeCommand("test.noargs", "n:")).ok());
  BOOST_REQUIRE(registry.Register(MakeCommand("test.exotic", "6:8t*")).ok());

  auto signatures = registry.Dispatch("system.methodSignature", Params(Str("test.multi")));
  BOOST_REQUIRE_MESSAGE(signatures.ok(), signatures.status().ToString());
  auto alternatives = xmlrpc_c::value_array(signatures.value()).vectorValueValue();
  BOOST_REQUIRE_EQUAL(alternatives.size(), 2u);
  std::vector<std::string> first = StringsOf(alternatives[0]);
  std::vector<std::string> second = StringsOf(alternatives[1]);
  std::vector<std::string> expected_first = {"struct", "string"};
  std::vector<std::string> expected_second = {"struct", "string", "int"};
  BOOST_CHECK_EQUAL_COLLECTIONS(first.begin(), first.end(), expected_first.begin(),
                                expected_first.end());
  BOOST_CHECK_EQUAL_COLLECTIONS(second.begin(), second.end(), expected_second.begin(),
                                expected_second.end());

  auto noargs = registry.Dispatch("system.methodSignature", Params(Str("test.noargs")));
  BOOST_REQUIRE(noargs.ok());
  auto noargs_alternatives = xmlrpc_c::value_array(noargs.value()).vectorValueValue();
  BOOST_REQUIRE_EQUAL(noargs_alternatives.size(), 1u);
  std::vector<std::string> only = StringsOf(noargs_alternatives[0]);
  BOOST_REQUIRE_EQUAL(only.size(), 1u);
  BOOST_CHECK_EQUAL(only[0], "nil");

  auto exotics = registry.Dispatch("system.methodSignature", Params(Str("test.exotic")));
  BOOST_REQUIRE(exotics.ok());
  auto exotic_alternatives = xmlrpc_c::value_array(exotics.value()).vectorValueValue();
  BOOST_REQUIRE_EQUAL(exotic_alternatives.size(), 1u);
  std::vector<std::string> exotic = StringsOf(exotic_alternatives[0]);
  std::vector<std::string> expected_exotic = {"base64", "i8", "dateTime.iso8601", "any"};
  BOOST_CHECK_EQUAL_COLLECTIONS(exotic.begin(), exotic.end(), expected_exotic.begin(),
                                expected_exotic.end());

  auto unknown = registry.Dispatch("system.methodSignature", Params(Str("no.such")));
  BOOST_CHECK_EQUAL(unknown.status().code(), ErrorCode::kUnknownCommand);
  BOOST_CHECK_EQUAL(registry.Dispatch("system.methodSignature", Params()).status().code(),
                    ErrorCode::kBadArgument);
}

BOOST_AUTO_TEST_CASE(system_commands_cannot_be_unregistered) {
  CommandRegistry registry;
  for (const char* name : {"system.listMethods", "system.methodHelp", "system.methodSignature"}) {
    BOOST_CHECK(!registry.Unregister(name));
    BOOST_CHECK(registry.Find(name));
  }
  BOOST_CHECK(!registry.Unregister("system.noSuchThing"));
  BOOST_CHECK(registry.Dispatch("system.listMethods", Params()).ok());
}

BOOST_AUTO_TEST_CASE(handlers_may_change_the_registry) {
  CommandRegistry registry;
  CommandRegistry* self = &registry;
  BOOST_REQUIRE(
      registry
          .Register(Command{"test.adder", Audience::kClient, "b:s", "Registers the named command.",
                            [self](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
                              Status s = self->Register(MakeCommand(p.getString(0), "s:"));
                              return xmlrpc_c::value(xmlrpc_c::value_boolean(s.ok()));
                            }})
          .ok());
  BOOST_REQUIRE(
      registry
          .Register(Command{"test.remover", Audience::kClient, "b:s", "Unregisters the named command.",
                            [self](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
                              bool removed = self->Unregister(p.getString(0));
                              return xmlrpc_c::value(xmlrpc_c::value_boolean(removed));
                            }})
          .ok());
  auto added = registry.Dispatch("test.adder", Params(Str("test.added")));
  BOOST_REQUIRE(added.ok());
  BOOST_CHECK(xmlrpc_c::value_boolean(added.value()));
  BOOST_CHECK(registry.Dispatch("test.added", Params()).ok());
  // A handler can even remove itself while it runs.
  auto removed = registry.Dispatch("test.remover", Params(Str("test.remover")));
  BOOST_REQUIRE(removed.ok());
  BOOST_CHECK(xmlrpc_c::value_boolean(removed.value()));
  BOOST_CHECK(!registry.Find("test.remover"));
}

BOOST_AUTO_TEST_CASE(unregistering_a_running_command_lets_the_call_finish) {
  CommandRegistry registry;
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false;
  bool released = false;
  BOOST_REQUIRE(registry
                    .Register(Command{"test.slow", Audience::kClient, "s:", "Waits until released.",
                                      [&](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                                        std::unique_lock<std::mutex> lock(mutex);
                                        entered = true;
                                        changed.notify_all();
                                        changed.wait_for(lock, std::chrono::seconds(30),
                                                         [&] { return released; });
                                        return xmlrpc_c::value(xmlrpc_c::value_string("done"));
                                      }})
                    .ok());
  Result<xmlrpc_c::value> result = Status::Internal("not run");
  std::thread caller([&] { result = registry.Dispatch("test.slow", Params()); });
  {
    std::unique_lock<std::mutex> lock(mutex);
    BOOST_CHECK(changed.wait_for(lock, std::chrono::seconds(30), [&] { return entered; }));
  }
  BOOST_CHECK(registry.Unregister("test.slow"));
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
    changed.notify_all();
  }
  caller.join();
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(result.value())), "done");
  BOOST_CHECK_EQUAL(registry.Dispatch("test.slow", Params()).status().code(),
                    ErrorCode::kUnknownCommand);
}

BOOST_AUTO_TEST_CASE(concurrent_dispatch_while_registering) {
  constexpr int kDispatchers = 8;
  constexpr int kCallsPerDispatcher = 3000;
  constexpr int kChurnRounds = 2000;
  constexpr int kChurnNames = 4;

  CommandRegistry registry;
  BOOST_REQUIRE(registry.Register(MakeCommand("stable.echo", "s:s")).ok());

  std::atomic<int> stable_failures{0};
  std::atomic<int> churn_ok{0};
  std::atomic<int> churn_unknown{0};
  std::atomic<int> churn_other{0};
  std::atomic<int> churn_register_failures{0};
  std::atomic<int> list_failures{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kDispatchers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerDispatcher; ++i) {
        std::string text = std::to_string(t) + "/" + std::to_string(i);
        auto result = registry.Dispatch("stable.echo", Params(Str(text)));
        if (!result.ok() || std::string(xmlrpc_c::value_string(result.value())) != text) {
          ++stable_failures;
        }
        std::string churn = "churn." + std::to_string(i % kChurnNames);
        auto churned = registry.Dispatch(churn, Params(Str(text)));
        if (churned.ok()) {
          ++churn_ok;
        } else if (churned.status().code() == ErrorCode::kUnknownCommand) {
          ++churn_unknown;
        } else {
          ++churn_other;
        }
        if (i % 100 == 0 && !registry.Dispatch("system.listMethods", Params()).ok()) {
          ++list_failures;
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kChurnRounds; ++i) {
      std::string name = "churn." + std::to_string(i % kChurnNames);
      if (!registry.Register(MakeCommand(name, "s:s")).ok()) ++churn_register_failures;
      if (!registry.Unregister(name)) ++churn_register_failures;
      if (i % 2 == 0 && !registry.Register(MakeCommand(name, "s:s")).ok()) {
        ++churn_register_failures;
      }
      // Leave odd rounds registered on even iterations, so dispatchers see both states.
      if (i % 2 == 1) registry.Unregister("churn." + std::to_string((i - 1) % kChurnNames));
    }
  });
  for (auto& thread : threads) thread.join();

  BOOST_CHECK_EQUAL(stable_failures.load(), 0);
  BOOST_CHECK_EQUAL(churn_other.load(), 0);
  BOOST_CHECK_EQUAL(churn_register_failures.load(), 0);
  BOOST_CHECK_EQUAL(list_failures.load(), 0);
  BOOST_CHECK_EQUAL(churn_ok.load() + churn_unknown.load(), kDispatchers * kCallsPerDispatcher);
  // Only the stable command and the built-ins remain.
  std::vector<std::string> names = registry.Names();
  std::vector<std::string> expected = {"stable.echo", "system.listMethods", "system.methodHelp",
                                       "system.methodSignature"};
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), expected.begin(), expected.end());
}
