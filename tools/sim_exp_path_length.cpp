// Lookup path length against N (the paper's Fig. 10): tools/sim_experiments.h.
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

Result<std::vector<PathLengthRow>> RunPathLength(const PathLengthOptions& options,
                                                 const ExperimentProgress& progress) {
  std::vector<PathLengthRow> rows;
  Simulation sim(Overlay(options.successors), options.seed);
  for (int log2 = options.min_log2; log2 <= options.max_log2; ++log2) {
    const int nodes = 1 << log2;
    if (!GrowSettled(&sim, nodes, progress)) {
      return Status::Internal("a join failed at " + std::to_string(sim.live_count()) + " nodes");
    }
    if (std::string error = sim.CheckRing(); !error.empty()) {
      return Status::Internal(std::to_string(nodes) + " nodes: ring not correct: " + error);
    }
    Tell(progress, "fixing fingers of " + std::to_string(nodes) + " nodes");
    sim.FixAllFingers();
    Tell(progress, "lookups on " + std::to_string(nodes) + " nodes");
    LookupStats stats = sim.RunLookups(options.lookups);
    PathLengthRow row;
    row.nodes = nodes;
    row.lookups = stats.lookups;
    row.hops = SpreadOf(Sample(stats.hops));
    row.correct = stats.lookups ? double(stats.correct) / stats.lookups : 0;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace chord
