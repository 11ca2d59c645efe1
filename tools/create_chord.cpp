// create_chord: starts a local ring of N chord-node processes on 127.0.0.1 and keeps it up.
//
//   create_chord 8 [--base-port 5000] [--ring-file ring.txt] [--no-shell] [any node setting]
//   create_chord 8 --data-dir ROOT     node i keeps its data in ROOT/node-i; the same command
//                                      again brings the same ring back (ids, ports, keys)
//   create_chord 8 --vnodes 16         8 processes of 16 virtual nodes each: 128 members
//
// Every node setting (config file, --replicas, --id-bits, periods, --secret-file, --client-auth,
// ...) is passed on to each node; with --secret-file the launcher's own calls (and the shell's)
// are signed with the secret too. The launcher waits until the ring is verified correct (a walk of
// successors visits every node in id order), prints a table of the ring, writes the node addresses
// to the ring file, then opens the random-query shell (tools/shell.h) when stdin is a terminal, or
// waits for SIGINT/SIGTERM otherwise (--no-shell forces this). On exit the whole ring stops at
// once, without hand-offs (no node would be left to take the keys); nodes also get SIGTERM if the
// launcher itself dies, so none outlives it.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/any.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "overlay/node_host.h"
#include "settings/secret.h"
#include "settings/settings_parser.h"
#include "tools/progress.h"
#include "tools/ring_walk.h"
#include "tools/shell.h"

namespace po = boost::program_options;

