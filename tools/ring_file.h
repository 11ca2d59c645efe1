// What the command-line tools share when reading their arguments: the ring file and numbers.
//
// Thread-safety: stateless functions.
#ifndef CHORD_TOOLS_RING_FILE_H_
#define CHORD_TOOLS_RING_FILE_H_

#include <string>
#include <vector>

#include "commands/status.h"

namespace chord {

// Ring file: one HOST:PORT a line; blank lines and '#' comments are skipped. Errors:
// BadArgument if it cannot be read, is empty, or holds a line that is not HOST:PORT.
Result<std::vector<std::string>> ReadRingFile(const std::string& path);

// A positive decimal number of at most 9 digits (so that it fits an int).
bool ParsePositive(const std::string& text, int* value);

}  // namespace chord

#endif  // CHORD_TOOLS_RING_FILE_H_
