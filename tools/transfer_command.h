// `chord load DATAFILE` and `chord dump`: the command-line side of tools/load_dump.h (argument
// checks, progress bar, summary line, exit code).
//
// Thread-safety: call from main only.
#ifndef CHORD_TOOLS_TRANSFER_COMMAND_H_
#define CHORD_TOOLS_TRANSFER_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "commands/transport.h"
#include "dht/dht_client.h"

namespace chord {

// True if `words` (the command and its arguments) is a load or dump command.
bool IsTransferCommand(const std::vector<std::string>& words);

// Runs it: progress on `progress_out` when `show_progress` (a terminal), the data of a dump on
// `out`, the summary and errors on `err`. Returns the exit code: 0 all keys done, 1 some key
// failed (load), 2 the command could not run (usage, unreadable file, ring unreachable).
int RunTransferCommand(const std::vector<std::string>& words, Transport* transport,
                       DhtClient* client, std::ostream& out, std::ostream& err,
                       std::ostream& progress_out, bool show_progress);

}  // namespace chord

#endif  // CHORD_TOOLS_TRANSFER_COMMAND_H_
