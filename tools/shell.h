// The random-query shell of `chord shell` and `create_chord`, and the command layer of the
// one-shot `chord` client.
//
// A command line is words (double quotes with backslash escapes, or single quotes, keep spaces;
// '#' starts a comment), optionally prefixed with @HOST:PORT to send it to that node instead of
// a random live member. Every answer says which node answered, which node owns the key and how
// many hops the lookup took. `help` lists the commands; `ring`, `info`, `keys` and `stats` show
// the ring; `join`, `leave` and `kill` start and stop nodes through a Launcher (if any).
//
// The same Execute() serves the interactive shell (RunTerminal: readline with history and
// completion), scripts piped on stdin (RunScript) and the one-shot client (one command given as
// words, whose ShellAnswer gives the exit code and the --json output).
//
// Thread-safety: a Shell and a ProcessLauncher belong to one thread. RunTerminal uses readline's
// global state: one terminal shell per process at a time.
#ifndef CHORD_TOOLS_SHELL_H_
#define CHORD_TOOLS_SHELL_H_

#include <chrono>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "commands/status.h"
#include "commands/transport.h"
#include "dht/dht_client.h"

namespace chord {

class NodeProcess;

// Starts and stops nodes for the shell's join, leave and kill.
class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts a node that joins the ring through `via`; returns it once it is in the ring.
  // Errors: Unavailable if it did not start or join.
  virtual Result<DhtNode> Join(const std::string& via) = 0;
  // Makes a node this launcher started leave gracefully (SIGTERM) and waits for its exit.
  // Errors: NotFound if this launcher did not start `address` (or it is gone already);
  // Internal if it did not exit cleanly.
  virtual Status Leave(const std::string& address) = 0;
  // Crashes a node this launcher started (SIGKILL: no goodbye to the ring). Errors: NotFound.
  virtual Status Kill(const std::string& address) = 0;
};

// `name` in the directory of the running program (e.g. chord-node next to chord).
std::string ProgramSibling(const std::string& name);

// A Launcher of chord-node child processes (NodeProcess): they never outlive this process.
class ProcessLauncher : public Launcher {
 public:
  // `binary` is chord-node; `args` (settings) go to every node; node k listens on
  // base_port + k, or on a free port if base_port is 0.
  ProcessLauncher(std::string binary, std::vector<std::string> args, int base_port = 0);
  ~ProcessLauncher() override;  // StopAll(10 s)
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  // Starts the first node of a new ring. Errors: Unavailable with the node's complaint.
  Result<DhtNode> Create();
  Result<DhtNode> Join(const std::string& via) override;
  Status Leave(const std::string& address) override;
  Status Kill(const std::string& address) override;
  // Every running node leaves gracefully, one at a time (SIGTERM, then up to `deadline`, then
  // SIGKILL), so that each hands its keys to a node that is still up: nodes leaving together
  // would hand off to one another. Returns how many did not exit 0.
  int StopAll(std::chrono::milliseconds deadline);
  // The whole ring stops (these are all its nodes): every node exits at once without handing
  // off (SIGUSR1), since no node stays to take the keys. Returns how many did not exit 0.
  int StopRing(std::chrono::milliseconds deadline);

  // Node k started from now on keeps its data in ROOT/node-k (--data-dir), so that a launcher
  // started again with the same ROOT brings the same nodes back; "" (default): none.
  void set_data_root(std::string root) { data_root_ = std::move(root); }
  // Each process started from now on hosts `vnodes` members of the ring (chord-node --vnodes;
  // with a base port, process k takes ports base+k*vnodes onwards). addresses() lists them all;
  // Leave and Kill, given any of them, stop the whole process. Default 1.
  void set_vnodes(int vnodes) { vnodes_ = vnodes; }

  std::vector<std::string> addresses() const;    // running (virtual) nodes, in start order
  std::vector<int> pids() const;                 // running processes, in start order
  size_t size() const { return nodes_.size(); }  // processes

 private:
  Result<DhtNode> Start(std::vector<std::string> role_args);
  std::vector<std::unique_ptr<NodeProcess>>::iterator Find(const std::string& address);

