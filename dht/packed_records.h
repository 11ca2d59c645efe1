// Packed records: a batch of records as one byte string, which dht.put_batch carries as a single
// XML-RPC base64 value. An array of XML-RPC structs costs the parser some twenty allocations and
// several string conversions per record, which made up about half of a node's work while a bulk
// load was copied to the replicas (docs/PERFORMANCE.md); a base64 string is decoded in one pass.
//
// Layout, per record, integers big-endian: u32 key length, the key, u32 value length, the
// value, u64 version, u64 expires_at_ms, u64 written_at_ms, u8 flags (1: tombstone, 2: binary).
//
// Thread-safety: free functions without state.
#ifndef CHORD_DHT_PACKED_RECORDS_H_
#define CHORD_DHT_PACKED_RECORDS_H_

#include <string>
#include <vector>

#include "dht/dht_protocol.h"

namespace chord {

std::string PackRecords(const std::vector<Record>& records);

// The records of `packed`, each checked as dht.put_many checks one (key and value within
// `limits`, version and times in range; ids computed with limits.bits), at most kMaxWireBatch.
// Errors: BadArgument naming the first bad record, or a truncated or overlong string.
Result<std::vector<Record>> UnpackRecords(const std::string& packed, const DhtLimits& limits);

}  // namespace chord

#endif  // CHORD_DHT_PACKED_RECORDS_H_
