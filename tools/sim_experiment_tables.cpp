#include "tools/sim_experiment_tables.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace chord {

namespace {

std::string Fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

// One Markdown table row of `cells`.
void Row(std::ostream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const auto& cell : cells) out << " " << cell << " |";
  out << "\n";
}

void Header(std::ostream& out, const std::vector<std::string>& titles) {
  Row(out, titles);
  out << "|";
  for (size_t i = 0; i < titles.size(); ++i) out << "---|";
  out << "\n";
}

Status PathLength(bool tiny, uint64_t seed, std::ostream& out, const ExperimentProgress& progress) {
  PathLengthOptions options;
  options.seed = seed;
  if (tiny) {
    options.max_log2 = 6;
    options.lookups = 300;
  }
  auto rows = RunPathLength(options, progress);
  if (!rows.ok()) return rows.status();
  out << "## Lookup path length\n\n"
      << "One ring grown by settled joins (r = " << options.successors
      << "), fingers fixed at each size, " << options.lookups
      << " lookups of random ids from random nodes; hops = remote nodes asked.\n\n";
  Header(out, {"N", "lookups", "mean hops", "1st pct", "99th pct", "max", "½ log2 N", "correct"});
  for (const auto& row : *rows) {
    Row(out, {std::to_string(row.nodes), std::to_string(row.lookups), Fixed(row.hops.mean, 2),
              Fixed(row.hops.p1, 0), Fixed(row.hops.p99, 0), Fixed(row.hops.max, 0),
              Fixed(0.5 * std::log2(row.nodes), 2), Fixed(100 * row.correct, 2) + "%"});
  }
  out << "\n";
  return Status::Ok();
}

Status KeysPerNode(bool tiny, uint64_t seed, std::ostream& out,
                   const ExperimentProgress& progress) {
  KeysPerNodeOptions options;
  options.seed = seed;
  if (tiny) options.processes = 100;
  auto rows = RunKeysPerNode(options, progress);
  out << "## Keys per node, with virtual nodes\n\n"
      << options.processes << " processes, " << options.keys_per_process
      << " keys per process; a process with v virtual nodes has v ids; keys counted per "
         "process.\n\n";
  Header(out, {"virtual nodes v", "processes", "keys", "mean", "1st pct", "99th pct", "max",
               "99th / mean"});
  for (const auto& row : rows) {
    const auto& k = row.keys_per_process;
    Row(out, {std::to_string(row.virtual_nodes), std::to_string(row.processes),
              std::to_string(row.keys), Fixed(k.mean, 1), Fixed(k.p1, 0), Fixed(k.p99, 0),
              Fixed(k.max, 0), Fixed(k.mean > 0 ? k.p99 / k.mean : 0, 2)});
  }
  out << "\n";
  for (const auto& row : rows) {
    if (row.virtual_nodes != 16) continue;
    const auto& k = row.keys_per_process;
    out << "Target (issue 12): with 16 virtual nodes per process the 99th percentile of keys "
           "per process is "
        << Fixed(k.p99, 0) << " = " << Fixed(k.p99 / k.mean, 2) << " x the mean ("
        << Fixed(k.mean, 1)
        << "); target at most 2 x: " << (k.p99 <= 2 * k.mean ? "met" : "NOT met") << ".\n\n";
  }
  return Status::Ok();
}

