#include "commands/xml_unicode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace chord {
namespace {

constexpr char32_t kMark = 0xFDD0;          // UTF-8 EF B7 90
constexpr char32_t kPrivateBase = 0xE000;   // U+E000..U+E3FF carry 10 bits each
constexpr char32_t kFirstAstral = 0x10000;  // first character beyond the BMP
constexpr char32_t kLastCodePoint = 0x10FFFF;

using Byte = unsigned char;

void Put3(char32_t cp, std::string* out) {
  out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
  out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
  out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
}

// `cp` is the mark or a character beyond the BMP.
void PutBmpForm(char32_t cp, std::string* out) {
  Put3(kMark, out);
  if (cp == kMark) {
    Put3(kMark, out);
    return;
  }
  char32_t v = cp - kFirstAstral;
  Put3(kPrivateBase + (v >> 10), out);
  Put3(kPrivateBase + (v & 0x3FF), out);
}

void PutUtf8Astral(char32_t cp, std::string* out) {
  out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
  out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
  out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
  out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
}

// A well-formed 4-byte UTF-8 sequence at p (no overlong form, nothing above U+10FFFF).
bool DecodeAstral(const Byte* p, size_t avail, char32_t* cp) {
  if (avail < 4 || p[0] < 0xF0 || p[0] > 0xF4) return false;
  Byte low = p[0] == 0xF0 ? 0x90 : 0x80;
  Byte high = p[0] == 0xF4 ? 0x8F : 0xBF;
  if (p[1] < low || p[1] > high || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return false;
  *cp = char32_t(p[0] & 0x07) << 18 | char32_t(p[1] & 0x3F) << 12 | char32_t(p[2] & 0x3F) << 6 |
        char32_t(p[3] & 0x3F);
  return true;
}

bool IsMark(const Byte* p, size_t avail) {
  return avail >= 3 && p[0] == 0xEF && p[1] == 0xB7 && p[2] == 0x90;
}

// U+E000..U+E3FF (EE 80..8F 80..BF): its 10 bits.
bool DecodePrivate(const Byte* p, size_t avail, char32_t* bits) {
  if (avail < 3 || p[0] != 0xEE || (p[1] & 0xF0) != 0x80 || (p[2] & 0xC0) != 0x80) return false;
  *bits = char32_t(p[1] & 0x0F) << 6 | char32_t(p[2] & 0x3F);
  return true;
}

// A raw character that needs the BMP form at p: writes it and returns the bytes it took, or 0.
size_t ConvertRaw(const Byte* p, size_t avail, std::string* out) {
  char32_t cp;
  if (DecodeAstral(p, avail, &cp)) {
    PutBmpForm(cp, out);
    return 4;
  }
  if (IsMark(p, avail)) {
    PutBmpForm(kMark, out);
    return 3;
  }
  return 0;
}

// A character reference "&#DDD;" or "&#xHHH;" at p (XML allows only a lowercase x): its code
// point and length. Values above U+10FFFF are not references to anything and stay as they are.
bool ParseCharRef(const Byte* p, size_t avail, char32_t* cp, size_t* length) {
  if (avail < 4 || p[0] != '&' || p[1] != '#') return false;
  bool hex = p[2] == 'x';
  size_t i = hex ? 3 : 2;
  size_t first_digit = i;
  char32_t value = 0;
  for (; i < avail && p[i] != ';'; ++i) {
    int digit = -1;
    Byte c = p[i];
    if (c >= '0' && c <= '9') digit = c - '0';
    if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return false;
    value = value * (hex ? 16 : 10) + char32_t(digit);
    if (value > kLastCodePoint) return false;
  }
  if (i == first_digit || i == avail) return false;
  *cp = value;
  *length = i + 1;
  return true;
}

bool NeedsBmpForm(char32_t cp) { return cp == kMark || cp >= kFirstAstral; }

bool StartsWith(const Byte* p, size_t avail, const char* prefix) {
  size_t length = std::strlen(prefix);
  return avail >= length && std::memcmp(p, prefix, length) == 0;
}

// Whether the received XML holds anything WireXmlToBmp converts. Scans 32-byte blocks for a
// byte >= 0xEF (lead byte of the mark or of a 4-byte sequence) or '&' first: that inner loop
// has no early exit, so the compiler can vectorise it, and ordinary text passes through it.
bool WireXmlNeedsWork(const Byte* p, size_t n) {
  constexpr size_t kBlock = 32;
  size_t i = 0;
  while (i < n) {
    if (i + kBlock <= n) {
      unsigned any = 0;
      for (size_t k = 0; k < kBlock; ++k) any |= unsigned(p[i + k] >= 0xEF) | (p[i + k] == '&');
      if (!any) {
        i += kBlock;
        continue;
      }
    }
    for (size_t end = std::min(n, i + kBlock); i < end; ++i) {
      char32_t cp;
      size_t length;
      if (p[i] >= 0xEF && (DecodeAstral(p + i, n - i, &cp) || IsMark(p + i, n - i))) return true;
      if (p[i] == '&' && ParseCharRef(p + i, n - i, &cp, &length) && NeedsBmpForm(cp)) return true;
    }
  }
  return false;
}

}  // namespace

namespace {

// The length of the XML character starting at p[0] (1..4), or 0 if there is none there.
size_t XmlCharLength(const Byte* p, size_t n) {
  const Byte c = p[0];
  if (c < 0x80) return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if (c > 0xF4 || c < 0xC2 || length > n) return 0;
  char32_t cp = c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[k] & 0x3F);
  }
  const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[length] || cp > 0x10FFFF) return 0;  // overlong or too large
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return length;
}

}  // namespace

