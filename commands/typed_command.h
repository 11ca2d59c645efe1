// Typed commands: a command written as an ordinary C++ function.
//
// MakeCommand derives the XML-RPC signature from the C++ types, converts the arguments before
// the handler runs and converts its result afterwards, so a command's author never touches
// xmlrpc_c::value:
//
//   struct Greeting {
//     std::string text;
//     int length = 0;
//     template <typename Visit>
//     void Fields(Visit&& visit) { visit("text", text); visit("length", length); }
//   };
//   Status status = registry.Register(chord::MakeCommand<Greeting(std::string, int)>(
//       "demo.greet", chord::Audience::kClient, "Greets `name` `times` times.", {"name", "times"},
//       [](const std::string& name, int times) -> chord::Result<Greeting> {
//         if (times < 0) return chord::Status::BadArgument("times must be >= 0");
//         std::string text;
//         for (int i = 0; i < times; ++i) text += "hello " + name + "! ";
//         return Greeting{text, int(text.size())};
//       }));
//
// C++ types and what they travel as:
//   int -> int (i4)                       bool -> boolean          double -> double
//   std::string -> string                 chord::Bytes -> base64   int64_t -> i8
//   std::vector<T> -> array of T          std::map<std::string, T> -> struct whose members are T
//   a struct with a Fields() member template (as above) -> struct with those members
//   std::optional<T> as a member of such a struct -> the member is absent when empty
//   xmlrpc_c::value -> any type, passed through unconverted
// and any nesting of them. Another type is a compile-time error.
//
// Checks: the registry checks the arity and the top-level types against the derived signature
// ("argument 2 must be int, got string"); the conversion then checks every nested element and
// names it: "argument 2 (deltas[3]) must be int, got string", "argument 1 (spec.owner) is
// missing". Unknown struct members are ignored, so a newer client may send more. Note that i8
// is an XML-RPC extension and many clients (Python's among them) send small numbers as i4:
// prefer int for arguments and keep int64_t for results and calls between nodes.
//
// The same conversions are available on their own: ToValue, FromValue and MakeParams build and
// read the values of calls made with Transport or Router.
//
// Thread-safety: everything here is stateless. A handler given to MakeCommand is called from
// many threads at once (see command.h) and must synchronize its own state.
#ifndef CHORD_COMMANDS_TYPED_COMMAND_H_
#define CHORD_COMMANDS_TYPED_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>
#include <xmlrpc-c/base.hpp>

#include "commands/command.h"
#include "commands/status.h"
#include "commands/value_util.h"
#include "commands/xml_unicode.h"

namespace chord {

// Binary data. It travels as base64, so unlike std::string it may hold any byte, NUL included.
// A plain value type.
struct Bytes {
  std::string data;

  Bytes() = default;
  explicit Bytes(std::string bytes) : data(std::move(bytes)) {}
  bool operator==(const Bytes& other) const { return data == other.data; }
  bool operator!=(const Bytes& other) const { return data != other.data; }
};

// Where a value sits, for error messages: "argument 2 (deltas[3].name)" or "reply[0]".
// A plain value type.
class ValuePath {
 public:
  // Argument `position` (1-based) of a call, named `name` (may be empty).
  static ValuePath Argument(size_t position, const std::string& name) {
    ValuePath path;
    path.head_ = "argument " + std::to_string(position);
    path.name_ = name;
    return path;
  }
  // A value that is not an argument, e.g. "the reply of counter.apply".
  static ValuePath Named(const std::string& what) {
    ValuePath path;
    path.name_ = what;
    return path;
  }
  ValuePath Element(size_t index) const { return Extended("[" + std::to_string(index) + "]"); }
  ValuePath Member(const std::string& member) const {
    return Extended(name_.empty() ? member : "." + member);
  }
  std::string ToString() const {
    if (head_.empty()) return name_.empty() ? "value" : name_;
    return name_.empty() ? head_ : head_ + " (" + name_ + ")";
  }

