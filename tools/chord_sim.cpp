// chord-sim: runs a whole Chord ring inside this process (no sockets, virtual time) and reports
// how it fares.
//
//   chord-sim [--nodes 1000] [--lookups 10000] [--join-rate 0.01] [--joins-per-round J]
//             [--crash K] [--leave K] [--drop-rate P] [--seed S] [--id-bits M] [--successors R]
//   chord-sim --churn [--seeds A..B] [--nodes 100] [--churn-rounds 40] [--drop-rate 0.01] ...
//   chord-sim --experiment NAME [--tiny] [--seed S]
//
// Scale (the default): the ring grows by --join-rate of its size per round (nodes joining
// through random members while every node runs its maintenance), rounds run until every
// successor, predecessor and successor list is right (the rounds after the last join are
// printed against log2 N), the fingers are fixed and random lookups are checked against the
// true owner. --joins-per-round J instead joins every node with a round after each J joins (0:
// none, the hardest case). With --crash/--leave, nodes then fail or leave, lookups run at once
// on the damaged ring, the ring heals and lookups run again.
//
// Churn (--churn): one schedule per seed (tools/sim_churn.h) with Zave's invariants checked
// after every round; prints a line per seed, the command replaying each failing one, and last
// "invariant violations: V, acked writes lost: L, seeds: S".
//
// Experiment (--experiment path-length|keys-per-node|failures|keys-moved): one of the Chord
// paper's experiments (tools/sim_experiments.h) at the paper's scale (--tiny: a few seconds),
// printed as Markdown tables; bench/paper_figures.py runs them all and draws the figures.
//
// Results go to stdout; progress to stderr, on a terminal only. Exit status: 0 on success; 1 if
// the ring never became correct within the round bound, a lookup on a correct ring gave a
// wrong owner (with a drop rate, lost messages may excuse wrong answers: they are reported but
// do not fail the run), or a churn seed failed; 2 on bad usage.
#include <sys/resource.h>
#include <unistd.h>

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
#include "tools/progress.h"
#include "tools/sim_churn.h"
#include "tools/sim_experiment_tables.h"
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

double PeakMiB() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

void PrintLookups(const std::string& title, const chord::LookupStats& stats, int live,
                  double seconds) {
  std::cout << title << ": " << stats.lookups << " lookups on " << live << " nodes in "
            << Fixed(seconds, 2) << " s\n"
            << "  answered " << Percent(stats.answered, stats.lookups) << ", correct "
            << Percent(stats.correct, stats.lookups) << "\n"
            << "  hops: mean " << Fixed(stats.mean_hops, 2)
            << " (0.5*log2(N) = " << Fixed(0.5 * std::log2(std::max(live, 1)), 2) << "), p50 "
            << stats.p50_hops << ", p99 " << stats.p99_hops
            << " (log2(N) = " << Fixed(std::log2(std::max(live, 1)), 2) << "), max "
            << stats.max_hops << "\n"
            << "  calls per lookup " << Fixed(stats.calls_per_lookup, 2) << "\n"
            << "  histogram (hops: lookups):";
  for (const auto& [hops, count] : stats.hops) std::cout << " " << hops << ":" << count;
  std::cout << "\n";
}

// Rounds until the ring is correct; prints the outcome. False if never correct. The rounds run
// loss-free: with thousands of RPCs per round, some loss would almost always leave one pointer
// wrong at the moment every pointer is checked, so "correct" would never hold.
bool Heal(chord::Simulation* sim, int max_rounds, double drop_rate, const std::string& what) {
  Stopwatch watch;
  const uint64_t calls = sim->calls();
  if (drop_rate > 0) sim->SetDropRate(0);
  int rounds = sim->StabilizeUntilCorrect(max_rounds);
  if (drop_rate > 0) sim->SetDropRate(drop_rate);
  if (rounds < 0) {
    std::cout << what << ": ring NOT correct after " << max_rounds
              << " rounds: " << sim->CheckRing() << "\n";
    return false;
  }
  std::cout << what << ": ring correct after " << rounds << " more rounds ("
            << Fixed(watch.Seconds(), 2) << " s, " << (sim->calls() - calls) << " calls)\n";
  return true;
}

