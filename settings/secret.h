// LoadSecret: reads the ring's shared secret from the file named by --secret-file.
//
// The secret is the file's bytes with one trailing newline ("\n" or "\r\n") removed, so that
// `echo secret > FILE` and an editor's final newline do no harm. Any other byte counts, spaces
// included. It must be 1..kMaxSecretBytes bytes long.
//
// Thread-safety: a pure function of the file's contents; safe from any thread.
#ifndef CHORD_SETTINGS_SECRET_H_
#define CHORD_SETTINGS_SECRET_H_

#include <cstddef>
#include <string>

// Header-only use of Status/Result (no link dependency on chord_commands).
#include "commands/status.h"

namespace chord {

// Largest secret accepted, in bytes (after the trailing newline is removed).
inline constexpr size_t kMaxSecretBytes = 4096;

// Reads the secret from `path`. Never prints. Errors (BadArgument, the message naming
// --secret-file and the file): the file cannot be read, is empty (or only a newline), or holds
// more than kMaxSecretBytes bytes.
Result<std::string> LoadSecret(const std::string& path);

}  // namespace chord

#endif  // CHORD_SETTINGS_SECRET_H_