 private:
  ValuePath Extended(const std::string& suffix) const {
    ValuePath path = *this;
    path.name_ += suffix;
    return path;
  }
  std::string head_;
  std::string name_;
};

namespace typed_internal {

template <typename T>
struct AlwaysFalse : std::false_type {};

inline Status Mismatch(const ValuePath& path, const std::string& expected,
                       const xmlrpc_c::value& value) {
  return Status::BadArgument(path.ToString() + " must be " + expected + ", got " +
                             ValueTypeName(value.type()));
}

// A visitor that does nothing: only used to detect a Fields() member template.
struct FieldProbe {
  template <typename M>
  void operator()(const char*, M&) {}
};

template <typename T, typename = void>
struct HasFields : std::false_type {};
template <typename T>
struct HasFields<T, std::void_t<decltype(std::declval<T&>().Fields(std::declval<FieldProbe&>()))>>
    : std::true_type {};

// A character string passed to MakeParams travels as a std::string.
template <typename T>
using WireType =
    std::conditional_t<std::is_convertible_v<const T&, const char*>, std::string, std::decay_t<T>>;

}  // namespace typed_internal

// ValueTraits<T>: how the C++ type T maps to XML-RPC. Each specialization provides
//   static constexpr char kLetter;   // its signature letter (see command.h)
//   static std::string Describe();   // "int", "array of string", "struct {a: int}", ...
//   static xmlrpc_c::value ToValue(const T&);                          // never fails
//   static Result<T> FromValue(const xmlrpc_c::value&, const ValuePath&);
// FromValue errors: BadArgument naming `path` when the value (or a nested one) has the wrong
// type or a required struct member is missing.
template <typename T, typename Enable = void>
struct ValueTraits {
  static_assert(typed_internal::AlwaysFalse<T>::value,
                "chord: this type cannot travel in a command; use int, bool, double, int64_t, "
                "std::string, chord::Bytes, xmlrpc_c::value, std::vector, "
                "std::map<std::string, T> or a struct with a Fields() member template");
};

template <>
struct ValueTraits<int> {
  static constexpr char kLetter = 'i';
  static std::string Describe() { return "int"; }
  static xmlrpc_c::value ToValue(int value) { return xmlrpc_c::value_int(value); }
  static Result<int> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_INT) {
      return typed_internal::Mismatch(path, "int", value);
    }
    return int(xmlrpc_c::value_int(value));
  }
};

template <>
struct ValueTraits<bool> {
  static constexpr char kLetter = 'b';
  static std::string Describe() { return "boolean"; }
  static xmlrpc_c::value ToValue(bool value) { return xmlrpc_c::value_boolean(value); }
  static Result<bool> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_BOOLEAN) {
      return typed_internal::Mismatch(path, "boolean", value);
    }
    return bool(xmlrpc_c::value_boolean(value));
  }
};

template <>
struct ValueTraits<double> {
  static constexpr char kLetter = 'd';
  static std::string Describe() { return "double"; }
  static xmlrpc_c::value ToValue(double value) { return xmlrpc_c::value_double(value); }
  static Result<double> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_DOUBLE) {
      return typed_internal::Mismatch(path, "double", value);
    }
    return double(xmlrpc_c::value_double(value));
  }
};

template <>
struct ValueTraits<int64_t> {
  static constexpr char kLetter = '8';
  static std::string Describe() { return "i8"; }
  static xmlrpc_c::value ToValue(int64_t value) {
    return xmlrpc_c::value_i8(static_cast<xmlrpc_int64>(value));
  }
  // Nested values also accept an i4: widening loses nothing, and clients send small numbers so.
  static Result<int64_t> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() == xmlrpc_c::value::TYPE_INT) return int64_t(xmlrpc_c::value_int(value));
    if (value.type() != xmlrpc_c::value::TYPE_I8) {
      return typed_internal::Mismatch(path, "i8", value);
    }
    return int64_t(xmlrpc_c::value_i8(value));
  }
};

// Strings are standard UTF-8 on both sides: characters above U+FFFF, which xmlrpc-c holds in
// its "BMP form" (commands/xml_unicode.h), are converted here, so a handler and a caller see
// the same text whether the call came over XML-RPC or not. Precondition of ToValue: the text
// is XML text (IsXmlText); check what comes from users before it gets here.
template <>
struct ValueTraits<std::string> {
  static constexpr char kLetter = 's';
  static std::string Describe() { return "string"; }
  static xmlrpc_c::value ToValue(const std::string& value) {
    return xmlrpc_c::value_string(MayNeedBmpConversion(value) ? ToBmpForm(value) : value);
  }
  static Result<std::string> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_STRING) {
      return typed_internal::Mismatch(path, "string", value);
    }
    std::string text = xmlrpc_c::value_string(value);
    return MayNeedBmpConversion(text) ? FromBmpForm(text) : text;
  }
};

