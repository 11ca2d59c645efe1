// The one-shot `chord` client as a script uses it, against a real ring of chord-node processes:
// exit codes 0/1/2, --json that parses, put-file/get-file of a multi-megabyte random file back
// byte-identical, `ring --svg/--dot` pictures that are well-formed and show every node, and a
// script piped into `chord shell`.
#define BOOST_TEST_MODULE client
#define BOOST_TEST_DYN_LINK
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands/value_util.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "tests/common/test_setup.h"
#include "tools/node_process.h"
#include "tools/ring_walk.h"
#include "tools/shell.h"

using Clock = std::chrono::steady_clock;
namespace pt = boost::property_tree;

namespace {

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

using chord::testing::Scaled;
using chord::testing::ScaledMs;

// Fast maintenance; the call time-outs (defaults 5000 and 200 ms) stretched in sanitized builds,
// where a 1 MiB chunk's dht.set outlasted 5 s under TSan.
// clang-format off
const std::vector<std::string> kFast = {
    "--stabilize-ms", "100", "--fix-fingers-ms", "50", "--check-predecessor-ms", "200",
    "--log-level", "error", "--call-timeout-ms", ScaledMs(5000),
    "--min-call-timeout-ms", ScaledMs(200)};
// clang-format on

// The test's own calls: the default time-outs, stretched as the nodes' are.
chord::XmlRpcTransport::Options StretchedOptions() {
  chord::XmlRpcTransport::Options options;
  options.call_timeout_ms = int(options.call_timeout_ms * chord::testing::TimeScale());
  return options;
}

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `args` and `input` on stdin; kills it after a deadline.
Run RunProgram(const char* binary, const std::vector<std::string>& args,
               const std::string& input = "") {
  int in[2], out[2], err[2];
  BOOST_REQUIRE(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
                pipe2(err, O_CLOEXEC) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(binary)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary, argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Small inputs fit in the pipe buffer; close so the client sees the end of the script.
  BOOST_REQUIRE(write(in[1], input.data(), input.size()) == ssize_t(input.size()));
  close(in[1]);
  Run run;
  auto deadline = Clock::now() + Scaled(std::chrono::seconds(60));
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[4096];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? run.out : run.err).append(buffer, size_t(n));
      }
    }
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// Runs the chord client.
// In a sanitized build its call time-out is stretched as the nodes' are (kFast).
Run RunChord(std::vector<std::string> args, const std::string& input = "") {
  if (chord::testing::TimeScale() > 1 && !args.empty() && args[0] == "--ring") {
    args.insert(args.begin(), {"--call-timeout-ms", ScaledMs(5000)});
  }
  return RunProgram(CHORD_CLIENT_BINARY, args, input);
}

// Runs the chord client on a pseudo-terminal (stdin, stdout and stderr); returns the screen.
Run RunChordOnTerminal(const std::vector<std::string>& args) {
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(CHORD_CLIENT_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(CHORD_CLIENT_BINARY, argv.data());
    _exit(127);
  }
  Run run;
  for (auto deadline = Clock::now() + std::chrono::seconds(60); Clock::now() < deadline;) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;  // EIO once the child is gone
    run.out.append(buffer, size_t(n));
  }
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  close(master);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

