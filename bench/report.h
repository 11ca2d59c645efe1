// chord-bench's figures for each phase, from what the clients saw and what the nodes counted,
// and their output: an aligned table, or one JSON object.
#ifndef CHORD_BENCH_REPORT_H_
#define CHORD_BENCH_REPORT_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/counters.h"
#include "bench/load.h"

namespace chord_bench {

// The run's parameters.
struct RunInfo {
  std::string version;
  int nodes = 0;
  int ops = 0;
  int threads = 0;
  int warmup = 0;
  int value_bytes = 0;
  int bits = 0;
  int call_timeout_ms = 0;
  int idle_ms = 0;    // idle window before each phase, measuring the ring's own traffic
  std::string entry;  // where set and get go: "owner" (the client's guess) or "random"
};

struct Figures {
  std::string phase;
  int ops = 0;  // operations run (failed ones included)
  double seconds = 0;
  double ops_per_s = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  std::optional<double> mean_hops;  // none for the ceiling (no lookup)
  // From the nodes' counters; none when some node did not answer chord.stats.
  std::optional<double> rpc_per_op;   // calls served by all nodes per operation
  std::optional<double> efficiency;   // ops/s x rpc/op / ceiling ops/s
  std::optional<double> conn_per_1k;  // connections accepted per 1,000 calls served
  std::optional<double> thr_per_1k;   // server threads started per 1,000 calls served
  std::optional<double> background;   // the ring's own calls per second, taken off rpc/op
  int failures = 0;
  std::string first_error;
};

// `served`: the nodes' counters over the phase; `background`: the ring's own calls per second
// (0 if not measured);
// `ceiling_ops_per_s`: the ceiling phase's ops/s (none while measuring the ceiling itself, whose
// efficiency is then computed against its own ops/s).
Figures Compute(const std::string& phase, const LoadResult& load, bool has_hops,
                const std::optional<Served>& served, const std::optional<double>& background,
                const std::optional<double>& ceiling_ops_per_s);

std::string HeaderLine(const RunInfo& run);
void PrintTableHead(std::ostream& out);
void PrintRow(std::ostream& out, const Figures& figures);  // and its first failure, if any
void PrintLegend(std::ostream& out, const RunInfo& run);
std::string Json(const RunInfo& run, const std::vector<Figures>& phases);

}  // namespace chord_bench

#endif  // CHORD_BENCH_REPORT_H_
