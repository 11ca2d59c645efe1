// Tests of chord::Settings, chord::Validate, chord::SettingsParser, the shipped chord.conf and
// chord::InitLogging.
#define BOOST_TEST_MODULE settings
#define BOOST_TEST_DYN_LINK
#include "settings/settings.h"

#include <unistd.h>

#include <boost/log/trivial.hpp>
#include <boost/program_options.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "settings/logging.h"
#include "settings/secret.h"
#include "settings/settings_parser.h"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace chord {
namespace {

// Every settings option name (the config-file spelling); --config and --help are extra.
const char* const kOptionNames[] = {
    "create",
    "join",
    "bind",
    "port",
    "advertise",
    "max-connections",
    "connect-timeout-ms",
    "call-timeout-ms",
    "min-call-timeout-ms",
    "secret-file",
    "client-auth",
    "id-bits",
    "successors",
    "stabilize-ms",
    "fix-fingers-ms",
    "check-predecessor-ms",
    "max-lookup-hops",
    "replicas",
    "max-key-bytes",
    "max-value-bytes",
    "repair-ms",
    "tombstone-ttl-s",
    "transfer-batch",
    "suspect-gap-ms",
    "data-dir",
    "log-level",
    "log-file",
};

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() / ("chord_settings_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(random()) + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `contents` to `name` inside the directory and returns its path.
  std::string Write(const std::string& name, const std::string& contents) const {
    const fs::path file = path_ / name;
    std::ofstream out(file);
    out << contents;
    BOOST_REQUIRE(out.good());
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Parses "prog args..." with `parser`.
SettingsParser::Outcome ParseArgs(SettingsParser& parser, const std::vector<std::string>& args,
                                  Settings* settings) {
  std::vector<const char*> argv = {"prog"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parser.Parse(static_cast<int>(argv.size()), argv.data(), settings);
}

SettingsParser::Outcome ParseArgs(const std::vector<std::string>& args, Settings* settings) {
  SettingsParser parser("prog");
  return ParseArgs(parser, args, settings);
}

// Checks that every field of `actual` equals `expected` (config_file excepted).
void CheckSameSettings(const Settings& actual, const Settings& expected) {
  BOOST_CHECK_EQUAL(actual.create, expected.create);
  BOOST_CHECK_EQUAL(actual.join, expected.join);
  BOOST_CHECK_EQUAL(actual.bind, expected.bind);
  BOOST_CHECK_EQUAL(actual.port, expected.port);
  BOOST_CHECK_EQUAL(actual.advertise, expected.advertise);
  BOOST_CHECK_EQUAL(actual.max_connections, expected.max_connections);
  BOOST_CHECK_EQUAL(actual.connect_timeout_ms, expected.connect_timeout_ms);
  BOOST_CHECK_EQUAL(actual.call_timeout_ms, expected.call_timeout_ms);
  BOOST_CHECK_EQUAL(actual.min_call_timeout_ms, expected.min_call_timeout_ms);
  BOOST_CHECK_EQUAL(actual.secret_file, expected.secret_file);
  BOOST_CHECK_EQUAL(actual.client_auth, expected.client_auth);
  BOOST_CHECK_EQUAL(actual.id_bits, expected.id_bits);
  BOOST_CHECK_EQUAL(actual.successors, expected.successors);
  BOOST_CHECK_EQUAL(actual.stabilize_ms, expected.stabilize_ms);
  BOOST_CHECK_EQUAL(actual.fix_fingers_ms, expected.fix_fingers_ms);
  BOOST_CHECK_EQUAL(actual.check_predecessor_ms, expected.check_predecessor_ms);
  BOOST_CHECK_EQUAL(actual.max_lookup_hops, expected.max_lookup_hops);
  BOOST_CHECK_EQUAL(actual.replicas, expected.replicas);
  BOOST_CHECK_EQUAL(actual.max_key_bytes, expected.max_key_bytes);
  BOOST_CHECK_EQUAL(actual.max_value_bytes, expected.max_value_bytes);
  BOOST_CHECK_EQUAL(actual.repair_ms, expected.repair_ms);
  BOOST_CHECK_EQUAL(actual.tombstone_ttl_s, expected.tombstone_ttl_s);
  BOOST_CHECK_EQUAL(actual.transfer_batch, expected.transfer_batch);
  BOOST_CHECK_EQUAL(actual.suspect_gap_ms, expected.suspect_gap_ms);
  BOOST_CHECK_EQUAL(actual.log_level, expected.log_level);
  BOOST_CHECK_EQUAL(actual.log_file, expected.log_file);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

BOOST_AUTO_TEST_CASE(built_in_defaults) {
  const Settings s;
  BOOST_CHECK(!s.create);
  BOOST_CHECK_EQUAL(s.join, "");
  BOOST_CHECK_EQUAL(s.config_file, "");
  BOOST_CHECK_EQUAL(s.bind, "127.0.0.1");
  BOOST_CHECK_EQUAL(s.port, 0);
  BOOST_CHECK_EQUAL(s.advertise, "");
  BOOST_CHECK_EQUAL(s.max_connections, 1024);
  BOOST_CHECK_EQUAL(s.connect_timeout_ms, 1000);
  BOOST_CHECK_EQUAL(s.call_timeout_ms, 5000);
  BOOST_CHECK_EQUAL(s.secret_file, "");
  BOOST_CHECK(!s.client_auth);
  BOOST_CHECK_EQUAL(s.id_bits, 160);
  BOOST_CHECK_EQUAL(s.successors, 8);
  BOOST_CHECK_EQUAL(s.stabilize_ms, 200);
  BOOST_CHECK_EQUAL(s.fix_fingers_ms, 200);
  BOOST_CHECK_EQUAL(s.check_predecessor_ms, 500);
  BOOST_CHECK_EQUAL(s.max_lookup_hops, 160);
  BOOST_CHECK_EQUAL(s.replicas, 3);
  BOOST_CHECK_EQUAL(s.max_key_bytes, 1024);
  BOOST_CHECK_EQUAL(s.max_value_bytes, 1048576);
  BOOST_CHECK_EQUAL(s.repair_ms, 1000);
  BOOST_CHECK_EQUAL(s.tombstone_ttl_s, 600);
  BOOST_CHECK_EQUAL(s.transfer_batch, 256);
  BOOST_CHECK_EQUAL(s.log_level, "info");
  BOOST_CHECK_EQUAL(s.log_file, "");
  BOOST_CHECK_EQUAL(Validate(s), "");
}

BOOST_AUTO_TEST_CASE(empty_command_line_yields_defaults) {
  Settings s;
  s.port = 4242;  // Must be overwritten.
  const auto outcome = ParseArgs({}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK(!outcome.help);
  BOOST_CHECK_EQUAL(outcome.message, "");
  CheckSameSettings(s, Settings());
  BOOST_CHECK_EQUAL(s.config_file, "");
}

BOOST_AUTO_TEST_CASE(command_line_sets_every_option) {
  Settings s;
  const auto outcome = ParseArgs({"--join",
                                  "10.0.0.1:4000",
                                  "--bind",
                                  "0.0.0.0",
                                  "--port",
                                  "5000",
                                  "--advertise",
                                  "node1.example:4100",
                                  "--max-connections",
                                  "10",
                                  "--connect-timeout-ms",
                                  "11",
                                  "--call-timeout-ms",
                                  "12",
                                  "--min-call-timeout-ms",
                                  "9",
                                  "--secret-file",
                                  "/etc/chord/secret",
                                  "--client-auth",
                                  "--id-bits",
                                  "8",
                                  "--successors",
                                  "4",
                                  "--stabilize-ms",
                                  "13",
                                  "--fix-fingers-ms",
                                  "14",
                                  "--check-predecessor-ms",
                                  "15",
                                  "--max-lookup-hops",
                                  "16",
                                  "--replicas",
                                  "5",
                                  "--max-key-bytes",
                                  "17",
                                  "--max-value-bytes",
                                  "18",
                                  "--repair-ms",
                                  "19",
                                  "--tombstone-ttl-s",
                                  "20",
                                  "--transfer-batch",
                                  "21",
                                  "--log-level",
                                  "debug",
                                  "--log-file=/tmp/x.log"},
                                 &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  Settings expected;
  expected.join = "10.0.0.1:4000";
  expected.bind = "0.0.0.0";
  expected.port = 5000;
  expected.advertise = "node1.example:4100";
  expected.max_connections = 10;
  expected.connect_timeout_ms = 11;
  expected.call_timeout_ms = 12;
  expected.min_call_timeout_ms = 9;
  expected.secret_file = "/etc/chord/secret";
  expected.client_auth = true;
  expected.id_bits = 8;
  expected.successors = 4;
  expected.stabilize_ms = 13;
  expected.fix_fingers_ms = 14;
  expected.check_predecessor_ms = 15;
  expected.max_lookup_hops = 16;
  expected.replicas = 5;
  expected.max_key_bytes = 17;
  expected.max_value_bytes = 18;
  expected.repair_ms = 19;
  expected.tombstone_ttl_s = 20;
  expected.transfer_batch = 21;
  expected.log_level = "debug";
  expected.log_file = "/tmp/x.log";
  CheckSameSettings(s, expected);

  const auto create = ParseArgs({"--create"}, &s);
  BOOST_REQUIRE_MESSAGE(create.ok, create.message);
  BOOST_CHECK(s.create);
  BOOST_CHECK_EQUAL(s.join, "");
}

BOOST_AUTO_TEST_CASE(config_file_overrides_defaults) {
  TempDir dir;
  const std::string path = dir.Write("a.conf",
                                     "# comment line\n"
                                     "id-bits = 8   # trailing comment\n"
                                     "successors=4\n"
                                     "\n"
                                     "create = true\n"
                                     "log-level = debug\n"
                                     "log-file = /tmp/chord.log\n"
                                     "bind = 0.0.0.0\n"
                                     "advertise = 10.0.0.7\n");
  Settings s;
  const auto outcome = ParseArgs({"--config", path}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  Settings expected;
  expected.id_bits = 8;
  expected.successors = 4;
  expected.create = true;
  expected.log_level = "debug";
  expected.log_file = "/tmp/chord.log";
  expected.bind = "0.0.0.0";
  expected.advertise = "10.0.0.7";
  CheckSameSettings(s, expected);
  BOOST_CHECK_EQUAL(s.config_file, path);
}

BOOST_AUTO_TEST_CASE(command_line_overrides_config_file) {
  TempDir dir;
  const std::string path = dir.Write("b.conf",
                                     "id-bits = 8\n"
                                     "successors = 4\n"
                                     "join = 127.0.0.1:9000\n"
                                     "log-level = error\n");
  // The option order must not matter: --config may come before or after the overrides.
  for (bool config_first : {true, false}) {
    std::vector<std::string> args = {"--id-bits", "16", "--log-level=trace"};
    if (config_first) {
      args.insert(args.begin(), {"--config", path});
    } else {
      args.insert(args.end(), {"--config", path});
    }
    Settings s;
    const auto outcome = ParseArgs(args, &s);
    BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
    BOOST_CHECK_EQUAL(s.id_bits, 16);             // command line
    BOOST_CHECK_EQUAL(s.log_level, "trace");      // command line
    BOOST_CHECK_EQUAL(s.successors, 4);           // config file
    BOOST_CHECK_EQUAL(s.join, "127.0.0.1:9000");  // config file
    BOOST_CHECK_EQUAL(s.replicas, 3);             // default
  }
}

BOOST_AUTO_TEST_CASE(custom_defaults) {
  Settings defaults;
  defaults.port = 7000;
  defaults.log_level = "warning";
  SettingsParser parser("tool", defaults);
  Settings s;
  const auto outcome = ParseArgs(parser, {"--id-bits", "12"}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(s.port, 7000);
  BOOST_CHECK_EQUAL(s.log_level, "warning");
  BOOST_CHECK_EQUAL(s.id_bits, 12);
  BOOST_CHECK(Contains(parser.Help(), "7000"));
}

// One invalid command line and the option its error message must name.
struct BadCase {
  std::vector<std::string> args;
  std::string option;
};

BOOST_AUTO_TEST_CASE(every_validation_rule_names_its_option) {
  const std::vector<BadCase> cases = {
      {{"--id-bits=0"}, "id-bits"},
      {{"--id-bits=161"}, "id-bits"},
      {{"--successors=0"}, "successors"},
      {{"--replicas=0"}, "replicas"},
      {{"--replicas=10"}, "replicas"},  // successors 8 -> at most 9
      {{"--successors=1", "--replicas=3"}, "replicas"},
      {{"--port=-1"}, "port"},
      {{"--port=65536"}, "port"},
      {{"--max-connections=0"}, "max-connections"},
      {{"--connect-timeout-ms=0"}, "connect-timeout-ms"},
      {{"--call-timeout-ms=0"}, "call-timeout-ms"},
      {{"--stabilize-ms=0"}, "stabilize-ms"},
      {{"--fix-fingers-ms=-5"}, "fix-fingers-ms"},
      {{"--check-predecessor-ms=0"}, "check-predecessor-ms"},
      {{"--max-lookup-hops=0"}, "max-lookup-hops"},
      {{"--max-key-bytes=0"}, "max-key-bytes"},
      {{"--max-value-bytes=0"}, "max-value-bytes"},
      {{"--max-value-bytes=67108865"}, "max-value-bytes"},
      {{"--repair-ms=0"}, "repair-ms"},
      {{"--tombstone-ttl-s=0"}, "tombstone-ttl-s"},
      {{"--transfer-batch=0"}, "transfer-batch"},
      {{"--suspect-gap-ms=0"}, "suspect-gap-ms"},
      {{"--log-level=verbose"}, "log-level"},
      {{"--log-level=INFO"}, "log-level"},
      {{"--bind=localhost"}, "bind"},
      {{"--bind=256.1.1.1"}, "bind"},
      {{"--bind", ""}, "bind"},
      {{"--join=nohost"}, "join"},
      {{"--join=:4000"}, "join"},
      {{"--join=host:"}, "join"},
      {{"--join=host:0"}, "join"},
      {{"--join=host:65536"}, "join"},
      {{"--join=host:12a"}, "join"},
      {{"--join=host:+80"}, "join"},
      {{"--join=a:b:80"}, "join"},
      {{"--advertise=:4000"}, "advertise"},
      {{"--advertise=host:"}, "advertise"},
      {{"--advertise=host:65536"}, "advertise"},
      {{"--advertise=host:-1"}, "advertise"},
      {{"--advertise=a:b:80"}, "advertise"},
      {{"--advertise=a b"}, "advertise"},
      {{"--advertise=0.0.0.0:4000"}, "advertise"},
  };
  for (const BadCase& bad : cases) {
    BOOST_TEST_CONTEXT("args: " << bad.args.front()) {
      Settings s;
      s.port = 4242;
      const auto outcome = ParseArgs(bad.args, &s);
      BOOST_CHECK(!outcome.ok);
      BOOST_CHECK(!outcome.help);
      BOOST_CHECK_MESSAGE(Contains(outcome.message, "invalid value for --" + bad.option + ":"),
                          outcome.message);
      BOOST_CHECK_EQUAL(s.port, 4242);  // untouched on error
    }
  }

  Settings s;
  auto outcome = ParseArgs({"--create", "--join", "127.0.0.1:4000"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--create") &&
                          Contains(outcome.message, "--join") &&
                          Contains(outcome.message, "mutually exclusive"),
                      outcome.message);

  Settings id_bits;
  id_bits.id_bits = 200;
  BOOST_CHECK_EQUAL(Validate(id_bits), "invalid value for --id-bits: 200 (must be 1..160)");
}

BOOST_AUTO_TEST_CASE(secret_file_and_client_auth) {
  TempDir dir;
  // Both from a config file; the command line can name another secret file.
  const std::string path = dir.Write("secret.conf",
                                     "secret-file = /run/chord/secret\n"
                                     "client-auth = true\n");
  Settings s;
  auto outcome = ParseArgs({"--config", path}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(s.secret_file, "/run/chord/secret");
  BOOST_CHECK(s.client_auth);
  outcome = ParseArgs({"--config", path, "--secret-file", "other"}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(s.secret_file, "other");

  // A secret without client_auth is fine; client_auth without a secret is not.
  outcome = ParseArgs({"--secret-file", "f"}, &s);
  BOOST_CHECK_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK(!s.client_auth);
  s.port = 4242;
  outcome = ParseArgs({"--client-auth"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(
      Contains(outcome.message, "--client-auth") && Contains(outcome.message, "--secret-file"),
      outcome.message);
  BOOST_CHECK_EQUAL(s.port, 4242);  // untouched on error
  Settings direct;
  direct.client_auth = true;
  BOOST_CHECK(Contains(Validate(direct), "--client-auth"));
  direct.secret_file = "f";
  BOOST_CHECK_EQUAL(Validate(direct), "");

  // The help lists both in their own group.
  SettingsParser parser("chord-node");
  BOOST_CHECK(Contains(parser.Help(), "Security"));
  BOOST_CHECK(Contains(parser.Help(), "--secret-file FILE"));
  BOOST_CHECK(Contains(parser.Help(), "--client-auth"));
}

BOOST_AUTO_TEST_CASE(load_secret) {
  TempDir dir;
  // One trailing newline (LF or CRLF) goes; everything else stays.
  auto loaded = [](const std::string& path) {
    const Result<std::string> secret = LoadSecret(path);
    BOOST_REQUIRE_MESSAGE(secret.ok(), path << ": " << secret.status().message());
    return secret.value();
  };
  BOOST_CHECK_EQUAL(loaded(dir.Write("plain", "s3cret")), "s3cret");
  BOOST_CHECK_EQUAL(loaded(dir.Write("newline", "s3cret\n")), "s3cret");
  BOOST_CHECK_EQUAL(loaded(dir.Write("crlf", "s3cret\r\n")), "s3cret");
  BOOST_CHECK_EQUAL(loaded(dir.Write("two", " two words \n\n")), " two words \n");
  const std::string binary("\x00\xff\x01", 3);
  BOOST_CHECK(loaded(dir.Write("binary", binary)) == binary);
  BOOST_CHECK_EQUAL(loaded(dir.Write("limit", std::string(kMaxSecretBytes, 'k') + "\r\n")).size(),
                    kMaxSecretBytes);

  // Each failure is a bad_argument naming the option and the file.
  struct Bad {
    std::string path;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {(dir.path() / "missing").string(), "cannot open"},
      {dir.Write("empty", ""), "empty"},
      {dir.Write("only-newline", "\n"), "empty"},
      {dir.Write("too-long", std::string(kMaxSecretBytes + 1, 'k')), "longer than 4096"},
      {dir.Write("far-too-long", std::string(100000, 'k')), "longer than 4096"},
      {dir.path().string(), "directory"},
  };
  for (const Bad& b : bad) {
    BOOST_TEST_CONTEXT(b.path) {
      const Result<std::string> secret = LoadSecret(b.path);
      BOOST_REQUIRE(!secret.ok());
      BOOST_CHECK(secret.status().code() == ErrorCode::kBadArgument);
      const std::string& message = secret.status().message();
      BOOST_CHECK_MESSAGE(Contains(message, "--secret-file " + b.path + ":"), message);
      BOOST_CHECK_MESSAGE(Contains(message, b.says), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(boundary_values_are_valid) {
  const std::vector<std::vector<std::string>> cases = {
      {"--id-bits=1"},
      {"--id-bits=160"},
      {"--successors=1", "--replicas=2"},
      {"--replicas=9"},
      {"--replicas=1"},
      {"--port=65535"},
      {"--max-value-bytes=67108864"},
      {"--bind=0.0.0.0", "--advertise=192.0.2.1"},
      {"--advertise=192.0.2.1:0"},
      {"--advertise=host.example:65535"},
      {"--join=some-host.example:65535"},
      {"--join=10.1.2.3:1"},
      {"--log-level=fatal"},
  };
  for (const auto& args : cases) {
    Settings s;
    const auto outcome = ParseArgs(args, &s);
    BOOST_CHECK_MESSAGE(outcome.ok, args.front() << ": " << outcome.message);
  }
}

BOOST_AUTO_TEST_CASE(parse_host_port) {
  std::string host;
  int port = 0;
  BOOST_CHECK(ParseHostPort("127.0.0.1:4000", &host, &port));
  BOOST_CHECK_EQUAL(host, "127.0.0.1");
  BOOST_CHECK_EQUAL(port, 4000);
  BOOST_CHECK(!ParseHostPort("127.0.0.1", &host, &port));
  BOOST_CHECK(!ParseHostPort("h:99999999999999", &host, &port));
  BOOST_CHECK_EQUAL(host, "127.0.0.1");  // untouched on failure
  BOOST_CHECK_EQUAL(port, 4000);
}

BOOST_AUTO_TEST_CASE(wildcard_bind_needs_advertise) {
  Settings s;
  const auto outcome = ParseArgs({"--bind", "0.0.0.0", "--port", "4100"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--advertise"), outcome.message);
}

BOOST_AUTO_TEST_CASE(advertised_address) {
  Settings s;
  BOOST_CHECK_EQUAL(AdvertisedAddress(s, 4100), "127.0.0.1:4100");
  s.bind = "0.0.0.0";
  s.advertise = "192.0.2.1";
  BOOST_CHECK_EQUAL(AdvertisedAddress(s, 4100), "192.0.2.1:4100");
  s.advertise = "192.0.2.1:0";
  BOOST_CHECK_EQUAL(AdvertisedAddress(s, 4100), "192.0.2.1:4100");
  s.advertise = "gateway.example:80";  // e.g. a forwarded port
  BOOST_CHECK_EQUAL(AdvertisedAddress(s, 4100), "gateway.example:80");

  std::string host = "h";
  int port = 7;
  BOOST_CHECK(!ParseAdvertise("", &host, &port));
  BOOST_CHECK(!ParseAdvertise("0.0.0.0", &host, &port));
  BOOST_CHECK_EQUAL(host, "h");  // untouched on failure
  BOOST_CHECK_EQUAL(port, 7);
  BOOST_CHECK(ParseAdvertise("10.1.2.3", &host, &port));
  BOOST_CHECK_EQUAL(host, "10.1.2.3");
  BOOST_CHECK_EQUAL(port, 0);
}

BOOST_AUTO_TEST_CASE(unknown_option) {
  Settings s;
  auto outcome = ParseArgs({"--bogus", "1"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--bogus"), outcome.message);

  outcome = ParseArgs({"stray-positional"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK(!outcome.message.empty());

  TempDir dir;
  const std::string path = dir.Write("c.conf", "id-bits = 8\nbogus-option = 3\n");
  outcome = ParseArgs({"--config", path}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "bogus-option"), outcome.message);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, path), outcome.message);

  // --config and --help are command-line only.
  const std::string nested = dir.Write("d.conf", "config = " + path + "\n");
  outcome = ParseArgs({"--config", nested}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "config"), outcome.message);
}

BOOST_AUTO_TEST_CASE(bad_type) {
  Settings s;
  auto outcome = ParseArgs({"--port", "abc"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--port"), outcome.message);

  outcome = ParseArgs({"--id-bits=99999999999"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--id-bits"), outcome.message);

  outcome = ParseArgs({"--port"}, &s);  // missing argument
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--port"), outcome.message);

  outcome = ParseArgs({"--create=yes"}, &s);  // a switch takes no value
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--create"), outcome.message);

  outcome = ParseArgs({"--port", "1", "--port", "2"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--port"), outcome.message);

  TempDir dir;
  const std::string path = dir.Write("e.conf", "stabilize-ms = fast\n");
  outcome = ParseArgs({"--config", path}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "stabilize-ms"), outcome.message);

  const std::string bad_bool = dir.Write("f.conf", "create = maybe\n");
  outcome = ParseArgs({"--config", bad_bool}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "create"), outcome.message);

  const std::string no_equals = dir.Write("g.conf", "id-bits 8\n");
  outcome = ParseArgs({"--config", no_equals}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK(!outcome.message.empty());
}

BOOST_AUTO_TEST_CASE(missing_config_file) {
  TempDir dir;
  const std::string path = (dir.path() / "does-not-exist.conf").string();
  Settings s;
  const auto outcome = ParseArgs({"--config", path}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, path), outcome.message);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--config"), outcome.message);
}

BOOST_AUTO_TEST_CASE(invalid_value_in_config_file) {
  TempDir dir;
  const std::string path = dir.Write("h.conf", "id-bits = 200\n");
  Settings s;
  auto outcome = ParseArgs({"--config", path}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_EQUAL(outcome.message, "invalid value for --id-bits: 200 (must be 1..160)");
  // The command line fixes it.
  outcome = ParseArgs({"--config", path, "--id-bits", "20"}, &s);
  BOOST_CHECK_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(s.id_bits, 20);
}

BOOST_AUTO_TEST_CASE(shipped_sample_config_yields_defaults) {
  Settings s;
  const auto outcome = ParseArgs({"--config", CHORD_SAMPLE_CONFIG}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  CheckSameSettings(s, Settings());
  BOOST_CHECK_EQUAL(s.config_file, CHORD_SAMPLE_CONFIG);
}

// Uncommenting every "#name = value" line of the sample must still give the defaults, and every
// option must be documented there.
BOOST_AUTO_TEST_CASE(shipped_sample_config_documents_every_option) {
  const std::string sample = ReadFile(CHORD_SAMPLE_CONFIG);
  std::istringstream lines(sample);
  std::string uncommented;
  std::string line;
  int settings_lines = 0;
  const std::regex setting_line("^#([a-z][a-z0-9-]*) =.*$");
  while (std::getline(lines, line)) {
    if (std::regex_match(line, setting_line)) {
      uncommented += line.substr(1) + "\n";
      ++settings_lines;
    } else {
      uncommented += line + "\n";
    }
  }
  for (const char* name : kOptionNames) {
    BOOST_CHECK_MESSAGE(Contains(sample, std::string("\n#") + name + " ="),
                        "chord.conf does not document " << name);
  }
  BOOST_CHECK_EQUAL(settings_lines, static_cast<int>(std::size(kOptionNames)));

  TempDir dir;
  const std::string path = dir.Write("uncommented.conf", uncommented);
  Settings s;
  const auto outcome = ParseArgs({"--config", path}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  CheckSameSettings(s, Settings());
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  SettingsParser parser("chord-node");
  const std::string help = parser.Help();
  BOOST_CHECK(Contains(help, "chord-node"));
  BOOST_CHECK(Contains(help, "--help"));
  BOOST_CHECK(Contains(help, "-h"));
  BOOST_CHECK(Contains(help, "--config"));
  for (const char* name : kOptionNames) {
    BOOST_CHECK_MESSAGE(Contains(help, std::string("--") + name + " "),
                        "help does not list --" << name);
  }
  BOOST_CHECK(Contains(help, "(=160)"));  // defaults shown

  for (const char* flag : {"--help", "-h"}) {
    Settings s;
    s.port = 4242;
    // Help wins even with a config file that does not exist.
    const auto outcome = ParseArgs(parser, {flag, "--config", "/nonexistent/x.conf"}, &s);
    BOOST_CHECK(outcome.ok);
    BOOST_CHECK(outcome.help);
    BOOST_CHECK_EQUAL(outcome.message, help);
    BOOST_CHECK_EQUAL(s.port, 4242);
  }
}

BOOST_AUTO_TEST_CASE(tool_options_and_positionals) {
  SettingsParser parser("create_chord");
  parser.tool_options().add_options()("nodes", po::value<int>()->default_value(1),
                                      "number of nodes")("dry-run", po::bool_switch(),
                                                         "print only");
  parser.positional().add("nodes", 1);
  BOOST_CHECK(Contains(parser.Help(), "create_chord options"));
  BOOST_CHECK(Contains(parser.Help(), "--nodes"));

  Settings s;
  auto outcome = ParseArgs(parser, {"5", "--id-bits", "8"}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(parser.variables()["nodes"].as<int>(), 5);
  BOOST_CHECK(!parser.variables()["dry-run"].as<bool>());
  BOOST_CHECK_EQUAL(s.id_bits, 8);

  TempDir dir;
  const std::string path = dir.Write("tool.conf", "nodes = 7\ndry-run = true\n");
  outcome = ParseArgs(parser, {"--config", path}, &s);
  BOOST_REQUIRE_MESSAGE(outcome.ok, outcome.message);
  BOOST_CHECK_EQUAL(parser.variables()["nodes"].as<int>(), 7);
  BOOST_CHECK(parser.variables()["dry-run"].as<bool>());

  outcome = ParseArgs(parser, {"--nodes", "x"}, &s);
  BOOST_CHECK(!outcome.ok);
  BOOST_CHECK_MESSAGE(Contains(outcome.message, "--nodes"), outcome.message);
}

BOOST_AUTO_TEST_CASE(logging_format_levels_and_errors) {
  BOOST_CHECK(IsValidLogLevel("warning"));
  BOOST_CHECK(!IsValidLogLevel("warn"));
  BOOST_CHECK(!SetLogLevel("loud"));
  BOOST_CHECK(!InitLogging("loud", "", "t").empty());

  TempDir dir;
  BOOST_CHECK(!InitLogging("info", (dir.path() / "no-such-dir" / "x.log").string(), "t").empty());

  const std::string log_path = (dir.path() / "test.log").string();
  // The file sink checks the format (the two visible lines also reach stderr).
  BOOST_REQUIRE_EQUAL(InitLogging("info", log_path, "settings_test"), "");
  BOOST_LOG_TRIVIAL(debug) << "hidden debug";
  BOOST_LOG_TRIVIAL(warning) << "visible warning";
  BOOST_REQUIRE(SetLogLevel("error"));
  BOOST_LOG_TRIVIAL(warning) << "hidden warning";
  BOOST_LOG_TRIVIAL(error) << "visible error";
  // A second call replaces the sinks: nothing more reaches the old file.
  BOOST_REQUIRE_EQUAL(InitLogging("fatal", "", "settings_test"), "");
  BOOST_LOG_TRIVIAL(error) << "after re-init";

  const std::string log = ReadFile(log_path);
  const std::regex expected(
      "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3} \\[warning\\] settings_test: "
      "visible warning\n"
      "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3} \\[error\\] settings_test: "
      "visible error\n");
  BOOST_CHECK_MESSAGE(std::regex_match(log, expected), "log file was:\n" << log);
  BOOST_CHECK(SetLogLevel("warning"));
}

}  // namespace
}  // namespace chord
