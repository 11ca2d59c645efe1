#include "commands/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstring>
#include <memory>

namespace chord {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr size_t kNonceDigits = 16;
constexpr size_t kMacBytes = 32;

std::string Hex(const unsigned char* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[data[i] >> 4];
    hex[2 * i + 1] = kDigits[data[i] & 15];
  }
  return hex;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // lowercase only: one spelling per proof
}

bool ParseHex(std::string_view hex, unsigned char* out, size_t size) {
  if (hex.size() != 2 * size) return false;
  for (size_t i = 0; i < size; ++i) {
    int high = HexDigit(hex[2 * i]);
    int low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return true;
}

// HMAC-SHA256 over the framed fields. Fields are joined with '\n', which neither the path (an
// HTTP request target), the decimal timestamp nor the hex nonce can hold, so no two different
// requests frame to the same bytes; the body comes last and is taken as is. EVP_MAC streams the
// body instead of copying it next to the other fields.
bool Mac(std::string_view secret, std::string_view path, int64_t ts, std::string_view nonce,
         std::string_view body, unsigned char out[kMacBytes]) {
  // The fetched algorithm is immutable and may be shared by threads; each call has its context.
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!hmac) return false;
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(hmac),
                                                                &EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_END};
  std::string head = "chord-auth-" + std::string(kVersion) + "\n" + std::string(path) + "\n" +
                     std::to_string(ts) + "\n" + std::string(nonce) + "\n";
  size_t length = 0;
  return ctx &&
         EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                      secret.size(), params) == 1 &&
         EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(head.data()),
                        head.size()) == 1 &&
         EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(body.data()),
                        body.size()) == 1 &&
         EVP_MAC_final(ctx.get(), out, &length, kMacBytes) == 1 && length == kMacBytes;
}

// Takes "NAME=" off the front of `*text` and returns the value up to the next space.
bool TakeField(std::string_view* text, std::string_view name, std::string_view* value) {
  if (text->substr(0, name.size()) != name || text->size() <= name.size() ||
      (*text)[name.size()] != '=') {
    return false;
  }
  text->remove_prefix(name.size() + 1);
  size_t end = text->find(' ');
  *value = text->substr(0, end);
  text->remove_prefix(end == std::string_view::npos ? text->size() : end + 1);
  return true;
}

struct Proof {
  int64_t ts = 0;
  uint64_t nonce = 0;
  std::string_view nonce_hex;
  unsigned char mac[kMacBytes];
};

bool ParseProof(std::string_view text, Proof* proof) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.substr(0, kVersion.size() + 1) != std::string(kVersion) + " ") return false;
  text.remove_prefix(kVersion.size() + 1);
  std::string_view ts, nonce, mac;
  if (!TakeField(&text, "ts", &ts) || !TakeField(&text, "nonce", &nonce) ||
      !TakeField(&text, "mac", &mac) || !text.empty()) {
    return false;
  }
  if (ts.empty() || ts.size() > 18) return false;  // 18 digits cannot overflow int64
  for (char c : ts) {
    if (c < '0' || c > '9') return false;
    proof->ts = proof->ts * 10 + (c - '0');
  }
  unsigned char nonce_bytes[kNonceDigits / 2];
  if (!ParseHex(nonce, nonce_bytes, sizeof(nonce_bytes))) return false;
  for (unsigned char byte : nonce_bytes) proof->nonce = proof->nonce << 8 | byte;
  proof->nonce_hex = nonce;
  return ParseHex(mac, proof->mac, kMacBytes);
}

}  // namespace

std::string NewNonce() {
  unsigned char bytes[kNonceDigits / 2];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // OpenSSL's generator failing is not recoverable here, and a predictable nonce would only
    // weaken replay protection, not the mac; still, never send a constant one.
    uint64_t fallback = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(bytes, &fallback, sizeof(bytes));
  }
  return Hex(bytes, sizeof(bytes));
}

std::string SignRequest(std::string_view secret, std::string_view path, std::string_view body,
                        int64_t now_ms, std::string_view nonce) {
  unsigned char mac[kMacBytes];
  if (!Mac(secret, path, now_ms, nonce, body, mac)) return {};  // checked as malformed
  return std::string(kVersion) + " ts=" + std::to_string(now_ms) + " nonce=" + std::string(nonce) +
         " mac=" + Hex(mac, kMacBytes);
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ProofChecker::ProofChecker(std::string secret, int64_t window_ms, size_t max_remembered)
    : secret_(std::move(secret)), window_ms_(window_ms), max_remembered_(max_remembered) {}

Status ProofChecker::Check(std::string_view header_value, std::string_view path,
                           std::string_view body, int64_t now_ms) {
  if (header_value.empty()) return Status::Refused("no proof");
  Proof proof;
  if (!ParseProof(header_value, &proof)) return Status::Refused("malformed proof");
  if (proof.ts < now_ms - window_ms_ || proof.ts > now_ms + window_ms_) {
    return Status::Refused("stale timestamp");
  }
  unsigned char expected[kMacBytes];
  if (!Mac(secret_, path, proof.ts, proof.nonce_hex, body, expected)) {
    return Status::Internal("cannot compute HMAC-SHA256");
  }
  if (CRYPTO_memcmp(expected, proof.mac, kMacBytes) != 0) return Status::Refused("bad mac");
  std::lock_guard<std::mutex> lock(mutex_);
  // Proofs whose timestamp left the window can no longer pass the check above: forget them.
  while (!seen_.empty() && seen_.begin()->first < now_ms - window_ms_) seen_.erase(seen_.begin());
  if (seen_.count({proof.ts, proof.nonce})) return Status::Refused("replayed");
  if (seen_.size() >= max_remembered_) return Status::Refused("too many proofs in the window");
  seen_.insert({proof.ts, proof.nonce});
  return Status::Ok();
}

}  // namespace chord
