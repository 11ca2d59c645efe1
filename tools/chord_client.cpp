// chord: the command-line client of a Chord ring, one-shot or as a shell.
//
//   chord [--node HOST:PORT | --ring FILE] [--json] get KEY        one command, for scripts
//   chord --secret-file FILE ...                                   sign calls with the secret
//   chord shell                                                    the random-query shell
//   chord call METHOD [ARG...]                                     any command, e.g. counter.incr x
//   1 chord --raw get KEY                                            the value alone chord put-file
//   PATH NAME / chord get-file NAME PATH            files of any size (PATH -:
//                                                                  standard output)
//   chord ring --svg ring.svg [--dot ring.dot] [--fingers NODE]    a picture of the ring
//   chord load DATAFILE / chord dump                               many keys: lines key<TAB>value
//
// Without --node or --ring the members come from ring.txt (what create_chord writes).
// Exit codes: 0 success; 1 not found or nothing done (get of an absent key, remove of an
// absent key, add of an existing key, get-file of an absent file); 2 any error (for `chord
// shell < script`: any command of the script failed).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "settings/secret.h"
#include "settings/settings.h"
#include "tools/progress.h"
#include "tools/ring_file.h"
#include "tools/shell.h"
#include "tools/transfer_command.h"

namespace {

constexpr char kUsage[] =
    "usage: chord [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "options (before the command):\n"
    "  --node HOST:PORT        talk to this node only\n"
    "  --ring FILE             talk to random members listed in FILE (default ring.txt)\n"
    "  --json                  answer with one JSON object per command\n"
    "  --raw                   values only: get prints the value, call the result (a\n"
    "                          string as is, anything else as JSON)\n"
    "  --call-timeout-ms N     give up on a node after N ms (default 5000)\n"
    "  --connect-timeout-ms N  connection time-out (default 1000)\n"
    "  --secret-file FILE      sign every call with the ring's secret read from FILE (as the\n"
    "                          nodes' --secret-file); nodes started by join get it too\n"
    "  --chunk-bytes N         put-file chunk size (default 262144; at most the nodes'\n"
    "                          --max-value-bytes)\n"
    "  --node-binary PATH      chord-node started by the shell's join (default: next to chord)\n"
    "  --help                  this text\n"
    "  --version               the version\n"
    "\n"
    "commands:\n"
    "  shell                   the random-query shell (readline on a terminal; reads a script\n"
    "                          from stdin otherwise)\n"
    "  load DATAFILE           set every line key<TAB>value of DATAFILE (- : standard input)\n"
    "                          in batches to the keys' owners; prints keys/s and failures\n"
    "                          (exit 1 if any key failed)\n"
    "  dump                    every live key of the ring once, as key<TAB>value lines\n";

// --json, seen anywhere among the options: errors found before any command runs are JSON too.
bool g_json = false;

// An error before any command ran: one JSON object on stdout with --json, else a line on stderr
// (and the usage, for a usage error). Returns the exit code, 2.
int Fail(const chord::Status& status, bool usage = false) {
  if (g_json) {
    std::cout << chord::Shell::JsonError(status) << "\n";
  } else {
    std::cerr << "chord: " << status.message() << "\n" << (usage ? kUsage : "");
  }
  return 2;
}

int Usage(const std::string& problem) { return Fail(chord::Status::BadArgument(problem), true); }

}  // namespace

