// SettingsParser: fills a Settings from built-in defaults, a config file and the command line,
// using Boost.Program_options.
//
// Precedence (lowest first): defaults < config file (named by --config) < command line.
// Option names are the Settings field names with '_' -> '-' (--id-bits, --log-level, ...);
// --create is a switch, --config FILE names the config file, --help / -h asks for help.
// The config file uses INI syntax with the same names without dashes ("id-bits = 8"), '#' starts
// a comment; --help and --config are not accepted there. Tools may add their own options (and
// positional arguments); those are accepted on the command line and in the config file.
//
// The parser never prints and never exits: errors and help come back as strings.
//
// Thread-safety: not thread-safe; use one instance per thread (typically one per program).
#ifndef CHORD_SETTINGS_SETTINGS_PARSER_H_
#define CHORD_SETTINGS_SETTINGS_PARSER_H_

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>
#include <string>
#include <vector>

#include "settings/settings.h"

namespace chord {

class SettingsParser {
 public:
  // Result of Parse().
  struct Outcome {
    bool ok = false;    // false: parsing or validation failed, `message` says why.
    bool help = false;  // true: --help/-h was given; ok is true and `message` is Help().
    std::string message;
  };

  // `program_name` appears in the usage line of Help(). `defaults` are the built-in defaults
  // (shown by Help() and used for options given nowhere); a tool may adjust them.
  explicit SettingsParser(std::string program_name, const Settings& defaults = Settings());

  SettingsParser(const SettingsParser&) = delete;
  SettingsParser& operator=(const SettingsParser&) = delete;

  // Extra options of a tool (e.g. create_chord's node count). Add them before Parse(); their
  // values are read back through variables().
  boost::program_options::options_description& tool_options() { return tool_options_; }

  // A setting this tool does not take on its command line (create_chord: --create, --join): it
  // is left out of Help() and refused as an unknown option there. A config file may still hold
  // it (one file serves every tool); the tool ignores it.
  void Exclude(const std::string& name) { excluded_.push_back(name); }

  // Positional arguments of a tool, each mapped to an option in tool_options(). Without any,
  // a positional argument on the command line is an error.
  boost::program_options::positional_options_description& positional() { return positional_; }

  // Parses argv (argv[0] is skipped), then the config file named by --config (if any), and
  // validates the result. On success stores it into *settings (config_file included) and returns
  // ok. On --help returns ok + help with the help text and leaves *settings untouched.
  // Errors (ok == false, *settings untouched), each message naming the culprit: unknown option,
  // malformed value (e.g. "--port abc"), option repeated, missing/unreadable config file, syntax
  // error or unknown option in the config file, any Validate() failure.
  Outcome Parse(int argc, const char* const argv[], Settings* settings);

  // All values of the last Parse() (settings and tool options, including defaulted ones).
  const boost::program_options::variables_map& variables() const { return variables_; }

  // Full --help text: usage line followed by every option with its default.
  std::string Help() const;

 private:
  // Builds one description holding the given groups (copies of the shared option entries).
  // `command_line`: without the excluded options.
  boost::program_options::options_description Combine(bool general, bool tool,
                                                      bool command_line = true) const;

  std::string program_name_;
  Settings defaults_;
  boost::program_options::options_description general_;              // --help, --config
  std::vector<boost::program_options::options_description> groups_;  // one per Settings section
  boost::program_options::options_description tool_options_;
  boost::program_options::positional_options_description positional_;
  boost::program_options::variables_map variables_;
  std::vector<std::string> excluded_;
};

}  // namespace chord

#endif  // CHORD_SETTINGS_SETTINGS_PARSER_H_
