// chord-bench: measures a running ring over XML-RPC against its transport ceiling, in one run.
//
//   chord-bench --ring ring.txt [--ops 2000] [--threads 4] [--value-bytes 100] [--warmup 200]
//   chord-bench --node 127.0.0.1:4000 ... [--json]
//
// Phases, each with the same client threads and number of operations:
//   ceiling  chord.ping of the first node only: what one node's transport serves at this
//            concurrency, the yardstick of the others;
//   spread   chord.ping of random members: the same calls spread over every node, as the
//            phases below are; the gap to the ceiling is what spreading costs by itself (on a
//            machine with fewer cores than nodes, each call wakes a process of its own);
//   lookup   chord.find_successor of random ids (ChordStub);
//   set      dht.set of new keys (DhtClient);
//   get      dht.get of those keys.
// Lookups go to a random member; set and get, with --entry owner (the default), to the node the
// client believes owns the key, as DhtClient does for a user program (its owner map, learnt from
// one chord.info and from the answers); with --entry random, to a random member that forwards
// them. Every call goes through the protocol stubs a user program uses, so the figures include
// their checks. Each phase first runs --warmup
// operations, not measured (connections opened, server threads started), then measures ops/s,
// latency percentiles and mean hops; and, from chord.stats of every node right before and after,
// the calls the nodes served per operation (net of the ring's own traffic, measured in an idle
// window of --idle-ms right before), the efficiency against the ceiling, and the connections
// accepted and server threads started per 1,000 calls ("n/a" when a node does not answer
// chord.stats).
//
// Output: a table on stdout, or with --json one JSON object and nothing else; a progress line on
// stderr when it is a terminal. A phase starts no operation after a deadline of (10 + operations
// per thread / 100) call time-outs, so the program always ends. Exits 1 if any operation failed
// or was not run, 2 on bad usage.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "bench/counters.h"
#include "bench/load.h"
#include "bench/report.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "overlay/chord_protocol.h"
#include "overlay/id.h"

#ifndef CHORD_VERSION
#define CHORD_VERSION "unknown"
#endif

namespace po = boost::program_options;
using chord_bench::Figures;

namespace {

struct Config {
  std::vector<std::string> nodes;
  int ops = 0, threads = 0, warmup = 0, value_bytes = 0, bits = 0;
  int call_timeout_ms = 0, idle_ms = 0;
  bool json = false;
  std::string entry = "owner";
};

struct PhaseSpec {
  std::string name;
  std::vector<std::string> targets;
  chord_bench::Operation operation;
  bool has_hops = true;
};

po::options_description Options() {
  po::options_description options("chord-bench options");
  options.add_options()("help,h", "print this help")("version", "print the version")(
      "ring", po::value<std::string>(), "ring file: one HOST:PORT a line")(
      "node", po::value<std::string>(), "a single node HOST:PORT")(
      "ops", po::value<int>()->default_value(2000), "operations per phase")(
      "threads", po::value<int>()->default_value(4), "concurrent clients")(
      "warmup", po::value<int>()->default_value(200), "unmeasured operations before each phase")(
      "value-bytes", po::value<int>()->default_value(100), "size of each value written")(
      "bits", po::value<int>()->default_value(160), "id bits of the ring (--id-bits)")(
      "call-timeout-ms", po::value<int>()->default_value(5000), "time-out of each call")(
      "idle-ms", po::value<int>()->default_value(1000),
      "idle window measuring the ring's own traffic (0: not measured)")(
      "entry", po::value<std::string>()->default_value("owner"),
      "where set and get go: owner (the key's owner as the client guesses it) or random (a "
      "random member, which forwards them)")("json", "print one JSON object instead of the table");
  return options;
}

bool ReadRing(const std::string& file, std::vector<std::string>* nodes) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) nodes->push_back(line);
  }
  return bool(in) || in.eof();
}