// "A..B" or "A": the seeds to run. False if malformed.
bool ParseSeeds(const std::string& text, uint64_t* first, uint64_t* last) {
  try {
    size_t dots = text.find("..");
    *first = std::stoull(text.substr(0, dots));
    *last = dots == std::string::npos ? *first : std::stoull(text.substr(dots + 2));
    return *first <= *last;
  } catch (const std::exception&) {
    return false;
  }
}

struct Args {
  int nodes = 1000;
  int lookups = 10000;
  int crash = 0;
  int leave = 0;
  double drop_rate = 0;
  uint64_t seed = 1;
  int joins_per_round = -1;  // -1: grow by join_rate
  double join_rate = 0.01;
  chord::OverlayOptions overlay;
};

int RunScale(const Args& args, chord::ProgressLine* progress) {
  chord::Simulation sim(args.overlay, args.seed);
  sim.set_progress([progress](const std::string& message) { progress->Show(message); });
  // A ring built with no maintenance needs up to O(N) rounds; the cap keeps a broken run from
  // going on for ever.
  const int max_rounds = std::max(200, std::min(10 * args.nodes, 4000));
  Stopwatch total;
  std::cout << "chord-sim: " << args.nodes << " nodes, " << args.overlay.id_bits << "-bit ids, "
            << args.overlay.successors << " successors, seed " << args.seed << ", drop rate "
            << args.drop_rate << "\n";
  if (args.drop_rate > 0) sim.SetDropRate(args.drop_rate);
  Stopwatch join_watch;
  auto joined = args.joins_per_round >= 0 ? sim.BuildRing(args.nodes, args.joins_per_round)
                                          : sim.GrowRing(args.nodes, args.join_rate);
  progress->Done();
  if (!joined.ok()) {
    std::cerr << "chord-sim: " << joined.status().message() << "\n";
    return 2;
  }
  std::cout << "joins: " << *joined << "/" << args.nodes << " joined in "
            << Fixed(join_watch.Seconds(), 2) << " s";
  if (args.joins_per_round < 0) {
    std::cout << ", " << sim.rounds_grown() << " rounds of " << Fixed(100 * args.join_rate, 1)
              << "% of the ring (at least 1)";
  }
  std::cout << ", " << sim.calls() << " calls\n";
  const bool healed = Heal(&sim, max_rounds, args.drop_rate, "after the last join");
  progress->Done();
  if (!healed) return 1;
  std::cout << "  rounds after the last join vs log2(N) = "
            << Fixed(std::log2(std::max(1, *joined)), 2) << "\n";
  Stopwatch finger_watch;
  sim.FixAllFingers();
  progress->Done();
  std::cout << "fingers fixed in " << Fixed(finger_watch.Seconds(), 2) << " s\n";
  bool ok = true;
  // A wrong owner from a correct ring is a protocol bug, unless messages are being lost.
  auto strict = [&](const chord::LookupStats& stats) {
    return args.drop_rate > 0 || stats.correct == stats.lookups;
  };
  Stopwatch lookup_watch;
  auto stats = sim.RunLookups(args.lookups);
  progress->Done();
  PrintLookups("lookups", stats, sim.live_count(), lookup_watch.Seconds());
  ok = ok && strict(stats);

  if (args.crash > 0 || args.leave > 0) {
    int left = sim.Leave(args.leave);
    int crashed = sim.Crash(args.crash);
    std::cout << "\n"
              << crashed << " crashed, " << left << " left gracefully: " << sim.live_count()
              << " live nodes\n";
    Stopwatch damaged_watch;
    stats = sim.RunLookups(args.lookups);
    progress->Done();
    PrintLookups("lookups before any repair", stats, sim.live_count(), damaged_watch.Seconds());
    if (!Heal(&sim, max_rounds, args.drop_rate, "after the failures")) return 1;
    Stopwatch healed_watch;
    stats = sim.RunLookups(args.lookups);
    progress->Done();
    PrintLookups("lookups once healed (stale fingers)", stats, sim.live_count(),
                 healed_watch.Seconds());
    ok = ok && strict(stats);
    sim.FixAllFingers();
    Stopwatch fixed_watch;
    stats = sim.RunLookups(args.lookups);
    progress->Done();
    PrintLookups("lookups once healed and fingers fixed", stats, sim.live_count(),
                 fixed_watch.Seconds());
    ok = ok && strict(stats);
  }
  std::cout << "total " << Fixed(total.Seconds(), 2) << " s, " << sim.rounds() << " rounds, "
            << sim.calls() << " calls, peak memory " << Fixed(PeakMiB(), 0) << " MiB\n";
  if (!ok) std::cout << "FAILED: wrong owners on a correct ring\n";
  return ok ? 0 : 1;
}

