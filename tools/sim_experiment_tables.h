// chord-sim --experiment: runs one of the paper's experiments (tools/sim_experiments.h) and
// writes its figures as Markdown tables, the form bench/paper_figures.py reads and draws.
//
// Thread-safety: reentrant; writes only to the stream it is given.
#ifndef CHORD_TOOLS_SIM_EXPERIMENT_TABLES_H_
#define CHORD_TOOLS_SIM_EXPERIMENT_TABLES_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tools/sim_experiments.h"

namespace chord {

// The experiments' names, as --experiment takes them.
const std::vector<std::string>& ExperimentNames();

// Runs experiment `name` at the paper's scale, or `tiny` (a few seconds, for tests), with
// `seed`, writing its tables to `out`. Errors: BadArgument for an unknown name; the
// experiment's own errors.
Status RunExperimentTables(const std::string& name, bool tiny, uint64_t seed, std::ostream& out,
                           const ExperimentProgress& progress);

}  // namespace chord

#endif  // CHORD_TOOLS_SIM_EXPERIMENT_TABLES_H_