// Reads the command line into *config; returns the exit code when the program is to stop.
std::optional<int> Parse(int argc, char** argv, Config* config) {
  po::options_description options = Options();
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "chord-bench: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "chord-bench " << CHORD_VERSION << "\n";
    return 0;
  }
  Config& c = *config;
  if (vm.count("node")) c.nodes.push_back(vm["node"].as<std::string>());
  if (vm.count("ring") && !ReadRing(vm["ring"].as<std::string>(), &c.nodes)) {
    std::cerr << "chord-bench: cannot read " << vm["ring"].as<std::string>() << "\n";
    return 2;
  }
  c.ops = vm["ops"].as<int>();
  c.threads = vm["threads"].as<int>();
  c.warmup = vm["warmup"].as<int>();
  c.value_bytes = std::max(0, vm["value-bytes"].as<int>());
  c.bits = vm["bits"].as<int>();
  c.call_timeout_ms = vm["call-timeout-ms"].as<int>();
  c.idle_ms = vm["idle-ms"].as<int>();
  c.json = vm.count("json") > 0;
  c.entry = vm["entry"].as<std::string>();
  if (c.entry != "owner" && c.entry != "random") {
    std::cerr << "chord-bench: --entry is owner or random, not " << c.entry << "\n";
    return 2;
  }
  if (c.nodes.empty() || c.ops < 1 || c.threads < 1 || c.threads > 256 || c.warmup < 0 ||
      c.bits < 1 || c.bits > 160 || c.call_timeout_ms < 1 || c.idle_ms < 0) {
    std::cerr << "chord-bench: give --ring FILE or --node HOST:PORT, --ops >= 1, "
                 "--threads 1..256, --warmup >= 0, --bits 1..160, --call-timeout-ms >= 1, "
                 "--idle-ms >= 0\n";
    return 2;
  }
  return std::nullopt;
}

std::vector<PhaseSpec> Phases(const Config& c, chord::Transport* transport) {
  const std::string prefix = "bench-" + std::to_string(std::random_device{}()) + "-";
  const chord::DhtValue value{std::string(size_t(c.value_bytes), 'v'), false};
  const int bits = c.bits;
  const bool to_owner = c.entry == "owner";
  auto ping = [transport](chord::DhtClient*, const std::string& node, int) -> chord::Result<int> {
    auto reply = chord::ChordStub(transport, 0).Ping(node);
    if (!reply.ok()) return reply.status();
    return 0;
  };
  auto lookup = [=](chord::DhtClient*, const std::string& node, int i) -> chord::Result<int> {
    std::string id = chord::Id::Hash(prefix + "id" + std::to_string(i), bits).ToHex(bits);
    auto found = chord::ChordStub(transport, bits).FindSuccessorOfHex(node, id);
    if (!found.ok()) return found.status();
    return found->hops;
  };
  auto set = [=](chord::DhtClient* client, const std::string& node, int i) -> chord::Result<int> {
    auto reply = client->Set(prefix + std::to_string(i), value, 0, to_owner ? "" : node);
    if (!reply.ok()) return reply.status();
    return reply->hops;
  };
  auto get = [=](chord::DhtClient* client, const std::string& node, int i) -> chord::Result<int> {
    auto reply = client->Get(prefix + std::to_string(i), to_owner ? "" : node);
    if (!reply.ok()) return reply.status();
    if (!reply->ok) return chord::Status::NotFound("key lost: " + prefix + std::to_string(i));
    return reply->hops;
  };
  return {{"ceiling", {c.nodes.front()}, ping, false},
          {"spread", c.nodes, ping, false},
          {"lookup", c.nodes, lookup},
          {"set", c.nodes, set},
          {"get", c.nodes, get}};
}

// No operation starts later than this after a load's start: room for ten time-outs per thread,
// plus a hundredth of a time-out per operation.
std::chrono::milliseconds Deadline(const Config& c, int count) {
  const double per_thread = std::ceil(double(count) / c.threads);
  return std::chrono::milliseconds(int64_t(c.call_timeout_ms * (10 + per_thread / 100)));
}

