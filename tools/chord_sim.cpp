// chord-sim: runs a whole Chord ring inside this process (no sockets) and reports how it fares.
//
//   chord-sim [--nodes 1000] [--lookups 10000] [--crash K] [--leave K] [--drop-rate P]
//             [--seed S] [--joins-per-round J] [--id-bits M] [--successors R]
//
// Phases: the nodes join (with no maintenance between joins unless --joins-per-round), rounds of
// stabilize run until every successor, predecessor and successor list is right, the fingers are
// fixed and random lookups are checked against the true owner. With --crash/--leave, nodes then
// fail or leave, lookups run at once on the damaged ring, the ring heals and lookups run again.
// Exit status: 0 on success; 1 if the ring never became correct within the round bound or a
// lookup on a correct ring gave a wrong owner (with a drop rate, lost messages may excuse wrong
// answers: they are reported but do not fail the run); 2 on bad usage. The drop rate applies to
// the joins, the lookups and the failures, not to the rounds that wait for a correct ring.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

#include "settings/logging.h"
#include "settings/settings_parser.h"
#include "tools/simulation.h"

namespace po = boost::program_options;

namespace {

class Stopwatch {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string Fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

std::string Percent(int part, int whole) {
  return whole == 0 ? "-" : Fixed(100.0 * part / whole, 2) + "%";
}

void PrintLookups(const std::string& title, const chord::LookupStats& stats, int live,
                  double seconds) {
  std::cout << title << ": " << stats.lookups << " lookups on " << live << " nodes in "
            << Fixed(seconds, 2) << " s\n"
            << "  answered " << Percent(stats.answered, stats.lookups) << ", correct "
            << Percent(stats.correct, stats.lookups) << "\n"
            << "  hops: mean " << Fixed(stats.mean_hops, 2)
            << " (0.5*log2(N) = " << Fixed(0.5 * std::log2(std::max(live, 1)), 2) << "), p50 "
            << stats.p50_hops << ", p99 " << stats.p99_hops << ", max " << stats.max_hops << "\n"
            << "  calls per lookup " << Fixed(stats.calls_per_lookup, 2) << "\n"
            << "  histogram (hops: lookups):";
  for (const auto& [hops, count] : stats.hops) std::cout << " " << hops << ":" << count;
  std::cout << "\n";
}

// Rounds of stabilize until the ring is correct; prints the outcome. False if never correct.
// The rounds run loss-free: with thousands of RPCs per round, some loss would almost always
// leave one pointer wrong at the moment every pointer is checked, so "correct" would never hold.
bool Heal(chord::Simulation* sim, int max_rounds, double drop_rate, const std::string& what) {
  Stopwatch watch;
  if (drop_rate > 0) sim->SetDropRate(0);
  int rounds = sim->StabilizeUntilCorrect(max_rounds);
  if (drop_rate > 0) sim->SetDropRate(drop_rate);
  if (rounds < 0) {
    std::cout << what << ": ring NOT correct after " << max_rounds
              << " stabilize rounds: " << sim->CheckRing() << "\n";
    return false;
  }
  std::cout << what << ": ring correct after " << rounds << " stabilize rounds ("
            << Fixed(watch.Seconds(), 2) << " s)\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  chord::SettingsParser parser("chord-sim");
  // One option a line reads better than the packed layout.
  // clang-format off
  parser.tool_options().add_options()
      ("nodes", po::value<int>()->default_value(1000)->value_name("N"), "nodes in the ring")
      ("lookups", po::value<int>()->default_value(10000)->value_name("L"),
       "random lookups per measurement")
      ("crash", po::value<int>()->default_value(0)->value_name("K"),
       "nodes to crash after the first measurement")
      ("leave", po::value<int>()->default_value(0)->value_name("K"),
       "nodes to leave gracefully after the first measurement")
      ("drop-rate", po::value<double>()->default_value(0.0)->value_name("P"),
       "probability (0..1) that an RPC is lost (joins, lookups; not healing rounds)")
      ("seed", po::value<uint64_t>()->default_value(1)->value_name("S"),
       "seed of every random choice; the same seed gives the same run")
      ("joins-per-round", po::value<int>()->default_value(0)->value_name("J"),
       "run a stabilize round after every J joins; 0: none until all have joined")
      ("version", "print the version and exit");
  // clang-format on
  chord::Settings settings;
  auto outcome = parser.Parse(argc, argv, &settings);
  if (outcome.help) {
    std::cout << outcome.message;
    return 0;
  }
  if (!outcome.ok) {
    std::cerr << "chord-sim: " << outcome.message << "\n";
    return 2;
  }
  const auto& vm = parser.variables();
  if (vm.count("version")) {
    std::cout << "chord-sim " << CHORD_VERSION << "\n";
    return 0;
  }
  const int nodes = vm["nodes"].as<int>();
  const int lookups = vm["lookups"].as<int>();
  const int crash = vm["crash"].as<int>();
  const int leave = vm["leave"].as<int>();
  const double drop_rate = vm["drop-rate"].as<double>();
  const uint64_t seed = vm["seed"].as<uint64_t>();
  const int joins_per_round = vm["joins-per-round"].as<int>();
  std::string error;
  if (nodes < 1 || nodes > 100000) error = "--nodes must be 1..100000";
  if (lookups < 0) error = "--lookups must be >= 0";
  if (crash < 0 || leave < 0 || crash + leave >= nodes) {
    error = "--crash and --leave must be >= 0 and leave at least one node";
  }
  if (!(drop_rate >= 0 && drop_rate < 1)) error = "--drop-rate must be in [0, 1)";
  if (joins_per_round < 0) error = "--joins-per-round must be >= 0";
  if (!error.empty()) {
    std::cerr << "chord-sim: " << error << "\n";
    return 2;
  }
  // Each join and every stabilize logs at info; a thousand nodes would bury the report.
  chord::SetLogLevel(vm["log-level"].defaulted() ? "warning" : settings.log_level);

  chord::OverlayOptions options;
  options.id_bits = settings.id_bits;
  options.successors = settings.successors;
  options.max_lookup_hops = settings.max_lookup_hops;
  chord::Simulation sim(options, seed);
  sim.set_progress([](const std::string& message) { std::cerr << "  " << message << "\n"; });
  // Stabilize moves a correct pointer about one node per round, so a ring built with no
  // maintenance needs up to O(N) rounds; the cap keeps a broken run from going on for ever.
  const int max_rounds = std::min(10 * nodes, 2000);

  std::cout << "chord-sim: " << nodes << " nodes, " << options.id_bits << "-bit ids, "
            << options.successors << " successors, seed " << seed << ", drop rate " << drop_rate
            << "\n";
  if (drop_rate > 0) sim.SetDropRate(drop_rate);
  bool ok = true;
  Stopwatch join_watch;
  auto joined = sim.BuildRing(nodes, joins_per_round);
  if (!joined.ok()) {
    std::cerr << "chord-sim: " << joined.status().message() << "\n";
    return 2;
  }
  std::cout << "joins: " << *joined << "/" << nodes << " joined in "
            << Fixed(join_watch.Seconds(), 2) << " s\n";
  if (!Heal(&sim, max_rounds, drop_rate, "after the joins")) return 1;
  Stopwatch finger_watch;
  sim.FixAllFingers();
  std::cout << "fingers fixed in " << Fixed(finger_watch.Seconds(), 2) << " s\n";
  // A wrong owner from a correct ring is a protocol bug, unless messages are being lost.
  auto strict = [&](const chord::LookupStats& stats) {
    return drop_rate > 0 || stats.correct == stats.lookups;
  };
  Stopwatch lookup_watch;
  auto stats = sim.RunLookups(lookups);
  PrintLookups("lookups", stats, sim.live_count(), lookup_watch.Seconds());
  ok = ok && strict(stats);

  if (crash > 0 || leave > 0) {
    int left = sim.Leave(leave);
    int crashed = sim.Crash(crash);
    std::cout << "\n"
              << crashed << " crashed, " << left << " left gracefully: " << sim.live_count()
              << " live nodes\n";
    Stopwatch damaged_watch;
    stats = sim.RunLookups(lookups);
    PrintLookups("lookups before any repair", stats, sim.live_count(), damaged_watch.Seconds());
    if (!Heal(&sim, max_rounds, drop_rate, "after the failures")) return 1;
    Stopwatch healed_watch;
    stats = sim.RunLookups(lookups);
    PrintLookups("lookups once healed (stale fingers)", stats, sim.live_count(),
                 healed_watch.Seconds());
    ok = ok && strict(stats);
    sim.FixAllFingers();
    Stopwatch fixed_watch;
    stats = sim.RunLookups(lookups);
    PrintLookups("lookups once healed and fingers fixed", stats, sim.live_count(),
                 fixed_watch.Seconds());
    ok = ok && strict(stats);
  }
  if (!ok) std::cout << "FAILED: wrong owners on a correct ring\n";
  return ok ? 0 : 1;
}
