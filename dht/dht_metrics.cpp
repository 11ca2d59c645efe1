#include "dht/dht_metrics.h"

#include "commands/call_metrics.h"

namespace chord {
void WriteDhtMetrics(const Dht& dht, std::ostream& out) {
  const DhtStats stats = dht.Stats();
  const Dht::Counters c = dht.counters();
  WriteMetric(out, "chord_dht_keys_owned", "gauge", "Live keys this node owns.", stats.owned);
  WriteMetric(out, "chord_dht_keys_replicated", "gauge",
              "Live keys held as replicas for other owners.", stats.replicas);
  WriteMetric(out, "chord_dht_tombstones", "gauge", "Removed keys remembered until collected.",
              stats.tombstones);
  WriteMetric(out, "chord_dht_settled", "gauge",
              "1 once this node holds its whole range (a miss is a miss).", stats.settled ? 1 : 0);
  WriteMetric(out, "chord_dht_writes_as_owner_total", "counter",
              "Sets, adds and removes applied as the key's owner.", c.writes_as_owner);
  WriteMetric(out, "chord_dht_replica_misses_total", "counter",
              "Copies of owner writes a successor did not take at once (repair restores them).",
              c.replica_misses);
  WriteMetric(out, "chord_dht_repair_steps_total", "counter", "Repair steps run.", c.repair_steps);
  WriteMetric(out, "chord_dht_records_sent_total", "counter",
              "Records other nodes stored from this node's transfers, repairs and hand-offs.",
              c.records_sent);
  WriteMetric(out, "chord_dht_records_received_total", "counter",
              "Records taken from other nodes (replicas, transfers, repairs).", c.records_received);
  WriteMetric(out, "chord_dht_records_received_as_owner_total", "counter",
              "Records pulled into this node's own range.", c.received_as_owner);
  WriteMetric(out, "chord_dht_suspect", "gauge",
              "1 while this node may have missed writes (it did not run for a while).",
              dht.Suspect() ? 1 : 0);
  WriteMetric(out, "chord_dht_gaps_total", "counter",
              "Times this node found it had not run for longer than --suspect-gap-ms.", c.gaps);
  WriteMetric(out, "chord_dht_compared_ops_total", "counter",
              "Owner operations compared with the replicas while suspect (read repair).",
              c.compared_ops);
  WriteMetric(out, "chord_dht_late_writes_refused_total", "counter",
              "Writes not applied because they arrived after their caller had given up.",
              c.late_writes_refused);
}

}  // namespace chord
