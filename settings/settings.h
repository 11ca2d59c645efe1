// Settings: the single bag of tunables shared by every Chord program (chord-node and the tools).
//
// A Settings value is filled from built-in defaults, a config file and the command line by
// SettingsParser (settings/settings_parser.h); Validate() checks the cross-field rules.
//
// Thread-safety: Settings is a plain value type without internal synchronization. Concurrent
// reads of one instance are safe; any write needs external synchronization. The free functions
// below are pure and thread-safe.
#ifndef CHORD_SETTINGS_SETTINGS_H_
#define CHORD_SETTINGS_SETTINGS_H_

#include <cstddef>
#include <string>

namespace chord {

// Largest value accepted for Settings::max_value_bytes (64 MiB).
inline constexpr int kMaxValueBytesLimit = 64 * 1024 * 1024;

// Every tunable of a node or tool. The command-line option of a field is its name with '_'
// replaced by '-' (e.g. id_bits -> --id-bits); config_file is --config.
struct Settings {
  // --- node start (used by chord-node) ---
  bool create = false;      // Default false: start a new ring instead of joining one.
  std::string join;         // Default "": "HOST:PORT" of any ring member to join through.
  std::string config_file;  // Default "": config file read before the command line ("" = none).

  // --- network ---
  std::string bind = "127.0.0.1";  // Default 127.0.0.1: numeric IPv4 address the server binds.
  int port = 0;                    // Default 0: TCP port of the server; 0 picks a free port.
  std::string advertise;           // Default "": "HOST[:PORT]" peers and clients use to reach
                                   // this node, its identity (id = hash of it); "" = bind:port,
                                   // port omitted or 0 = the bound port. Needed with a
                                   // wildcard --bind (0.0.0.0).
  int max_connections = 1024;      // Default 1024: connections the server keeps open.
  int connect_timeout_ms = 1000;   // Default 1000: client TCP connect timeout in milliseconds.
  int call_timeout_ms = 5000;      // Default 5000: client whole-call timeout in milliseconds.
  int min_call_timeout_ms = 200;   // Default 200: shortest time-out of a peer call whose
                                   // time-out follows the peer's round trips (RttEstimator);
                                   // >= call-timeout-ms: every call waits call-timeout-ms.

  // --- security ---
  std::string secret_file;   // Default "": file holding the ring's shared secret ("" = none);
                             // read with LoadSecret (settings/secret.h).
  bool client_auth = false;  // Default false: client commands need the secret too
                             // (requires secret_file).

  // --- overlay ---
  int id_bits = 160;               // Default 160: m, number of identifier bits, 1..160.
  int successors = 8;              // Default 8: r, length of the successor list, >= 1.
  int stabilize_ms = 200;          // Default 200: period of stabilize and successor-list refresh.
  int fix_fingers_ms = 200;        // Default 200: period of one fix-fingers step.
  int check_predecessor_ms = 500;  // Default 500: period of check-predecessor.
  int max_lookup_hops = 160;       // Default 160: a lookup gives up after this many hops.

  // --- dht ---
  int replicas = 3;               // Default 3: copies of each key (owner + replicas-1 successors);
                                  // 1 <= replicas <= successors + 1.
  int max_key_bytes = 1024;       // Default 1024: largest key accepted, in bytes.
  int max_value_bytes = 1048576;  // Default 1 MiB: largest value accepted, in bytes (<= 64 MiB).
  int repair_ms = 1000;           // Default 1000: period of the replica repair step.
  int tombstone_ttl_s = 600;      // Default 600: seconds a remove's tombstone is kept.
  int transfer_batch = 256;       // Default 256: keys per batch when moving keys between nodes.
  int suspect_gap_ms = 2000;      // Default 2000: a node that did not run for longer (frozen,
                                  // starved) may have missed writes: it compares reads with its
                                  // replicas until it has caught up with its successor.
  std::string data_dir;           // Default "": directory of the node's durable storage (records,
                                  // tombstones, identity); "" = in memory, lost on exit.

  // --- logging ---
  std::string log_level = "info";  // Default info: trace, debug, info, warning, error or fatal.
  std::string log_file;            // Default "": log file path; "" logs to stderr only.
};

// Checks every rule on `settings`. Returns "" if all hold, else a message for the first violated
// rule that names the command-line option, e.g.
// "invalid value for --id-bits: 200 (must be 1..160)". Never throws (except std::bad_alloc).
std::string Validate(const Settings& settings);

// The largest request body a node parses: one value of max_value_bytes as base64 (xmlrpc-c
// writes 78 characters per 57 bytes, line breaks included), the key (each byte at most 6 once
// escaped) and 64 KiB of XML envelope. Nodes size their own batches (dht.put_many) to fit.
size_t MaxRequestBytes(const Settings& settings);
// Of that, what the payload of one request may take: MaxRequestBytes less the envelope.
size_t MaxBatchBytes(const Settings& settings);

// Splits "HOST:PORT" at the last ':'. HOST must be non-empty and contain no ':'; PORT must be
// decimal digits only with a value in 1..65535. Returns false (outputs untouched) on any other
// input. Either output pointer may be null.
bool ParseHostPort(const std::string& text, std::string* host, int* port);

// Splits an --advertise value, "HOST" or "HOST:PORT": HOST non-empty, at most 253 printable
// characters without ':' or spaces, not the wildcard 0.0.0.0; PORT decimal 0..65535 (0 or
// omitted: the bound port, stored as 0). Returns false (outputs untouched) on any other input.
bool ParseAdvertise(const std::string& text, std::string* host, int* port);

// The address this node gives out ("HOST:PORT"): settings.advertise with its port filled in
// from `bound_port` when omitted or 0, else settings.bind:bound_port. `settings` must be valid.
std::string AdvertisedAddress(const Settings& settings, int bound_port);

}  // namespace chord

#endif  // CHORD_SETTINGS_SETTINGS_H_