pt::ptree ParseJson(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_json(in, tree);  // throws on malformed JSON, failing the test
  return tree;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// Every <g class="node"> of an SVG tree, by its data-address.
void CollectNodes(const pt::ptree& tree, std::set<std::string>* addresses) {
  for (const auto& [name, child] : tree) {
    if (name == "g" && child.get("<xmlattr>.class", "") == "node") {
      addresses->insert(child.get("<xmlattr>.data-address", ""));
    }
    CollectNodes(child, addresses);
  }
}

struct Ring {
  Ring() : launcher(CHORD_NODE_BINARY, kFast) {
    char pattern[] = "/tmp/chord_client_test.XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern));
    dir = pattern;
    auto first = launcher.Create();
    BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
    for (int i = 1; i < 5; ++i) {
      auto node = launcher.Join(launcher.addresses().front());
      BOOST_REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    }
    chord::XmlRpcTransport transport(StretchedOptions());
    std::string problem;
    for (auto deadline = Clock::now() + Scaled(std::chrono::seconds(30));
         Clock::now() < deadline;) {
      problem = chord::CheckRing(chord::WalkRing(&transport, launcher.addresses()[0], 7), 5);
      if (problem.empty()) break;
      poll(nullptr, 0, 50);  // bounded wait for stabilization
    }
    BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
    ring_file = dir + "/ring.txt";
    std::ofstream out(ring_file);
    out << "# written by the test\n";
    for (const auto& a : launcher.addresses()) out << a << "\n";
  }
  ~Ring() {
    launcher.StopAll(std::chrono::seconds(10));
    std::string command = "rm -rf '" + dir + "'";
    if (std::system(command.c_str()) != 0) BOOST_TEST_MESSAGE("could not remove " << dir);
  }
  chord::ProcessLauncher launcher;
  std::string dir;
  std::string ring_file;
};

Ring& TheRing() {
  static Ring ring;
  return ring;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exit_codes_are_0_found_1_not_found_2_errors) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  Run set = RunChord({"--ring", r, "set", "color", "blue"});
  BOOST_TEST(set.exit_code == 0, set.err);
  BOOST_TEST(set.out.find("stored \"color\"") != std::string::npos, set.out);
  Run get = RunChord({"--ring", r, "get", "color"});
  BOOST_TEST(get.exit_code == 0);
  BOOST_TEST(get.out.find("\"color\" = \"blue\"") != std::string::npos, get.out);
  Run via_node = RunChord({"--node", ring.launcher.addresses()[3], "get", "color"});
  BOOST_TEST(via_node.exit_code == 0);
  BOOST_TEST(via_node.out.find("answered by " + ring.launcher.addresses()[3]) != std::string::npos,
             via_node.out);
  BOOST_TEST(RunChord({"--ring", r, "get", "no-such-key"}).exit_code == 1);
  BOOST_TEST(RunChord({"--ring", r, "remove", "no-such-key"}).exit_code == 1);
  BOOST_TEST(RunChord({"--ring", r, "add", "color", "red"}).exit_code == 1);
  BOOST_TEST(RunChord({"--ring", r, "locate", "color"}).exit_code == 0);
  BOOST_TEST(RunChord({"--ring", r, "lookup", "abc"}).exit_code == 0);
  BOOST_TEST(RunChord({"--ring", r, "info"}).exit_code == 0);
  BOOST_TEST(RunChord({"--ring", r, "keys"}).exit_code == 0);
  Run stats = RunChord({"--ring", r, "stats"});
  BOOST_TEST(stats.exit_code == 0);
  // Issue 13: the transport's counters beside the keys (what GET /metrics shows in full).
  BOOST_TEST(stats.out.find("served      made  conns") != std::string::npos, stats.out);
  Run stats_json = RunChord({"--json", "--ring", r, "stats"});
  BOOST_TEST(stats_json.out.find("\"calls_served\":") != std::string::npos, stats_json.out);
  // ... and calls, faults and mean latency per command, summed over the ring (chord.metrics).
  BOOST_TEST(stats.out.find("command (calls served)") != std::string::npos, stats.out);
  BOOST_TEST(stats.out.find("dht.set ") != std::string::npos, stats.out);
  BOOST_TEST(stats_json.out.find("{\"command\":\"dht.get\",\"calls\":") != std::string::npos,
             stats_json.out);
  BOOST_TEST(RunChord({"--ring", r, "remove", "color"}).exit_code == 0);

  Run unknown = RunChord({"--ring", r, "frobnicate"});
  BOOST_TEST(unknown.exit_code == 2);
  BOOST_TEST(unknown.err.find("unknown command 'frobnicate'") != std::string::npos, unknown.err);
  BOOST_TEST(RunChord({"--ring", r, "get"}).exit_code == 2);
  BOOST_TEST(RunChord({"--ring", r, "join"}).exit_code == 2);
  BOOST_TEST(RunChord({"--ring", ring.dir + "/missing.txt", "get", "k"}).exit_code == 2);
  BOOST_TEST(RunChord({"--bogus-option", "get", "k"}).exit_code == 2);
  BOOST_TEST(RunChord({"--ring", r}).exit_code == 2);
  Run dead = RunChord({"--node", "127.0.0.1:1", "get", "k"});
  BOOST_TEST(dead.exit_code == 2);
  BOOST_TEST(dead.err.find("unavailable") != std::string::npos, dead.err);
  Run help = RunChord({"--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("put-file PATH NAME") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_output_parses) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  BOOST_REQUIRE(RunChord({"--ring", r, "set", "quote", "say \"hi\"\tand\\go"}).exit_code == 0);
  Run get = RunChord({"--ring", r, "--json", "get", "quote"});
  BOOST_REQUIRE(get.exit_code == 0);
  pt::ptree tree = ParseJson(get.out);
  BOOST_TEST(tree.get<std::string>("value") == "say \"hi\"\tand\\go");
  BOOST_TEST(tree.get<bool>("found"));
  BOOST_TEST(!tree.get<std::string>("owner.address").empty());
  BOOST_TEST(!tree.get<std::string>("answered_by").empty());
  BOOST_TEST(tree.get<int>("hops") >= 0);

  Run missing = RunChord({"--ring", r, "--json", "get", "no-such-key"});
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(!ParseJson(missing.out).get<bool>("found"));
  Run error = RunChord({"--json", "--node", "127.0.0.1:1", "get", "k"});
  BOOST_TEST(error.exit_code == 2);
  BOOST_TEST(ParseJson(error.out).get<std::string>("error") == "unavailable");
  for (std::vector<std::string> command : {std::vector<std::string>{"set", "j", "1"},
                                           {"add", "j", "2"},
                                           {"locate", "j"},
                                           {"lookup", "00"},
                                           {"info"},
                                           {"keys"},
                                           {"stats"},
                                           {"ring"},
                                           {"remove", "j"}}) {
    std::vector<std::string> args = {"--ring", r, "--json"};
    args.insert(args.end(), command.begin(), command.end());
    Run run = RunChord(args);
    BOOST_TEST(run.exit_code <= 1, command[0] << ": " << run.err);
    BOOST_CHECK_NO_THROW(ParseJson(run.out));
  }
  pt::ptree ring_tree = ParseJson(RunChord({"--ring", r, "--json", "ring"}).out);
  BOOST_TEST(ring_tree.get_child("nodes").size() == 5u);
  BOOST_TEST(ring_tree.get<bool>("correct"));
}

