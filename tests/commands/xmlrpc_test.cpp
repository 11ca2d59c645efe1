// XmlRpcServer and XmlRpcTransport over real sockets on 127.0.0.1: every XML-RPC type, faults,
// large payloads, malformed requests, dead and slow peers, concurrency and the server's life
// cycle.
#define BOOST_TEST_MODULE commands_xmlrpc
#define BOOST_TEST_DYN_LINK
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands/auth.h"
#include "commands/call_deadline.h"
#include "commands/command_registry.h"
#include "commands/xml_unicode.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"

using chord::AnswersAtOnce;
using chord::Audience;
using chord::Command;
using chord::CallDeadline;
using chord::UnixMillis;
using chord::CommandRegistry;
using chord::ErrorCode;
using chord::Result;
using chord::Status;
using chord::XmlRpcServer;
using chord::XmlRpcTransport;

namespace {

constexpr size_t kXmlSizeLimit = 8u << 20;

struct GlobalSetUp {
  GlobalSetUp() {
    boost::log::core::get()->set_filter(boost::log::trivial::severity >=
                                        boost::log::trivial::warning);
    // Process-global; set before any server or client thread exists.
    chord::SetXmlSizeLimit(kXmlSizeLimit);
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  ~GlobalSetUp() { curl_global_cleanup(); }
};
BOOST_GLOBAL_FIXTURE(GlobalSetUp);

// ---- Values -------------------------------------------------------------------------------

// Empty if `a` and `b` are the same XML-RPC value, else where and how they differ.
std::string Diff(const xmlrpc_c::value& a, const xmlrpc_c::value& b, const std::string& path) {
  std::ostringstream out;
  if (a.type() != b.type()) {
    out << path << ": type " << a.type() << " != " << b.type();
    return out.str();
  }
  switch (a.type()) {
    case xmlrpc_c::value::TYPE_INT:
      if (int(xmlrpc_c::value_int(a)) != int(xmlrpc_c::value_int(b))) {
        out << path << ": " << int(xmlrpc_c::value_int(a)) << " != " << int(xmlrpc_c::value_int(b));
      }
      break;
    case xmlrpc_c::value::TYPE_I8:
      if (xmlrpc_c::value_i8(a).cvalue() != xmlrpc_c::value_i8(b).cvalue()) {
        out << path << ": " << xmlrpc_c::value_i8(a).cvalue()
            << " != " << xmlrpc_c::value_i8(b).cvalue();
      }
      break;
    case xmlrpc_c::value::TYPE_BOOLEAN:
      if (bool(xmlrpc_c::value_boolean(a)) != bool(xmlrpc_c::value_boolean(b))) {
        out << path << ": booleans differ";
      }
      break;
    case xmlrpc_c::value::TYPE_DOUBLE: {
      double x = xmlrpc_c::value_double(a);
      double y = xmlrpc_c::value_double(b);
      if (x != y) {
        out.precision(17);
        out << path << ": " << x << " != " << y;
      }
      break;
    }
    case xmlrpc_c::value::TYPE_DATETIME: {
      timeval x = xmlrpc_c::value_datetime(a);
      timeval y = xmlrpc_c::value_datetime(b);
      if (x.tv_sec != y.tv_sec || x.tv_usec != y.tv_usec) {
        out << path << ": " << xmlrpc_c::value_datetime(a).iso8601Value() << " (" << x.tv_usec
            << "us) != " << xmlrpc_c::value_datetime(b).iso8601Value() << " (" << y.tv_usec
            << "us)";
      }
      break;
    }
    case xmlrpc_c::value::TYPE_STRING: {
      std::string x = xmlrpc_c::value_string(a);
      std::string y = xmlrpc_c::value_string(b);
      if (x != y) out << path << ": \"" << x << "\" != \"" << y << "\"";
      break;
    }
    case xmlrpc_c::value::TYPE_BYTESTRING: {
      auto x = xmlrpc_c::value_bytestring(a).vectorUcharValue();
      auto y = xmlrpc_c::value_bytestring(b).vectorUcharValue();
      if (x != y) out << path << ": bytes differ (sizes " << x.size() << ", " << y.size() << ")";
      break;
    }
    case xmlrpc_c::value::TYPE_NIL:
      break;
    case xmlrpc_c::value::TYPE_ARRAY: {
      auto x = xmlrpc_c::value_array(a).vectorValueValue();
      auto y = xmlrpc_c::value_array(b).vectorValueValue();
      if (x.size() != y.size()) {
        out << path << ": array sizes " << x.size() << " != " << y.size();
        break;
      }
      for (size_t i = 0; i < x.size(); ++i) {
        std::string d = Diff(x[i], y[i], path + "[" + std::to_string(i) + "]");
        if (!d.empty()) return d;
      }
      break;
    }
    case xmlrpc_c::value::TYPE_STRUCT: {
      std::map<std::string, xmlrpc_c::value> x = xmlrpc_c::value_struct(a);
      std::map<std::string, xmlrpc_c::value> y = xmlrpc_c::value_struct(b);
      if (x.size() != y.size()) {
        out << path << ": struct sizes " << x.size() << " != " << y.size();
        break;
      }
      for (const auto& member : x) {
        auto it = y.find(member.first);
        if (it == y.end()) {
          out << path << ": member '" << member.first << "' missing";
          break;
        }
        std::string d = Diff(member.second, it->second, path + "." + member.first);
        if (!d.empty()) return d;
      }
      break;
    }
    default:
      out << path << ": unexpected type " << a.type();
  }
  return out.str();
}

xmlrpc_c::value Bytes(const std::string& bytes) {
  return xmlrpc_c::value_bytestring(xmlrpc_c::cbytestring(bytes.begin(), bytes.end()));
}

xmlrpc_c::value DateTime(time_t seconds, long micros) {
  timeval tv{};
  tv.tv_sec = seconds;
  tv.tv_usec = micros;
  return xmlrpc_c::value_datetime(tv);
}

// Named samples of every XML-RPC type, edge values included.
std::vector<std::pair<std::string, xmlrpc_c::value>> Samples() {
  std::vector<std::pair<std::string, xmlrpc_c::value>> s;
  s.emplace_back("int zero", xmlrpc_c::value_int(0));
  s.emplace_back("int max", xmlrpc_c::value_int(INT_MAX));
  s.emplace_back("int min", xmlrpc_c::value_int(INT_MIN));
  s.emplace_back("i8 zero", xmlrpc_c::value_i8(0));
  s.emplace_back("i8 max", xmlrpc_c::value_i8(INT64_MAX));
  s.emplace_back("i8 min", xmlrpc_c::value_i8(INT64_MIN));
  s.emplace_back("i8 2^40", xmlrpc_c::value_i8(int64_t{1} << 40));
  s.emplace_back("true", xmlrpc_c::value_boolean(true));
  s.emplace_back("false", xmlrpc_c::value_boolean(false));
  s.emplace_back("double 0", xmlrpc_c::value_double(0.0));
  s.emplace_back("double -2.5", xmlrpc_c::value_double(-2.5));
  s.emplace_back("double 1e10", xmlrpc_c::value_double(1e10));
  s.emplace_back("double 0.1", xmlrpc_c::value_double(0.1));
  s.emplace_back("double 1/3", xmlrpc_c::value_double(1.0 / 3.0));
  s.emplace_back("double 123456.789", xmlrpc_c::value_double(123456.789));
  s.emplace_back("empty string", xmlrpc_c::value_string(""));
  s.emplace_back("plain string", xmlrpc_c::value_string("hello, world"));
  s.emplace_back("markup string", xmlrpc_c::value_string("<a href=\"x\">&amp; 'q'</a> ]]>"));
  s.emplace_back("utf-8 string", xmlrpc_c::value_string("caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad"));
  // xmlrpc-c 1.33 refuses to build strings with characters beyond U+FFFF (value_string's
  // constructor throws): values hold them in BMP form (commands/xml_unicode.h).
  s.emplace_back(
      "astral string",
      xmlrpc_c::value_string(chord::ToBmpForm("\xf0\x9f\x98\x80 \xef\xb7\x90 \xf4\x8f\xbf\xbf")));
  s.emplace_back("whitespace string", xmlrpc_c::value_string("  lead\ttab\nline  "));
  s.emplace_back("long string", xmlrpc_c::value_string(std::string(100000, 'z')));
  s.emplace_back("empty bytes", Bytes(""));
  s.emplace_back("bytes with NULs", Bytes(std::string("\0a\0\0b\xff\x80\0", 8)));
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  s.emplace_back("every byte", Bytes(all_bytes + all_bytes));
  s.emplace_back("nil", xmlrpc_c::value_nil());
  s.emplace_back("datetime", DateTime(1700000000, 0));
  s.emplace_back("datetime epoch", DateTime(0, 0));
  s.emplace_back("empty array", xmlrpc_c::value_array(xmlrpc_c::carray{}));
  s.emplace_back("empty struct", xmlrpc_c::value_struct(xmlrpc_c::cstruct{}));

  xmlrpc_c::carray mixed;
  for (const auto& sample : std::vector<std::pair<std::string, xmlrpc_c::value>>(s)) {
    mixed.push_back(sample.second);
  }
  xmlrpc_c::cstruct inner;
  inner["bytes"] = Bytes(std::string("\0\1\2", 3));
  inner["i8"] = xmlrpc_c::value_i8(-(int64_t{1} << 50));
  inner["nil"] = xmlrpc_c::value_nil();
  inner["list"] = xmlrpc_c::value_array(mixed);
  xmlrpc_c::cstruct outer;
  outer["inner"] = xmlrpc_c::value_struct(inner);
  outer["array of structs"] = xmlrpc_c::value_array(
      xmlrpc_c::carray{xmlrpc_c::value_struct(inner), xmlrpc_c::value_struct(xmlrpc_c::cstruct{})});
  outer["key with <markup> & spaces"] = xmlrpc_c::value_string("v");
  outer[""] = xmlrpc_c::value_int(1);
  outer["caf\xc3\xa9"] = xmlrpc_c::value_boolean(false);
  s.emplace_back("array of every type", xmlrpc_c::value_array(mixed));
  s.emplace_back("nested struct", xmlrpc_c::value_struct(outer));
  s.emplace_back("nested arrays",
                 xmlrpc_c::value_array(xmlrpc_c::carray{
                     xmlrpc_c::value_array(xmlrpc_c::carray{xmlrpc_c::value_array(xmlrpc_c::carray{
                         xmlrpc_c::value_struct(outer), xmlrpc_c::value_nil()})})}));
  return s;
}

xmlrpc_c::paramList Params() { return xmlrpc_c::paramList(); }

xmlrpc_c::paramList Params(const xmlrpc_c::value& a) {
  xmlrpc_c::paramList params;
  params.add(a);
  return params;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- Server fixture -----------------------------------------------------------------------

// Releases handlers blocked in "test.block".
class Gate {
 public:
  // Waits (at most 30 s) until released; returns whether it was.
  bool Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    bool released = changed_.wait_for(lock, std::chrono::seconds(30), [this] { return open_; });
    --waiting_;
    changed_.notify_all();
    return released;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits (at most 30 s) until no handler is blocked here.
  bool WaitUntilIdle() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [this] { return waiting_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0;
};

// A registry with the test commands.
struct TestCommands {
  TestCommands() {
    Add("test.echo", "*:*", "Returns its argument.",
        [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> { return p[0]; });
    Add("test.echoAll", "A:,A:*,A:**,A:***", "Returns its arguments as an array.",
        [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
          xmlrpc_c::carray all;
          for (size_t i = 0; i < p.size(); ++i) all.push_back(p[i]);
          return xmlrpc_c::value(xmlrpc_c::value_array(all));
        });
    Add("test.size", "i:6", "Length of a base64 argument.",
        [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
          return xmlrpc_c::value(xmlrpc_c::value_int(static_cast<int>(p.getBytestring(0).size())));
        });
    Add("test.fail", "n:is", "Fails with the given code and message.",
        [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> {
          return Status(static_cast<ErrorCode>(p.getInt(0)), p.getString(1));
        });
    Add("test.throw", "n:", "Throws.", [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
      throw std::runtime_error("handler blew up");
    });
    Add("test.block", "s:", "Blocks until the test opens the gate.",
        [this](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
          bool released = gate.Wait();
          return xmlrpc_c::value(xmlrpc_c::value_string(released ? "released" : "gave up"));
        });
  }

  void Add(const std::string& name, const std::string& signature, const std::string& help,
           chord::Handler handler) {
    BOOST_REQUIRE(
        registry.Register(Command{name, Audience::kClient, signature, help, std::move(handler)})
            .ok());
  }

  Gate gate;
  CommandRegistry registry;
};

// Calls of the fixture wait up to 60 s: a 2 MiB round trip takes longer than the default 5 s
// under ThreadSanitizer on a busy machine, and no test of the fixture is about the time-out.
XmlRpcTransport::Options PatientCalls() {
  XmlRpcTransport::Options options;
  options.call_timeout_ms = 60000;
  return options;
}

struct ServerFixture {
  ServerFixture() : server(&commands.registry, XmlRpcServer::Options()) {
    Status started = server.Start();
    BOOST_REQUIRE_MESSAGE(started.ok(), started.ToString());
    BOOST_REQUIRE_GT(server.port(), 0);
  }

  Result<xmlrpc_c::value> Call(const std::string& method, const xmlrpc_c::paramList& params) {
    return transport.Call(server.address(), method, params);
  }

  TestCommands commands;
  XmlRpcServer server;
  XmlRpcTransport transport{PatientCalls()};
};

// A 127.0.0.1 port nothing listens on: bound, then closed.
int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE_EQUAL(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE_EQUAL(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct RawReply {
  CURLcode code = CURLE_OK;
  long http_status = 0;
  std::string body;
};

// POSTs `body` to the server with plain libcurl, bypassing the XML-RPC codec.
RawReply RawPost(const std::string& address, const std::string& body) {
  RawReply reply;
  CURL* curl = curl_easy_init();
  BOOST_REQUIRE(curl);
  std::string url = "http://" + address + "/RPC2";
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/xml");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.http_status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace

// ---- Values over the wire ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(every_type_round_trips, ServerFixture) {
  BOOST_CHECK_EQUAL(server.address(), "127.0.0.1:" + std::to_string(server.port()));
  for (const auto& sample : Samples()) {
    auto result = Call("test.echo", Params(sample.second));
    BOOST_REQUIRE_MESSAGE(result.ok(), sample.first << ": " << result.status().ToString());
    std::string diff = Diff(sample.second, result.value(), sample.first);
    BOOST_CHECK_MESSAGE(diff.empty(), diff);
  }
}

BOOST_FIXTURE_TEST_CASE(several_arguments_round_trip, ServerFixture) {
  auto samples = Samples();
  xmlrpc_c::paramList params;
  params.add(samples.front().second);
  params.add(Bytes(std::string("\0\0", 2)));
  params.add(samples.back().second);
  auto result = Call("test.echoAll", params);
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  xmlrpc_c::value expected = xmlrpc_c::value_array(xmlrpc_c::carray{
      samples.front().second, Bytes(std::string("\0\0", 2)), samples.back().second});
  std::string diff = Diff(expected, result.value(), "args");
  BOOST_CHECK_MESSAGE(diff.empty(), diff);

  auto none = Call("test.echoAll", Params());
  BOOST_REQUIRE(none.ok());
  BOOST_CHECK_EQUAL(xmlrpc_c::value_array(none.value()).size(), 0u);
}

BOOST_FIXTURE_TEST_CASE(large_base64_round_trips, ServerFixture) {
  std::string payload(2u << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>((i * 2654435761u) >> 13);
  }
  auto result = Call("test.echo", Params(Bytes(payload)));
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  std::string diff = Diff(Bytes(payload), result.value(), "payload");
  BOOST_CHECK_MESSAGE(diff.empty(), diff);

  auto size = Call("test.size", Params(Bytes(payload)));
  BOOST_REQUIRE_MESSAGE(size.ok(), size.status().ToString());
  BOOST_CHECK_EQUAL(int(xmlrpc_c::value_int(size.value())), int(payload.size()));
}

// xmlrpc-c 1.33 writes every double in full but reads some back a few ulps off (its parser
// accumulates digits itself instead of using strtod), so tiny and huge doubles are only close.
BOOST_FIXTURE_TEST_CASE(doubles_round_trip_closely, ServerFixture) {
  for (double d : {1e-3, 1e-7, 2.5e-10, 3.14159e-6, 1e300, -1e-300, 1.7976931348623157e308}) {
    auto result = Call("test.echo", Params(xmlrpc_c::value_double(d)));
    BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
    BOOST_REQUIRE_EQUAL(result->type(), xmlrpc_c::value::TYPE_DOUBLE);
    BOOST_CHECK_CLOSE_FRACTION(double(xmlrpc_c::value_double(result.value())), d, 1e-12);
  }
}

// ---- Faults -------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(faults_keep_their_code, ServerFixture) {
  for (ErrorCode code : {ErrorCode::kBadArgument, ErrorCode::kUnknownCommand, ErrorCode::kNotFound,
                         ErrorCode::kUnavailable, ErrorCode::kRefused, ErrorCode::kInternal}) {
    std::string message = std::string("failing as ") + chord::ErrorCodeName(code) + " <&>";
    xmlrpc_c::paramList params;
    params.add(xmlrpc_c::value_int(static_cast<int>(code)));
    params.add(xmlrpc_c::value_string(message));
    auto result = Call("test.fail", params);
    BOOST_CHECK_EQUAL(result.status().code(), code);
    BOOST_CHECK_EQUAL(result.status().message(), message);
  }
}

BOOST_FIXTURE_TEST_CASE(registry_errors_cross_the_wire, ServerFixture) {
  auto unknown = Call("no.such.command", Params());
  BOOST_CHECK_EQUAL(unknown.status().code(), ErrorCode::kUnknownCommand);
  BOOST_CHECK(Contains(unknown.status().message(), "no.such.command"));

  auto wrong_type = Call("test.size", Params(xmlrpc_c::value_string("not bytes")));
  BOOST_CHECK_EQUAL(wrong_type.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(
      Contains(wrong_type.status().message(), "argument 1 must be base64, got string"),
      wrong_type.status().message());

  auto wrong_arity = Call("test.echo", Params());
  BOOST_CHECK_EQUAL(wrong_arity.status().code(), ErrorCode::kBadArgument);

  auto thrown = Call("test.throw", Params());
  BOOST_CHECK_EQUAL(thrown.status().code(), ErrorCode::kInternal);
  BOOST_CHECK(Contains(thrown.status().message(), "handler blew up"));
}

BOOST_FIXTURE_TEST_CASE(introspection_over_xmlrpc, ServerFixture) {
  auto listed = Call("system.listMethods", Params());
  BOOST_REQUIRE_MESSAGE(listed.ok(), listed.status().ToString());
  std::vector<std::string> names;
  for (const auto& name : xmlrpc_c::value_array(listed.value()).vectorValueValue()) {
    names.push_back(xmlrpc_c::value_string(name));
  }
  std::vector<std::string> expected = commands.registry.Names();
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), expected.begin(), expected.end());
  BOOST_CHECK(std::find(names.begin(), names.end(), "test.echo") != names.end());
  BOOST_CHECK(std::find(names.begin(), names.end(), "system.methodHelp") != names.end());

  auto help = Call("system.methodHelp", Params(xmlrpc_c::value_string("test.echo")));
  BOOST_REQUIRE_MESSAGE(help.ok(), help.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(help.value())),
                    "Returns its argument.\nAudience: client");

  auto signature = Call("system.methodSignature", Params(xmlrpc_c::value_string("test.fail")));
  BOOST_REQUIRE_MESSAGE(signature.ok(), signature.status().ToString());
  auto alternatives = xmlrpc_c::value_array(signature.value()).vectorValueValue();
  BOOST_REQUIRE_EQUAL(alternatives.size(), 1u);
  BOOST_CHECK_EQUAL(xmlrpc_c::value_array(alternatives[0]).size(), 3u);

  BOOST_CHECK_EQUAL(
      Call("system.methodHelp", Params(xmlrpc_c::value_string("no.such"))).status().code(),
      ErrorCode::kUnknownCommand);

  // Commands registered or removed while serving are seen at once.
  commands.Add("test.late", "s:", "Added late.",
               [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                 return xmlrpc_c::value(xmlrpc_c::value_string("late"));
               });
  BOOST_CHECK(Call("test.late", Params()).ok());
  BOOST_REQUIRE(commands.registry.Unregister("test.late"));
  BOOST_CHECK_EQUAL(Call("test.late", Params()).status().code(), ErrorCode::kUnknownCommand);
}

// ---- Malformed requests -------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(malformed_requests_get_a_fault_and_the_server_keeps_serving,
                        ServerFixture) {
  const std::vector<std::string> bodies = {
      "this is not XML at all",
      "",
      "<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName>",  // truncated
      "<?xml version=\"1.0\"?><methodCall><params/></methodCall>",              // no name
      "<?xml version=\"1.0\"?><methodResponse><params><param><value><i4>1</i4></value>"
      "</param></params></methodResponse>",  // a response, not a call
      "<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName><params><param>"
      "<value><i4>not a number</i4></value></param></params></methodCall>",
      "<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName><params><param>"
      "<value><struct><member><value><i4>1</i4></value></member></struct></value></param>"
      "</params></methodCall>",  // struct member without a name
      "<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName><params><param>"
      "<value><base64>!!not base64!!</base64></value></param></params></methodCall>",
      "<?xml version=\"1.0\"?><wrong><root/></wrong>",
  };
  for (const auto& body : bodies) {
    RawReply reply = RawPost(server.address(), body);
    BOOST_REQUIRE_MESSAGE(reply.code == CURLE_OK,
                          "'" << body << "': " << curl_easy_strerror(reply.code));
    if (reply.http_status == 200) {
      BOOST_CHECK_MESSAGE(Contains(reply.body, "<fault>"),
                          "'" << body << "' answered without a fault: " << reply.body);
    } else {
      BOOST_CHECK_MESSAGE(reply.http_status >= 400,
                          "'" << body << "': HTTP status " << reply.http_status);
    }
    auto next = Call("test.echo", Params(xmlrpc_c::value_string("still here")));
    BOOST_REQUIRE_MESSAGE(next.ok(), "after '" << body << "': " << next.status().ToString());
    BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(next.value())), "still here");
  }

  // A well-formed raw call still works, as a sanity check of RawPost itself.
  RawReply good = RawPost(server.address(),
                          "<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName>"
                          "<params><param><value><string>raw</string></value></param></params>"
                          "</methodCall>");
  BOOST_CHECK_EQUAL(good.http_status, 200);
  BOOST_CHECK(Contains(good.body, "raw"));
  BOOST_CHECK(!Contains(good.body, "<fault>"));
}

// ---- Unreachable and slow peers -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(dead_peer_is_unavailable) {
  XmlRpcTransport transport{XmlRpcTransport::Options()};
  std::string address = "127.0.0.1:" + std::to_string(DeadPort());
  for (int i = 0; i < 3; ++i) {
    auto result = transport.Call(address, "test.echo", Params(xmlrpc_c::value_int(1)));
    BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kUnavailable);
    BOOST_CHECK_MESSAGE(Contains(result.status().message(), address), result.status().message());
  }
}