  std::string binary_;
  std::vector<std::string> args_;
  int base_port_;
  int started_ = 0;
  int vnodes_ = 1;
  std::string data_root_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

struct ShellOptions {
  bool json = false;                // answers as one JSON object per line instead of text
  size_t max_display_bytes = 4096;  // longer values are shown cut (0: never cut); JSON never
  std::string history_file;         // RunTerminal: readline history kept here ("" = none)
  std::string prompt = "chord> ";
  // When not empty, the member list is written here (one HOST:PORT a line, replaced whole)
  // whenever it changes: after join, leave, kill, a ring listing or learning from a member.
  std::string ring_file;
  DhtClientOptions client;  // member fail-over, file chunk size
  // put-file and get-file show their progress on stderr, one line rewritten in place (for a
  // terminal: chord sets it when stderr is one).
  bool progress = false;
  // Values only: get prints the value's bytes, call the result (a string as is, else JSON).
  bool raw = false;
  // watch: each new value is written here as it comes (text or JSON); null: collected in the
  // command's answer instead. Not owned.
  std::ostream* stream = nullptr;
  // watch: the longest single dht.watch call; under the transport's call timeout.
  int watch_poll_ms = 4000;
};

// The outcome of one command.
struct ShellAnswer {
  int exit_code = 0;  // 0 success; 1 not found or nothing done (get, remove, add, get-file);
                      // 2 error (bad command or argument, no node answers, ...)
  std::string text;   // for people: lines ending in '\n' (may be empty)
  std::string json;   // one JSON object without a newline ("" for help/quit/blank lines)
  bool quit = false;  // the command was quit/exit
};

class Shell {
 public:
  // `transport` (not owned) must outlive the shell. `members` are the ring's addresses, in
  // ring order if known. `launcher` (not owned, may be null) serves join/leave/kill.
  Shell(Transport* transport, std::vector<std::string> members, Launcher* launcher,
        ShellOptions options = {});
  ~Shell();

  // One line as typed (quoting, '@HOST:PORT' prefix, comments). Never throws.
  ShellAnswer ExecuteLine(const std::string& line);
  // One command as words (words[0] is the command), sent to `via` if not empty. Never throws.
  ShellAnswer Execute(const std::vector<std::string>& words, const std::string& via = "");

  // Runs every line of `in` until quit or end of input, writing the answers to `out` (JSON or
  // text). No prompt, no readline: for scripts and tests. Returns how many commands failed
  // (exit code 2).
  int RunScript(std::istream& in, std::ostream& out);
  // Interactive loop on the terminal with readline (line editing, history in
  // options.history_file, completion of command names and node addresses). Ctrl-C clears the
  // line; quit, Ctrl-D, SIGTERM or SIGHUP end it. The terminal's signal keys are turned off
  // meanwhile (Ctrl-C is read as a key): the nodes started from here share the terminal's process
  // group and must not all get SIGINT when the user only means to drop a line. SIGINT, SIGTERM,
  // SIGHUP and SIGWINCH are blocked in the calling thread while it runs (received through a
  // signalfd); other threads must block them too (create_chord and chord block them first thing in
  // main).
  void RunTerminal(std::ostream& out);

  // Live ring members as far as the shell knows (commands go to a random one of them).
  const std::vector<std::string>& members() const { return client_.members(); }
  // Node numbers: NODE "#i" is listed()[i]. The members given are numbered in their order; a
  // node seen later (join, a ring listing) gets the next number. A number never changes or
  // passes to another node, so `kill 3` means the node listed as #3 whatever happened since.
  const std::vector<std::string>& listed() const { return listed_; }
  DhtClient& client() { return client_; }
  static const std::vector<std::string>& CommandNames();

  // An error as the --json output shows it: {"error": CODE, "message": ...}.
  static std::string JsonError(const Status& status);

  // Splits a line into words. Errors: BadArgument for an unterminated quote or bad escape.
  static Result<std::vector<std::string>> Tokenize(const std::string& line);

 private:
  struct Command;
  static const std::vector<Command>& Table();
  ShellAnswer Dispatch(const std::vector<std::string>& words, const std::string& via);
  // HOST:PORT, :PORT, or an index into listed(). Errors: BadArgument.
  Result<std::string> ResolveNode(const std::string& word) const;
  ShellAnswer Error(const Status& status) const;
  std::string ShowValue(const DhtValue& value) const;

  ShellAnswer DoWrite(const std::vector<std::string>& args, const std::string& via, bool add);
  ShellAnswer DoGet(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoRemove(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoLocate(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoLookup(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoInfo(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoRing(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoKeys(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoStats(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoJoin(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoStop(const std::vector<std::string>& args, bool crash);
  ShellAnswer DoPutFile(const std::vector<std::string>& args);
  ShellAnswer DoGetFile(const std::vector<std::string>& args);
  ShellAnswer GetFileToStdout(const std::string& name);
  ShellAnswer DoCall(const std::vector<std::string>& args, const std::string& via);
  ShellAnswer DoWatch(const std::vector<std::string>& args);
  ShellAnswer DoHelp(const std::vector<std::string>& args);

  // The number of `address`, giving it the next one if it has none yet.
  size_t Number(const std::string& address);
  void AddMember(const std::string& address);
  void DropMember(const std::string& address);
  // Writes members() to options_.ring_file if it changed since the last write.
  void SaveRingFile();

  Transport* transport_;
  Launcher* launcher_;
  ShellOptions options_;
  DhtClient client_;
  std::vector<std::string> listed_;
  std::vector<std::string> saved_members_;  // what the ring file holds
};

}  // namespace chord

#endif  // CHORD_TOOLS_SHELL_H_