BOOST_AUTO_TEST_CASE(put_file_and_get_file_round_trip_a_large_file) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  std::string content(5 * 1024 * 1024 + 12345, '\0');
  std::mt19937 random(7);
  for (auto& c : content) c = char(random());
  const std::string source = ring.dir + "/source.bin", copy = ring.dir + "/copy.bin";
  std::ofstream(source, std::ios::binary) << content;

  auto started = Clock::now();
  Run put = RunChord({"--ring", r, "put-file", source, "big.bin"});
  BOOST_REQUIRE_MESSAGE(put.exit_code == 0, put.err);
  BOOST_TEST(
      put.out.find(std::to_string(content.size()) + " bytes in 21 chunks") != std::string::npos,
      put.out);
  Run get = RunChord({"--ring", r, "get-file", "big.bin", copy});
  BOOST_REQUIRE_MESSAGE(get.exit_code == 0, get.err);
  BOOST_TEST(get.out.find("verified") != std::string::npos, get.out);
  BOOST_TEST_MESSAGE(
      "5 MB put + get: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
      << " ms");
  BOOST_TEST((ReadAll(copy) == content));

  // Overwritten by a smaller file: the fetch gives the new one, the old chunks are gone.
  std::string small = "a small file\n";
  std::ofstream(source, std::ios::binary | std::ios::trunc) << small;
  BOOST_REQUIRE(RunChord({"--ring", r, "put-file", source, "big.bin"}).exit_code == 0);
  BOOST_REQUIRE(RunChord({"--ring", r, "get-file", "big.bin", copy}).exit_code == 0);
  BOOST_TEST(ReadAll(copy) == small);
  BOOST_TEST(RunChord({"--ring", r, "get", "big.bin#chunk-1"}).exit_code == 1);

  // An empty file, a missing file and a key that is not a file.
  std::ofstream(source, std::ios::binary | std::ios::trunc).flush();
  BOOST_REQUIRE(RunChord({"--ring", r, "put-file", source, "empty"}).exit_code == 0);
  BOOST_REQUIRE(RunChord({"--ring", r, "get-file", "empty", copy}).exit_code == 0);
  BOOST_TEST(ReadAll(copy).empty());
  BOOST_TEST(RunChord({"--ring", r, "get-file", "no-such-file", copy}).exit_code == 1);
  BOOST_REQUIRE(RunChord({"--ring", r, "set", "plain", "value"}).exit_code == 0);
  Run not_a_file = RunChord({"--ring", r, "get-file", "plain", copy});
  BOOST_TEST(not_a_file.exit_code == 2);
  BOOST_TEST(not_a_file.err.find("is not a file") != std::string::npos, not_a_file.err);
  BOOST_TEST(RunChord({"--ring", r, "put-file", ring.dir + "/nope", "x"}).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(ring_svg_is_well_formed_and_shows_every_node) {
  Ring& ring = TheRing();
  const std::string svg = ring.dir + "/ring.svg", dot = ring.dir + "/ring.dot";
  const auto addresses = ring.launcher.addresses();
  Run run = RunChord(
      {"--ring", ring.ring_file, "ring", "--svg", svg, "--dot", dot, "--fingers", addresses[1]});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  BOOST_TEST(run.out.find("ring of 5 nodes, correct") != std::string::npos, run.out);

  pt::ptree tree;
  BOOST_REQUIRE_NO_THROW(pt::read_xml(svg, tree));
  BOOST_TEST(tree.count("svg") == 1u);
  std::set<std::string> shown;
  CollectNodes(tree, &shown);
  BOOST_TEST(shown == std::set<std::string>(addresses.begin(), addresses.end()),
             boost::test_tools::per_element());
  // The chosen node's fingers are drawn, and named in the legend.
  std::string text = ReadAll(svg);
  BOOST_TEST(text.find("class=\"finger\"") != std::string::npos);
  BOOST_TEST(text.find("fingers of " + addresses[1]) != std::string::npos);

  std::string graph = ReadAll(dot);
  BOOST_TEST(graph.rfind("// Chord ring", 0) == 0u);
  for (const auto& a : addresses) {
    BOOST_TEST(graph.find("\"" + a + "\" [label=") != std::string::npos, a);
  }
  BOOST_TEST(graph.find("style=dashed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_script_piped_into_chord_shell) {
  Ring& ring = TheRing();
  Run run = RunChord({"--ring", ring.ring_file, "shell"},
                     "set piped yes\n"
                     "get piped\n"
                     "bogus\n"
                     "@" +
                         ring.launcher.addresses()[0] +
                         " get piped\n"
                         "quit\n"
                         "get piped\n");
  BOOST_TEST(run.exit_code == 2);  // a command of the script failed (issue 13, 6)
  BOOST_TEST(run.out.find("stored \"piped\"") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("unknown command 'bogus'") != std::string::npos, run.out);
  // Two gets before quit, none after it.
  size_t gets = 0;
  for (size_t at = run.out.find("\"piped\" = \"yes\""); at != std::string::npos;
       at = run.out.find("\"piped\" = \"yes\"", at + 1)) {
    ++gets;
  }
  BOOST_TEST(gets == 2u);
  BOOST_TEST(run.out.find("answered by " + ring.launcher.addresses()[0] + "]") !=
             std::string::npos);

  // join from a standalone shell starts a chord-node (next to chord) that the shell stops again.
  Run joined = RunChord({"--ring", ring.ring_file, "--node-binary", CHORD_NODE_BINARY, "shell"},
                        "join\nstats\n");
  BOOST_TEST(joined.exit_code == 0);
  BOOST_TEST(joined.out.find("started #5 127.0.0.1:") != std::string::npos, joined.out);
  BOOST_TEST(joined.err.find("stopping the 1 node(s) this shell started") != std::string::npos,
             joined.err);
}

// Issue 13, 1: the README's join with --id-bits 8 into a 160-bit ring failed with ids that "do
// not fit"; a joining node now takes the ring's size, and a mismatch it was given says what to do.
BOOST_AUTO_TEST_CASE(a_joining_node_takes_the_rings_id_bits_or_says_they_must_match) {
  Ring& ring = TheRing();
  std::vector<std::string> args = {"--join", ring.launcher.addresses()[0], "--id-bits", "8"};
  args.insert(args.end(), kFast.begin(), kFast.end());
  Run wrong = RunProgram(CHORD_NODE_BINARY, args);
  BOOST_TEST(wrong.exit_code == 1);
  BOOST_TEST(wrong.err.find("give --id-bits 160 or leave --id-bits out") != std::string::npos,
             wrong.err);

  std::vector<std::string> small = {"--id-bits", "8"};
  small.insert(small.end(), kFast.begin(), kFast.end());
  chord::ProcessLauncher eight_bits(CHORD_NODE_BINARY, small);
  auto first = eight_bits.Create();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  // Joins without --id-bits: the node takes the ring's 8 bits (two hex digits).
  chord::NodeProcess joined(CHORD_NODE_BINARY, {"--join", first->address, "--log-level", "error"});
  BOOST_REQUIRE_MESSAGE(joined.ok(), joined.error());
  BOOST_TEST(joined.id().size() == 2u, joined.id());
}

// Issue 13, 4: the client tried at most 4 members, so a ring file of 5 dead addresses and one
// live one failed a third of the time. It now tries every member, and learns the live ones.
BOOST_AUTO_TEST_CASE(a_ring_file_of_mostly_dead_members_still_works) {
  Ring& ring = TheRing();
  const std::string stale = ring.dir + "/stale.txt";
  {
    std::ofstream out(stale);
    for (int port = 1; port <= 5; ++port) out << "127.0.0.1:" << port << "\n";
    out << ring.launcher.addresses()[2] << "\n";
  }
  BOOST_REQUIRE(RunChord({"--ring", ring.ring_file, "set", "greeting", "hello"}).exit_code == 0);
  for (int i = 0; i < 20; ++i) {
    Run get = RunChord({"--ring", stale, "get", "greeting"});
    BOOST_TEST(get.exit_code == 0, get.err);
  }
  // Once a call passed over a dead member, the client knows the live members from the one that
  // answered. (Which member a call tries first is random: a few calls make one pass a dead one.)
  chord::XmlRpcTransport transport(StretchedOptions());
  chord::DhtClient client(&transport, {"127.0.0.1:1", "127.0.0.1:2", ring.launcher.addresses()[2]});
  std::set<std::string> known;
  for (int i = 0; i < 40 && known.size() < ring.launcher.addresses().size(); ++i) {
    BOOST_REQUIRE(client.Get("greeting").ok());
    known = std::set<std::string>(client.members().begin(), client.members().end());
  }
  for (const auto& a : ring.launcher.addresses()) BOOST_TEST(known.count(a) == 1u, a);
}

// Issue 13, 6: the small defects of the tools, each as the issue found it.
BOOST_AUTO_TEST_CASE(the_tools_small_defects) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  // --json errors before connecting are JSON too.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--json", "--ring", ring.dir + "/missing.txt", "get", "k"},
        {"--json", "--bogus-option", "get", "k"},
        {"--json", "--ring", r}}) {
    Run run = RunChord(args);
    BOOST_TEST(run.exit_code == 2);
    BOOST_TEST(ParseJson(run.out).get<std::string>("error") == "bad_argument", run.out);
  }
  // get-file NAME - writes the file to standard output, and nothing else.
  const std::string source = ring.dir + "/stdout.txt";
  std::ofstream(source, std::ios::binary) << "line one\nline two\n";
  BOOST_REQUIRE(RunChord({"--ring", r, "put-file", source, "to-stdout"}).exit_code == 0);
  Run to_stdout = RunChord({"--ring", r, "get-file", "to-stdout", "-"});
  BOOST_TEST(to_stdout.exit_code == 0, to_stdout.err);
  BOOST_TEST(to_stdout.out == "line one\nline two\n");
  BOOST_TEST(std::ifstream("-").fail());  // no file named "-"
  // A script with a failing line fails; one without does not.
  BOOST_TEST(RunChord({"--ring", r, "shell"}, "get k\nbogus\n").exit_code == 2);
  BOOST_TEST(RunChord({"--ring", r, "shell"}, "set k v\nget k\n").exit_code == 0);
  // --version on every tool.
  for (const char* tool : {CHORD_CLIENT_BINARY, CHORD_NODE_BINARY, CREATE_CHORD_BINARY,
                           CHORD_SIM_BINARY, CHORD_BENCH_BINARY}) {
    Run version = RunProgram(tool, {"--version"});
    BOOST_TEST(version.exit_code == 0, tool << ": " << version.err);
    BOOST_TEST(version.out.find(" 0.") != std::string::npos, version.out);
  }
  // chord --help lists no command that the one-shot client refuses.
  Run help = RunChord({"--help"});
  BOOST_TEST(help.out.find("  join ") == std::string::npos, help.out);
  BOOST_TEST(help.out.find("  kill NODE") == std::string::npos, help.out);
  // create_chord neither lists nor takes a node's --create and --join.
  Run launcher_help = RunProgram(CREATE_CHORD_BINARY, {"--help"});
  BOOST_TEST(launcher_help.out.find("--create") == std::string::npos, launcher_help.out);
  BOOST_TEST(launcher_help.out.find("--join") == std::string::npos, launcher_help.out);
  Run create = RunProgram(CREATE_CHORD_BINARY, {"1", "--create", "--no-shell"});
  BOOST_TEST(create.exit_code == 2);
  BOOST_TEST(create.err.find("--create") != std::string::npos, create.err);
  // put-file of a directory says so.
  Run directory = RunChord({"--ring", r, "put-file", ring.dir, "dir"});
  BOOST_TEST(directory.exit_code == 2);
  BOOST_TEST(directory.err.find("is a directory") != std::string::npos, directory.err);
  // A TTL beyond the nodes' limit says what the limit is.
  Run ttl = RunChord({"--ring", r, "set", "k", "v", "4000000000"});
  BOOST_TEST(ttl.exit_code == 2);
  BOOST_TEST(ttl.err.find("at most 315360000 seconds") != std::string::npos, ttl.err);
  BOOST_TEST(RunChord({"--ring", r, "set", "k", "v", "315360000"}).exit_code == 0);
}

