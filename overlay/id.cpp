#include "overlay/id.h"

#include <openssl/sha.h>

namespace chord {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void Id::Truncate(int bits) {
  int clear_bits = kMaxBits - bits;
  for (int i = 0; i < clear_bits / 8; ++i) bytes_[i] = 0;
  if (clear_bits % 8) bytes_[clear_bits / 8] &= uint8_t(0xff >> (clear_bits % 8));
}

Id Id::Hash(const std::string& text, int bits) {
  Id id;
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), id.bytes_.data());
  id.Truncate(bits);
  return id;
}

Result<Id> Id::FromHex(const std::string& hex, int bits) {
  if (hex.empty() || hex.size() > 40) {
    return Status::BadArgument("id '" + hex + "' must be 1 to 40 hex digits");
  }
  Id id;
  int nibble = 0;  // counts from the least significant end
  for (auto it = hex.rbegin(); it != hex.rend(); ++it, ++nibble) {
    int digit = HexDigit(*it);
    if (digit < 0) return Status::BadArgument("id '" + hex + "' is not hexadecimal");
    int byte = 19 - nibble / 2;
    id.bytes_[byte] |= uint8_t(nibble % 2 ? digit << 4 : digit);
  }
  Id truncated = id;
  truncated.Truncate(bits);
  if (truncated != id) {
    return Status::BadArgument("id '" + hex + "' does not fit in " + std::to_string(bits) +
                               " bits");
  }
  return id;
}

Id Id::FromUint(uint64_t value, int bits) {
  Id id;
  for (int i = 0; i < 8; ++i) id.bytes_[19 - i] = uint8_t(value >> (8 * i));
  id.Truncate(bits);
  return id;
}

std::string Id::ToHex(int bits) const {
  static const char kDigits[] = "0123456789abcdef";
  int digits = (bits + 3) / 4;
  std::string out(digits, '0');
  for (int n = 0; n < digits; ++n) {
    uint8_t byte = bytes_[19 - n / 2];
    out[digits - 1 - n] = kDigits[n % 2 ? byte >> 4 : byte & 0xf];
  }
  return out;
}

uint64_t Id::ToUint64() const {
  uint64_t value = 0;
  for (int i = 12; i < 20; ++i) value = (value << 8) | bytes_[i];
  return value;
}

Id Id::AddPowerOfTwo(int exponent, int bits) const {
  Id out = *this;
  if (exponent < 0 || exponent >= kMaxBits) return out;
  int byte = 19 - exponent / 8;
  unsigned carry = 1u << (exponent % 8);
  for (int i = byte; i >= 0 && carry; --i) {
    unsigned sum = out.bytes_[i] + carry;
    out.bytes_[i] = uint8_t(sum);
    carry = sum >> 8;
  }
  out.Truncate(bits);
  return out;
}

Id Id::Prev(int bits) const {
  Id out = *this;
  for (int i = 19; i >= 0; --i) {
    if (out.bytes_[i]-- != 0) break;  // no borrow beyond this byte
  }
  out.Truncate(bits);
  return out;
}

uint32_t Id::TopBits(int n, int bits) const {
  uint32_t prefix = 0;
  for (int k = bits - 1; k >= bits - n; --k) prefix = prefix << 1 | uint32_t(Bit(k));
  return prefix;
}

Id Id::FromTopBits(uint32_t prefix, int n, int bits) {
  Id id;
  for (int j = 0; j < n; ++j) {
    if (prefix >> j & 1) id.SetBit(bits - n + j);
  }
  return id;
}

}  // namespace chord
