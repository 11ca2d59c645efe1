#include "settings/settings_parser.h"

#include <algorithm>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace chord {
namespace po = boost::program_options;

namespace {

// Sections of Settings; each becomes one captioned group in the help text.
enum Group { kNode, kNetwork, kSecurity, kOverlay, kDht, kLogging, kGroupCount };

// Help text layout: total line length and minimum width left for descriptions.
constexpr unsigned kHelpLineLength = 100;
constexpr unsigned kHelpMinDescription = 50;

const char* const kGroupCaptions[kGroupCount] = {"Node start", "Network", "Security",
                                                 "Overlay",    "DHT",     "Logging"};

// The one table of Settings options (config_file excepted; it is --config). Calls
// visit(group, option_name, pointer_to_member, value_name, description) for each field, so the
// option declarations and the copy into Settings cannot drift apart.
template <typename Visitor>
void ForEachSettingsOption(Visitor&& visit) {
  visit(kNode, "create", &Settings::create, "", "start a new ring (excludes --join)");
  visit(kNode, "join", &Settings::join, "HOST:PORT", "join the ring through this member");

  visit(kNetwork, "bind", &Settings::bind, "IPV4", "numeric IPv4 address the server binds");
  visit(kNetwork, "port", &Settings::port, "N", "TCP port of the server; 0 picks a free port");
  visit(kNetwork, "advertise", &Settings::advertise, "HOST[:PORT]",
        "address other nodes and clients use to reach this node, and its identity (default: "
        "bind:port; no port or 0: the bound port); needed with --bind 0.0.0.0");
  visit(kNetwork, "max-connections", &Settings::max_connections, "N",
        "connections the server keeps open (the one idle longest makes room for a new one)");
  visit(kNetwork, "connect-timeout-ms", &Settings::connect_timeout_ms, "MS",
        "client TCP connect timeout");
  visit(kNetwork, "call-timeout-ms", &Settings::call_timeout_ms, "MS", "client whole-call timeout");
  visit(kNetwork, "min-call-timeout-ms", &Settings::min_call_timeout_ms, "MS",
        "shortest time-out of a peer call, which otherwise follows the peer's round trips "
        "(>= call-timeout-ms: every call waits call-timeout-ms)");

  visit(kSecurity, "secret-file", &Settings::secret_file, "FILE",
        "file holding the ring's shared secret; calls are signed with it and peer commands "
        "need it");
  visit(kSecurity, "client-auth", &Settings::client_auth, "",
        "client commands need the secret too (requires --secret-file)");

  visit(kOverlay, "id-bits", &Settings::id_bits, "N", "identifier bits m, 1..160");
  visit(kOverlay, "successors", &Settings::successors, "N", "successor-list length r, >= 1");
  visit(kOverlay, "stabilize-ms", &Settings::stabilize_ms, "MS",
        "period of stabilize and successor-list refresh");
  visit(kOverlay, "fix-fingers-ms", &Settings::fix_fingers_ms, "MS",
        "period of one fix-fingers step");
  visit(kOverlay, "check-predecessor-ms", &Settings::check_predecessor_ms, "MS",
        "period of check-predecessor");
  visit(kOverlay, "max-lookup-hops", &Settings::max_lookup_hops, "N",
        "a lookup gives up after this many hops");

  visit(kDht, "replicas", &Settings::replicas, "N",
        "copies of each key (owner + replicas-1 successors), 1..successors+1");
  visit(kDht, "max-key-bytes", &Settings::max_key_bytes, "N", "largest key accepted");
  visit(kDht, "max-value-bytes", &Settings::max_value_bytes, "N",
        "largest value accepted, at most 64 MiB");
  visit(kDht, "repair-ms", &Settings::repair_ms, "MS", "period of the replica repair step");
  visit(kDht, "tombstone-ttl-s", &Settings::tombstone_ttl_s, "S",
        "seconds a remove's tombstone is kept");
  visit(kDht, "transfer-batch", &Settings::transfer_batch, "N",
        "keys per batch when moving keys between nodes");
  visit(kDht, "suspect-gap-ms", &Settings::suspect_gap_ms, "MS",
        "a node that did not run for longer compares reads with its replicas until caught up");
  visit(kDht, "data-dir", &Settings::data_dir, "DIR",
        "keep this node's records and identity in DIR (LevelDB) across restarts; none: memory");

  visit(kLogging, "log-level", &Settings::log_level, "LEVEL",
        "trace, debug, info, warning, error or fatal");
  visit(kLogging, "log-file", &Settings::log_file, "FILE", "also log to this file");
}

// Type of the field a pointer-to-member of Settings designates.
template <typename Member>
using FieldType = std::decay_t<decltype(std::declval<Settings&>().*std::declval<Member>())>;

}  // namespace