bool IsXmlText(std::string_view text) {
  const Byte* p = reinterpret_cast<const Byte*>(text.data());
  for (size_t i = 0, n = text.size(); i < n;) {
    size_t length = XmlCharLength(p + i, n - i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string ToXmlText(std::string_view text) {
  if (IsXmlText(text)) return std::string(text);
  const Byte* p = reinterpret_cast<const Byte*>(text.data());
  std::string out;
  for (size_t i = 0, n = text.size(); i < n;) {
    size_t length = XmlCharLength(p + i, n - i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string ToBmpForm(std::string_view utf8) {
  const Byte* p = reinterpret_cast<const Byte*>(utf8.data());
  const size_t n = utf8.size();
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n;) {
    size_t taken = p[i] >= 0xEF ? ConvertRaw(p + i, n - i, &out) : 0;
    if (taken == 0) out.push_back(static_cast<char>(p[i++]));
    i += taken;
  }
  return out;
}

std::string FromBmpForm(std::string_view text) {
  const Byte* p = reinterpret_cast<const Byte*>(text.data());
  const size_t n = text.size();
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n;) {
    char32_t high, low;
    if (!IsMark(p + i, n - i)) {
      out.push_back(static_cast<char>(p[i++]));
    } else if (IsMark(p + i + 3, n - i - 3)) {
      Put3(kMark, &out);
      i += 6;
    } else if (DecodePrivate(p + i + 3, n - i - 3, &high) &&
               DecodePrivate(p + i + 6, n - i - 6, &low)) {
      PutUtf8Astral(kFirstAstral + (high << 10 | low), &out);
      i += 9;
    } else {
      out.push_back(static_cast<char>(p[i++]));  // a lone mark stays as it is
    }
  }
  return out;
}

bool WireXmlToBmp(std::string_view xml, std::string* out) {
  const Byte* p = reinterpret_cast<const Byte*>(xml.data());
  const size_t n = xml.size();
  if (!WireXmlNeedsWork(p, n)) return false;
  std::string converted;
  converted.reserve(n + n / 8);
  bool in_cdata = false;  // "&#...;" inside CDATA is literal text, not a reference
  for (size_t i = 0; i < n;) {
    const Byte c = p[i];
    char32_t cp;
    size_t length = 0;
    if (c >= 0xEF && (length = ConvertRaw(p + i, n - i, &converted)) > 0) {
      i += length;
    } else if (!in_cdata && c == '&' && ParseCharRef(p + i, n - i, &cp, &length) &&
               NeedsBmpForm(cp)) {
      PutBmpForm(cp, &converted);
      i += length;
    } else if (!in_cdata && c == '<' && StartsWith(p + i, n - i, "<![CDATA[")) {
      in_cdata = true;
      converted.append(xml.substr(i, 9));
      i += 9;
    } else if (in_cdata && c == ']' && StartsWith(p + i, n - i, "]]>")) {
      in_cdata = false;
      converted.append("]]>");
      i += 3;
    } else {
      converted.push_back(static_cast<char>(c));
      ++i;
    }
  }
  *out = std::move(converted);
  return true;
}

bool BmpXmlToWire(std::string_view xml, std::string* out) {
  static const char kMarkUtf8[] = "\xEF\xB7\x90";
  if (xml.find(kMarkUtf8) == std::string_view::npos) return false;
  *out = FromBmpForm(xml);
  return true;
}

}  // namespace chord
