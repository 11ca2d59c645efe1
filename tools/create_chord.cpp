// create_chord: starts a local ring of N chord-node processes on 127.0.0.1 and keeps it up.
//
//   create_chord 8 [--base-port 5000] [--ring-file ring.txt] [--no-shell] [any node setting]
//
// Every node setting (config file, --replicas, --id-bits, periods, ...) is passed on to each
// node. The launcher waits until the ring is verified correct (a walk of successors visits every
// node in id order), prints a table of the ring, writes the node addresses to the ring file, and
// waits for SIGINT/SIGTERM. On exit every node leaves gracefully; nodes also get SIGTERM if the
// launcher itself dies, so none outlives it.
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <boost/any.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>

#include "commands/value_util.h"
#include "commands/xmlrpc_transport.h"
#include "settings/settings_parser.h"
#include "tools/node_process.h"
#include "tools/ring_walk.h"

namespace po = boost::program_options;

namespace {

std::string SiblingBinary(const std::string& name) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return name;
  std::string self(path, size_t(n));
  return self.substr(0, self.rfind('/') + 1) + name;
}

// Node settings given on the command line or in the config file, as chord-node arguments.
std::vector<std::string> ForwardedSettings(const po::variables_map& vm) {
  static const std::vector<std::string> kNotForwarded = {
      "create", "join", "port", "config", "help", "nodes", "base-port", "ring-file",
      "no-shell", "node-binary", "startup-timeout-s"};
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
    }
  }
  return args;
}

std::string KeysHeld(chord::Transport* transport, const std::string& address) {
  auto stats = transport->Call(address, "dht.stats", xmlrpc_c::paramList());
  if (!stats.ok()) return "-";
  auto owned = chord::StructInt(stats.value(), "owned");
  auto replicas = chord::StructInt(stats.value(), "replicas");
  if (!owned.ok()) return "-";
  return std::to_string(owned.value()) + (replicas.ok() ? " (+" + std::to_string(replicas.value()) + " replicas)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  chord::SettingsParser parser("create_chord N");
  parser.tool_options().add_options()
      ("nodes", po::value<int>()->value_name("N"), "number of nodes to start (positional)")
      ("base-port", po::value<int>()->default_value(0)->value_name("PORT"),
       "node i listens on PORT+i; 0 picks free ports")
      ("ring-file", po::value<std::string>()->default_value("ring.txt")->value_name("FILE"),
       "write the node addresses here, one HOST:PORT a line")
      ("no-shell", "do not open the shell; wait for SIGINT/SIGTERM")
      ("node-binary", po::value<std::string>()->default_value(SiblingBinary("chord-node")),
       "the chord-node program to start")
      ("startup-timeout-s", po::value<int>()->default_value(60),
       "give up if the ring is not correct after this many seconds");
  parser.positional().add("nodes", 1);
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
  if (!vm.count("nodes") || vm["nodes"].as<int>() < 1 || vm["nodes"].as<int>() > 1000) {
    std::cerr << "create_chord: give the number of nodes, 1..1000 (e.g. create_chord 8)\n";
    return 2;
  }
  const int count = vm["nodes"].as<int>();
  const int base_port = vm["base-port"].as<int>();
  const std::string binary = vm["node-binary"].as<std::string>();
  const std::vector<std::string> forwarded = ForwardedSettings(vm);

  std::vector<std::unique_ptr<chord::NodeProcess>> nodes;
  std::mt19937 random(std::random_device{}());
  auto stop_all = [&nodes] {
    for (auto& node : nodes) kill(node->pid(), SIGTERM);  // all leave in parallel
    for (auto& node : nodes) node->Stop(std::chrono::seconds(15));
  };
  for (int i = 0; i < count; ++i) {
    std::vector<std::string> args = forwarded;
    args.insert(args.end(), {"--port", std::to_string(base_port ? base_port + i : 0)});
    if (i == 0) {
      args.push_back("--create");
    } else {
      args.insert(args.end(), {"--join", nodes[random() % nodes.size()]->address()});
    }
    auto node = std::make_unique<chord::NodeProcess>(binary, args);
    if (!node->ok()) {
      std::cerr << "\ncreate_chord: node " << i << " did not start: " << node->error() << "\n";
      stop_all();
      return 1;
    }
    nodes.push_back(std::move(node));
    std::cerr << "\rstarting nodes: " << nodes.size() << "/" << count << std::flush;
  }
  std::cerr << "\n";

  chord::XmlRpcTransport transport({});
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(vm["startup-timeout-s"].as<int>());
  chord::RingWalk walk;
  std::string problem = "not checked";
  for (int tick = 0; std::chrono::steady_clock::now() < deadline; ++tick) {
    walk = chord::WalkRing(&transport, nodes[0]->address(), size_t(count) + 1);
    problem = chord::CheckRing(walk, size_t(count));
    if (problem.empty()) break;
    std::cerr << "\rwaiting for the ring to settle" << std::string(tick % 4, '.') << "    "
              << std::flush;
    // Wait a little, but wake at once on Ctrl-C.
    timespec pause{0, 100 * 1000 * 1000};
    if (sigtimedwait(&stop_signals, nullptr, &pause) > 0) {
      std::cerr << "\ninterrupted\n";
      stop_all();
      return 1;
    }
  }
  if (!problem.empty()) {
    std::cerr << "\ncreate_chord: the ring did not become correct: " << problem << "\n";
    stop_all();
    return 1;
  }
  std::cerr << "\rring verified: " << count << " nodes in id order          \n";

  std::cout << std::left << std::setw(4) << "#" << std::setw(42) << "id" << std::setw(22)
            << "address" << "keys" << "\n";
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
  std::cout << "press Ctrl-C to stop the ring" << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "stopping " << nodes.size() << " nodes...\n";
  stop_all();
  std::cerr << "all nodes left\n";
  return 0;
}
