// The random-query shell, driven by scripts (as piped input would) against a real ring of
// chord-node processes started through ProcessLauncher: every command, the @HOST:PORT prefix,
// bad input of every kind, a killed node, join and leave; the shell never gives up.
#define BOOST_TEST_MODULE shell
#define BOOST_TEST_DYN_LINK
#include "tools/shell.h"

#include <poll.h>

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "tests/common/test_setup.h"
#include "tools/call_command.h"
#include "tools/ring_walk.h"

using Clock = std::chrono::steady_clock;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

const std::vector<std::string> kFast = {
    "--stabilize-ms", "100", "--fix-fingers-ms", "50",   "--check-predecessor-ms", "200",
    "--repair-ms",    "300", "--log-level",      "error"};

// Empty when a walk from any live member finds a correct ring of `expected` nodes within the
// deadline; otherwise the last problem seen.
std::string WaitForRing(chord::Transport* transport, const std::vector<std::string>& members,
                        size_t expected) {
  std::string problem = "no member";
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    for (const auto& start : members) {
      problem = chord::CheckRing(chord::WalkRing(transport, start, expected + 2), expected);
      if (problem.empty()) return "";
      if (problem.find("does not answer") == std::string::npos) break;
    }
    poll(nullptr, 0, 50);  // bounded wait for stabilization, not a test sleep
  }
  return problem;
}

// One ring for the whole suite: starting it is the slow part.
struct Ring {
  Ring() : launcher(CHORD_NODE_BINARY, kFast), transport({}) {
    auto first = launcher.Create();
    BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
    for (int i = 1; i < 5; ++i) {
      auto addresses = launcher.addresses();
      auto node = launcher.Join(addresses[size_t(i - 1)]);
      BOOST_REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    }
    std::string problem = WaitForRing(&transport, launcher.addresses(), 5);
    BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  }
  chord::ProcessLauncher launcher;
  chord::XmlRpcTransport transport;
};

Ring& TheRing() {
  static Ring ring;
  return ring;
}