int RunChurnSeeds(uint64_t first, uint64_t last, const chord::ChurnOptions& options,
                  const std::string& replay_options, chord::ProgressLine* progress) {
  Stopwatch watch;
  int violations = 0, lost = 0, failed = 0, seeds = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    progress->Show("seed " + std::to_string(seed) + " (" + std::to_string(seeds) + " of " +
                   std::to_string(last - first + 1) + " done, " + std::to_string(failed) +
                   " failed)");
    chord::ChurnResult result = chord::RunChurn(seed, options);
    ++seeds;
    violations += result.violations;
    lost += result.lost;
    progress->Done();
    std::cout << "seed " << seed << ": " << (result.ok() ? "ok" : "FAILED") << ", " << result.joins
              << " joins, " << result.leaves << " leaves, " << result.crashes << " crashes, "
              << result.final_nodes << " nodes; ideal ring "
              << (result.ideal ? std::to_string(result.rounds_to_ideal) + " rounds after churn"
                               : "NOT reached")
              << "; " << result.acked << "/" << result.writes << " writes acked, "
              << result.stale_reads << "/" << result.reads << " reads stale during churn; "
              << result.violations << " violations, " << result.lost << " lost\n";
    if (!result.ok()) {
      ++failed;
      for (const auto& message : result.messages) std::cout << "  " << message << "\n";
      std::cout << "  replay: chord-sim --churn --seeds " << seed << replay_options << "\n";
    }
  }
  progress->Done();
  std::cout << "churn: " << seeds << " seeds in " << Fixed(watch.Seconds(), 1) << " s, " << failed
            << " failed\n";
  std::cout << "invariant violations: " << violations << ", acked writes lost: " << lost
            << ", seeds: " << seeds << std::endl;
  return failed == 0 ? 0 : 1;
}

