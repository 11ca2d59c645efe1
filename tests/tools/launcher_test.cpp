// create_chord as a user runs it: 8 nodes that answer through the ring file; SIGTERM makes it
// exit 0 with every node gone; SIGKILL of the launcher still takes every node down; on a
// terminal (a pseudo-terminal here) it opens the shell, which works and leaves no node behind;
// and with --secret-file the ring works for a `chord --secret-file` client but keeps out a node
// with another secret (and, with --client-auth, clients without it).
#define BOOST_TEST_MODULE launcher
#define BOOST_TEST_DYN_LINK
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "dht/dht_client.h"

using Clock = std::chrono::steady_clock;

namespace {

struct Setup {
  Setup() {
    boost::log::core::get()->set_filter(boost::log::trivial::severity >=
                                        boost::log::trivial::warning);
    chord::SetXmlSizeLimit(8u << 20);
    // Orphaned nodes (after the launcher is killed) become our children, so that the test can
    // see them exit instead of losing them to init.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
};
BOOST_GLOBAL_FIXTURE(Setup);

const std::vector<std::string> kFast = {
    "--stabilize-ms",         "100", "--fix-fingers-ms", "50",
    "--check-predecessor-ms", "200", "--log-level",      "error"};

std::string TempDir() {
  char pattern[] = "/tmp/chord_launcher_test.XXXXXX";
  BOOST_REQUIRE(mkdtemp(pattern));
  return pattern;
}

// Direct children of `parent`, from /proc.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (!proc) return children;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = pid_t(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    char state;
    pid_t ppid;
    if (rest >> state >> ppid && ppid == parent) children.push_back(pid);
  }
  closedir(proc);
  return children;
}

// True if `pid` is gone or a zombie.
bool Gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  std::istringstream rest(line.substr(line.rfind(')') + 1));
  char state = '?';
  rest >> state;
  return state == 'Z' || state == 'X';
}

// A create_chord child with stdout on a pipe (stdin /dev/null: no shell). With `log_info`, the
// nodes log at info level and stderr (theirs and the launcher's) goes to the same pipe.
struct Launcher {
  Launcher(const std::string& dir, int nodes, const std::vector<std::string>& extra = {},
           bool log_info = false) {
    ring_file = dir + "/ring.txt";
    int out[2];
    BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    std::vector<std::string> args = {CREATE_CHORD_BINARY, std::to_string(nodes), "--ring-file",
                                     ring_file,           "--node-binary",       CHORD_NODE_BINARY};
    args.insert(args.end(), kFast.begin(), kFast.end());
    if (log_info) args.back() = "info";
    args.insert(args.end(), extra.begin(), extra.end());
    pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      dup2(out[1], STDOUT_FILENO);
      if (log_info) dup2(out[1], STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(CREATE_CHORD_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd = out[0];
  }
  ~Launcher() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(stdout_fd);
  }
  // Reads stdout until `marker` shows up or the deadline passes.
  bool WaitFor(const std::string& marker, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (output.find(marker) == std::string::npos && Clock::now() < deadline) {
      pollfd p{stdout_fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t n = read(stdout_fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      output.append(buffer, size_t(n));
    }
    return output.find(marker) != std::string::npos;
  }
  // Waits for the exit; returns the wait status, or -1 after the deadline.
  int Wait(std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) return -1;
      poll(nullptr, 0, 20);  // bounded wait for the child
    }
    pid = -1;
    return status;
  }
  std::vector<std::string> Members() const {
    std::vector<std::string> members;
    std::ifstream in(ring_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) members.push_back(line);
    }
    return members;
  }

  pid_t pid = -1;
  int stdout_fd = -1;
  std::string ring_file;
  std::string output;
};

// What a finished program said.
struct Run {
  int exit_code = -1;  // 128 + signal if it was killed
  std::string out;     // stdout and stderr together
};

// Runs `binary args...` (stdin /dev/null) to its end; kills it after `limit`.
Run RunProgram(const std::string& binary, const std::vector<std::string>& args,
               std::chrono::seconds limit = std::chrono::seconds(30)) {
  int out[2];
  BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  Run run;
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(out[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    run.out.append(buffer, size_t(n));
  }
  close(out[0]);
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

std::string WriteSecret(const std::string& dir, const std::string& name,
                        const std::string& secret) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path);
  out << secret << "\n";
  BOOST_REQUIRE(out.good());
  return path;
}

std::string Lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Waits until every pid in `pids` has exited; reaps those that became our children.
bool AllGone(const std::vector<pid_t>& pids, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    bool all = true;
    for (pid_t p : pids) all = all && Gone(p);
    if (all) return true;
    poll(nullptr, 0, 20);  // bounded wait for the exits
  }
  return false;
}

