#include "tools/call_command.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "commands/xml_unicode.h"
#include "tools/shell_output.h"

namespace chord {
namespace {

constexpr int kMaxJsonDepth = 64;

std::string Base64(const std::vector<unsigned char>& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= bytes[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::string ToJson(const xmlrpc_c::value& value, int depth) {
  if (depth > kMaxJsonDepth) return "null";
  switch (value.type()) {
    case xmlrpc_c::value::TYPE_INT:
      return std::to_string(xmlrpc_c::value_int(value).cvalue());
    case xmlrpc_c::value::TYPE_I8:
      return std::to_string(xmlrpc_c::value_i8(value).cvalue());
    case xmlrpc_c::value::TYPE_BOOLEAN:
      return xmlrpc_c::value_boolean(value).cvalue() ? "true" : "false";
    case xmlrpc_c::value::TYPE_DOUBLE: {
      double d = xmlrpc_c::value_double(value).cvalue();
      if (!std::isfinite(d)) return "null";
      char buffer[32];
      std::snprintf(buffer, sizeof(buffer), "%.17g", d);
      return buffer;
    }
    case xmlrpc_c::value::TYPE_STRING:
      return shell_internal::JsonString(FromBmpForm(xmlrpc_c::value_string(value).cvalue()));
    case xmlrpc_c::value::TYPE_BYTESTRING:
      return shell_internal::JsonString(
          Base64(xmlrpc_c::value_bytestring(value).vectorUcharValue()));
    case xmlrpc_c::value::TYPE_DATETIME:
      return shell_internal::JsonString(xmlrpc_c::value_datetime(value).iso8601Value());
    case xmlrpc_c::value::TYPE_ARRAY: {
      std::string out = "[";
      for (const auto& item : xmlrpc_c::value_array(value).vectorValueValue()) {
        out += (out.size() > 1 ? "," : "") + ToJson(item, depth + 1);
      }
      return out + "]";
    }
    case xmlrpc_c::value::TYPE_STRUCT: {
      std::string out = "{";
      for (const auto& [name, member] : xmlrpc_c::value_struct(value).cvalue()) {
        out += (out.size() > 1 ? "," : "") + shell_internal::JsonString(FromBmpForm(name)) + ":" +
               ToJson(member, depth + 1);
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

// A recursive-descent reader of one JSON text; every step consumes input, and nesting is
// bounded, so it ends on any input.
class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : text_(text) {}

  Result<xmlrpc_c::value> ReadAll() {
    auto value = Read(0);
    if (!value.ok()) return value;
    SkipSpace();
    if (at_ != text_.size()) return Fail("text after the value");
    return value;
  }

 private:
  Status Fail(const std::string& what) const {
    return Status::BadArgument("malformed JSON at offset " + std::to_string(at_) + ": " + what);
  }
  void SkipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  bool Take(char c) {
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool TakeWord(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (text_.compare(at_, n, word) != 0) return false;
    at_ += n;
    return true;
  }

  Result<xmlrpc_c::value> Read(int depth) {
    if (depth > kMaxJsonDepth) return Fail("nested too deep");
    SkipSpace();
    if (at_ >= text_.size()) return Fail("a value is missing");
    char c = text_[at_];
    if (c == '{') return ReadObject(depth);
    if (c == '[') return ReadArray(depth);
    if (c == '"') {
      auto s = ReadString();
      if (!s.ok()) return s.status();
      return xmlrpc_c::value(xmlrpc_c::value_string(ToBmpForm(s.value())));
    }
    if (TakeWord("true")) return xmlrpc_c::value(xmlrpc_c::value_boolean(true));
    if (TakeWord("false")) return xmlrpc_c::value(xmlrpc_c::value_boolean(false));
    if (TakeWord("null")) return xmlrpc_c::value(xmlrpc_c::value_nil());
    return ReadNumber();
  }

  Result<xmlrpc_c::value> ReadObject(int depth) {
    ++at_;  // '{'
    std::map<std::string, xmlrpc_c::value> members;
    if (Take('}')) return xmlrpc_c::value(xmlrpc_c::value_struct(members));
    do {
      SkipSpace();
      if (at_ >= text_.size() || text_[at_] != '"') return Fail("a member name is missing");
      auto name = ReadString();
      if (!name.ok()) return name.status();
      if (!Take(':')) return Fail("':' is missing");
      auto member = Read(depth + 1);
      if (!member.ok()) return member;
      members.emplace(ToBmpForm(name.value()), member.value());
    } while (Take(','));
    if (!Take('}')) return Fail("'}' is missing");
    return xmlrpc_c::value(xmlrpc_c::value_struct(members));
  }

  Result<xmlrpc_c::value> ReadArray(int depth) {
    ++at_;  // '['
    std::vector<xmlrpc_c::value> items;
    if (Take(']')) return xmlrpc_c::value(xmlrpc_c::value_array(items));
    do {
      auto item = Read(depth + 1);
      if (!item.ok()) return item;
      items.push_back(item.value());
    } while (Take(','));
    if (!Take(']')) return Fail("']' is missing");
    return xmlrpc_c::value(xmlrpc_c::value_array(items));
  }

  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      *out += char(code);
    } else if (code < 0x800) {
      *out += char(0xc0 | (code >> 6));
      *out += char(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      *out += char(0xe0 | (code >> 12));
      *out += char(0x80 | ((code >> 6) & 0x3f));
      *out += char(0x80 | (code & 0x3f));
    } else {
      *out += char(0xf0 | (code >> 18));
      *out += char(0x80 | ((code >> 12) & 0x3f));
      *out += char(0x80 | ((code >> 6) & 0x3f));
      *out += char(0x80 | (code & 0x3f));
    }
  }

  bool ReadHex4(uint32_t* code) {
    if (at_ + 4 > text_.size()) return false;
    *code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[at_++];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) return false;
      *code = *code * 16 + uint32_t(digit);
    }
    return true;
  }

  Result<std::string> ReadString() {
    ++at_;  // '"'
    std::string out;
    while (at_ < text_.size() && text_[at_] != '"') {
      char c = text_[at_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) break;
      char e = text_[at_++];
      static const std::string kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
      if (auto k = kFrom.find(e); k != std::string::npos) {
        out += kTo[k];
        continue;
      }
      uint32_t code = 0;
      if (e != 'u' || !ReadHex4(&code)) return Fail("bad escape");
      if (code >= 0xd800 && code < 0xdc00) {  // a surrogate pair: the low half follows
        uint32_t low = 0;
        if (!TakeWord("\\u") || !ReadHex4(&low) || low < 0xdc00 || low >= 0xe000) {
          return Fail("bad surrogate pair");
        }
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      }
      AppendUtf8(code, &out);
    }
    if (at_ >= text_.size()) return Fail("unterminated string");
    ++at_;  // '"'
    return out;
  }

  Result<xmlrpc_c::value> ReadNumber() {
    size_t start = at_;
    while (at_ < text_.size() &&
           std::string("+-0123456789.eE").find(text_[at_]) != std::string::npos) {
      ++at_;
    }
    std::string number = text_.substr(start, at_ - start);
    if (number.empty()) return Fail("not a JSON value");
    errno = 0;
    char* end = nullptr;
    if (number.find_first_of(".eE") == std::string::npos) {
      long long n = std::strtoll(number.c_str(), &end, 10);
      if (*end != '\0' || errno == ERANGE) return Fail("bad integer " + number);
      if (n >= std::numeric_limits<int>::min() && n <= std::numeric_limits<int>::max()) {
        return xmlrpc_c::value(xmlrpc_c::value_int(int(n)));
      }
      return xmlrpc_c::value(xmlrpc_c::value_i8(n));
    }
    double d = std::strtod(number.c_str(), &end);
    if (*end != '\0' || errno == ERANGE || !std::isfinite(d)) return Fail("bad number " + number);
    return xmlrpc_c::value(xmlrpc_c::value_double(d));
  }

  const std::string& text_;
  size_t at_ = 0;
};

// One word as a value of XML-RPC type `type`.
Result<xmlrpc_c::value> TypedWord(const std::string& type, const std::string& word) {
  errno = 0;
  char* end = nullptr;
  if (type == "int" || type == "i8") {
    long long n = word.empty() ? 0 : std::strtoll(word.c_str(), &end, 10);
    if (word.empty() || *end != '\0' || errno == ERANGE ||
        (type == "int" &&
         (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()))) {
      return Status::BadArgument("must be " + type + " (a whole number" +
                                 (type == "int" ? " of 32 bits" : "") + "), not '" + word + "'");
    }
    if (type == "int") return xmlrpc_c::value(xmlrpc_c::value_int(int(n)));
    return xmlrpc_c::value(xmlrpc_c::value_i8(n));
  }
  if (type == "double") {
    double d = word.empty() ? 0 : std::strtod(word.c_str(), &end);
    if (word.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d)) {
      return Status::BadArgument("must be double (a number), not '" + word + "'");
    }
    return xmlrpc_c::value(xmlrpc_c::value_double(d));
  }
  if (type == "boolean") {
    if (word == "true" || word == "1") return xmlrpc_c::value(xmlrpc_c::value_boolean(true));
    if (word == "false" || word == "0") return xmlrpc_c::value(xmlrpc_c::value_boolean(false));
    return Status::BadArgument("must be boolean (true or false), not '" + word + "'");
  }
  if (type == "base64") {
    return xmlrpc_c::value(
        xmlrpc_c::value_bytestring(std::vector<unsigned char>(word.begin(), word.end())));
  }
  if (type == "array" || type == "struct") {
    auto value = JsonReader(word).ReadAll();
    if (!value.ok())
      return Status::BadArgument("must be " + type + " (JSON): " + value.status().message());
    bool fits = type == "array" ? value->type() == xmlrpc_c::value::TYPE_ARRAY
                                : value->type() == xmlrpc_c::value::TYPE_STRUCT;
    if (!fits) {
      return Status::BadArgument("must be " + type + " (JSON " +
                                 (type == "array" ? "[...]" : "{...}") + "), not '" + word + "'");
    }
    return value;
  }
  if (type == "nil") {
    if (word == "nil" || word == "null") return xmlrpc_c::value(xmlrpc_c::value_nil());
    return Status::BadArgument("must be nil, not '" + word + "'");
  }
  return xmlrpc_c::value(xmlrpc_c::value_string(ToBmpForm(word)));  // string, or unknown
}

}  // namespace

Result<std::vector<std::string>> ArgumentTypes(const std::string& method,
                                               const xmlrpc_c::value& signatures, size_t count) {
  if (signatures.type() != xmlrpc_c::value::TYPE_ARRAY) {
    return std::vector<std::string>(count, "string");  // "undef": no signature known
  }
  std::string usages;
  for (const auto& alternative : xmlrpc_c::value_array(signatures).vectorValueValue()) {
    if (alternative.type() != xmlrpc_c::value::TYPE_ARRAY) continue;
    std::vector<std::string> types;
    for (const auto& t : xmlrpc_c::value_array(alternative).vectorValueValue()) {
      if (t.type() != xmlrpc_c::value::TYPE_STRING) break;
      types.push_back(xmlrpc_c::value_string(t).cvalue());
    }
    if (types.empty()) continue;
    types.erase(types.begin());  // the result type
    if (types.size() == count) return types;
    std::string usage = method;
    for (const auto& t : types) usage += " " + t;
    usages += (usages.empty() ? "" : " | ") + usage;
  }
  return Status::BadArgument(
      method + " takes other arguments: " + (usages.empty() ? "(no signature)" : usages));
}

Result<xmlrpc_c::paramList> TypedParams(const std::vector<std::string>& types,
                                        const std::vector<std::string>& words) {
  if (types.size() != words.size()) {
    return Status::BadArgument(std::to_string(types.size()) + " arguments wanted, " +
                               std::to_string(words.size()) + " given");
  }
  xmlrpc_c::paramList params;
  for (size_t i = 0; i < words.size(); ++i) {
    auto value = TypedWord(types[i], words[i]);
    if (!value.ok()) {
      return Status::BadArgument("argument " + std::to_string(i + 1) + " " +
                                 value.status().message());
    }
    params.add(value.value());
  }
  return params;
}

Result<xmlrpc_c::value> JsonToValue(const std::string& text) { return JsonReader(text).ReadAll(); }

std::string ValueToJson(const xmlrpc_c::value& value) { return ToJson(value, 0); }

std::string ValueToRaw(const xmlrpc_c::value& value) {
  if (value.type() == xmlrpc_c::value::TYPE_STRING) {
    return FromBmpForm(xmlrpc_c::value_string(value).cvalue());
  }
  if (value.type() == xmlrpc_c::value::TYPE_BYTESTRING) {
    auto bytes = xmlrpc_c::value_bytestring(value).vectorUcharValue();
    return std::string(bytes.begin(), bytes.end());
  }
  return ToJson(value, 0);
}

}  // namespace chord