BOOST_FIXTURE_TEST_CASE(slow_handler_times_out_as_unavailable, ServerFixture) {
  XmlRpcTransport::Options options;
  options.call_timeout_ms = 300;
  XmlRpcTransport impatient(options);
  auto result = impatient.Call(server.address(), "test.block", Params());
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kUnavailable);

  // Release the handler; the server answers into a closed connection and keeps serving.
  commands.gate.Open();
  BOOST_CHECK(commands.gate.WaitUntilIdle());
  auto next = impatient.Call(server.address(), "test.echo", Params(xmlrpc_c::value_int(5)));
  BOOST_REQUIRE_MESSAGE(next.ok(), next.status().ToString());
  BOOST_CHECK_EQUAL(int(xmlrpc_c::value_int(next.value())), 5);
  auto blocked = impatient.Call(server.address(), "test.block", Params());
  BOOST_REQUIRE_MESSAGE(blocked.ok(), blocked.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(blocked.value())), "released");
}

// ---- Quick handlers -------------------------------------------------------------------------

// A command with a quick handler is answered by it when it can (on the server's network
// thread), by its ordinary handler when it says WouldBlock, and always by the ordinary handler
// when the request is large; the WouldBlock code itself never reaches the caller.
BOOST_FIXTURE_TEST_CASE(quick_handler_answers_or_passes_to_a_worker, ServerFixture) {
  const std::thread::id main_thread = std::this_thread::get_id();
  std::atomic<bool> quick_on_caller{false};
  Command where{"test.where", Audience::kClient, "s:s", "Who answered.",
                [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
                  return xmlrpc_c::value(xmlrpc_c::value_string("worker"));
                }};
  where.quick = [&](const xmlrpc_c::paramList& params) -> Result<xmlrpc_c::value> {
    if (std::this_thread::get_id() == main_thread) quick_on_caller = true;
    if (params.getString(0).rfind("fast", 0) != 0) return Status::WouldBlock();  // "fast..."
    return xmlrpc_c::value(xmlrpc_c::value_string("quick"));
  };
  BOOST_REQUIRE(commands.registry.Register(where).ok());
  auto who = [&](const std::string& arg) {
    auto answer = Call("test.where", Params(xmlrpc_c::value_string(arg)));
    BOOST_REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
    return std::string(xmlrpc_c::value_string(answer.value()));
  };
  BOOST_CHECK_EQUAL(who("fast"), "quick");
  BOOST_CHECK_EQUAL(who("slow"), "worker");
  // 20 KiB of padding after the argument: over the quick path's body limit.
  auto big = Call("test.where", Params(xmlrpc_c::value_string("fast" + std::string(20000, ' '))));
  BOOST_REQUIRE(big.ok());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(big.value())), "worker");
  // The registry checks arguments before a quick handler runs, as before an ordinary one.
  auto wrong = Call("test.where", Params(xmlrpc_c::value_int(1)));
  BOOST_CHECK_EQUAL(wrong.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK(!quick_on_caller);
}