// Runs `script` through a fresh shell; returns its output and sets *failed to the number of
// commands that failed.
std::string RunScript(chord::Shell& shell, const std::string& script, int* failed = nullptr) {
  std::istringstream in(script);
  std::ostringstream out;
  int f = shell.RunScript(in, out);
  if (failed) *failed = f;
  return out.str();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Lines of `text` that contain `part`.
size_t CountLines(const std::string& text, const std::string& part) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += Has(line, part);
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(tokenizer_handles_quotes_escapes_and_comments) {
  using chord::Shell;
  auto words = Shell::Tokenize(R"(set "two words" 'single "quoted"' a\b "x\"y\\z\n\x41" # note)");
  BOOST_REQUIRE(words.ok());
  std::vector<std::string> want = {"set", "two words", "single \"quoted\"", "a\\b", "x\"y\\z\nA"};
  BOOST_TEST(words.value() == want, boost::test_tools::per_element());
  BOOST_TEST(Shell::Tokenize("   ").value().empty());
  BOOST_TEST(Shell::Tokenize("# only a comment").value().empty());
  // "#3" names node 3 of the last listing; a '#' before anything else starts a comment.
  BOOST_TEST(Shell::Tokenize("kill #3 #x").value() == (std::vector<std::string>{"kill", "#3"}));
  BOOST_TEST(Shell::Tokenize("ab\"c d\"e").value() == std::vector<std::string>{"abc de"},
             boost::test_tools::per_element());
  BOOST_TEST(!Shell::Tokenize("get \"open").ok());
  BOOST_TEST(!Shell::Tokenize("get 'open").ok());
  BOOST_TEST(!Shell::Tokenize("get \"bad \\x4\"").ok());
}

BOOST_AUTO_TEST_CASE(data_commands_say_who_answered_who_owns_and_hops) {
  Ring& ring = TheRing();
  chord::Shell shell(&ring.transport, ring.launcher.addresses(), &ring.launcher);
  int failed = -1;
  std::string out = RunScript(shell,
                              "set apple red\n"
                              "set \"two words\" \"hello world\" 60\n"
                              "add apple green\n"
                              "add pear green\n"
                              "get apple\n"
                              "get \"two words\"\n"
                              "get nothing-here\n"
                              "locate apple\n"
                              "remove pear\n"
                              "remove pear\n"
                              "get pear\n",
                              &failed);
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(failed == 0);
  BOOST_TEST(Has(out, "stored \"apple\""));
  BOOST_TEST(Has(out, "\"apple\" exists already: not stored"));
  BOOST_TEST(Has(out, "added \"pear\""));
  BOOST_TEST(Has(out, "\"apple\" = \"red\""));
  BOOST_TEST(Has(out, "\"two words\" = \"hello world\""));
  BOOST_TEST(Has(out, "\"nothing-here\" not found"));
  BOOST_TEST(Has(out, "\"apple\" has id "));
  BOOST_TEST(Has(out, "copies on "));
  BOOST_TEST(Has(out, "removed \"pear\""));
  BOOST_TEST(Has(out, "\"pear\" was not there"));
  BOOST_TEST(Has(out, "\"pear\" not found"));
  // Eleven commands, each naming the owner, the hops and the member that answered.
  BOOST_TEST(CountLines(out, "[owner 127.0.0.1:") == 11u);
  BOOST_TEST(CountLines(out, ", answered by 127.0.0.1:") == 11u);

  // Exit codes and JSON of single commands (what the one-shot client prints).
  BOOST_TEST(shell.ExecuteLine("get apple").exit_code == 0);
  BOOST_TEST(shell.ExecuteLine("get nothing-here").exit_code == 1);
  BOOST_TEST(shell.ExecuteLine("add apple x").exit_code == 1);
  BOOST_TEST(shell.ExecuteLine("remove nothing-here").exit_code == 1);
  BOOST_TEST(shell.ExecuteLine("get").exit_code == 2);
  auto json = shell.ExecuteLine("get apple").json;
  BOOST_TEST(Has(json, "\"found\":true"));
  BOOST_TEST(Has(json, "\"value\":\"red\""));
  BOOST_TEST(Has(json, "\"answered_by\":\"127.0.0.1:"));
}

BOOST_AUTO_TEST_CASE(at_prefix_sends_to_the_named_node) {
  Ring& ring = TheRing();
  auto addresses = ring.launcher.addresses();
  chord::Shell shell(&ring.transport, addresses, &ring.launcher);
  BOOST_REQUIRE(shell.ExecuteLine("set fruit kiwi").exit_code == 0);
  for (const auto& address : addresses) {
    auto answer = shell.ExecuteLine("@" + address + " get fruit");
    BOOST_TEST(answer.exit_code == 0);
    BOOST_TEST(Has(answer.text, "answered by " + address + "]"), answer.text);
  }
  // "#1" of the listing and ":PORT" name nodes too.
  auto by_index = shell.ExecuteLine("@1 get fruit");
  BOOST_TEST(Has(by_index.text, "answered by " + shell.listed()[1] + "]"), by_index.text);
  auto port = addresses[2].substr(addresses[2].rfind(':'));
  auto by_port = shell.ExecuteLine("@" + port + " locate fruit");
  BOOST_TEST(Has(by_port.text, "answered by " + addresses[2] + "]"), by_port.text);
  // A dead address is a clear error, not a fail-over to another node.
  auto dead = shell.ExecuteLine("@127.0.0.1:1 get fruit");
  BOOST_TEST(dead.exit_code == 2);
  BOOST_TEST(Has(dead.text, "error: unavailable"), dead.text);
  BOOST_TEST(Has(dead.json, "\"error\":\"unavailable\""), dead.json);
}

BOOST_AUTO_TEST_CASE(ring_info_lookup_keys_stats_and_help) {
  Ring& ring = TheRing();
  chord::Shell shell(&ring.transport, ring.launcher.addresses(), &ring.launcher);
  int failed = -1;
  std::string out = RunScript(shell,
                              "set k1 v1\n"
                              "ring\n"
                              "info\n"
                              "info 0\n"
                              "lookup 00ff\n"
                              "keys 0\n"
                              "stats\n"
                              "stats 1\n"
                              "help\n"
                              "help get\n",
                              &failed);
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(failed == 0);
  BOOST_TEST(Has(out, "ring of 5 nodes, correct"));
  BOOST_TEST(CountLines(out, "predecessor  127.0.0.1:") == 2u);
  BOOST_TEST(CountLines(out, "successors    1. 127.0.0.1:") == 2u);
  BOOST_TEST(Has(out, "fingers      index"));
  BOOST_TEST(Has(out, "successor of 00ff is 127.0.0.1:"));
  BOOST_TEST(Has(out, " holds "));
  BOOST_TEST(Has(out, "total (5 nodes)"));
  BOOST_TEST(Has(out, "put-file PATH NAME"));
  BOOST_TEST(Has(out, "  get KEY"));
  // After `ring`, "#i" is the i-th node of the listing, in ring order.
  BOOST_REQUIRE(shell.listed().size() == 5u);
  auto info = shell.ExecuteLine("info 3");
  BOOST_TEST(Has(info.text, "node         " + shell.listed()[3]), info.text);
  BOOST_TEST(Has(info.json, "\"fingers\":["), info.json);
  // The key shows on the nodes holding it: owner plus two replicas.
  size_t holders = 0;
  for (size_t i = 0; i < 5; ++i) {
    holders += Has(shell.ExecuteLine("keys " + std::to_string(i)).text, "\"k1\"");
  }
  BOOST_TEST(holders == 3u);
}

// The README's "\x00\x01\xff" escapes give bytes an XML-RPC string cannot carry: such a value
// travels as base64 and comes back byte-identical (as binary); plain text stays a string.
BOOST_AUTO_TEST_CASE(escaped_bytes_travel_as_binary_and_come_back_identical) {
  Ring& ring = TheRing();
  chord::Shell shell(&ring.transport, ring.launcher.addresses(), &ring.launcher);
  int failed = -1;
  std::string out = RunScript(shell,
                              "set raw \"\\x00\\x01\\xff\"\n"
                              "get raw\n"
                              "set text \"caf\\xc3\\xa9 \\x41\\tb\\nc\"\n"
                              "set cr \"a\\x0db\"\n"
                              "get text\n",
                              &failed);
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(failed == 0);
  BOOST_TEST(Has(out, "stored \"raw\""));
  BOOST_TEST(Has(out, "\"raw\" = <binary, 3 bytes: 0001ff>"));
  BOOST_TEST(Has(out, "\"text\" = \"caf\xc3\xa9 A\\tb\\nc\""));

  auto raw = shell.client().Get("raw");
  BOOST_REQUIRE_MESSAGE(raw.ok(), raw.status().ToString());
  BOOST_REQUIRE(raw->ok);
  BOOST_TEST(raw->value.binary);
  BOOST_TEST((raw->value.bytes == std::string("\x00\x01\xff", 3)));
  auto text = shell.client().Get("text");
  BOOST_REQUIRE_MESSAGE(text.ok(), text.status().ToString());
  BOOST_REQUIRE(text->ok);
  BOOST_TEST(!text->value.binary);
  BOOST_TEST(text->value.bytes == "caf\xc3\xa9 A\tb\nc");
  // A CR would come back from an XML-RPC string as LF: it goes as binary.
  auto cr = shell.client().Get("cr");
  BOOST_REQUIRE(cr.ok() && cr->ok);
  BOOST_TEST(cr->value.binary);
  BOOST_TEST(cr->value.bytes == "a\rb");

  // Words that are not valid UTF-8 (as the one-shot client passes argv) go as binary too.
  const std::string invalid("ok\xc3(\xed\xa0\x80\xef\xbf\xbf", 10);
  BOOST_TEST(shell.Execute({"set", "invalid", invalid}).exit_code == 0);
  auto back = shell.client().Get("invalid");
  BOOST_REQUIRE(back.ok() && back->ok);
  BOOST_TEST(back->value.binary);
  BOOST_TEST((back->value.bytes == invalid));
  // --json gives the binary value as base64.
  chord::ShellOptions json;
  json.json = true;
  chord::Shell json_shell(&ring.transport, ring.launcher.addresses(), nullptr, json);
  auto answer = json_shell.ExecuteLine("get raw");
  BOOST_TEST(Has(answer.json, "\"value\":\"AAH/\",\"binary\":true"), answer.json);
}

BOOST_AUTO_TEST_CASE(bad_input_gets_a_clear_message_and_the_shell_goes_on) {
  Ring& ring = TheRing();
  chord::Shell shell(&ring.transport, ring.launcher.addresses(), &ring.launcher);
  int failed = -1;
  std::string out = RunScript(shell,
                              "frobnicate\n"
                              "get\n"
                              "set onlykey\n"
                              "set k hello world\n"
                              "get \"unterminated\n"
                              "lookup not-hex\n"
                              "info 99\n"
                              "info nonsense\n"
                              "keys 127.0.0.1:1\n"
                              "ring --svg\n"
                              "@nowhere get k\n"
                              "@127.0.0.1:2\n"
                              "help nosuchcommand\n"
                              "\n"
                              "   # a comment\n"
                              "set still alive\n"
                              "get still\n",
                              &failed);
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(failed == 13);
  BOOST_TEST(CountLines(out, "error: ") == 13u);
  BOOST_TEST(Has(out, "unknown command 'frobnicate'; type help"));
  BOOST_TEST(Has(out, "usage: get KEY"));
  BOOST_TEST(Has(out, "usage: set KEY VALUE [TTL] (quote a value"));
  BOOST_TEST(Has(out, "TTL must be a whole number of seconds, not 'world'"));
  BOOST_TEST(Has(out, "unterminated \" quote"));
  BOOST_TEST(Has(out, "'not-hex' is not an id"));
  BOOST_TEST(Has(out, "there is no node #99"));
  BOOST_TEST(Has(out, "'nonsense' is not a node"));
  BOOST_TEST(Has(out, "error: unavailable: dht.keys on 127.0.0.1:1"));
  BOOST_TEST(Has(out, "usage: ring [--svg FILE]"));
  BOOST_TEST(Has(out, "'nowhere' is not a node"));
  BOOST_TEST(Has(out, "no command after @127.0.0.1:2"));
  BOOST_TEST(Has(out, "no command 'nosuchcommand'"));
  BOOST_TEST(Has(out, "\"still\" = \"alive\""));

  // quit ends the script; nothing after it runs.
  out = RunScript(shell, "set q 1\nquit\nset q 2\n", &failed);
  BOOST_TEST(CountLines(out, "stored") == 1u);
  BOOST_TEST(shell.ExecuteLine("exit").quit);
}

BOOST_AUTO_TEST_CASE(join_kill_and_leave_through_the_launcher) {
  Ring& ring = TheRing();
  // Issue 13, 4: the ring file follows join, kill and leave.
  char dir[] = "/tmp/chord_shell_test.XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir));
  chord::ShellOptions options;
  options.ring_file = std::string(dir) + "/ring.txt";
  auto ring_file = [&] {
    std::ifstream in(options.ring_file);
    std::set<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.insert(line);
    return lines;
  };
  auto launched = [&] {
    auto a = ring.launcher.addresses();
    return std::set<std::string>(a.begin(), a.end());
  };
  chord::Shell shell(&ring.transport, ring.launcher.addresses(), &ring.launcher, options);
  BOOST_REQUIRE(shell.ExecuteLine("set survivor here").exit_code == 0);

  // join: a sixth node, in the ring once its neighbours point to it.
  auto joined = shell.ExecuteLine("join");
  BOOST_REQUIRE_MESSAGE(joined.exit_code == 0, joined.text);
  BOOST_TEST(Has(joined.text, "started #5 127.0.0.1:"), joined.text);
  BOOST_REQUIRE(ring.launcher.size() == 6u);
  BOOST_REQUIRE(WaitForRing(&ring.transport, ring.launcher.addresses(), 6).empty());
  BOOST_TEST((ring_file() == launched()));
  auto listing = shell.ExecuteLine("ring");
  BOOST_TEST(Has(listing.text, "ring of 6 nodes, correct"), listing.text);
  // Issue 13, 5: numbers are stable: `join` said #5, and `ring` lists that node as #5 (it listed
  // nodes by their place in a walk from a random member, so numbers changed between listings).
  auto numbered = [&](const std::string& listing_text, size_t number) {
    std::istringstream in(listing_text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(std::to_string(number) + " ", 0) == 0) {
        return line.find(shell.listed()[number] + " ") != std::string::npos;
      }
    }
    return false;
  };
  const std::vector<std::string> launched_order = ring.launcher.addresses();
  for (size_t i = 0; i < launched_order.size(); ++i) {
    BOOST_TEST(shell.listed()[i] == launched_order[i]);
    BOOST_TEST(numbered(listing.text, i), listing.text);
  }
  for (int again = 0; again < 3; ++again) {
    auto next = shell.ExecuteLine("ring");
    for (size_t i = 0; i < launched_order.size(); ++i) {
      BOOST_TEST(numbered(next.text, i), next.text);
    }
  }

  // kill: the node dies without notice; asking it is a clear error, the rest carries on.
  const std::string victim = shell.listed()[2];
  auto killed = shell.ExecuteLine("kill 2");
  BOOST_TEST(killed.exit_code == 0);
  BOOST_TEST(Has(killed.text, "killed " + victim + " without notice"), killed.text);
  BOOST_TEST(ring.launcher.size() == 5u);
  BOOST_TEST((ring_file() == launched()));
  auto dead = shell.ExecuteLine("info " + victim);
  BOOST_TEST(dead.exit_code == 2);
  BOOST_TEST(Has(dead.text, "error: unavailable: chord.info on " + victim), dead.text);
  auto dead_via = shell.ExecuteLine("@" + victim + " get survivor");
  BOOST_TEST(Has(dead_via.text, "error: unavailable"), dead_via.text);
  // The killed node is out of the member list: random queries never pick it.
  for (int i = 0; i < 10; ++i) {
    auto stats = shell.ExecuteLine("stats");
    BOOST_TEST(!Has(stats.text, victim), stats.text);
  }
  // The key survives on its replicas once the ring has closed around the hole.
  BOOST_REQUIRE(WaitForRing(&ring.transport, ring.launcher.addresses(), 5).empty());
  chord::ShellAnswer got;
  for (auto deadline = Clock::now() + std::chrono::seconds(15); Clock::now() < deadline;) {
    got = shell.ExecuteLine("get survivor");
    if (got.exit_code == 0) break;
    poll(nullptr, 0, 50);
  }
  BOOST_TEST(Has(got.text, "\"survivor\" = \"here\""), got.text);

  // leave: graceful, the ring closes at once.
  auto listing2 = shell.ExecuteLine("ring");
  BOOST_REQUIRE_MESSAGE(listing2.exit_code == 0, listing2.text);
  const std::string leaver = shell.listed()[0];
  auto left = shell.ExecuteLine("leave 0");
  BOOST_TEST(left.exit_code == 0);
  BOOST_TEST(Has(left.text, leaver + " left the ring gracefully"), left.text);
  BOOST_TEST(ring.launcher.size() == 4u);
  BOOST_REQUIRE(WaitForRing(&ring.transport, ring.launcher.addresses(), 4).empty());
  BOOST_TEST((ring_file() == launched()));
  BOOST_TEST(std::system(("rm -rf '" + std::string(dir) + "'").c_str()) == 0);
  BOOST_TEST(shell.ExecuteLine("get survivor").exit_code == 0);

  // Nodes this launcher did not start cannot be stopped from here.
  auto foreign = shell.ExecuteLine("kill 127.0.0.1:1");
  BOOST_TEST(foreign.exit_code == 2);
  BOOST_TEST(Has(foreign.text, "only nodes started by this shell or by create_chord"),
             foreign.text);
  BOOST_TEST(shell.ExecuteLine("leave " + victim).exit_code == 2);

  // Without a launcher, join/leave/kill say why they cannot work.
  chord::Shell plain(&ring.transport, ring.launcher.addresses(), nullptr);
  for (const char* line : {"join", "leave 0", "kill 0"}) {
    auto answer = plain.ExecuteLine(line);
    BOOST_TEST(answer.exit_code == 2);
    BOOST_TEST(Has(answer.text, "error: refused"), answer.text);
  }
}

BOOST_AUTO_TEST_CASE(no_member_answers_is_a_clear_message) {
  chord::XmlRpcTransport transport({});
  chord::Shell shell(&transport, {"127.0.0.1:1", "127.0.0.1:2"}, nullptr);
  auto answer = shell.ExecuteLine("get k");
  BOOST_TEST(answer.exit_code == 2);
  BOOST_TEST(Has(answer.text, "no member answered (tried 127.0.0.1:1, 127.0.0.1:2)"), answer.text);
  chord::Shell empty(&transport, {}, nullptr);
  BOOST_TEST(Has(empty.ExecuteLine("ring").text, "no ring member is known"));
  BOOST_TEST(Has(empty.ExecuteLine("stats").text, "no ring member is known"));
}

// `call`'s argument typing, without a ring: each signature type from a word.
BOOST_AUTO_TEST_CASE(call_types_arguments_from_the_signature) {
  auto params = chord::TypedParams(
      {"int", "i8", "boolean", "double", "string", "base64", "array", "struct"},
      {"-7", "9000000000", "true", "2.5", "two words", "\x01\xff", "[1, \"a\", [true], 5000000000]",
       "{\"name\": \"x\\u00e9\\ud83d\\ude00\", \"n\": 1.5}"});
  BOOST_REQUIRE_MESSAGE(params.ok(), params.status().ToString());
  const xmlrpc_c::paramList& p = params.value();
  BOOST_TEST(p.getInt(0) == -7);
  BOOST_TEST(p.getI8(1) == 9000000000LL);
  BOOST_TEST(p.getBoolean(2));
  BOOST_TEST(p.getDouble(3) == 2.5);
  BOOST_TEST(p.getString(4) == "two words");
  BOOST_TEST(p.getBytestring(5).size() == 2u);
  BOOST_TEST(chord::ValueToJson(p[6]) == "[1,\"a\",[true],5000000000]");
  BOOST_TEST(chord::ValueToJson(p[7]) == "{\"n\":1.5,\"name\":\"x\xc3\xa9\xf0\x9f\x98\x80\"}");

  for (auto [type, word] :
       std::vector<std::pair<std::string, std::string>>{{"int", "x"},
                                                        {"int", "4000000000"},
                                                        {"boolean", "maybe"},
                                                        {"double", "1.5x"},
                                                        {"array", "{}"},
                                                        {"struct", "[1"},
                                                        {"struct", std::string(100, '[')}}) {
    auto wrong = chord::TypedParams({type}, {word});
    BOOST_TEST(!wrong.ok(), type << " " << word);
    BOOST_TEST(wrong.status().code() == chord::ErrorCode::kBadArgument);
    BOOST_TEST(Has(wrong.status().message(), "argument 1 must be " + type),
               wrong.status().message());
  }
  // The alternative with as many arguments as given; without a signature, strings.
  xmlrpc_c::value signatures = xmlrpc_c::value_array(
      {xmlrpc_c::value_array({xmlrpc_c::value_string("struct"), xmlrpc_c::value_string("string")}),
       xmlrpc_c::value_array({xmlrpc_c::value_string("struct"), xmlrpc_c::value_string("string"),
                              xmlrpc_c::value_string("int")})});
  BOOST_TEST(chord::ArgumentTypes("m", signatures, 2).value().back() == "int");
  BOOST_TEST(
      Has(chord::ArgumentTypes("m", signatures, 3).status().message(), "m string | m string int"));
  BOOST_TEST(chord::ArgumentTypes("m", xmlrpc_c::value_string("undef"), 2).value().size() == 2u);
}
