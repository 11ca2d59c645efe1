// The XML-RPC server's HTTP edge over real sockets on 127.0.0.1: request size limits, HTTP
// errors, proof of the ring secret, and characters beyond U+FFFF on the wire.
#define BOOST_TEST_MODULE commands_http_limits
#define BOOST_TEST_DYN_LINK
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>
#include <xmlrpc-c/xml.hpp>

#include "commands/auth.h"
#include "commands/command_registry.h"
#include "commands/xml_unicode.h"
#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "tests/common/test_setup.h"

using chord::Audience;
using chord::CommandRegistry;
using chord::ErrorCode;
using chord::FromBmpForm;
using chord::Result;
using chord::ToBmpForm;
using chord::XmlRpcServer;
using chord::XmlRpcTransport;

using chord::testing::TestSetup;
BOOST_GLOBAL_FIXTURE(TestSetup);

namespace {

constexpr size_t kLimit = 64u << 10;
const std::string kGrin = "\xF0\x9F\x98\x80";  // U+1F600
const std::string kClef = "\xF0\x9D\x84\x9E";  // U+1D11E
const std::string kNonchar = "\xEF\xB7\x90";   // U+FDD0, the BMP form's mark
const std::string kSecret = "ring secret for tests";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

xmlrpc_c::paramList Params(const xmlrpc_c::value& a) {
  xmlrpc_c::paramList params;
  params.add(a);
  return params;
}

// The XML of a value, to compare values (generateCall writes struct members in key order).
std::string Xml(const xmlrpc_c::value& value) {
  std::string xml;
  xmlrpc_c::xml::generateCall("v", Params(value), &xml);
  return xml;
}

std::string CallXml(const std::string& method, const std::string& params_xml) {
  return "<?xml version=\"1.0\"?><methodCall><methodName>" + method + "</methodName><params>" +
         params_xml + "</params></methodCall>";
}

std::string StringParam(const std::string& text) {
  return "<param><value><string>" + text + "</string></value></param>";
}

struct Servers {
  explicit Servers(XmlRpcServer::Options options) : server(&registry, options) {
    auto echo = [](const xmlrpc_c::paramList& p) -> Result<xmlrpc_c::value> { return p[0]; };
    auto peer = [](const xmlrpc_c::paramList&) -> Result<xmlrpc_c::value> {
      return xmlrpc_c::value(xmlrpc_c::value_string("peer"));
    };
    BOOST_REQUIRE(registry.Register({"test.echo", Audience::kClient, "*:*", "Echo.", echo}).ok());
    BOOST_REQUIRE(registry.Register({"test.peer", Audience::kPeer, "s:", "Peer only.", peer}).ok());
    auto started = server.Start();
    BOOST_REQUIRE_MESSAGE(started.ok(), started.ToString());
  }
  CommandRegistry registry;
  XmlRpcServer server;
};

XmlRpcServer::Options Limited() {
  XmlRpcServer::Options options;
  options.max_request_bytes = kLimit;
  return options;
}

XmlRpcServer::Options WithSecret(bool client_auth) {
  XmlRpcServer::Options options;
  options.secret = kSecret;
  options.client_auth = client_auth;
  return options;
}

XmlRpcTransport::Options Client(const std::string& secret = "") {
  XmlRpcTransport::Options options;
  options.secret = secret;
  return options;
}

// ---- A raw HTTP/1.1 client, to send what no well-behaved client would -----------------------

struct HttpReply {
  int status = 0;
  std::string headers;  // lowercased
  std::string body;
};

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE_GE(fd_, 0);
    timeval timeout{20, 0};  // bounds every read and write of the test
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE_EQUAL(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~RawConnection() { close(fd_); }

  bool Send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += size_t(n);
    }
    return true;
  }

  bool Post(const std::string& body, const std::string& path = "/RPC2",
            const std::string& extra_headers = "") {
    return Send("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n" +
                extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                body);
  }

  // One response; status 0 if the connection ended first.
  HttpReply Read() {
    HttpReply reply;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return reply;
    }
    reply.headers = buffer_.substr(0, end + 2);
    for (char& c : reply.headers)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    buffer_.erase(0, end + 4);
    reply.status = std::atoi(reply.headers.c_str() + 9);
    size_t at = reply.headers.find("content-length:");
    size_t length = at == std::string::npos ? 0 : std::stoul(reply.headers.substr(at + 15));
    while (buffer_.size() < length) {
      if (!Fill()) return reply;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }

  // Whether the server closed the connection (EOF within the receive time-out).
  bool Closed() {
    char byte;
    return buffer_.empty() && recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  bool Fill() {
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, size_t(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

// POSTs `body` on a connection of its own (RawConnection::Read reads until the answer is
// complete, so the connection may stay open).
HttpReply PostOnce(int port, const std::string& body, const std::string& path = "/RPC2",
                   const std::string& extra_headers = "") {
  RawConnection connection(port);
  BOOST_REQUIRE(connection.Post(body, path, extra_headers));
  return connection.Read();
}

// The fault in an XML-RPC answer, as (code, message); code 0 if it is not a fault.
std::pair<int, std::string> FaultOf(const std::string& response) {
  xmlrpc_c::rpcOutcome outcome;
  xmlrpc_c::xml::parseResponse(response, &outcome);
  if (outcome.succeeded()) return {0, ""};
  return {static_cast<int>(outcome.getFault().getCode()), outcome.getFault().getDescription()};
}

}  // namespace

// ---- Characters beyond U+FFFF -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(astral_characters_round_trip_through_the_transport) {
  Servers s(XmlRpcServer::Options{});
  XmlRpcTransport transport(Client());
  xmlrpc_c::cstruct inner;
  inner[ToBmpForm("clef " + kClef)] = xmlrpc_c::value_string(ToBmpForm(kGrin + kNonchar));
  xmlrpc_c::cstruct outer;
  outer[ToBmpForm(kGrin)] = xmlrpc_c::value_array(xmlrpc_c::carray{
      xmlrpc_c::value_string(ToBmpForm("a" + kGrin + "b")), xmlrpc_c::value_struct(inner)});
  outer[ToBmpForm(kNonchar)] = xmlrpc_c::value_string(ToBmpForm(kNonchar + kNonchar));
  for (const xmlrpc_c::value& value : {xmlrpc_c::value(xmlrpc_c::value_string(ToBmpForm(kGrin))),
                                       xmlrpc_c::value(xmlrpc_c::value_struct(outer))}) {
    Result<xmlrpc_c::value> echoed = transport.Call(s.server.address(), "test.echo", Params(value));
    BOOST_REQUIRE_MESSAGE(echoed.ok(), echoed.status().ToString());
    BOOST_CHECK_EQUAL(Xml(echoed.value()), Xml(value));
  }
  auto echoed = transport.Call(s.server.address(), "test.echo",
                               Params(xmlrpc_c::value_string(ToBmpForm("x" + kGrin))));
  BOOST_REQUIRE(echoed.ok());
  BOOST_CHECK_EQUAL(FromBmpForm(std::string(xmlrpc_c::value_string(echoed.value()))), "x" + kGrin);
}

BOOST_AUTO_TEST_CASE(the_wire_carries_standard_utf8) {
  Servers s(XmlRpcServer::Options{});
  // Raw UTF-8, a hex and a decimal character reference.
  HttpReply reply =
      PostOnce(s.server.port(), CallXml("test.echo", StringParam(kGrin + "&#x1F600;&#119070;")));
  BOOST_CHECK_EQUAL(reply.status, 200);
  BOOST_CHECK_MESSAGE(Contains(reply.body, "<string>" + kGrin + kGrin + kClef + "</string>"),
                      reply.body);
  BOOST_CHECK(!Contains(reply.body, kNonchar));  // no BMP form leaks out
  // In a member name.
  reply = PostOnce(s.server.port(),
                   CallXml("test.echo", "<param><value><struct><member><name>" + kClef +
                                            "</name><value><i4>1</i4></value></member></struct>"
                                            "</value></param>"));
  BOOST_CHECK_MESSAGE(Contains(reply.body, "<name>" + kClef + "</name>"), reply.body);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_a_bad_argument) {
  Servers s(XmlRpcServer::Options{});
  for (const std::string& bad : {std::string("\xFF\xFE"), std::string("\xC0\xAF"),
                                 std::string("\xED\xA0\xBD\xED\xB8\x80"),  // CESU-8
                                 std::string("\xF0\x9F\x98"), std::string("\xF4\x90\x80\x80"),
                                 std::string("&#xD83D;"), std::string("&#x110000;")}) {
    HttpReply reply = PostOnce(s.server.port(), CallXml("test.echo", StringParam(bad)));
    BOOST_REQUIRE_EQUAL(reply.status, 200);
    BOOST_CHECK_EQUAL(FaultOf(reply.body).first, int(ErrorCode::kBadArgument));
  }
}

// ---- Request size -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(body_at_the_limit_is_parsed_and_one_byte_more_is_a_fault) {
  Servers s(Limited());
  BOOST_CHECK_EQUAL(s.server.max_request_bytes(), kLimit);
  std::string call = CallXml("test.echo", StringParam("fits"));
  std::string at_limit = call + std::string(kLimit - call.size(), ' ');  // trailing blanks
  HttpReply reply = PostOnce(s.server.port(), at_limit);
  BOOST_CHECK_EQUAL(reply.status, 200);
  BOOST_CHECK_MESSAGE(Contains(reply.body, "fits") && FaultOf(reply.body).first == 0, reply.body);

  reply = PostOnce(s.server.port(), at_limit + " ");
  BOOST_CHECK_EQUAL(reply.status, 200);
  auto fault = FaultOf(reply.body);
  BOOST_CHECK_EQUAL(fault.first, int(ErrorCode::kBadArgument));
  BOOST_CHECK_EQUAL(fault.second, "request of " + std::to_string(kLimit + 1) +
                                      " bytes is over this node's limit of " +
                                      std::to_string(kLimit) + " bytes");
  // The server goes on serving.
  reply = PostOnce(s.server.port(), call);
  BOOST_CHECK(Contains(reply.body, "fits") && FaultOf(reply.body).first == 0);
}