// ---- Deadlines ----------------------------------------------------------------------------

// The caller's deadline (its time-out, on the wall clock) reaches the handler, on a worker and
// on the quick path alike, so that a write served after the caller gave up is not applied;
// a request without the header has none.
BOOST_FIXTURE_TEST_CASE(the_callers_deadline_reaches_the_handler, ServerFixture) {
  auto deadline_of = [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
    return xmlrpc_c::value(xmlrpc_c::value_i8(CallDeadline::Current()));
  };
  Command worker{"test.deadline", Audience::kClient, "8:", "The call's deadline.", deadline_of};
  BOOST_REQUIRE(commands.registry.Register(worker).ok());
  BOOST_REQUIRE(commands.registry
                    .Register(AnswersAtOnce(Command{"test.deadline_quick", Audience::kClient,
                                                    "8:", "Same, quick.", deadline_of}))
                    .ok());
  XmlRpcTransport::Options options;
  options.call_timeout_ms = 4000;
  XmlRpcTransport caller(options);
  for (const char* method : {"test.deadline", "test.deadline_quick"}) {
    const int64_t before = UnixMillis();
    auto answer = caller.Call(server.address(), method, Params());
    const int64_t after = UnixMillis();
    BOOST_REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
    const int64_t deadline = xmlrpc_c::value_i8(answer.value());
    BOOST_TEST_CONTEXT(method) {
      BOOST_TEST(deadline >= before + 4000);
      BOOST_TEST(deadline <= after + 4000);
    }
  }
  RawReply raw = RawPost(server.address(),
                         "<?xml version=\"1.0\"?><methodCall><methodName>test.deadline"
                         "</methodName><params></params></methodCall>");
  BOOST_REQUIRE_EQUAL(raw.http_status, 200);
  BOOST_TEST(raw.body.find("<i8>0</i8>") != std::string::npos, raw.body);
  BOOST_TEST(CallDeadline::Current() == 0);  // the test's own thread serves no call
}

