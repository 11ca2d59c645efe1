// Lookups after simultaneous failures, before repair (the paper's Fig. 13):
// tools/sim_experiments.h.
#include <algorithm>
#include <cmath>
#include <string>

#include "tools/sim_exp_common.h"
#include "tools/sim_experiments.h"

namespace chord {

using sim_exp::GrowSettled;
using sim_exp::Overlay;
using sim_exp::Sample;
using sim_exp::Tell;

Result<std::vector<FailureRow>> RunFailures(const FailureOptions& options,
                                            const ExperimentProgress& progress) {
  std::vector<FailureRow> rows;
  for (size_t i = 0; i < options.fractions.size(); ++i) {
    const double fraction = options.fractions[i];
    Simulation sim(Overlay(options.successors), options.seed + i);
    Tell(progress, "p = " + std::to_string(fraction) + ": building the ring");
    if (!GrowSettled(&sim, options.nodes, progress)) return Status::Internal("a join failed");
    if (std::string error = sim.CheckRing(); !error.empty()) {
      return Status::Internal("ring not correct before the crash: " + error);
    }
    sim.FixAllFingers();
    sim.Crash(static_cast<int>(std::lround(fraction * options.nodes)));
    Tell(progress, "p = " + std::to_string(fraction) + ": lookups");
    LookupStats stats = sim.RunLookups(options.lookups);
    FailureRow row;
    row.fraction = fraction;
    row.live = sim.live_count();
    row.lookups = stats.lookups;
    row.failed = stats.lookups - stats.correct;
    row.timeouts = SpreadOf(Sample(stats.timeouts));
    row.hops = SpreadOf(Sample(stats.hops));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace chord