int main(int argc, char** argv) {
  std::string node, ring_file, secret_file, node_binary = chord::ProgramSibling("chord-node");
  bool json = false;
  chord::XmlRpcTransport::Options transport_options;
  chord::ShellOptions shell_options;
  for (int k = 1; k < argc && argv[k][0] == '-'; ++k) g_json |= std::string(argv[k]) == "--json";
  int i = 1;
  for (; i < argc && std::string(argv[i]).rfind("-", 0) == 0; ++i) {
    std::string option = argv[i], value;
    if (auto eq = option.find('='); eq != std::string::npos) {
      value = option.substr(eq + 1);
      option = option.substr(0, eq);
    }
    if (option == "--help" || option == "-h") {
      std::cout << kUsage;
      std::cout << chord::Shell(nullptr, {}, nullptr).Execute({"help"}).text;
      return 0;
    }
    if (option == "--json") {
      json = true;
      continue;
    }
    if (option == "--raw") {
      shell_options.raw = true;
      continue;
    }
    if (option == "--version") {
      std::cout << "chord " << CHORD_VERSION << "\n";
      return 0;
    }
    if (value.empty()) {
      if (i + 1 >= argc) return Usage(option + " needs a value");
      value = argv[++i];
    }
    int number = 0;
    if (option == "--node") {
      if (!chord::ParseHostPort(value, nullptr, nullptr)) {
        return Usage("--node wants HOST:PORT, not '" + value + "'");
      }
      node = value;
    } else if (option == "--ring") {
      ring_file = value;
    } else if (option == "--node-binary") {
      node_binary = value;
    } else if (option == "--secret-file") {
      secret_file = value;
    } else if (option == "--call-timeout-ms" && chord::ParsePositive(value, &number)) {
      transport_options.call_timeout_ms = number;
    } else if (option == "--connect-timeout-ms" && chord::ParsePositive(value, &number)) {
      transport_options.connect_timeout_ms = number;
    } else if (option == "--chunk-bytes" && chord::ParsePositive(value, &number)) {
      shell_options.client.chunk_bytes = size_t(number);
    } else {
      return Usage("unknown option or bad value: " + option + " " + value);
    }
  }
  if (i >= argc) return Usage("give a command");
  if (!node.empty() && !ring_file.empty()) return Usage("give --node or --ring, not both");
  if (!secret_file.empty()) {
    auto secret = chord::LoadSecret(secret_file);
    if (!secret.ok()) return Fail(secret.status());
    transport_options.secret = secret.value();
  }
  std::vector<std::string> words(argv + i, argv + argc);
  const bool shell = words[0] == "shell";
  if (shell && words.size() > 1) return Usage("shell takes no arguments");
  const bool terminal = shell && isatty(STDIN_FILENO);
  if (terminal) {
    // Before any thread starts: the shell receives these through a signalfd.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  }
  signal(SIGPIPE, SIG_IGN);
  // Room for the largest value a node may hold (as base64) plus the envelope.
  chord::SetXmlSizeLimit(size_t(chord::kMaxValueBytesLimit) * 2 + (1u << 20));

  std::vector<std::string> members;
  if (!node.empty()) {
    members = {node};
    shell_options.client.route_to_owner = false;  // every call through the node named
  } else {
    auto read = chord::ReadRingFile(ring_file.empty() ? "ring.txt" : ring_file);
    if (!read.ok()) return Fail(read.status());
    members = read.value();
  }

  chord::XmlRpcTransport transport(transport_options);
  shell_options.json = json;
  // Progress of long transfers, on a terminal only: a pipe would collect carriage returns.
  shell_options.progress = chord::IsTerminal(STDERR_FILENO);
  // watch prints each value as it comes; each poll ends well before the call times out.
  shell_options.stream = &std::cout;
  shell_options.watch_poll_ms = std::max(500, transport_options.call_timeout_ms - 1000);
  if (chord::IsTransferCommand(words)) {
    // The progress bar goes to the terminal only: a dump's data or a redirected stdout must not
    // collect it.
    chord::DhtClient client(&transport, members, shell_options.client);
    return chord::RunTransferCommand(
        words, &transport, &client, std::cout, std::cerr, std::cerr,
        chord::IsTerminal(STDOUT_FILENO) && chord::IsTerminal(STDERR_FILENO));
  }
  if (!shell) {
    shell_options.max_display_bytes = 0;  // a script asked for the value: all of it
    chord::Shell one_shot(&transport, members, nullptr, shell_options);
    chord::ShellAnswer answer = one_shot.Execute(words);
    if (json && !answer.json.empty()) {
      std::cout << answer.json << "\n";
    } else {
      (answer.exit_code == 2 ? std::cerr : std::cout) << answer.text;
    }
    return answer.exit_code;
  }

  // Nodes started by `join` get the ring's id size, learned from any member.
  std::vector<std::string> node_args = {"--log-level", "warning"};
  if (!secret_file.empty()) node_args.insert(node_args.end(), {"--secret-file", secret_file});
  {
    chord::DhtClient probe(&transport, members);
    auto info = probe.Info();
    if (info.ok()) node_args.insert(node_args.end(), {"--id-bits", std::to_string(info->bits)});
  }
  chord::ProcessLauncher launcher(node_binary, node_args);
  if (terminal) {
    const char* home = std::getenv("HOME");
    if (home && *home) shell_options.history_file = std::string(home) + "/.chord_history";
  }
  chord::Shell session(&transport, members, &launcher, shell_options);
  int failed = 0;
  if (terminal) {
    session.RunTerminal(std::cout);
  } else {
    failed = session.RunScript(std::cin, std::cout);
  }
  if (launcher.size() > 0) {
    std::cerr << "stopping the " << launcher.size() << " node(s) this shell started\n";
    launcher.StopAll(std::chrono::seconds(15));
  }
  // A script whose commands failed fails, as a shell script under `set -e` would want.
  if (failed > 0) {
    std::cerr << "chord: " << failed << " command(s) of the script failed\n";
    return 2;
  }
  return 0;
}
