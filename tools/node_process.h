// NodeProcess: a chord-node child process, for the launcher and multi-process tests.
//
// Starts the binary with the given arguments, reads its first stdout line
// ("chord-node: id <hex> address <HOST:PORT>"), one per virtual node, with a deadline, and on
// destruction stops it (SIGTERM, then SIGKILL after a deadline). The child gets SIGKILL if its
// parent dies, so a killed launcher or test never leaves nodes behind.
//
// Thread-safety: one owner thread per instance.
#ifndef CHORD_TOOLS_NODE_PROCESS_H_
#define CHORD_TOOLS_NODE_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace chord {

class NodeProcess {
 public:
  // Starts `binary args...` and reads the start lines of its `members` (virtual) nodes, one
  // each (chord-node --vnodes); check ok() and error().
  NodeProcess(const std::string& binary, const std::vector<std::string>& args,
              std::chrono::milliseconds startup_deadline = std::chrono::seconds(20),
              size_t members = 1) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      error_ = "pipe failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      // Never outlive the parent: SIGTERM makes chord-node leave the ring gracefully.
      pid_t parent = getppid();
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
      dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd_ = out[0];
    auto deadline = std::chrono::steady_clock::now() + startup_deadline;
    std::string text;
    while (size_t(std::count(text.begin(), text.end(), '\n')) < members) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error_ = "no start line within the deadline";
        return;
      }
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, int(left.count())) <= 0) continue;
      char buffer[256];
      ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
      if (n <= 0) {
        error_ = "exited before printing its address: " + text;
        return;
      }
      text.append(buffer, size_t(n));
    }
    for (size_t at = 0; members_.size() < members; at = text.find('\n', at) + 1) {
      if (!ParseStartLine(text.substr(at, text.find('\n', at) - at))) return;
    }
  }

  ~NodeProcess() { Stop(std::chrono::seconds(10)); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Every (virtual) node of the process, in the order it printed them.
  struct Member {
    std::string id;
    std::string address;
  };
  // The first (virtual) node's id and address ("" before the start line).
  const std::string& id() const { return first().id; }
  const std::string& address() const { return first().address; }
  const std::vector<Member>& members() const { return members_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits up to `deadline` for the exit; then SIGKILL. Returns the exit
  // status as waitpid reports it, or -1 if the process was already reaped.
  int Stop(std::chrono::milliseconds deadline, int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    auto until = std::chrono::steady_clock::now() + deadline;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      poll(nullptr, 0, 10);  // a bounded wait for the child, not a test sleep
    }
    pid_ = -1;
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
    return status;
  }

  // Crash: SIGKILL, no chance to leave.
  void Kill() { Stop(std::chrono::seconds(5), SIGKILL); }

 private:
  // "chord-node: id <hex> address <addr>" into members_; false (error_ set) if it is not that.
  bool ParseStartLine(const std::string& line) {
    auto id_at = line.find(" id ");
    auto address_at = line.find(" address ");
    if (id_at == std::string::npos || address_at == std::string::npos) {
      error_ = "unexpected start line: " + line;
      return false;
    }
    members_.push_back(
        {line.substr(id_at + 4, address_at - id_at - 4), line.substr(address_at + 9)});
    return true;
  }

  const Member& first() const {
    static const Member kNone;
    return members_.empty() ? kNone : members_.front();
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::vector<Member> members_;
  std::string error_;
};

}  // namespace chord

#endif  // CHORD_TOOLS_NODE_PROCESS_H_