// SIGTERM to create_chord: it must exit 0 within 30 s and take every node it started along.
void StopAndExpectClean(Launcher* launcher, const std::vector<pid_t>& nodes) {
  kill(launcher->pid, SIGTERM);
  int status = launcher->Wait(std::chrono::seconds(30));
  BOOST_REQUIRE(status != -1);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(AllGone(nodes, std::chrono::seconds(5)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(eight_nodes_answer_and_sigterm_stops_them_all) {
  const std::string dir = TempDir();
  Launcher launcher(dir, 8);
  BOOST_REQUIRE_MESSAGE(launcher.WaitFor("press Ctrl-C", std::chrono::seconds(60)),
                        launcher.output);
  BOOST_TEST(launcher.output.find("ring file: " + launcher.ring_file) != std::string::npos);
  auto members = launcher.Members();
  BOOST_REQUIRE(members.size() == 8u);
  std::vector<pid_t> nodes = ChildrenOf(launcher.pid);
  BOOST_REQUIRE(nodes.size() == 8u);

  // The ring answers through the ring file's members.
  chord::XmlRpcTransport transport({});
  chord::DhtClient client(&transport, members);
  for (int i = 0; i < 20; ++i) {
    auto set = client.Set("key" + std::to_string(i), {"value" + std::to_string(i), false});
    BOOST_REQUIRE_MESSAGE(set.ok(), set.status().ToString());
  }
  for (const auto& member : members) {
    auto got = client.Get("key7", member);
    BOOST_REQUIRE_MESSAGE(got.ok(), got.status().ToString());
    BOOST_TEST(got->value.bytes == "value7");
  }

  // The ring file is what `chord --ring FILE` reads.
  std::string chord_get = std::string(CHORD_CLIENT_BINARY) + " --ring '" + launcher.ring_file +
                          "' get key7 > /dev/null";
  int chord_status = std::system(chord_get.c_str());
  BOOST_TEST(WIFEXITED(chord_status));
  BOOST_TEST(WEXITSTATUS(chord_status) == 0);

  StopAndExpectClean(&launcher, nodes);
  for (const auto& member : members) {
    auto answer = transport.Call(member, "chord.ping", xmlrpc_c::paramList());
    BOOST_TEST(answer.status().code() == chord::ErrorCode::kUnavailable, member);
  }
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

// Issue 13, 2: stopping a ring of 8 nodes holding 200 keys printed dozens of failed hand-offs
// (nodes leaving together handed off to one another). The whole ring now stops quietly.
BOOST_AUTO_TEST_CASE(stopping_the_whole_ring_is_quiet) {
  const std::string dir = TempDir();
  Launcher launcher(dir, 8, {}, /*log_info=*/true);
  BOOST_REQUIRE_MESSAGE(launcher.WaitFor("press Ctrl-C", std::chrono::seconds(60)),
                        launcher.output);
  std::vector<pid_t> nodes = ChildrenOf(launcher.pid);
  chord::XmlRpcTransport transport({});
  chord::DhtClient client(&transport, launcher.Members());
  for (int i = 0; i < 200; ++i) {
    auto set = client.Set("key" + std::to_string(i), {"value" + std::to_string(i), false});
    BOOST_REQUIRE_MESSAGE(set.ok(), set.status().ToString());
  }
  StopAndExpectClean(&launcher, nodes);
  launcher.WaitFor("\x01", std::chrono::seconds(2));  // the rest of the output, to its end
  BOOST_TEST(launcher.output.find("all nodes stopped") != std::string::npos, launcher.output);
  BOOST_TEST(launcher.output.find("[warning]") == std::string::npos, launcher.output);
  BOOST_TEST(launcher.output.find("hand-off") == std::string::npos, launcher.output);
  // Issue 13, 3: progress and log lines ran together ("starting nodes: 1/62026-11-28 ...",
  // "leaving the ring2026-11-28 ..."). Off a terminal there is no progress line, and every log
  // record of the nine processes sharing the pipe starts a line of its own.
  BOOST_TEST(launcher.output.find('\r') == std::string::npos, launcher.output);
  std::regex stamp_inside_a_line("[^\n]\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\[");
  BOOST_TEST(!std::regex_search(launcher.output, stamp_inside_a_line), launcher.output);
  BOOST_TEST(launcher.output.find("[info] chord-node: ") != std::string::npos);
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

BOOST_AUTO_TEST_CASE(killing_the_launcher_takes_every_node_down) {
  const std::string dir = TempDir();
  Launcher launcher(dir, 3);
  BOOST_REQUIRE_MESSAGE(launcher.WaitFor("press Ctrl-C", std::chrono::seconds(60)),
                        launcher.output);
  std::vector<pid_t> nodes = ChildrenOf(launcher.pid);
  BOOST_REQUIRE(nodes.size() == 3u);
  kill(launcher.pid, SIGKILL);
  BOOST_REQUIRE(launcher.Wait(std::chrono::seconds(10)) != -1);
  // The nodes get SIGTERM from the kernel (parent-death signal), leave and exit.
  BOOST_TEST(AllGone(nodes, std::chrono::seconds(20)));
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

BOOST_AUTO_TEST_CASE(on_a_terminal_it_opens_the_shell_and_quit_stops_every_node) {
  const std::string dir = TempDir();
  int master = -1;
  std::vector<std::string> args = {CREATE_CHORD_BINARY, "4",
                                   "--ring-file",       dir + "/ring.txt",
                                   "--node-binary",     CHORD_NODE_BINARY};
  args.insert(args.end(), kFast.begin(), kFast.end());
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("HOME", dir.c_str(), 1);  // the history file goes there
    setenv("TERM", "dumb", 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(CREATE_CHORD_BINARY, argv.data());
    _exit(127);
  }
  std::string screen;
  auto read_until = [&](const std::string& marker, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (screen.find(marker) == std::string::npos && Clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t n = read(master, buffer, sizeof(buffer));
      if (n <= 0) break;
      screen.append(buffer, size_t(n));
    }
    return screen.find(marker) != std::string::npos;
  };
  auto type = [&](const std::string& text) {
    BOOST_REQUIRE(write(master, text.data(), text.size()) == ssize_t(text.size()));
  };
  BOOST_REQUIRE_MESSAGE(read_until("chord> ", std::chrono::seconds(60)), screen);
  std::vector<pid_t> nodes = ChildrenOf(pid);
  BOOST_TEST(nodes.size() == 4u);
  // On a terminal the progress line is shown, and ended before the next line.
  BOOST_TEST(screen.find("\rstarting nodes: 4/4\x1b[K") != std::string::npos, screen);
  BOOST_TEST(screen.find("\x1b[K\r\nring verified") != std::string::npos, screen);

  type("set tty works\r");
  BOOST_TEST(read_until("stored \"tty\"", std::chrono::seconds(10)), screen);
  type("get tty\r");
  BOOST_TEST(read_until("\"tty\" = \"works\"", std::chrono::seconds(10)), screen);
  // Ctrl-C drops the line being typed and must not reach the nodes.
  type("half a line\x03");
  BOOST_TEST(read_until("^C", std::chrono::seconds(10)), screen);
  type("ring\r");
  BOOST_TEST(read_until("ring of 4 nodes, correct", std::chrono::seconds(10)), screen);
  type("quit\r");

  int status = 0;
  bool exited = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
    read_until("\x01", std::chrono::seconds(0));  // drain the screen
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    poll(nullptr, 0, 20);  // bounded wait for the exit
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  BOOST_TEST_MESSAGE(screen);
  BOOST_TEST(exited);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(AllGone(nodes, std::chrono::seconds(5)));
  close(master);
  std::ifstream history(dir + "/.chord_history");
  std::string all((std::istreambuf_iterator<char>(history)), std::istreambuf_iterator<char>());
  BOOST_TEST(all.find("get tty") != std::string::npos, all);
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

// Needs the server side of the secret (XmlRpcServer refusing peer commands without proof).
BOOST_AUTO_TEST_CASE(a_ring_with_a_secret_serves_its_clients_and_keeps_other_nodes_out) {
  const std::string dir = TempDir();
  const std::string secret = WriteSecret(dir, "secret", "the ring's secret");
  const std::string other = WriteSecret(dir, "other", "another secret");
  Launcher launcher(dir, 3, {"--secret-file", secret});
  BOOST_REQUIRE_MESSAGE(launcher.WaitFor("press Ctrl-C", std::chrono::seconds(60)),
                        launcher.output);
  auto members = launcher.Members();
  BOOST_REQUIRE(members.size() == 3u);
  std::vector<pid_t> nodes = ChildrenOf(launcher.pid);
  BOOST_REQUIRE(nodes.size() == 3u);

  // The chord client signs its calls with the secret: set and get work.
  Run set = RunProgram(CHORD_CLIENT_BINARY, {"--ring", launcher.ring_file, "--secret-file", secret,
                                             "set", "guarded", "value"});
  BOOST_TEST(set.exit_code == 0, set.out);
  Run get = RunProgram(CHORD_CLIENT_BINARY,
                       {"--ring", launcher.ring_file, "--secret-file", secret, "get", "guarded"});
  BOOST_TEST(get.exit_code == 0, get.out);
  BOOST_TEST(get.out.find("\"guarded\" = \"value\"") != std::string::npos, get.out);
  // An unreadable secret file is a usage error of the client, before any call.
  Run missing = RunProgram(CHORD_CLIENT_BINARY, {"--ring", launcher.ring_file, "--secret-file",
                                                 dir + "/none", "get", "guarded"});
  BOOST_TEST(missing.exit_code == 2, missing.out);
  BOOST_TEST(missing.out.find("--secret-file " + dir + "/none") != std::string::npos, missing.out);

  // A node with another secret gets through chord.find_successor (a client command) but its
  // chord.prove (a peer command, verifying its successor) is refused: the join fails and the
  // node exits 1.
  Run intruder =
      RunProgram(CHORD_NODE_BINARY,
                 {"--join", members.front(), "--secret-file", other, "--log-level", "error"},
                 std::chrono::seconds(20));
  BOOST_TEST(intruder.exit_code == 1, intruder.out);
  // The refusal of chord.prove, for want of the secret. (Local::Join reports it as "refused:
  // successor ... does not answer: ... does not prove its id: <the refusal>".)
  BOOST_TEST(intruder.out.find("chord.prove") != std::string::npos, intruder.out);
  BOOST_TEST(Lower(intruder.out).find("secret") != std::string::npos, intruder.out);
  // The ring did not take it in.
  Run ring = RunProgram(CHORD_CLIENT_BINARY,
                        {"--ring", launcher.ring_file, "--secret-file", secret, "ring"});
  BOOST_TEST(ring.exit_code == 0, ring.out);
  BOOST_TEST(ring.out.find("ring of 3 nodes, correct") != std::string::npos, ring.out);

  StopAndExpectClean(&launcher, nodes);
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

// Needs the server side of the secret (client_auth refusing client commands without proof).
BOOST_AUTO_TEST_CASE(with_client_auth_only_clients_with_the_secret_are_served) {
  const std::string dir = TempDir();
  const std::string secret = WriteSecret(dir, "secret", "s3cret");
  const std::string other = WriteSecret(dir, "other", "not it");
  Launcher launcher(dir, 2, {"--secret-file", secret, "--client-auth"});
  BOOST_REQUIRE_MESSAGE(launcher.WaitFor("press Ctrl-C", std::chrono::seconds(60)),
                        launcher.output);
  std::vector<pid_t> nodes = ChildrenOf(launcher.pid);
  BOOST_REQUIRE(nodes.size() == 2u);

  Run set = RunProgram(CHORD_CLIENT_BINARY,
                       {"--ring", launcher.ring_file, "--secret-file", secret, "set", "k", "v"});
  BOOST_TEST(set.exit_code == 0, set.out);
  for (const std::vector<std::string>& without :
       {std::vector<std::string>{"--ring", launcher.ring_file, "get", "k"},
        std::vector<std::string>{"--ring", launcher.ring_file, "--secret-file", other, "get",
                                 "k"}}) {
    Run refused = RunProgram(CHORD_CLIENT_BINARY, without);
    BOOST_TEST(refused.exit_code == 2, refused.out);
    BOOST_TEST(Lower(refused.out).find("refused") != std::string::npos, refused.out);
  }
  Run get = RunProgram(CHORD_CLIENT_BINARY,
                       {"--ring", launcher.ring_file, "--secret-file", secret, "get", "k"});
  BOOST_TEST(get.exit_code == 0, get.out);

  StopAndExpectClean(&launcher, nodes);
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

// An unusable secret file stops every program before it does anything, naming the file.
BOOST_AUTO_TEST_CASE(an_unusable_secret_file_is_refused_up_front) {
  const std::string dir = TempDir();
  const std::string missing = dir + "/missing";
  const std::string empty = WriteSecret(dir, "empty", "");  // only the newline
  for (const std::string& file : {missing, empty}) {
    Run node = RunProgram(CHORD_NODE_BINARY, {"--create", "--secret-file", file});
    BOOST_TEST(node.exit_code == 1, node.out);
    BOOST_TEST(node.out.find("bad_argument: --secret-file " + file + ":") != std::string::npos,
               node.out);
    Run ring = RunProgram(CREATE_CHORD_BINARY,
                          {"2", "--no-shell", "--ring-file", dir + "/ring.txt", "--node-binary",
                           CHORD_NODE_BINARY, "--secret-file", file});
    BOOST_TEST(ring.exit_code == 2, ring.out);
    BOOST_TEST(ring.out.find("--secret-file " + file + ":") != std::string::npos, ring.out);
  }
  Run auth = RunProgram(CHORD_NODE_BINARY, {"--create", "--client-auth"});
  BOOST_TEST(auth.exit_code == 2, auth.out);
  BOOST_TEST(auth.out.find("--client-auth requires --secret-file") != std::string::npos, auth.out);
  BOOST_TEST(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}