namespace {

// Node settings given on the command line or in the config file, as chord-node arguments.
std::vector<std::string> ForwardedSettings(const po::variables_map& vm) {
  static const std::vector<std::string> kNotForwarded = {"create",
                                                         "join",
                                                         "port",
                                                         "config",
                                                         "help",
                                                         "nodes",
                                                         "base-port",
                                                         "ring-file",
                                                         "no-shell",
                                                         "node-binary",
                                                         "startup-timeout-s",
                                                         "data-dir",  // one per node, below
                                                         "vnodes",    // the launcher's
                                                         "version"};
  std::vector<std::string> args;
  for (const auto& [name, value] : vm) {
    if (value.defaulted() || value.empty()) continue;
    if (std::find(kNotForwarded.begin(), kNotForwarded.end(), name) != kNotForwarded.end()) {
      continue;
    }
    const boost::any& any = value.value();
    if (const int* i = boost::any_cast<int>(&any)) {
      args.insert(args.end(), {"--" + name, std::to_string(*i)});
    } else if (const std::string* s = boost::any_cast<std::string>(&any)) {
      args.insert(args.end(), {"--" + name, *s});
    } else if (const bool* b = boost::any_cast<bool>(&any)) {
      if (*b) args.push_back("--" + name);  // a switch such as --client-auth
    }
  }
  return args;
}

std::string KeysHeld(chord::Transport* transport, const std::string& address) {
  auto stats = chord::DhtClient(transport, {address}).Stats(address);
  if (!stats.ok()) return "-";
  return std::to_string(stats->stats.owned) + " (+" + std::to_string(stats->stats.replicas) +
         " replicas)";
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // the terminal went away: stop as on Ctrl-C
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // The shell takes SIGWINCH through a signalfd too; block it before any thread exists.
  sigset_t resize;
  sigemptyset(&resize);
  sigaddset(&resize, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &resize, nullptr);

  chord::SettingsParser parser("create_chord N");
  parser.tool_options().add_options()("nodes", po::value<int>()->value_name("N"),
                                      "number of nodes to start (positional)")(
      "base-port", po::value<int>()->default_value(0)->value_name("PORT"),
      "node i listens on PORT+i; 0 picks free ports")(
      "vnodes", po::value<int>()->default_value(1)->value_name("V"),
      "each process hosts V virtual nodes (chord-node --vnodes V): N*V members; with "
      "--base-port, process i listens on PORT+i*V..PORT+i*V+V-1")(
      "ring-file", po::value<std::string>()->default_value("ring.txt")->value_name("FILE"),
      "write the node addresses here, one HOST:PORT a line")(
      "no-shell", "do not open the shell; wait for SIGINT/SIGTERM")(
      "node-binary", po::value<std::string>()->default_value(chord::ProgramSibling("chord-node")),
      "the chord-node program to start")(
      "startup-timeout-s", po::value<int>()->default_value(60),
      "give up if the ring is not correct after this many seconds")("version",
                                                                    "print the version and exit");
  parser.positional().add("nodes", 1);
  // The launcher creates the ring itself: a node's --create and --join mean nothing here.
  parser.Exclude("create");
  parser.Exclude("join");
  chord::Settings settings;
  auto outcome = parser.Parse(argc, argv, &settings);
  if (outcome.help) {
    std::cout << outcome.message;
    return 0;
  }
  if (!outcome.ok) {
    std::cerr << "create_chord: " << outcome.message << "\n";
    return 2;
  }
  const auto& vm = parser.variables();
  if (vm.count("version")) {
    std::cout << "create_chord " << CHORD_VERSION << "\n";
    return 0;
  }
  if (!vm.count("nodes") || vm["nodes"].as<int>() < 1 || vm["nodes"].as<int>() > 1000) {
    std::cerr << "create_chord: give the number of nodes, 1..1000 (e.g. create_chord 8)\n";
    return 2;
  }
  const int processes = vm["nodes"].as<int>();
  const int vnodes = vm["vnodes"].as<int>();
  if (vnodes < 1 || vnodes > 256) {
    std::cerr << "create_chord: --vnodes must be 1..256\n";
    return 2;
  }
  const int count = processes * vnodes;  // members of the ring
  const int base_port = vm["base-port"].as<int>();
  const std::string binary = vm["node-binary"].as<std::string>();
  const bool open_shell = !vm.count("no-shell") && isatty(STDIN_FILENO);
  // The ring's secret: the nodes read the same file (--secret-file is passed on); the launcher
  // and its shell sign their own calls with it.
  std::string secret;
  if (!settings.secret_file.empty()) {
    auto loaded = chord::LoadSecret(settings.secret_file);
    if (!loaded.ok()) {
      std::cerr << "create_chord: " << loaded.status().message() << "\n";
      return 2;
    }
    secret = loaded.value();
  }
  std::vector<std::string> forwarded = ForwardedSettings(vm);
  // Node log lines would scramble the shell's screen: only warnings, unless asked otherwise.
  if (open_shell && vm["log-level"].defaulted()) {
    forwarded.insert(forwarded.end(), {"--log-level", "warning"});
  }
  // Room for the largest value a node may return (as base64) plus the envelope.
  chord::SetXmlSizeLimit(size_t(chord::kMaxValueBytesLimit) * 2 + (1u << 20));

  // Progress rewrites one line in place: only on a terminal, and only if the nodes, which share
  // it, do not log routine lines (at info, each join would break into the line).
  const std::string node_level =
      open_shell && vm["log-level"].defaulted() ? "warning" : settings.log_level;
  const bool quiet_nodes =
      node_level == "warning" || node_level == "error" || node_level == "fatal";
  chord::ProgressLine progress(std::cerr, chord::IsTerminal(STDERR_FILENO) && quiet_nodes);

  chord::ProcessLauncher launcher(binary, forwarded, base_port);
  launcher.set_data_root(settings.data_dir);
  launcher.set_vnodes(vnodes);
  std::mt19937 random(std::random_device{}());
  auto stop_all = [&launcher] { launcher.StopRing(std::chrono::seconds(15)); };
  for (int i = 0; i < processes; ++i) {
    auto addresses = launcher.addresses();
    auto node = i == 0 ? launcher.Create() : launcher.Join(addresses[random() % addresses.size()]);
    if (!node.ok()) {
      progress.Done();
      std::cerr << "create_chord: node " << i << ": " << node.status().message() << "\n";
      stop_all();
      return 1;
    }
    progress.Show("starting " + std::string(vnodes > 1 ? "processes: " : "nodes: ") +
                  std::to_string(launcher.size()) + "/" + std::to_string(processes));
  }

  chord::XmlRpcTransport transport(chord::TransportOptionsFrom(settings, secret));
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(vm["startup-timeout-s"].as<int>());
  chord::RingWalk walk;
  std::string problem = "not checked";
  for (int tick = 0; std::chrono::steady_clock::now() < deadline; ++tick) {
    walk = chord::WalkRing(&transport, launcher.addresses().front(), size_t(count) + 1);
    problem = chord::CheckRing(walk, size_t(count));
    if (problem.empty()) break;
    progress.Show("waiting for the ring to settle" + std::string(tick % 4, '.'));
    // Wait a little, but wake at once on Ctrl-C.
    timespec pause{0, 100 * 1000 * 1000};
    if (sigtimedwait(&stop_signals, nullptr, &pause) > 0) {
      progress.Done();
      std::cerr << "interrupted\n";
      stop_all();
      return 1;
    }
  }
  progress.Done();
  if (!problem.empty()) {
    std::cerr << "create_chord: the ring did not become correct: " << problem << "\n";
    stop_all();
    return 1;
  }
  std::cerr << "ring verified: " << count << " nodes in id order";
  if (vnodes > 1) std::cerr << " (" << processes << " processes of " << vnodes << " virtual nodes)";
  std::cerr << "\n";
  // Numbered in ring order from the lowest id, as the shell's `ring` lists them.
  std::rotate(walk.members.begin(),
              std::min_element(walk.members.begin(), walk.members.end(),
                               [](const chord::RingMember& a, const chord::RingMember& b) {
                                 return a.id < b.id;
                               }),
              walk.members.end());

  std::cout << std::left << std::setw(4) << "#" << std::setw(42) << "id" << std::setw(22)
            << "address"
            << "keys"
            << "\n";
  for (size_t i = 0; i < walk.members.size(); ++i) {
    const auto& m = walk.members[i];
    std::cout << std::setw(4) << i << std::setw(42) << m.id << std::setw(22) << m.address
              << KeysHeld(&transport, m.address) << "\n";
  }
  const std::string ring_file = vm["ring-file"].as<std::string>();
  {
    std::ofstream out(ring_file);
    for (const auto& m : walk.members) out << m.address << "\n";
    if (!out) {
      std::cerr << "create_chord: cannot write " << ring_file << "\n";
      stop_all();
      return 1;
    }
  }
  std::cout << "ring file: " << ring_file << "\n";
  if (open_shell) {
    std::vector<std::string> members;
    for (const auto& m : walk.members) members.push_back(m.address);
    chord::ShellOptions options;
    options.ring_file = ring_file;  // kept current as nodes join, leave or die
    options.progress = chord::IsTerminal(STDERR_FILENO);
    options.stream = &std::cout;
    options.watch_poll_ms = std::max(500, settings.call_timeout_ms - 1000);
    if (const char* home = std::getenv("HOME"); home && *home) {
      options.history_file = std::string(home) + "/.chord_history";
    }
    chord::Shell shell(&transport, members, &launcher, options);
    shell.RunTerminal(std::cout);
  } else {
    std::cout << "press Ctrl-C to stop the ring" << std::endl;
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
  }
  std::cerr << "stopping " << launcher.size() << (vnodes > 1 ? " processes...\n" : " nodes...\n");
  // The whole ring stops: there is no node left to hand keys to, so none tries.
  int unclean = launcher.StopRing(std::chrono::seconds(15));
  if (unclean) {
    std::cerr << unclean << " nodes did not exit cleanly\n";
    return 1;
  }
  std::cerr << "all nodes stopped\n";
  return 0;
}
