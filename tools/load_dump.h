// Bulk transfer between a ring and a stream of lines `key<TAB>value` (chord load / chord dump).
//
// Load reads the stream in rounds of keys_per_round keys and sets each round with
// DhtClient::SetMany, which sends every owner's share as dht.set_many calls all in flight at
// once; so several batches per node are in flight while the next round is read. Values that an
// XML-RPC string cannot carry travel as base64 (as the shell's set does). A line without a tab
// is a failed key. Dump walks the ring and asks each member for the live records it owns
// (dht.owned, page by page), so every key comes once; a key or value holding a newline or a
// key holding a tab cannot be written as a line and is counted as skipped.
//
// Thread-safety: one call at a time per DhtClient (it is not thread-safe).
#ifndef CHORD_TOOLS_LOAD_DUMP_H_
#define CHORD_TOOLS_LOAD_DUMP_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "commands/transport.h"
#include "dht/dht_client.h"

namespace chord {

struct LoadOptions {
  // Keys sent at once (spread over every owner's calls). Measured on 8 nodes (PERFORMANCE.md):
  // 32768 kept several 1000-key calls per owner in flight, each waiting its turn for the CPU
  // while its copies to the replicas timed out; 8192 (about one call per owner) did not.
  size_t keys_per_round = 8192;
  int ttl_s = 0;  // 0: no expiry
};

struct TransferSummary {
  uint64_t keys = 0;     // load: keys stored; dump: keys written
  uint64_t failed = 0;   // load: keys not stored (lines without a tab included)
  uint64_t skipped = 0;  // dump: records that cannot be written as a line
  uint64_t bytes = 0;    // bytes of the input read (load) or output written (dump)
  double seconds = 0;
  std::vector<std::string> first_errors;  // up to kMaxErrorsKept, "key: error"
  static constexpr size_t kMaxErrorsKept = 5;
};

// Called after each round (load) or page (dump) with the summary so far.
using TransferProgress = std::function<void(const TransferSummary&)>;

// Sets every line of `in`. Errors: BadArgument if `in` cannot be read; otherwise the summary
// (failed keys are counted in it, not returned as an error).
Result<TransferSummary> LoadKeys(DhtClient* client, std::istream& in, const LoadOptions& options,
                                 const TransferProgress& progress = nullptr);

// Writes every live key of the ring to `out`. Errors: Unavailable if no member answers or a
// member stops answering in the middle of its range (the output is then incomplete).
Result<TransferSummary> DumpKeys(DhtClient* client, Transport* transport, std::ostream& out,
                                 const TransferProgress& progress = nullptr);

}  // namespace chord

#endif  // CHORD_TOOLS_LOAD_DUMP_H_
