// How DHT records and values travel between nodes (internal wire format).
//
// A record is a struct {key, value (string or base64), version (string, decimal), tombstone,
// expires_at_ms, written_at_ms (strings, decimal)}; 64-bit numbers travel as decimal strings so
// that any XML-RPC client can read them.
//
// Thread-safety: free functions.
#ifndef CHORD_DHT_RECORD_CODEC_H_
#define CHORD_DHT_RECORD_CODEC_H_

#include <xmlrpc-c/base.hpp>

#include <vector>

#include "commands/status.h"
#include "dht/storage.h"

namespace chord {

xmlrpc_c::value ValueToXml(const std::string& bytes, bool binary);
xmlrpc_c::value RecordToXml(const Record& record);
xmlrpc_c::value RecordsToXml(const std::vector<Record>& records);
// `bits` is the id size used to recompute each key's id. Errors: BadArgument.
Result<Record> RecordFromXml(const xmlrpc_c::value& value, int bits);
Result<std::vector<Record>> RecordsFromXml(const xmlrpc_c::value& value, int bits);

}  // namespace chord

#endif  // CHORD_DHT_RECORD_CODEC_H_