BOOST_AUTO_TEST_CASE(over_limit_call_from_the_transport_is_a_bad_argument) {
  Servers s(Limited());
  XmlRpcTransport transport(Client());
  auto result = transport.Call(s.server.address(), "test.echo",
                               Params(xmlrpc_c::value_string(std::string(kLimit, 'x'))));
  BOOST_CHECK_EQUAL(result.status().code(), ErrorCode::kBadArgument);
  BOOST_CHECK_MESSAGE(Contains(result.status().message(), "over this node's limit of 65536 bytes"),
                      result.status().message());
  BOOST_CHECK(transport.Call(s.server.address(), "test.echo", Params(xmlrpc_c::value_int(1))).ok());
}

BOOST_AUTO_TEST_CASE(xml_size_limit_caps_the_server_limit) {
  XmlRpcServer::Options options;
  options.max_request_bytes = size_t{1} << 40;
  Servers s(options);
  BOOST_CHECK_EQUAL(s.server.max_request_bytes(), size_t{8} << 20);  // TestSetup's XML limit
}

BOOST_AUTO_TEST_CASE(a_64_mib_body_is_read_and_dropped) {
  Servers s(Limited());
  RawConnection connection(s.server.port());
  const size_t length = size_t{64} << 20;
  BOOST_REQUIRE(connection.Send(
      "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n"));
  std::string piece(1u << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  for (size_t sent = 0; sent < length; sent += piece.size()) BOOST_REQUIRE(connection.Send(piece));
  HttpReply reply = connection.Read();
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "64 MiB over-limit body sent, discarded and answered in " << ms << " ms\n";
  BOOST_CHECK_EQUAL(reply.status, 200);
  BOOST_CHECK_EQUAL(FaultOf(reply.body).first, int(ErrorCode::kBadArgument));
  BOOST_CHECK(Contains(PostOnce(s.server.port(), CallXml("test.echo", StringParam("after"))).body,
                       "after"));
}

BOOST_AUTO_TEST_CASE(beyond_the_discard_bound_is_413_and_closed) {
  Servers s(Limited());
  RawConnection connection(s.server.port());
  // Only the headers and a little of the announced body are sent.
  size_t announced = chord::kMaxDiscardedBody + 1;
  BOOST_REQUIRE(connection.Send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(announced) + "\r\n\r\n" + std::string(1000, 'x')));
  HttpReply reply = connection.Read();
  BOOST_CHECK_EQUAL(reply.status, 413);
  BOOST_CHECK(Contains(reply.headers, "connection: close"));
  BOOST_CHECK_MESSAGE(Contains(reply.body, "request of " + std::to_string(announced) + " bytes"),
                      reply.body);
  BOOST_CHECK(connection.Closed());
  // Exactly at the bound the body would be read: the server waits for it (not tested: 65 MiB).
}