// Issue 13, 8: long transfers showed no progress. On a terminal they do, on a line of its own
// that ends before the answer; through a pipe there is none.
BOOST_AUTO_TEST_CASE(long_transfers_show_progress_on_a_terminal_only) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  std::string content(6 * 1024 * 1024, '\0');
  std::mt19937 random(11);
  for (auto& c : content) c = char(random());
  const std::string source = ring.dir + "/progress.bin", copy = ring.dir + "/progress.copy";
  std::ofstream(source, std::ios::binary) << content;

  Run put = RunChordOnTerminal({"--ring", r, "put-file", source, "progress.bin"});
  BOOST_REQUIRE_MESSAGE(put.exit_code == 0, put.out);
  BOOST_TEST(put.out.find("\rput-file progress.bin: 6.0 of 6.0 MiB (100%)\x1b[K\r\nstored ") !=
                 std::string::npos,
             put.out);
  Run get = RunChordOnTerminal({"--ring", r, "get-file", "progress.bin", copy});
  BOOST_REQUIRE_MESSAGE(get.exit_code == 0, get.out);
  BOOST_TEST(get.out.find("\rget-file progress.bin: 6.0 of 6.0 MiB (100%)\x1b[K\r\nfetched ") !=
                 std::string::npos,
             get.out);
  BOOST_TEST((ReadAll(copy) == content));

  Run piped = RunChord({"--ring", r, "get-file", "progress.bin", copy});
  BOOST_TEST(piped.exit_code == 0);
  BOOST_TEST(piped.err.empty(), piped.err);
}

