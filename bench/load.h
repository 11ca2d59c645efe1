// The load of one chord-bench phase: `threads` clients share the operations out, each one to a
// random target, until all are done or the phase's deadline passes.
#ifndef CHORD_BENCH_LOAD_H_
#define CHORD_BENCH_LOAD_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands/transport.h"
#include "dht/dht_client.h"

namespace chord_bench {

// Operation `i` on `node`; returns the lookup hops it took (0 where there are none). Each client
// thread has its own DhtClient (not thread-safe), all over one shared transport.
using Operation =
    std::function<chord::Result<int>(chord::DhtClient* client, const std::string& node, int i)>;

struct Load {
  std::string label;                 // for the progress line
  std::vector<std::string> targets;  // each operation goes to a random one of these
  Operation operation;
  int first = 0;  // operations first .. first + count - 1
  int count = 0;
  int threads = 1;
  std::chrono::milliseconds deadline{0};  // no operation starts later than this after the start
  bool progress = false;                  // rewrite "label done/count" on stderr as it goes
};

// What the clients saw.
struct LoadResult {
  std::vector<double> latencies_ms;  // one per operation run, failed ones included
  int succeeded = 0;
  long hops = 0;     // of the operations that succeeded
  int failures = 0;  // failed operations, and those the deadline kept from running
  std::string first_error;
  double seconds = 0;
};

// Thread t uses (*clients)[t]: clients outlive a load, so that what one learnt of the ring
// (DhtClient's owner map) serves the next. There must be at least load.threads of them.
LoadResult RunLoad(const std::vector<std::unique_ptr<chord::DhtClient>>& clients, const Load& load);

}  // namespace chord_bench

#endif  // CHORD_BENCH_LOAD_H_