template <>
struct ValueTraits<Bytes> {
  static constexpr char kLetter = '6';
  static std::string Describe() { return "base64"; }
  static xmlrpc_c::value ToValue(const Bytes& value) {
    return xmlrpc_c::value_bytestring(
        std::vector<unsigned char>(value.data.begin(), value.data.end()));
  }
  static Result<Bytes> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_BYTESTRING) {
      return typed_internal::Mismatch(path, "base64", value);
    }
    std::vector<unsigned char> bytes = xmlrpc_c::value_bytestring(value).vectorUcharValue();
    return Bytes(std::string(bytes.begin(), bytes.end()));
  }
};

// Any value, unconverted: for layers that forward what they are given.
template <>
struct ValueTraits<xmlrpc_c::value> {
  static constexpr char kLetter = '*';
  static std::string Describe() { return "any"; }
  static xmlrpc_c::value ToValue(const xmlrpc_c::value& value) { return value; }
  static Result<xmlrpc_c::value> FromValue(const xmlrpc_c::value& value, const ValuePath&) {
    return value;
  }
};

template <typename T>
struct ValueTraits<std::vector<T>> {
  static constexpr char kLetter = 'A';
  static std::string Describe() { return "array of " + ValueTraits<T>::Describe(); }
  static xmlrpc_c::value ToValue(const std::vector<T>& values) {
    std::vector<xmlrpc_c::value> items;
    items.reserve(values.size());
    for (const T& value : values) items.push_back(ValueTraits<T>::ToValue(value));
    return xmlrpc_c::value_array(items);
  }
  static Result<std::vector<T>> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_ARRAY) {
      return typed_internal::Mismatch(path, Describe(), value);
    }
    std::vector<xmlrpc_c::value> items = xmlrpc_c::value_array(value).vectorValueValue();
    std::vector<T> out;
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Result<T> item = ValueTraits<T>::FromValue(items[i], path.Element(i));
      if (!item.ok()) return item.status();
      out.push_back(std::move(item).value());
    }
    return out;
  }
};

template <typename T>
struct ValueTraits<std::map<std::string, T>> {
  static constexpr char kLetter = 'S';
  static std::string Describe() { return "struct of " + ValueTraits<T>::Describe(); }
  static xmlrpc_c::value ToValue(const std::map<std::string, T>& values) {
    std::map<std::string, xmlrpc_c::value> members;
    for (const auto& entry : values) {
      const std::string& name = entry.first;
      members.emplace(MayNeedBmpConversion(name) ? ToBmpForm(name) : name,
                      ValueTraits<T>::ToValue(entry.second));
    }
    return xmlrpc_c::value_struct(members);
  }
  static Result<std::map<std::string, T>> FromValue(const xmlrpc_c::value& value,
                                                    const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_STRUCT) {
      return typed_internal::Mismatch(path, Describe(), value);
    }
    std::map<std::string, xmlrpc_c::value> members = xmlrpc_c::value_struct(value);
    std::map<std::string, T> out;
    for (const auto& entry : members) {
      const std::string& wire_name = entry.first;
      std::string name = MayNeedBmpConversion(wire_name) ? FromBmpForm(wire_name) : wire_name;
      Result<T> member = ValueTraits<T>::FromValue(entry.second, path.Member(name));
      if (!member.ok()) return member.status();
      out.emplace(std::move(name), std::move(member).value());
    }
    return out;
  }
};

namespace typed_internal {

// The three visitors a struct's Fields() is run with. Each overload for std::optional is more
// specialized than the general one, so an optional member picks it.
struct FieldEncoder {
  std::map<std::string, xmlrpc_c::value>* members;

  template <typename M>
  void operator()(const char* name, const M& member) {
    Put(name, ValueTraits<M>::ToValue(member));
  }
  template <typename M>
  void operator()(const char* name, const std::optional<M>& member) {
    if (member) Put(name, ValueTraits<M>::ToValue(*member));
  }
  // Erase-then-emplace: xmlrpc_c::value refuses to be assigned once it holds something.
  void Put(const char* name, xmlrpc_c::value value) {
    members->erase(name);
    members->emplace(name, std::move(value));
  }
};

struct FieldDecoder {
  const std::map<std::string, xmlrpc_c::value>* members;
  const ValuePath* path;
  Status status;  // the first error; later fields are skipped once it is set