BOOST_AUTO_TEST_CASE(deadline_headers_parse_strictly) {
  BOOST_TEST(CallDeadline::Parse("1764000000000") == 1764000000000);
  for (const char* bad : {"", "-5", "0", "12ms", " 12", "99999999999999999999999"}) {
    BOOST_TEST(CallDeadline::Parse(bad) == 0, bad);
  }
  {
    CallDeadline::Scope past(UnixMillis() - 1);
    BOOST_TEST(CallDeadline::Passed());
    {
      CallDeadline::Scope none(0);
      BOOST_TEST(!CallDeadline::Passed());
    }
    BOOST_TEST(CallDeadline::Passed());
  }
  BOOST_TEST(!CallDeadline::Passed());
}

// ---- Concurrency --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(many_concurrent_callers, ServerFixture) {
  constexpr int kThreads = 64;
  constexpr int kCallsPerThread = 20;
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string text = std::to_string(t) + "/" + std::to_string(i);
        auto result = Call("test.echo", Params(xmlrpc_c::value_string(text)));
        if (!result.ok() || std::string(xmlrpc_c::value_string(result.value())) != text) {
          if (++failures == 1) {
            std::lock_guard<std::mutex> lock(mutex);
            first_failure = result.ok() ? "wrong answer" : result.status().ToString();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_CHECK_MESSAGE(failures.load() == 0, failures.load()
                                                << " calls failed; first: " << first_failure);
}

// ---- Life cycle ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(stop_is_idempotent_and_later_calls_are_unavailable) {
  TestCommands commands;
  XmlRpcTransport transport{XmlRpcTransport::Options()};
  auto server = std::make_unique<XmlRpcServer>(&commands.registry, XmlRpcServer::Options());
  BOOST_REQUIRE(server->Start().ok());
  std::string address = server->address();
  // A pooled keep-alive connection exists when the server stops.
  BOOST_REQUIRE(transport.Call(address, "test.echo", Params(xmlrpc_c::value_int(1))).ok());
  server->Stop();
  server->Stop();
  for (int i = 0; i < 3; ++i) {
    auto result = transport.Call(address, "test.echo", Params(xmlrpc_c::value_int(1)));
    BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kUnavailable);
  }
  server.reset();  // the destructor stops again
  // A fresh server can serve the same registry afterwards.
  XmlRpcServer again(&commands.registry, XmlRpcServer::Options());
  BOOST_REQUIRE(again.Start().ok());
  BOOST_CHECK(transport.Call(again.address(), "test.echo", Params(xmlrpc_c::value_int(2))).ok());
  again.Stop();
}

