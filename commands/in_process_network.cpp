#include "commands/in_process_network.h"

namespace chord {

void InProcessNetwork::Attach(const std::string& address, const CommandRegistry* registry) {
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_[address] = registry;
  down_.erase(address);
}

void InProcessNetwork::Detach(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_.erase(address);
  down_.erase(address);
}

void InProcessNetwork::SetDown(const std::string& address, bool down) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (down) {
    down_.insert(address);
  } else {
    down_.erase(address);
  }
}

void InProcessNetwork::SetDropRate(double rate, uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  drop_rate_ = rate;
  random_.seed(seed);
}

void InProcessNetwork::SetGroup(const std::string& address, int group) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (group == 0) {
    groups_.erase(address);
  } else {
    groups_[address] = group;
  }
}

int InProcessNetwork::GroupLocked(const std::string& address) const {
  auto it = groups_.find(address);
  return it == groups_.end() ? 0 : it->second;
}

Result<xmlrpc_c::value> InProcessNetwork::Deliver(const std::string& address,
                                                  const std::string& method,
                                                  const xmlrpc_c::paramList& params,
                                                  const std::string& from) {
  round_trips_.fetch_add(1);
  return DeliverOne(address, method, params, from);
}

std::vector<Result<xmlrpc_c::value>> InProcessNetwork::DeliverAll(
    const std::vector<CallSpec>& calls, const std::string& from) {
  if (!calls.empty()) round_trips_.fetch_add(1);
  std::vector<Result<xmlrpc_c::value>> results;
  results.reserve(calls.size());
  for (const auto& call : calls) {
    results.push_back(DeliverOne(call.address, call.method, call.params, from));
  }
  return results;
}

Result<const CommandRegistry*> InProcessNetwork::Reach(const std::string& address,
                                                       const std::string& method,
                                                       const std::string& from) {
  calls_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = nodes_.find(address);
  if (it == nodes_.end()) return Status::Unavailable("no node at " + address);
  if (down_.count(address)) return Status::Unavailable(address + " is down");
  if (!from.empty() && !groups_.empty() && GroupLocked(from) != GroupLocked(address)) {
    return Status::Unavailable(address + " is cut off from " + from);
  }
  if (drop_rate_ > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < drop_rate_) {
    return Status::Unavailable(method + " to " + address + " was dropped");
  }
  return it->second;
}

Result<xmlrpc_c::value> InProcessNetwork::DeliverOne(const std::string& address,
                                                     const std::string& method,
                                                     const xmlrpc_c::paramList& params,
                                                     const std::string& from) {
  auto registry = Reach(address, method, from);
  if (!registry.ok()) return registry.status();
  return registry.value()->Dispatch(method, params);
}

Result<std::any> InProcessNetwork::DeliverAny(const std::string& address, const std::string& method,
                                              std::any& args,
                                              const std::function<xmlrpc_c::paramList()>& params,
                                              const std::string& from) {
  round_trips_.fetch_add(1);
  auto registry = Reach(address, method, from);
  if (!registry.ok()) return registry.status();
  auto typed = registry.value()->DispatchTyped(method, args);
  if (typed) return std::move(*typed);
  auto reply = registry.value()->Dispatch(method, params());
  if (!reply.ok()) return reply.status();
  return std::any(reply.value());
}

}  // namespace chord
