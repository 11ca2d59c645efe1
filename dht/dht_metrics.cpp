#include "dht/dht_metrics.h"

namespace chord {
namespace {

void Metric(std::ostream& out, const char* name, const char* type, const char* help,
            uint64_t value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << value << "\n";
}

}  // namespace

void WriteDhtMetrics(const Dht& dht, std::ostream& out) {
  const DhtStats stats = dht.Stats();
  const Dht::Counters c = dht.counters();
  Metric(out, "chord_dht_keys_owned", "gauge", "Live keys this node owns.", stats.owned);
  Metric(out, "chord_dht_keys_replicated", "gauge", "Live keys held as replicas for other owners.",
         stats.replicas);
  Metric(out, "chord_dht_tombstones", "gauge", "Removed keys remembered until collected.",
         stats.tombstones);
  Metric(out, "chord_dht_settled", "gauge",
         "1 once this node holds its whole range (a miss is a miss).", stats.settled ? 1 : 0);
  Metric(out, "chord_dht_writes_as_owner_total", "counter",
         "Sets, adds and removes applied as the key's owner.", c.writes_as_owner);
  Metric(out, "chord_dht_replica_misses_total", "counter",
         "Copies of owner writes a successor did not take at once (repair restores them).",
         c.replica_misses);
  Metric(out, "chord_dht_repair_steps_total", "counter", "Repair steps run.", c.repair_steps);
  Metric(out, "chord_dht_records_sent_total", "counter",
         "Records other nodes stored from this node's transfers, repairs and hand-offs.",
         c.records_sent);
  Metric(out, "chord_dht_records_received_total", "counter",
         "Records taken from other nodes (replicas, transfers, repairs).", c.records_received);
  Metric(out, "chord_dht_records_received_as_owner_total", "counter",
         "Records pulled into this node's own range.", c.received_as_owner);
}

}  // namespace chord