// `chord call`: any command, arguments typed from its signature; --raw for the value alone.
BOOST_AUTO_TEST_CASE(call_runs_any_command_with_typed_arguments) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  Run set = RunChord({"--ring", r, "call", "dht.set", "called", "by call"});
  BOOST_TEST(set.exit_code == 0, set.err);
  BOOST_TEST(set.out.find("\"stored\":true") != std::string::npos, set.out);
  Run get = RunChord({"--ring", r, "--json", "call", "dht.get", "called"});
  BOOST_REQUIRE_MESSAGE(get.exit_code == 0, get.err);
  pt::ptree tree = ParseJson(get.out);
  BOOST_TEST(tree.get<std::string>("result.value") == "by call");
  BOOST_TEST(tree.get<std::string>("method") == "dht.get");
  BOOST_TEST(!tree.get<std::string>("answered_by").empty());
  // An int argument is sent as an int: dht.keys takes its limit.
  Run keys = RunChord({"--ring", r, "--json", "call", "dht.keys", "1"});
  BOOST_TEST(keys.exit_code == 0, keys.err);
  BOOST_TEST(ParseJson(keys.out).get_child("result.keys").size() <= 1u);
  Run bad = RunChord({"--ring", r, "call", "dht.keys", "many"});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("argument 1 must be int") != std::string::npos, bad.err);
  Run unknown = RunChord({"--ring", r, "--json", "call", "no.such.command"});
  BOOST_TEST(unknown.exit_code == 2);
  BOOST_TEST(ParseJson(unknown.out).get<std::string>("error") == "unknown_command");
  Run arity = RunChord({"--ring", r, "call", "dht.get"});
  BOOST_TEST(arity.exit_code == 2);
  BOOST_TEST(arity.err.find("dht.get string") != std::string::npos, arity.err);
  // --raw: the value alone.
  Run raw_get = RunChord({"--ring", r, "--raw", "get", "called"});
  BOOST_TEST(raw_get.out == "by call\n");
  Run raw_call = RunChord({"--ring", r, "--raw", "call", "chord.ping"});
  BOOST_TEST(raw_call.exit_code == 0, raw_call.err);
  // In the shell too.
  Run shell = RunChord({"--ring", r, "shell"}, "call dht.get called\n");
  BOOST_TEST(shell.exit_code == 0);
  BOOST_TEST(shell.out.find("\"value\":\"by call\"") != std::string::npos, shell.out);
}