BOOST_AUTO_TEST_CASE(http_errors) {
  Servers s(Limited());
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"PUT /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
      {"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 404},
      {"POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n", 411},
      {"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       411},
      {"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 12ab\r\n\r\n", 400},
      {"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    RawConnection connection(s.server.port());
    BOOST_REQUIRE(connection.Send(c.request));
    HttpReply reply = connection.Read();
    BOOST_CHECK_MESSAGE(reply.status == c.status, c.request << "-> " << reply.status);
    if (c.status == 405) BOOST_CHECK(Contains(reply.headers, "allow: post"));
  }
  // "/" is served like /RPC2.
  BOOST_CHECK(Contains(
      PostOnce(s.server.port(), CallXml("test.echo", StringParam("root")), "/").body, "root"));
}

// ---- Proof of the ring secret -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(peer_commands_need_the_proof) {
  Servers s(WithSecret(false));
  const std::string address = s.server.address();
  XmlRpcTransport none(Client());
  XmlRpcTransport right(Client(kSecret));
  XmlRpcTransport wrong(Client("not the secret"));
  xmlrpc_c::paramList no_args;

  auto refused = none.Call(address, "test.peer", no_args);
  BOOST_CHECK_EQUAL(refused.status().code(), ErrorCode::kRefused);
  BOOST_CHECK_MESSAGE(Contains(refused.status().message(), "no proof"), refused.status().message());
  auto bad = wrong.Call(address, "test.peer", no_args);
  BOOST_CHECK_EQUAL(bad.status().code(), ErrorCode::kRefused);
  BOOST_CHECK_MESSAGE(Contains(bad.status().message(), "bad mac"), bad.status().message());
  auto proved = right.Call(address, "test.peer", no_args);
  BOOST_REQUIRE_MESSAGE(proved.ok(), proved.status().ToString());
  BOOST_CHECK_EQUAL(std::string(xmlrpc_c::value_string(proved.value())), "peer");
  // Client commands and introspection stay open to everyone.
  for (XmlRpcTransport* transport : {&none, &wrong, &right}) {
    BOOST_CHECK(transport->Call(address, "test.echo", Params(xmlrpc_c::value_int(7))).ok());
    BOOST_CHECK(transport->Call(address, "system.listMethods", no_args).ok());
  }
}

BOOST_AUTO_TEST_CASE(client_auth_closes_client_commands) {
  Servers s(WithSecret(true));
  const std::string address = s.server.address();
  XmlRpcTransport none(Client());
  XmlRpcTransport right(Client(kSecret));
  xmlrpc_c::paramList no_args;
  BOOST_CHECK_EQUAL(none.Call(address, "test.echo", Params(xmlrpc_c::value_int(7))).status().code(),
                    ErrorCode::kRefused);
  BOOST_CHECK_EQUAL(none.Call(address, "test.peer", no_args).status().code(), ErrorCode::kRefused);
  BOOST_CHECK(none.Call(address, "system.listMethods", no_args).ok());
  BOOST_CHECK(right.Call(address, "test.echo", Params(xmlrpc_c::value_int(7))).ok());
  BOOST_CHECK(right.Call(address, "test.peer", no_args).ok());
}

BOOST_AUTO_TEST_CASE(a_proof_works_once_and_only_for_its_body) {
  Servers s(WithSecret(false));
  std::string call = CallXml("test.peer", "");
  std::string header =
      std::string(chord::kAuthHeader) + ": " +
      chord::SignRequest(kSecret, "/RPC2", call, chord::UnixMillis(), chord::NewNonce()) + "\r\n";
  const int port = s.server.port();
  BOOST_CHECK_EQUAL(FaultOf(PostOnce(port, call + " ", "/RPC2", header).body).first,
                    int(ErrorCode::kRefused));  // other body
  BOOST_CHECK_EQUAL(FaultOf(PostOnce(port, call, "/", header).body).first,
                    int(ErrorCode::kRefused));  // other path
  BOOST_CHECK_EQUAL(FaultOf(PostOnce(port, call, "/RPC2", header).body).first, 0);
  auto replay = FaultOf(PostOnce(port, call, "/RPC2", header).body);
  BOOST_CHECK_EQUAL(replay.first, int(ErrorCode::kRefused));
  BOOST_CHECK_MESSAGE(Contains(replay.second, "replayed"), replay.second);
}