BOOST_AUTO_TEST_CASE(stop_without_start_and_double_start) {
  TestCommands commands;
  XmlRpcServer never(&commands.registry, XmlRpcServer::Options());
  never.Stop();
  never.Stop();

  XmlRpcServer server(&commands.registry, XmlRpcServer::Options());
  BOOST_REQUIRE(server.Start().ok());
  int port = server.port();
  BOOST_CHECK_EQUAL(server.Start().code(), ErrorCode::kRefused);
  BOOST_CHECK_EQUAL(server.port(), port);
}

BOOST_AUTO_TEST_CASE(two_servers_get_different_ports) {
  TestCommands commands;
  XmlRpcServer a(&commands.registry, XmlRpcServer::Options());
  XmlRpcServer b(&commands.registry, XmlRpcServer::Options());
  BOOST_REQUIRE(a.Start().ok());
  BOOST_REQUIRE(b.Start().ok());
  BOOST_CHECK_GT(a.port(), 0);
  BOOST_CHECK_GT(b.port(), 0);
  BOOST_CHECK_NE(a.port(), b.port());
  XmlRpcTransport transport{XmlRpcTransport::Options()};
  BOOST_CHECK(transport.Call(a.address(), "system.listMethods", Params()).ok());
  BOOST_CHECK(transport.Call(b.address(), "system.listMethods", Params()).ok());
}

