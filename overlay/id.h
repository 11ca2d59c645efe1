// Id: a point on the identifier circle of 2^m points (1 <= m <= 160).
//
// Nodes are placed at SHA-1("host:port") and keys at SHA-1(key), reduced to the low m bits.
// On the wire an id is a lowercase hex string of ceil(m/4) digits; parsing accepts any case and
// fewer digits, and rejects values of 2^m or more.
//
// Thread-safety: a plain value type.
#ifndef CHORD_OVERLAY_ID_H_
#define CHORD_OVERLAY_ID_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "commands/status.h"

namespace chord {

class Id {
 public:
  static constexpr int kMaxBits = 160;

  Id() = default;  // zero

  // SHA-1 of `text`, reduced to `bits` bits.
  static Id Hash(const std::string& text, int bits);
  // Parses a hex id. Errors: BadArgument for non-hex text or a value >= 2^bits.
  static Result<Id> FromHex(const std::string& hex, int bits);
  // A small id, for tests and teaching rings (bits <= 64 or value fits).
  static Id FromUint(uint64_t value, int bits);

  // ceil(bits/4) lowercase hex digits.
  std::string ToHex(int bits) const;
  // Low 64 bits, for teaching output and tests.
  uint64_t ToUint64() const;

  // (this + 2^exponent) mod 2^bits: the start of finger `exponent`.
  Id AddPowerOfTwo(int exponent, int bits) const;
  // (this + 1) mod 2^bits.
  Id Next(int bits) const { return AddPowerOfTwo(0, bits); }
  // (this - 1) mod 2^bits.
  Id Prev(int bits) const;
  // The top `n` bits of this `bits`-bit id as a number (0 <= n <= min(bits, 32)).
  uint32_t TopBits(int n, int bits) const;
  // The smallest `bits`-bit id whose top `n` bits are `prefix` (prefix < 2^n, n <= min(bits,
  // 32)): the first id of a prefix's arc of the circle.
  static Id FromTopBits(uint32_t prefix, int n, int bits);

  // Compared as three big-endian words, not with memcmp: the overlay's routing compares ids in
  // its innermost loops, where a library call per comparison was the largest cost.
  bool operator==(const Id& other) const {
    return Word(0) == other.Word(0) && Word(8) == other.Word(8) && Tail() == other.Tail();
  }
  bool operator!=(const Id& other) const { return !(*this == other); }
  bool operator<(const Id& other) const {
    if (Word(0) != other.Word(0)) return Word(0) < other.Word(0);
    if (Word(8) != other.Word(8)) return Word(8) < other.Word(8);
    return Tail() < other.Tail();
  }

 private:
  void Truncate(int bits);
  bool Bit(int k) const { return bytes_[19 - k / 8] >> (k % 8) & 1; }  // k = 0: least significant
  void SetBit(int k) { bytes_[19 - k / 8] |= uint8_t(1u << (k % 8)); }
  // The 8 bytes from `offset` as a number, most significant first (as the bytes compare).
  uint64_t Word(int offset) const {
    uint64_t word;
    std::memcpy(&word, bytes_.data() + offset, sizeof word);
    return ToBigEndianOrder(word);
  }
  // The last 4 bytes as a number, most significant first.
  uint32_t Tail() const {
    uint32_t word;
    std::memcpy(&word, bytes_.data() + 16, sizeof word);
    return ToBigEndianOrder(word);
  }
  static uint64_t ToBigEndianOrder(uint64_t word) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(word);
#else
    return word;
#endif
  }
  static uint32_t ToBigEndianOrder(uint32_t word) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(word);
#else
    return word;
#endif
  }
  std::array<uint8_t, 20> bytes_{};  // big-endian
};

// Ring intervals with wrap-around. When a == b the interval is the whole circle except as noted.
// Inline: routing tests them for every finger of every step.
// x in (a, b): for a == b, every x except a.
inline bool InOpenInterval(const Id& x, const Id& a, const Id& b) {
  if (a < b) return a < x && x < b;
  if (b < a) return a < x || x < b;
  return x != a;
}
// x in (a, b]: for a == b, the whole circle (a single node owns every id).
inline bool InHalfOpenInterval(const Id& x, const Id& a, const Id& b) {
  if (a == b) return true;
  return InOpenInterval(x, a, b) || x == b;
}

}  // namespace chord

#endif  // CHORD_OVERLAY_ID_H_
