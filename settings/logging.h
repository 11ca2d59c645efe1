// Process-wide logging setup on top of Boost.Log's trivial logger.
//
// Library code logs with BOOST_LOG_TRIVIAL(level) << ...; programs call InitLogging() once at
// start-up, tests may call SetLogLevel("warning") to silence chatter. Lines look like
//   2026-11-26 12:00:00.123 [info] tag: message
//
// Level names are: trace, debug, info, warning, error, fatal (lower case, exact).
//
// Thread-safety: all functions are thread-safe; InitLogging and SetLogLevel serialize on an
// internal mutex, and Boost.Log's core is itself thread-safe.
#ifndef CHORD_SETTINGS_LOGGING_H_
#define CHORD_SETTINGS_LOGGING_H_

#include <string>

namespace chord {

// True iff `level` is one of the level names listed above.
bool IsValidLogLevel(const std::string& level);

// Installs a stderr sink and, if `file_path` is non-empty, a file sink appending to that file;
// both flush after every record. Records below `level` are dropped. `tag` (e.g. the program
// name) is printed before each message; an empty tag prints no "tag: " prefix.
// Calling it again removes the sinks installed by the previous call and installs new ones
// (sinks added by others are left alone).
// Returns "" on success. Errors: an unknown level or a log file that cannot be opened for
// appending return a message and leave the current logging configuration unchanged.
std::string InitLogging(const std::string& level, const std::string& file_path,
                        const std::string& tag);

// Changes the minimum severity of the process-wide filter (it also filters Boost.Log's default
// stderr sink used when InitLogging was never called). Returns false and changes nothing if
// `level` is unknown.
bool SetLogLevel(const std::string& level);

}  // namespace chord

#endif  // CHORD_SETTINGS_LOGGING_H_
