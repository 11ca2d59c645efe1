// Proof of the ring's shared secret on an HTTP request.
//
// A caller that knows the secret signs each request with HMAC-SHA256 keyed with the secret over
// a version tag, the request path, a timestamp (unix ms), a random nonce and the exact body
// bytes, and sends it in one header:
//
//   X-Chord-Auth: v1 ts=1700000000000 nonce=0123456789abcdef mac=<64 hex digits>
//
// The server accepts a proof once, and only while its timestamp is within the replay window of
// the server's clock (peers' clocks must agree to within that window). The proof authenticates
// the request but does not hide it: see docs/security.md.
//
// Thread-safety: the free functions are pure (NewNonce uses OpenSSL's thread-safe generator);
// ProofChecker::Check may be called from any number of threads.
#ifndef CHORD_COMMANDS_AUTH_H_
#define CHORD_COMMANDS_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "commands/status.h"

namespace chord {

// The HTTP header that carries the proof.
inline constexpr const char* kAuthHeader = "X-Chord-Auth";
// How far a proof's timestamp may be from the checker's clock, either way.
inline constexpr int64_t kReplayWindowMs = 60 * 1000;

// 16 lowercase hex digits (64 random bits) from a cryptographic generator.
std::string NewNonce();

// The value of the X-Chord-Auth header for a request of `body` to `path` at `now_ms` (unix ms).
// `nonce` must be fresh for every request (NewNonce()).
std::string SignRequest(std::string_view secret, std::string_view path, std::string_view body,
                        int64_t now_ms, std::string_view nonce);

// Current wall-clock time in unix ms: proofs compare clocks across machines, so not steady_clock.
int64_t UnixMillis();

class ProofChecker {
 public:
  // `max_remembered` bounds the replay cache: at most that many proofs are remembered at once
  // (each until its timestamp leaves the window); while it is full, further proofs are refused,
  // which only callers that know the secret can cause.
  explicit ProofChecker(std::string secret, int64_t window_ms = kReplayWindowMs,
                        size_t max_remembered = size_t{1} << 18);
  ProofChecker(const ProofChecker&) = delete;
  ProofChecker& operator=(const ProofChecker&) = delete;

  // Ok if `header_value` (the X-Chord-Auth value, or empty when the header is absent) proves the
  // secret for this path and body, is fresh, and was not seen before. Else Refused with the
  // reason: "no proof", "malformed proof", "stale timestamp", "bad mac", "replayed" or
  // "too many proofs in the window". The mac is checked before the replay cache is touched, so
  // callers without the secret cannot fill it.
  Status Check(std::string_view header_value, std::string_view path, std::string_view body,
               int64_t now_ms);

 private:
  const std::string secret_;
  const int64_t window_ms_;
  const size_t max_remembered_;
  std::mutex mutex_;
  // (timestamp, nonce) of accepted proofs, oldest first; guarded by mutex_.
  std::set<std::pair<int64_t, uint64_t>> seen_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_AUTH_H_