  template <typename M>
  void operator()(const char* name, M& member) {
    if (!status.ok()) return;
    auto it = members->find(name);
    if (it == members->end()) {
      status = Status::BadArgument(path->Member(name).ToString() + " is missing");
      return;
    }
    Result<M> value = ValueTraits<M>::FromValue(it->second, path->Member(name));
    if (!value.ok()) {
      status = value.status();
      return;
    }
    member = std::move(value).value();
  }
  template <typename M>
  void operator()(const char* name, std::optional<M>& member) {
    if (!status.ok()) return;
    auto it = members->find(name);
    if (it == members->end()) {
      member.reset();
      return;
    }
    Result<M> value = ValueTraits<M>::FromValue(it->second, path->Member(name));
    if (!value.ok()) {
      status = value.status();
      return;
    }
    member.emplace(std::move(value).value());
  }
};

struct FieldDescriber {
  std::string text;

  template <typename M>
  void operator()(const char* name, const M&) {
    Add(name, ValueTraits<M>::Describe());
  }
  template <typename M>
  void operator()(const char* name, const std::optional<M>&) {
    Add(std::string(name) + "?", ValueTraits<M>::Describe());
  }
  void Add(const std::string& name, const std::string& type) {
    text += (text.empty() ? "" : ", ") + name + ": " + type;
  }
};

}  // namespace typed_internal

// A struct described by a Fields() member template: `visit("name", member)` for each member.
// The type must be default-constructible (decoding fills a default-constructed value).
template <typename T>
struct ValueTraits<T, std::enable_if_t<typed_internal::HasFields<T>::value>> {
  static constexpr char kLetter = 'S';
  static std::string Describe() {
    T probe{};
    typed_internal::FieldDescriber describer;
    probe.Fields(describer);
    return "struct {" + describer.text + "}";
  }
  static xmlrpc_c::value ToValue(const T& value) {
    std::map<std::string, xmlrpc_c::value> members;
    typed_internal::FieldEncoder encoder{&members};
    // Fields() is written once for reading and writing, so it is not const; the encoder only
    // reads the members, which makes the cast safe.
    const_cast<T&>(value).Fields(encoder);
    return xmlrpc_c::value_struct(members);
  }
  static Result<T> FromValue(const xmlrpc_c::value& value, const ValuePath& path) {
    if (value.type() != xmlrpc_c::value::TYPE_STRUCT) {
      return typed_internal::Mismatch(path, "struct", value);
    }
    std::map<std::string, xmlrpc_c::value> members = xmlrpc_c::value_struct(value);
    T out{};
    typed_internal::FieldDecoder decoder{&members, &path, Status()};
    out.Fields(decoder);
    if (!decoder.status.ok()) return decoder.status;
    return out;
  }
};

// `value` as XML-RPC.
template <typename T>
xmlrpc_c::value ToValue(const T& value) {
  return ValueTraits<typed_internal::WireType<T>>::ToValue(value);
}

// `value` as a T. Errors: BadArgument naming `what` (e.g. "the reply of counter.apply") or the
// nested element that does not fit.
template <typename T>
Result<T> FromValue(const xmlrpc_c::value& value, const std::string& what = "value") {
  return ValueTraits<T>::FromValue(value, ValuePath::Named(what));
}

// The parameters of a call: MakeParams(std::string("apples"), 3) or MakeParams("apples", 3).
template <typename... Args>
xmlrpc_c::paramList MakeParams(const Args&... args) {
  xmlrpc_c::paramList params;
  (params.add(ToValue(args)), ...);
  return params;
}

// "int", "array of string", "struct {value: int, owner: string}": the type as help texts say.
template <typename T>
std::string DescribeType() {
  return ValueTraits<T>::Describe();
}

namespace typed_internal {

template <typename Signature>
struct CommandMaker {
  static_assert(AlwaysFalse<Signature>::value,
                "MakeCommand<Signature>: Signature is a function type, e.g. int(std::string)");
};

template <typename R, typename... Args>
struct CommandMaker<R(Args...)> {
  static_assert(!std::is_void_v<R>, "a command answers with a value: return a bool or a struct");
  static constexpr size_t kArity = sizeof...(Args);