// `watch` and dht.watch: each new value as it comes; a long poll on the owner, bounded in time
// and in number (fault 8, busy, beyond 16 at once on one node); other nodes answer not_owner.
BOOST_AUTO_TEST_CASE(watch_prints_each_new_value) {
  Ring& ring = TheRing();
  const std::string r = ring.ring_file;
  BOOST_REQUIRE(RunChord({"--ring", r, "set", "watched", "first"}).exit_code == 0);
  Run watch;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    watch = RunChord({"--ring", r, "watch", "watched", "2", "30"});
    done = true;
  });
  chord::XmlRpcTransport transport(StretchedOptions());
  chord::DhtClient client(&transport, ring.launcher.addresses());
  // New values until the watcher has seen two of them (bounded: 100 writes, 30 s).
  // No BOOST_REQUIRE before the join: a throw would unwind `watch` under the running watcher.
  for (int i = 0; i < 100 && !done; ++i) {
    auto set = client.Set("watched", {"value " + std::to_string(i), false});
    BOOST_TEST(set.ok(), set.status().ToString());
    if (!set.ok()) break;
    poll(nullptr, 0, 300);  // paced, so that each value can be seen
  }
  watcher.join();
  BOOST_TEST(watch.exit_code == 0, watch.err);
  // The value found first, then two new ones, each on its own line.
  size_t lines = 0;
  for (size_t at = watch.out.find("\"watched\" = \""); at != std::string::npos;
       at = watch.out.find("\"watched\" = \"", at + 1)) {
    ++lines;
  }
  BOOST_TEST(lines == 3u, watch.out);
  // Nothing changes: exit 1 after the time given.
  Run idle = RunChord({"--ring", r, "--json", "watch", "watched", "1", "1"});
  BOOST_TEST(idle.exit_code == 1);
  BOOST_TEST(ParseJson(idle.out).get<std::string>("value").rfind("value ", 0) == 0u, idle.out);

  // The owner and a node that is not.
  auto location = client.Locate("watched");
  BOOST_REQUIRE(location.ok());
  const std::string owner = location->owner.address;
  std::string other;
  for (const auto& a : ring.launcher.addresses()) {
    if (a != owner) other = a;
  }
  auto state = client.Watch("watched", 0, 0);
  BOOST_REQUIRE(state.ok());
  const std::string version = std::to_string(state->version);
  auto params = [&](int timeout_ms) {
    xmlrpc_c::paramList p;
    p.add(xmlrpc_c::value_string("watched"));
    p.add(xmlrpc_c::value_string(version));
    p.add(xmlrpc_c::value_int(timeout_ms));
    return p;
  };
  auto stray = transport.Call(other, "dht.watch", params(0));
  BOOST_TEST(stray.status().code() == chord::ErrorCode::kNotOwner, stray.status().ToString());
  auto too_long = transport.Call(owner, "dht.watch", params(60001));
  BOOST_TEST(too_long.status().code() == chord::ErrorCode::kBadArgument);

  // 16 watches wait on the owner; the 17th is refused with busy; a write answers them all.
  chord::XmlRpcTransport::Options slow;
  slow.call_timeout_ms = 20000;
  chord::XmlRpcTransport long_calls(slow);
  std::vector<std::thread> waiters;
  std::vector<chord::Result<xmlrpc_c::value>> answers(16, chord::Status::Internal("not run"));
  for (int i = 0; i < 16; ++i) {
    waiters.emplace_back(
        [&, i] { answers[size_t(i)] = long_calls.Call(owner, "dht.watch", params(15000)); });
  }
  chord::Status seventeenth;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    seventeenth = transport.Call(owner, "dht.watch", params(0)).status();
    if (seventeenth.code() == chord::ErrorCode::kBusy) break;
    poll(nullptr, 0, 20);  // bounded wait until all 16 wait
  }
  BOOST_TEST(seventeenth.code() == chord::ErrorCode::kBusy, seventeenth.ToString());
  BOOST_TEST(chord::ErrorCodeName(seventeenth.code()) == std::string("busy"));
  auto started = Clock::now();
  BOOST_REQUIRE(client.Set("watched", {"wakes everyone", false}).ok());
  for (auto& t : waiters) t.join();
  BOOST_TEST((Clock::now() - started < std::chrono::seconds(10)));
  for (const auto& answer : answers) {
    BOOST_REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
    BOOST_TEST(chord::StructBool(answer.value(), "changed").value());
  }
  // Once they are answered, watching works again.
  BOOST_TEST(transport.Call(owner, "dht.watch", params(0)).ok());
}
