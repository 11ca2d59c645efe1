// ProcessLauncher (tools/shell.h): chord-node child processes for the shell and create_chord.
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "tools/node_process.h"
#include "tools/shell.h"

namespace chord {

std::string ProgramSibling(const std::string& name) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return name;
  std::string self(path, size_t(n));
  return self.substr(0, self.rfind('/') + 1) + name;
}

ProcessLauncher::ProcessLauncher(std::string binary, std::vector<std::string> args, int base_port)
    : binary_(std::move(binary)), args_(std::move(args)), base_port_(base_port) {}

ProcessLauncher::~ProcessLauncher() { StopAll(std::chrono::seconds(10)); }

Result<DhtNode> ProcessLauncher::Start(std::vector<std::string> role_args) {
  std::vector<std::string> args = args_;
  // Without a base port the node picks one: a free port, or the one its data directory kept
  // (an explicit --port 0 would override that).
  if (base_port_) {
    args.insert(args.end(), {"--port", std::to_string(base_port_ + started_ * vnodes_)});
  }
  if (vnodes_ > 1) args.insert(args.end(), {"--vnodes", std::to_string(vnodes_)});
  if (!data_root_.empty()) {
    args.insert(args.end(), {"--data-dir", data_root_ + "/node-" + std::to_string(started_)});
  }
  args.insert(args.end(), role_args.begin(), role_args.end());
  ++started_;
  // A process of many virtual nodes prints its last line after they all entered the ring.
  auto node = std::make_unique<NodeProcess>(binary_, args, std::chrono::seconds(20 + vnodes_ / 4),
                                            size_t(vnodes_));
  if (!node->ok()) return Status::Unavailable("the node did not start: " + node->error());
  DhtNode started{node->id(), node->address()};
  nodes_.push_back(std::move(node));
  return started;
}

Result<DhtNode> ProcessLauncher::Create() { return Start({"--create"}); }

Result<DhtNode> ProcessLauncher::Join(const std::string& via) { return Start({"--join", via}); }

std::vector<std::unique_ptr<NodeProcess>>::iterator ProcessLauncher::Find(
    const std::string& address) {
  return std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& node) {
    for (const auto& member : node->members()) {
      if (member.address == address) return true;
    }
    return false;
  });
}

Status ProcessLauncher::Leave(const std::string& address) {
  auto it = Find(address);
  if (it == nodes_.end()) return Status::NotFound(address + " was not started here");
  int status = (*it)->Stop(std::chrono::seconds(15));
  nodes_.erase(it);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal(address + " did not exit cleanly (wait status " +
                            std::to_string(status) + ")");
  }
  return Status::Ok();
}

Status ProcessLauncher::Kill(const std::string& address) {
  auto it = Find(address);
  if (it == nodes_.end()) return Status::NotFound(address + " was not started here");
  (*it)->Kill();
  nodes_.erase(it);
  return Status::Ok();
}

int ProcessLauncher::StopAll(std::chrono::milliseconds deadline) {
  int unclean = 0;
  for (auto& node : nodes_) {
    int status = node->Stop(deadline);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++unclean;
  }
  nodes_.clear();
  return unclean;
}

int ProcessLauncher::StopRing(std::chrono::milliseconds deadline) {
  // Signal every node first so that they stop in parallel, then collect them.
  for (auto& node : nodes_) kill(node->pid(), SIGUSR1);
  int unclean = 0;
  for (auto& node : nodes_) {
    int status = node->Stop(deadline, SIGUSR1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++unclean;
  }
  nodes_.clear();
  return unclean;
}

std::vector<std::string> ProcessLauncher::addresses() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) {
    for (const auto& member : node->members()) out.push_back(member.address);
  }
  return out;
}

std::vector<int> ProcessLauncher::pids() const {
  std::vector<int> out;
  for (const auto& node : nodes_) out.push_back(node->pid());
  return out;
}

}  // namespace chord