  template <typename Handler>
  static Command Make(std::string name, Audience audience, std::string help,
                      std::vector<std::string> arg_names, Handler handler) {
    static_assert(std::is_invocable_v<Handler&, std::decay_t<Args>...>,
                  "the handler must be callable with the command's argument types");
    static_assert(
        std::is_convertible_v<std::invoke_result_t<Handler&, std::decay_t<Args>...>, Result<R>>,
        "the handler must return the command's result type R or chord::Result<R>");
    // Shared so the Command stays copyable even when the handler is move-only.
    auto shared = std::make_shared<Handler>(std::move(handler));
    auto names = std::make_shared<const std::vector<std::string>>(std::move(arg_names));
    Command command;
    command.name = std::move(name);
    command.audience = audience;
    command.signature =
        std::string{ValueTraits<R>::kLetter, ':', ValueTraits<std::decay_t<Args>>::kLetter...};
    command.help = Usage(command.name, *names) + "\n" + help;
    command.arg_names = *names;
    command.handler = [shared, names](const xmlrpc_c::paramList& params) {
      return Invoke(*shared, *names, params, std::index_sequence_for<Args...>());
    };
    return command;
  }

  // "counter.incr(name: string, delta: int) -> struct {value: int}"
  static std::string Usage(const std::string& name, const std::vector<std::string>& names) {
    std::vector<std::string> types{ValueTraits<std::decay_t<Args>>::Describe()...};
    std::string usage = name + "(";
    for (size_t i = 0; i < types.size(); ++i) {
      usage += (i ? ", " : "") + names[i] + ": " + types[i];
    }
    return usage + ") -> " + ValueTraits<R>::Describe();
  }

  template <typename Handler, size_t... I>
  static Result<xmlrpc_c::value> Invoke(Handler& handler, const std::vector<std::string>& names,
                                        const xmlrpc_c::paramList& params,
                                        std::index_sequence<I...>) {
    // The registry has checked the arity already; this keeps a direct call safe too.
    if (params.size() != kArity) {
      return Status::BadArgument("expected " + std::to_string(kArity) + " argument(s), got " +
                                 std::to_string(params.size()));
    }
    std::tuple<Result<std::decay_t<Args>>...> converted{ValueTraits<std::decay_t<Args>>::FromValue(
        params[I], ValuePath::Argument(I + 1, names[I]))...};
    (void)converted;  // unused when the command takes no argument
    (void)names;
    Status first;
    ((first.ok() && !std::get<I>(converted).ok() ? void(first = std::get<I>(converted).status())
                                                 : void()),
     ...);
    if (!first.ok()) return first;
    Result<R> result = std::invoke(handler, std::move(std::get<I>(converted)).value()...);
    if (!result.ok()) return result.status();
    return ValueTraits<R>::ToValue(result.value());
  }
};

}  // namespace typed_internal

// A Command named `name` whose handler is an ordinary function of C++ values.
//   Signature: the function type, e.g. CounterReply(std::string, int); see above for the types.
//   audience: Audience::kClient (anyone may call it) or Audience::kPeer (only nodes that prove
//     the ring's secret, when there is one); see command.h.
//   help: one paragraph; system.methodHelp shows it after a usage line derived from the types.
//   arg_names: one name per argument, in order (checked at compile time), used in the usage
//     line and in conversion errors.
//   handler: callable with the decayed argument types, returning R or chord::Result<R>. It is
//     copied into the Command and may be called from many threads at once. A non-ok Status it
//     returns becomes the call's fault.
// The returned Command is registered with CommandRegistry::Register, which reports an invalid
// name or a name already taken.
template <typename Signature, typename Handler, size_t N>
Command MakeCommand(std::string name, Audience audience, std::string help,
                    const char* const (&arg_names)[N], Handler handler) {
  static_assert(N == typed_internal::CommandMaker<Signature>::kArity,
                "MakeCommand: give exactly one name per argument");
  return typed_internal::CommandMaker<Signature>::Make(
      std::move(name), audience, std::move(help),
      std::vector<std::string>(arg_names, arg_names + N), std::move(handler));
}

// The same, for a command that takes no argument.
template <typename Signature, typename Handler>
Command MakeCommand(std::string name, Audience audience, std::string help, Handler handler) {
  static_assert(typed_internal::CommandMaker<Signature>::kArity == 0,
                "MakeCommand: name the arguments, e.g. {\"key\", \"delta\"}");
  return typed_internal::CommandMaker<Signature>::Make(std::move(name), audience, std::move(help),
                                                       {}, std::move(handler));
}

}  // namespace chord

#endif  // CHORD_COMMANDS_TYPED_COMMAND_H_