int RunExperiment(const std::string& name, bool tiny, uint64_t seed,
                  chord::ProgressLine* progress) {
  Stopwatch watch;
  auto status = chord::RunExperimentTables(
      name, tiny, seed, std::cout,
      [progress](const std::string& message) { progress->Show(message); });
  progress->Done();
  if (!status.ok()) {
    std::cerr << "chord-sim: " << status.message() << "\n";
    return status.code() == chord::ErrorCode::kBadArgument ? 2 : 1;
  }
  std::cout << "chord-sim --experiment " << name << (tiny ? " --tiny" : "") << " --seed " << seed
            << ": " << Fixed(watch.Seconds(), 1) << " s, peak memory " << Fixed(PeakMiB(), 0)
            << " MiB\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  chord::SettingsParser parser("chord-sim");
  // One option a line reads better than the packed layout.
  // clang-format off
  parser.tool_options().add_options()
      ("nodes", po::value<int>()->value_name("N"), "nodes in the ring (1000; --churn: 100)")
      ("lookups", po::value<int>()->default_value(10000)->value_name("L"),
       "random lookups per measurement")
      ("crash", po::value<int>()->default_value(0)->value_name("K"),
       "nodes to crash after the first measurement")
      ("leave", po::value<int>()->default_value(0)->value_name("K"),
       "nodes to leave gracefully after the first measurement")
      ("drop-rate", po::value<double>()->value_name("P"),
       "probability (0..1) that an RPC is lost (joins, lookups; not healing rounds; "
       "--churn: during churn, default 0.01)")
      ("seed", po::value<uint64_t>()->default_value(1)->value_name("S"),
       "seed of every random choice; the same seed gives the same run")
      ("join-rate", po::value<double>()->default_value(0.01)->value_name("F"),
       "the ring grows by this fraction of its size per round (at least one node)")
      ("joins-per-round", po::value<int>()->value_name("J"),
       "instead: a round after every J joins; 0: none until all have joined")
      ("churn", "run churn schedules with Zave's invariants checked after every round")
      ("seeds", po::value<std::string>()->default_value("1..10")->value_name("A..B"),
       "--churn: the seeds to run")
      ("churn-rounds", po::value<int>()->default_value(40)->value_name("R"),
       "--churn: rounds of churn per seed")
      ("events-per-round", po::value<double>()->default_value(0.5)->value_name("E"),
       "--churn: joins, leaves and crashes per round (mean)")
      ("experiment", po::value<std::string>()->value_name("NAME"),
       "run one of the paper's experiments and print its tables: path-length, keys-per-node, "
       "failures, keys-moved")
      ("tiny", "--experiment: a tiny scale (seconds), for tests")
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
  const bool churn = vm.count("churn") > 0;
  Args args;
  args.nodes = vm.count("nodes") ? vm["nodes"].as<int>() : (churn ? 100 : 1000);
  args.lookups = vm["lookups"].as<int>();
  args.crash = vm["crash"].as<int>();
  args.leave = vm["leave"].as<int>();
  args.drop_rate = vm.count("drop-rate") ? vm["drop-rate"].as<double>() : (churn ? 0.01 : 0.0);
  args.seed = vm["seed"].as<uint64_t>();
  args.join_rate = vm["join-rate"].as<double>();
  if (vm.count("joins-per-round")) args.joins_per_round = vm["joins-per-round"].as<int>();
  args.overlay.id_bits = settings.id_bits;
  args.overlay.successors = settings.successors;
  args.overlay.max_lookup_hops = settings.max_lookup_hops;
  std::string error;
  if (args.nodes < 1 || args.nodes > 100000) error = "--nodes must be 1..100000";
  if (args.lookups < 0) error = "--lookups must be >= 0";
  if (args.crash < 0 || args.leave < 0 || args.crash + args.leave >= args.nodes) {
    error = "--crash and --leave must be >= 0 and leave at least one node";
  }
  if (!(args.drop_rate >= 0 && args.drop_rate < 1)) error = "--drop-rate must be in [0, 1)";
  if (vm.count("joins-per-round") && args.joins_per_round < 0) {
    error = "--joins-per-round must be >= 0";
  }
  if (!(args.join_rate > 0 && args.join_rate <= 1)) error = "--join-rate must be in (0, 1]";
  uint64_t first = 0, last = 0;
  if (!ParseSeeds(vm["seeds"].as<std::string>(), &first, &last)) {
    error = "--seeds must be A..B with A <= B";
  }
  if (!error.empty()) {
    std::cerr << "chord-sim: " << error << "\n";
    return 2;
  }
  // Each join and every stabilize logs at info; a thousand nodes would bury the report.
  chord::SetLogLevel(vm["log-level"].defaulted() ? "fatal" : settings.log_level);
  chord::ProgressLine progress(std::cerr, chord::IsTerminal(STDERR_FILENO));
  if (vm.count("experiment")) {
    return RunExperiment(vm["experiment"].as<std::string>(), vm.count("tiny") > 0, args.seed,
                         &progress);
  }
  if (!churn) return RunScale(args, &progress);

  chord::ChurnOptions options;
  options.nodes = args.nodes;
  options.successors = settings.successors;
  options.replicas = settings.replicas;
  options.churn_rounds = vm["churn-rounds"].as<int>();
  options.events_per_round = vm["events-per-round"].as<double>();
  options.drop_rate = args.drop_rate;
  // Everything but the seeds, so that a failing seed's line replays it exactly.
  std::ostringstream replay;
  replay << " --nodes " << options.nodes << " --successors " << options.successors << " --replicas "
         << options.replicas << " --churn-rounds " << options.churn_rounds << " --events-per-round "
         << options.events_per_round << " --drop-rate " << options.drop_rate;
  std::cout << "chord-sim --churn: " << options.nodes << " nodes, r = " << options.successors
            << ", " << options.replicas << " replicas, " << options.churn_rounds
            << " churn rounds, " << options.events_per_round << " events per round, drop rate "
            << options.drop_rate << "\n";
  return RunChurnSeeds(first, last, options, replay.str(), &progress);
}
