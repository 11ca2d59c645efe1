// chord-node: runs one Chord node (overlay + DHT) until SIGINT or SIGTERM, then leaves the ring
// gracefully and exits 0. SIGUSR1 means the whole ring is stopping: exit 0 without a hand-off.
//
//   chord-node --create [--port 4000]
//   chord-node --join 127.0.0.1:4000 [--config settings/chord.conf] ...
//
// A joining node takes the ring's id size (--id-bits) from the node it joins through unless
// --id-bits is given (on the command line or in the config file); then it must match the ring's.
//
// With --vnodes V it hosts V members of the ring (virtual nodes, tools/virtual_node.h), each
// with its own port and id; SIGINT/SIGTERM makes each leave in turn.
//
// On start it prints one line to stdout per (virtual) node once it is in the ring, which
// scripts and tests read:
//   chord-node: id <hex> address <HOST:PORT>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <boost/log/trivial.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "commands/xmlrpc_server.h"
#include "settings/logging.h"
#include "settings/settings_parser.h"
#include "tools/virtual_node.h"

namespace {

// Each connection, kept alive, holds a descriptor: the server alone may keep --max-connections
// of them (1024 by default) besides the node's own to its peers, above the usual soft limit of
// 1024. The hard limit is what the administrator allows.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

constexpr int kMaxVnodes = 256;

// What --vnodes V changes in the settings of virtual node i: its port (P+i when --port P is
// given, else a free one or its directory's), its directory (DIR/vnode-i) and, for i > 0, the
// ring it enters (through virtual node 0, already in it).
chord::Settings VnodeSettings(const chord::Settings& base, int vnodes, int i,
                              const std::string& first_address) {
  chord::Settings settings = base;
  if (vnodes == 1) return settings;
  if (base.port != 0) settings.port = base.port + i;
  if (!base.data_dir.empty()) {
    settings.data_dir = base.data_dir + "/vnode-" + std::to_string(i);
  }
  if (i > 0) {
    settings.create = false;
    settings.join = first_address;
  }
  return settings;
}

// --vnodes with an advertised port would give every virtual node the same address (one id).
std::string CheckVnodes(const chord::Settings& settings, int vnodes) {
  if (vnodes < 1 || vnodes > kMaxVnodes) {
    return "--vnodes must be 1.." + std::to_string(kMaxVnodes);
  }
  int port = 0;
  if (vnodes > 1 && !settings.advertise.empty() &&
      chord::ParseAdvertise(settings.advertise, nullptr, &port) && port != 0) {
    return "--advertise HOST:PORT names one address; with --vnodes give --advertise HOST "
           "(each virtual node advertises its own bound port)";
  }
  if (vnodes > 1 && settings.port != 0 && settings.port + vnodes - 1 > 65535) {
    return "--port " + std::to_string(settings.port) + " with --vnodes " + std::to_string(vnodes) +
           " runs past port 65535";
  }
  return "";
}

// Opens virtual nodes 0..vnodes-1 (storage, bound server); each i > 0 takes node 0's id size.
chord::Result<std::vector<std::unique_ptr<chord::VirtualNode>>> OpenVnodes(
    const chord::Settings& base, int vnodes, bool port_given, bool bits_given) {
  std::vector<std::unique_ptr<chord::VirtualNode>> nodes;
  for (int i = 0; i < vnodes; ++i) {
    chord::Settings settings = VnodeSettings(base, vnodes, i, i == 0 ? "" : nodes[0]->address());
    if (i > 0) settings.id_bits = nodes[0]->settings().id_bits;
    auto node = chord::VirtualNode::Open(settings, port_given, i > 0 || bits_given, i == 0);
    if (!node.ok()) {
      if (vnodes == 1) return node.status();
      return chord::Status(node.status().code(),
                           "virtual node " + std::to_string(i) + ": " + node.status().message());
    }
    nodes.push_back(std::move(node).value());
  }
  return nodes;
}

// The whole ring is stopping: every virtual node at once. Stopping a server waits for the calls
// it is serving, which may be waiting on other stopping members; one node after another, a
// process of V could take V call time-outs (seen: more than 15 s for 16 on an overloaded ring).
void StopAll(const std::vector<std::unique_ptr<chord::VirtualNode>>& nodes) {
  std::vector<std::thread> stoppers;
  for (const auto& node : nodes) stoppers.emplace_back([&node] { node->Stop(); });
  for (auto& stopper : stoppers) stopper.join();
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // One malloc arena for every thread: glibc's default of one per thread (up to 8 per core)
  // keeps each busy thread's freed memory in its own arena, which more than doubled an idle
  // node's proportional memory after a benchmark (4 MiB -> 9 MiB PSS); a node's threads spend
  // little time in malloc, so sharing one arena costs no measurable throughput
  // (docs/PERFORMANCE.md).
  mallopt(M_ARENA_MAX, 1);
  RaiseOpenFileLimit();

  chord::Settings settings;
  chord::SettingsParser parser("chord-node");
  parser.tool_options().add_options()(
      "vnodes", boost::program_options::value<int>()->default_value(1)->value_name("V"),
      "virtual nodes: V members of the ring in this process, each with its own port (--port P: "
      "P..P+V-1; 0: free ports) and id; with --data-dir DIR, V > 1 keeps node i in DIR/vnode-i; "
      "node 0 creates or joins, the others join through it")("version",
                                                             "print the version and exit");
  auto outcome = parser.Parse(argc, argv, &settings);
  if (outcome.help) {
    std::cout << outcome.message;
    return 0;
  }
  if (!outcome.ok) {
    std::cerr << "chord-node: " << outcome.message << "\n";
    return 2;
  }
  if (parser.variables().count("version")) {
    std::cout << "chord-node " << CHORD_VERSION << "\n";
    return 0;
  }
  if (!settings.create && settings.join.empty()) {
    std::cerr << "chord-node: give --create to start a ring or --join HOST:PORT to join one\n";
    return 2;
  }
  std::string log_error = chord::InitLogging(settings.log_level, settings.log_file, "chord-node");
  if (!log_error.empty()) {
    std::cerr << "chord-node: " << log_error << "\n";
    return 2;
  }
  const int vnodes = parser.variables()["vnodes"].as<int>();
  std::string vnodes_problem = CheckVnodes(settings, vnodes);
  if (!vnodes_problem.empty()) {
    std::cerr << "chord-node: " << vnodes_problem << "\n";
    return 2;
  }
  // Room for the largest value as base64 plus the envelope; process-global, so set it once here.
  chord::SetXmlSizeLimit(size_t(settings.max_value_bytes) * 2 + (1u << 20));

  auto opened = OpenVnodes(settings, vnodes, !parser.variables()["port"].defaulted(),
                           !parser.variables()["id-bits"].defaulted());
  if (!opened.ok()) {
    std::cerr << "chord-node: " << opened.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::unique_ptr<chord::VirtualNode>> nodes = std::move(opened).value();
  // One thread of its own for every virtual node's heartbeat, so that slow maintenance steps do
  // not look like a frozen process. Declared after the nodes: it stops before they go.
  chord::Maintenance heartbeat;
  for (auto& node : nodes) node->AddHeartbeat(&heartbeat);
  heartbeat.Start();
  for (size_t i = 0; i < nodes.size(); ++i) {
    chord::Status status = nodes[i]->Enter();
    if (!status.ok()) {
      std::cerr << "chord-node: " << (vnodes > 1 ? "virtual node " + std::to_string(i) + ": " : "")
                << status.ToString() << "\n";
      return 1;  // the nodes stop as they are destroyed
    }
    std::cout << "chord-node: id " << nodes[i]->id_hex() << " address " << nodes[i]->address()
              << std::endl;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  if (signal_number == SIGUSR1) {
    // The whole ring is stopping (create_chord quits): every node is going, so there is no one
    // to hand keys to, and trying would only fill the terminal with failed hand-offs.
    BOOST_LOG_TRIVIAL(info) << "signal " << signal_number << ": the ring stops; exiting";
    heartbeat.Stop();
    StopAll(nodes);
    return 0;
  }
  BOOST_LOG_TRIVIAL(info) << "signal " << signal_number << ": leaving the ring";
  // One at a time, so that each hands its keys to a node that is still up (possibly another
  // virtual node of this process, which hands them on when its turn comes).
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    chord::Status status = (*it)->Leave();
    if (!status.ok()) {
      BOOST_LOG_TRIVIAL(warning) << "leave " << (*it)->address() << ": " << status.ToString();
    }
  }
  heartbeat.Stop();
  return 0;
}