BOOST_AUTO_TEST_CASE(port_in_use_is_unavailable) {
  TestCommands commands;
  XmlRpcServer first(&commands.registry, XmlRpcServer::Options());
  BOOST_REQUIRE(first.Start().ok());
  XmlRpcServer::Options options;
  options.port = first.port();
  XmlRpcServer second(&commands.registry, options);
  Status status = second.Start();
  BOOST_CHECK_EQUAL(status.code(), ErrorCode::kUnavailable);
  BOOST_CHECK_MESSAGE(Contains(status.message(), std::to_string(first.port())), status.message());
  second.Stop();
  // The first server is unaffected.
  XmlRpcTransport transport{XmlRpcTransport::Options()};
  BOOST_CHECK(transport.Call(first.address(), "test.echo", Params(xmlrpc_c::value_int(3))).ok());
}

BOOST_AUTO_TEST_CASE(bad_bind_address_is_a_bad_argument) {
  TestCommands commands;
  for (const char* bind : {"localhost", "", "127.0.0", "::1", "256.1.1.1"}) {
    XmlRpcServer::Options options;
    options.bind = bind;
    XmlRpcServer server(&commands.registry, options);
    Status status = server.Start();
    BOOST_CHECK_MESSAGE(status.code() == ErrorCode::kBadArgument,
                        "bind '" << bind << "': " << status.ToString());
    server.Stop();
  }
}
