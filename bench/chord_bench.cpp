// chord-bench: measures a running ring over XML-RPC and prints its figures.
//
//   chord-bench --ring ring.txt [--ops 2000] [--threads 4] [--value-bytes 100]
//   chord-bench --node 127.0.0.1:4000 ...
//
// Phases: chord.find_successor of random ids, dht.set of new keys, dht.get of those keys. Each
// operation goes to a random member, through the protocol stubs a user program uses (ChordStub,
// and DhtClient with the member named), so the figures include their checks. For each phase it
// prints operations per second, latency percentiles and mean hops. Exits 1 if any operation
// failed, 2 on bad usage.
#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "dht/dht_client.h"
#include "overlay/chord_protocol.h"
#include "overlay/id.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

namespace {

struct PhaseResult {
  std::vector<double> latencies_ms;
  long hops = 0;
  int failures = 0;
  std::string first_error;
  double seconds = 0;
};

// One operation on `node`; returns the lookup hops it took. Each client thread has its own
// DhtClient (not thread-safe) over the shared transport.
using Operation = std::function<chord::Result<int>(chord::Transport*, chord::DhtClient* client,
                                                   const std::string& node, int i)>;

PhaseResult RunPhase(const std::vector<std::string>& nodes, int ops, int threads,
                     const Operation& op) {
  PhaseResult result;
  std::mutex mutex;
  std::atomic<int> next{0};
  chord::XmlRpcTransport transport({});
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(1234 + t);
      chord::DhtClientOptions client_options;
      client_options.seed = uint32_t(1234 + t);
      chord::DhtClient client(&transport, nodes, client_options);
      std::vector<double> latencies;
      long hops = 0;
      int failures = 0;
      std::string error;
      for (int i = next++; i < ops; i = next++) {
        const std::string& node = nodes[random() % nodes.size()];
        auto begin = Clock::now();
        auto answer = op(&transport, &client, node, i);
        latencies.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        if (!answer.ok()) {
          if (failures++ == 0) error = answer.status().ToString();
          continue;
        }
        hops += answer.value();
      }
      std::lock_guard<std::mutex> lock(mutex);
      result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
      result.hops += hops;
      result.failures += failures;
      if (result.first_error.empty()) result.first_error = error;
    });
  }
  for (auto& w : workers) w.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

void Print(const std::string& name, const PhaseResult& r) {
  auto sorted = r.latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    return sorted.empty() ? 0.0 : sorted[std::min(sorted.size() - 1, size_t(p * sorted.size()))];
  };
  std::cout << std::left << std::setw(16) << name << std::right << std::fixed
            << std::setprecision(0) << std::setw(9) << sorted.size() / r.seconds << " ops/s"
            << std::setprecision(2) << "   p50 " << std::setw(6) << pct(0.5) << " ms   p99 "
            << std::setw(6) << pct(0.99) << " ms   mean hops " << std::setw(5)
            << double(r.hops) / std::max<size_t>(1, sorted.size()) << "   failures " << r.failures
            << "\n";
  if (r.failures) std::cout << "  first failure: " << r.first_error << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("chord-bench options");
  options.add_options()("help,h", "print this help")("ring", po::value<std::string>(),
                                                     "ring file: one HOST:PORT a line")(
      "node", po::value<std::string>(), "a single node HOST:PORT")(
      "ops", po::value<int>()->default_value(2000), "operations per phase")(
      "threads", po::value<int>()->default_value(4), "concurrent clients")(
      "value-bytes", po::value<int>()->default_value(100), "size of each value written")(
      "bits", po::value<int>()->default_value(160), "id bits of the ring (--id-bits)");
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
  std::vector<std::string> nodes;
  if (vm.count("node")) nodes.push_back(vm["node"].as<std::string>());
  if (vm.count("ring")) {
    std::ifstream in(vm["ring"].as<std::string>());
    if (!in) {
      std::cerr << "chord-bench: cannot read " << vm["ring"].as<std::string>() << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) nodes.push_back(line);
    }
  }
  const int ops = vm["ops"].as<int>();
  const int threads = vm["threads"].as<int>();
  const int bits = vm["bits"].as<int>();
  if (nodes.empty() || ops < 1 || threads < 1 || threads > 256 || bits < 1 || bits > 160) {
    std::cerr << "chord-bench: give --ring FILE or --node HOST:PORT, --ops >= 1, "
                 "--threads 1..256, --bits 1..160\n";
    return 2;
  }
  chord::SetXmlSizeLimit(64u << 20);
  const std::string value(size_t(std::max(0, vm["value-bytes"].as<int>())), 'v');
  const std::string prefix = "bench-" + std::to_string(std::random_device{}()) + "-";
  std::cout << nodes.size() << " nodes, " << ops << " operations per phase, " << threads
            << " client threads, " << value.size() << "-byte values\n";

  PhaseResult lookups = RunPhase(
      nodes, ops, threads,
      [&](chord::Transport* t, chord::DhtClient*, const std::string& node,
          int i) -> chord::Result<int> {
        std::string id = chord::Id::Hash(prefix + "id" + std::to_string(i), bits).ToHex(bits);
        auto found = chord::ChordStub(t, bits).FindSuccessorOfHex(node, id);
        if (!found.ok()) return found.status();
        return found->hops;
      });
  Print("find_successor", lookups);
  const chord::DhtValue dht_value{value, false};
  PhaseResult sets = RunPhase(nodes, ops, threads,
                              [&](chord::Transport*, chord::DhtClient* client,
                                  const std::string& node, int i) -> chord::Result<int> {
                                auto reply =
                                    client->Set(prefix + std::to_string(i), dht_value, 0, node);
                                if (!reply.ok()) return reply.status();
                                return reply->hops;
                              });
  Print("dht.set", sets);
  PhaseResult gets =
      RunPhase(nodes, ops, threads,
               [&](chord::Transport*, chord::DhtClient* client, const std::string& node,
                   int i) -> chord::Result<int> {
                 auto reply = client->Get(prefix + std::to_string(i), node);
                 if (!reply.ok()) return reply.status();
                 if (!reply->ok) {
                   return chord::Status::NotFound("key lost: " + prefix + std::to_string(i));
                 }
                 return reply->hops;
               });
  Print("dht.get", gets);
  return lookups.failures + sets.failures + gets.failures == 0 ? 0 : 1;
}