Status Failures(bool tiny, uint64_t seed, std::ostream& out, const ExperimentProgress& progress) {
  FailureOptions options;
  options.seed = seed;
  if (tiny) {
    options.nodes = 64;
    options.successors = 12;
    options.lookups = 300;
  }
  auto rows = RunFailures(options, progress);
  if (!rows.ok()) return rows.status();
  out << "## Simultaneous failures, before any repair\n\n"
      << options.nodes << " nodes, successor lists of r = " << options.successors
      << ", fingers fixed; a fraction p crashes at once, then " << options.lookups
      << " lookups run before any maintenance round. Failed: no answer, or not the live "
         "owner. Timeouts: calls to crashed nodes.\n\n";
  Header(out,
         {"p", "live nodes", "lookups", "failed lookups", "failed fraction", "timeouts mean",
          "timeouts 1st pct", "timeouts 99th pct", "hops mean", "hops 1st pct", "hops 99th pct"});
  for (const auto& row : *rows) {
    Row(out, {Fixed(row.fraction, 2), std::to_string(row.live), std::to_string(row.lookups),
              std::to_string(row.failed), Fixed(double(row.failed) / row.lookups, 4),
              Fixed(row.timeouts.mean, 2), Fixed(row.timeouts.p1, 0), Fixed(row.timeouts.p99, 0),
              Fixed(row.hops.mean, 2), Fixed(row.hops.p1, 0), Fixed(row.hops.p99, 0)});
  }
  out << "\n";
  for (const auto& row : *rows) {
    if (std::fabs(row.fraction - 0.5) > 1e-9) continue;
    const double found = 1 - double(row.failed) / row.lookups;
    out << "Target (issue 12): after half of " << options.nodes
        << " nodes fail at once (r = " << options.successors << "), " << Fixed(100 * found, 2)
        << "% of lookups found the live owner before repair (paper: 0 failed lookups); target "
           "at least 99%: "
        << (found >= 0.99 ? "met" : "NOT met") << ".\n\n";
  }
  return Status::Ok();
}

Status KeysMoved(bool tiny, uint64_t seed, std::ostream& out, const ExperimentProgress& progress) {
  KeysMovedOptions options;
  options.seed = seed;
  if (tiny) {
    options.nodes = 100;
    options.keys = 2000;
    options.joins = 5;
    options.dht_nodes = 16;
    options.dht_keys = 400;
    options.dht_joins = 3;
  }
  auto runs = RunKeysMoved(options, progress);
  if (!runs.ok()) return runs.status();
  out << "## Keys moved per join\n\n"
      << "ownership: " << options.joins << " joins into " << options.nodes << " ids holding "
      << options.keys
      << " keys, counting the keys whose successor changes. dht: " << options.dht_joins
      << " joins into a simulated ring of " << options.dht_nodes
      << " Dht nodes (1 replica) holding " << options.dht_keys
      << " keys, counting the records the nodes received over each join and "
      << options.settle_rounds
      << " rounds after it. K/N counts the newcomer; exact: the keys in (predecessor, "
         "newcomer].\n\n";
  Header(out, {"method", "nodes before", "keys K", "joins", "mean K/N", "moved mean", "moved max",
               "mean / (K/N)", "max / (K/N)", "moved = exact"});
  for (const auto& run : *runs) {
    const Spread moved = SpreadOf(run.moved);
    const Spread expected = SpreadOf(run.expected);
    double worst = 0;
    int equal = 0;
    for (size_t j = 0; j < run.moved.size(); ++j) {
      worst = std::max(worst, run.moved[j] / run.expected[j]);
      equal += run.moved[j] == run.exact[j];
    }
    Row(out, {run.method, std::to_string(run.nodes), std::to_string(run.keys),
              std::to_string(run.moved.size()), Fixed(expected.mean, 1), Fixed(moved.mean, 1),
              Fixed(moved.max, 0), Fixed(moved.mean / expected.mean, 2), Fixed(worst, 2),
              std::to_string(equal) + "/" + std::to_string(run.moved.size())});
  }
  out << "\n### Per join\n\n";
  Header(out, {"method", "join", "moved", "K/N", "exact"});
  for (const auto& run : *runs) {
    for (size_t j = 0; j < run.moved.size(); ++j) {
      Row(out, {run.method, std::to_string(j + 1), Fixed(run.moved[j], 0),
                Fixed(run.expected[j], 1), Fixed(run.exact[j], 0)});
    }
  }
  out << "\n";
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& ExperimentNames() {
  static const std::vector<std::string> names = {"path-length", "keys-per-node", "failures",
                                                 "keys-moved"};
  return names;
}

Status RunExperimentTables(const std::string& name, bool tiny, uint64_t seed, std::ostream& out,
                           const ExperimentProgress& progress) {
  if (name == "path-length") return PathLength(tiny, seed, out, progress);
  if (name == "keys-per-node") return KeysPerNode(tiny, seed, out, progress);
  if (name == "failures") return Failures(tiny, seed, out, progress);
  if (name == "keys-moved") return KeysMoved(tiny, seed, out, progress);
  return Status::BadArgument("unknown experiment " + name +
                             " (path-length, keys-per-node, failures, keys-moved)");
}

}  // namespace chord
