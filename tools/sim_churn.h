// Churn schedules for the simulator: a ring of real Local + Dht nodes that nodes join, leave
// gracefully and crash while clients write and read keys and calls are dropped, with Zave's
// invariants (tools/sim_invariants.h) checked after every round.
//
// One seed is one schedule: the ring grows, churns for `churn_rounds` rounds, then churn and
// call loss stop; the ring must reach its ideal state (every successor, predecessor and
// successor list right) within `settle_rounds`, and after a few repair periods every key must
// read back its latest acknowledged value (or a later write that was not acknowledged).
// Crashes and leaves never take `run_limit` consecutive nodes of the ring (counting the ones
// that departed within the last `window_rounds`, and passing over newcomers of that window,
// which may not hold their keys yet), so neither the successor lists (r) nor the replicas can
// all be lost at once.
//
// Thread-safety: RunChurn is reentrant (each call owns its Simulation).
#ifndef CHORD_TOOLS_SIM_CHURN_H_
#define CHORD_TOOLS_SIM_CHURN_H_

#include <cstdint>
#include <string>
#include <vector>

namespace chord {

struct ChurnOptions {
  int nodes = 100;                // ring size before churn
  int successors = 8;             // r
  int replicas = 3;               // DHT copies
  int churn_rounds = 40;          // rounds with churn, loss and clients
  double events_per_round = 0.5;  // joins + leaves + crashes per round (mean)
  double drop_rate = 0.01;        // call loss during churn
  int writes_per_round = 4;
  int reads_per_round = 4;
  int keys = 40;           // distinct keys the clients use
  int settle_rounds = 60;  // bound on rounds to the ideal ring after churn
  int repair_rounds = 25;  // rounds of repair before the final reads
  int window_rounds = 30;  // departures this recent count as adjacent (see above)
  bool verbose = false;    // every violation, not just the first few
};

struct ChurnResult {
  uint64_t seed = 0;
  int violations = 0;  // invariant violations summed over all rounds
  int violating_rounds = 0;
  int lost = 0;        // keys whose final read is not the latest acknowledged value
  bool ideal = false;  // the ideal ring was reached within settle_rounds
  int rounds_to_ideal = -1;
  int joins = 0, leaves = 0, crashes = 0;
  int writes = 0, acked = 0, reads = 0, stale_reads = 0;  // stale: during churn, not failing
  int final_nodes = 0;
  std::vector<std::string> messages;  // the first violations and losses, with their round
  bool ok() const { return violations == 0 && lost == 0 && ideal; }
};

ChurnResult RunChurn(uint64_t seed, const ChurnOptions& options);

}  // namespace chord

#endif  // CHORD_TOOLS_SIM_CHURN_H_
