// Helpers shared by the paper's experiments (tools/sim_experiments.h): rings grown by settled
// joins, rings of bare ids for key placement, and histograms turned into samples.
//
// Thread-safety: free functions on their arguments; a Simulation is not thread-safe.
#ifndef CHORD_TOOLS_SIM_EXP_COMMON_H_
#define CHORD_TOOLS_SIM_EXP_COMMON_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "overlay/id.h"
#include "overlay/local.h"
#include "tools/sim_experiments.h"
#include "tools/simulation.h"

namespace chord {
namespace sim_exp {

constexpr int kIdBits = 160;

void Tell(const ExperimentProgress& progress, const std::string& message);
// Expands a histogram (value -> count) into a sample.
std::vector<double> Sample(const std::map<int, int>& histogram);
// 160-bit ids, successor lists of `successors`.
OverlayOptions Overlay(int successors);
// Grows `sim` to `count` live nodes by JoinSettled. False if a join failed.
bool GrowSettled(Simulation* sim, int count, const ExperimentProgress& progress);

// Ids in ring order, each with the index of what it stands for (a node, a process).
using Ring = std::vector<std::pair<Id, int>>;
// Index in `ring` (sorted) of the successor of `id`.
size_t SuccessorIndex(const Ring& ring, const Id& id);
// The id just before `id` in `ring` (sorted, without `id`).
const Id& PredecessorIn(const Ring& ring, const Id& id);
// Keys of `keys` (sorted) in (after, upto] on the circle.
int KeysBetween(const std::vector<Id>& keys, const Id& after, const Id& upto);
// SHA-1 of prefix + k for k < count, sorted.
std::vector<Id> SortedKeyIds(int count, const std::string& prefix);

}  // namespace sim_exp
}  // namespace chord

#endif  // CHORD_TOOLS_SIM_EXP_COMMON_H_