// The warm-up runs operations ops .. ops + warmup - 1 (so that the get phase's warm-up reads
// what the set phase's wrote), the measured load 0 .. ops - 1.
chord_bench::Load MakeLoad(const PhaseSpec& spec, const Config& c, bool warmup) {
  chord_bench::Load load;
  load.label = warmup ? spec.name + " warm-up" : spec.name;
  load.targets = spec.targets;
  load.operation = spec.operation;
  load.first = warmup ? c.ops : 0;
  load.count = warmup ? c.warmup : c.ops;
  load.threads = c.threads;
  load.deadline = Deadline(c, load.count);
  load.progress = isatty(STDERR_FILENO) == 1;
  return load;
}

// Waits --idle-ms after the snapshot `start` and takes *end: the ring's own calls per second in
// between (0 without waiting if --idle-ms is 0).
std::optional<double> IdleRate(const Config& c, chord::Transport* transport,
                               const chord_bench::Snapshot& start, chord_bench::Snapshot* end) {
  *end = start;
  if (c.idle_ms == 0) return 0.0;
  std::this_thread::sleep_for(std::chrono::milliseconds(c.idle_ms));  // the window itself
  *end = chord_bench::TakeSnapshot(transport, c.nodes);
  return chord_bench::BackgroundRate(start, *end);
}

using Clients = std::vector<std::unique_ptr<chord::DhtClient>>;

// One DhtClient per client thread, kept for the whole run.
Clients MakeClients(const Config& c, chord::Transport* transport) {
  Clients clients;
  for (int t = 0; t < c.threads; ++t) {
    chord::DhtClientOptions options;
    options.seed = uint32_t(1234 + t);
    options.route_to_owner = c.entry == "owner";
    clients.push_back(std::make_unique<chord::DhtClient>(transport, c.nodes, options));
  }
  return clients;
}

// Warm-up, then the measured load between two snapshots, with an idle window on either side:
// the ring's own traffic during the load is taken as the mean of the two windows'.
Figures RunPhase(const PhaseSpec& spec, const Config& c, chord::Transport* transport,
                 const Clients& clients, const std::optional<double>& ceiling) {
  if (c.warmup > 0) chord_bench::RunLoad(clients, MakeLoad(spec, c, true));
  chord_bench::Snapshot before, after, idle_end;
  auto rate_before = IdleRate(c, transport, chord_bench::TakeSnapshot(transport, c.nodes), &before);
  auto result = chord_bench::RunLoad(clients, MakeLoad(spec, c, false));
  after = chord_bench::TakeSnapshot(transport, c.nodes);
  auto rate_after = IdleRate(c, transport, after, &idle_end);
  std::optional<double> background;
  if (rate_before && rate_after) background = (*rate_before + *rate_after) / 2;
  return chord_bench::Compute(spec.name, result, spec.has_hops,
                              chord_bench::ServedBetween(before, after), background, ceiling);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (auto exit_code = Parse(argc, argv, &c)) return *exit_code;
  chord::SetXmlSizeLimit(64u << 20);
  chord::XmlRpcTransport::Options transport_options;
  transport_options.call_timeout_ms = c.call_timeout_ms;
  transport_options.max_idle_per_peer = size_t(c.threads) + 1;  // no reconnects of our own
  chord::XmlRpcTransport transport(transport_options);

  const chord_bench::RunInfo run{
      CHORD_VERSION, int(c.nodes.size()), c.ops,     c.threads, c.warmup, c.value_bytes,
      c.bits,        c.call_timeout_ms,   c.idle_ms, c.entry};
  if (!c.json) {
    std::cout << chord_bench::HeaderLine(run) << "\n";
    chord_bench::PrintTableHead(std::cout);
  }
  std::vector<Figures> figures;
  std::optional<double> ceiling;
  int failures = 0;
  const Clients clients = MakeClients(c, &transport);
  for (const PhaseSpec& spec : Phases(c, &transport)) {
    figures.push_back(RunPhase(spec, c, &transport, clients, ceiling));
    if (!ceiling) ceiling = figures.back().ops_per_s;
    failures += figures.back().failures;
    if (!c.json) chord_bench::PrintRow(std::cout, figures.back());
  }
  if (c.json) {
    std::cout << chord_bench::Json(run, figures) << std::endl;
  } else {
    chord_bench::PrintLegend(std::cout, run);
  }
  return failures == 0 ? 0 : 1;
}
