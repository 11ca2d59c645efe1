// The DHT's lines for GET /metrics (Prometheus text format): keys owned and replicated,
// tombstones, whether the range is settled, and the Dht's counters (writes, replica misses,
// repair steps, records moved).
//
// Thread-safety: stateless; `dht` must be alive for the call (Dht::Stats and counters are safe
// from any thread). Dht::Stats scans the node's records: served on a server worker thread.
#ifndef CHORD_DHT_DHT_METRICS_H_
#define CHORD_DHT_DHT_METRICS_H_

#include <ostream>

#include "dht/dht.h"

namespace chord {

void WriteDhtMetrics(const Dht& dht, std::ostream& out);

}  // namespace chord

#endif  // CHORD_DHT_DHT_METRICS_H_