SettingsParser::SettingsParser(std::string program_name, const Settings& defaults)
    : program_name_(std::move(program_name)),
      defaults_(defaults),
      general_("General", kHelpLineLength, kHelpMinDescription),
      tool_options_(program_name_ + " options", kHelpLineLength, kHelpMinDescription) {
  general_.add_options()("help,h", "print this help and exit")(
      "config", po::value<std::string>()->value_name("FILE"),
      "read options from this INI file first (command line wins)");

  groups_.reserve(kGroupCount);
  for (const char* caption : kGroupCaptions)
    groups_.emplace_back(caption, kHelpLineLength, kHelpMinDescription);

  ForEachSettingsOption([this](Group group, const char* name, auto member, const char* value_name,
                               const char* description) {
    using T = FieldType<decltype(member)>;
    const T& fallback = defaults_.*member;
    po::options_description& target = groups_[group];
    if constexpr (std::is_same_v<T, bool>) {
      target.add_options()(name, po::bool_switch()->default_value(fallback), description);
    } else {
      auto* semantic = po::value<T>()->value_name(value_name);
      // An empty string default would print as "(=)"; leave it out of the help instead.
      if constexpr (std::is_same_v<T, std::string>) {
        if (!fallback.empty()) semantic->default_value(fallback);
      } else {
        semantic->default_value(fallback);
      }
      target.add_options()(name, semantic, description);
    }
  });
}

po::options_description SettingsParser::Combine(bool general, bool tool, bool command_line) const {
  po::options_description all(kHelpLineLength, kHelpMinDescription);
  if (general) all.add(general_);
  for (size_t i = 0; i < groups_.size(); ++i) {
    const po::options_description& group = groups_[i];
    if (!command_line || excluded_.empty()) {
      all.add(group);
      continue;
    }
    po::options_description kept(kGroupCaptions[i], kHelpLineLength, kHelpMinDescription);
    for (const auto& option : group.options()) {
      if (std::find(excluded_.begin(), excluded_.end(), option->long_name()) == excluded_.end()) {
        kept.add(option);
      }
    }
    all.add(kept);
  }
  if (tool && !tool_options_.options().empty()) all.add(tool_options_);
  return all;
}

std::string SettingsParser::Help() const {
  std::ostringstream out;
  out << "Usage: " << program_name_ << " [options]\n" << Combine(true, true);
  return out.str();
}

SettingsParser::Outcome SettingsParser::Parse(int argc, const char* const argv[],
                                              Settings* settings) {
  Outcome outcome;
  variables_.clear();

  // Command line first: Boost.Program_options keeps the first explicitly stored value, so the
  // config file stored afterwards only fills what the command line left out (or defaulted).
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(Combine(true, true))
                  .positional(positional_)
                  .run(),
              variables_);
  } catch (const std::exception& e) {
    outcome.message = e.what();
    return outcome;
  }

  if (variables_.count("help") != 0) {
    outcome.ok = true;
    outcome.help = true;
    outcome.message = Help();
    return outcome;
  }

  std::string config_file;
  if (variables_.count("config") != 0) config_file = variables_["config"].as<std::string>();
  if (!config_file.empty()) {
    std::ifstream stream(config_file);
    if (!stream) {
      outcome.message = "cannot open config file '" + config_file + "' (given by --config)";
      return outcome;
    }
    try {
      po::store(po::parse_config_file(stream, Combine(false, true, false)), variables_);
    } catch (const std::exception& e) {
      outcome.message = "config file '" + config_file + "': " + e.what();
      return outcome;
    }
  }

  try {
    po::notify(variables_);
  } catch (const std::exception& e) {
    outcome.message = e.what();
    return outcome;
  }

  Settings result = defaults_;
  result.config_file = config_file;
  ForEachSettingsOption(
      [this, &result](Group, const char* name, auto member, const char*, const char*) {
        using T = FieldType<decltype(member)>;
        if (variables_.count(name) != 0) result.*member = variables_[name].as<T>();
      });

  outcome.message = Validate(result);
  if (!outcome.message.empty()) return outcome;
  *settings = result;
  outcome.ok = true;
  return outcome;
}

}  // namespace chord
