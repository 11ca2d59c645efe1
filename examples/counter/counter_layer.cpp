#include "counter_layer.h"

#include <boost/log/trivial.hpp>
#include <climits>
#include <utility>

CounterLayer::CounterLayer(chord::Local* local, chord::CommandRegistry* registry, int replicas)
    : local_(local), registry_(registry), router_(local, registry), replicas_(replicas) {}

CounterLayer::~CounterLayer() {
  if (observing_) local_->RemoveObserver(this);
  for (const auto& name : command_names_) registry_->Unregister(name);
}

// [readme-begin commands]
chord::Status CounterLayer::Attach() {
  std::vector<chord::Command> commands;
  // counter.incr runs on whichever node a client calls; the router takes it to the node that
  // owns the counter's name, where counter.apply runs. counter.apply is for peers only: with a
  // ring secret set, a client cannot skip the routing and write on a node directly.
  commands.push_back(chord::MakeCommand<CounterReply(std::string, int)>(
      "counter.incr", chord::Audience::kClient,
      "Adds delta to the named counter; answers its new value, owner and hops.", {"name", "delta"},
      [this](const std::string& name, int delta) {
        return Route(name, "counter.apply", chord::MakeParams(name, delta));
      }));
  commands.push_back(chord::MakeCommand<int(std::string, int)>(
      "counter.apply", chord::Audience::kPeer, "Peers: counter.incr on the owner.",
      {"name", "delta"},
      [this](const std::string& name, int delta) { return Apply(name, delta); }));
  AddMoreCommands(&commands);  // counter.get and counter.read alike; copies between nodes
  return RegisterAll(std::move(commands));
}

// Runs `method` on the owner of counter `name` and says where it ran.
chord::Result<CounterReply> CounterLayer::Route(const std::string& name, const std::string& method,
                                                const xmlrpc_c::paramList& params) {
  auto reply = router_.CallOnOwnerOfKey(name, method, params);
  if (!reply.ok()) return reply.status();
  auto value = chord::FromValue<int>(reply->value, "the reply of " + method);
  if (!value.ok()) return value.status();
  return CounterReply{value.value(), reply->owner.address, reply->hops};
}

chord::Result<int> CounterLayer::Apply(const std::string& name, int delta) {
  // The lookup that brought the call here may be stale: refuse names this node does not own,
  // and the router follows the ring to the node that does.
  chord::Status owner = router_.CheckOwner(router_.KeyId(name));
  if (!owner.ok()) return owner;
  AdoptFromSuccessor(name);
  CounterCopy copy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CounterCopy& counter = counters_[name];
    long long sum = static_cast<long long>(counter.value) + delta;
    if (sum > INT_MAX || sum < INT_MIN) {
      return chord::Status::BadArgument("counter " + name + " would overflow");
    }
    counter.name = name;
    counter.value = static_cast<int>(sum);
    ++counter.version;
    copy = counter;
  }
  Replicate({copy});
  return copy.value;
}
// [readme-end commands]

void CounterLayer::AddMoreCommands(std::vector<chord::Command>* commands) {
  commands->push_back(chord::MakeCommand<CounterReply(std::string)>(
      "counter.get", chord::Audience::kClient,
      "The named counter (0 if never written), its owner and hops.", {"name"},
      [this](const std::string& name) {
        return Route(name, "counter.read", chord::MakeParams(name));
      }));
  commands->push_back(chord::MakeCommand<int(std::string)>(
      "counter.read", chord::Audience::kPeer, "Peers: counter.get on the owner.", {"name"},
      [this](const std::string& name) { return Read(name); }));
  // Between neighbours: copies for replication, hand-off and take-over.
  commands->push_back(chord::MakeCommand<CounterCopy(std::string)>(
      "counter.peek", chord::Audience::kPeer,
      "Internal: this node's copy of a counter (version 0 if none).", {"name"},
      [this](const std::string& name) { return Peek(name); }));
  commands->push_back(chord::MakeCommand<int(std::vector<CounterCopy>)>(
      "counter.store", chord::Audience::kPeer, "Internal: keeps the copies newer than this node's.",
      {"copies"}, [this](const std::vector<CounterCopy>& copies) { return Store(copies); }));
}

chord::Status CounterLayer::RegisterAll(std::vector<chord::Command> commands) {
  for (chord::Command& command : commands) {
    std::string name = command.name;
    chord::Status status = registry_->Register(std::move(command));
    if (!status.ok()) {
      for (const auto& registered : command_names_) registry_->Unregister(registered);
      command_names_.clear();
      return status;
    }
    command_names_.push_back(name);
  }
  local_->AddObserver(this);
  observing_ = true;
  return chord::Status::Ok();
}

chord::Result<int> CounterLayer::Read(const std::string& name) {
  chord::Status owner = router_.CheckOwner(router_.KeyId(name));
  if (!owner.ok()) return owner;
  AdoptFromSuccessor(name);
  return Peek(name).value;
}

CounterCopy CounterLayer::Peek(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counters_.find(name);
  if (it != counters_.end()) return it->second;
  CounterCopy none;
  none.name = name;
  return none;
}

int CounterLayer::Store(const std::vector<CounterCopy>& copies) {
  std::lock_guard<std::mutex> lock(mutex_);
  int adopted = 0;
  for (const CounterCopy& copy : copies) {
    if (copy.version <= 0) continue;
    auto it = counters_.find(copy.name);
    if (it == counters_.end() || copy.version > it->second.version) {
      counters_[copy.name] = copy;
      ++adopted;
    }
  }
  return adopted;
}

void CounterLayer::AdoptFromSuccessor(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (counters_.count(name)) return;
  }
  chord::NodeRef successor = local_->successor();
  if (successor.address == local_->self().address) return;
  auto reply = router_.Call(successor, "counter.peek", chord::MakeParams(name));
  if (!reply.ok()) {
    BOOST_LOG_TRIVIAL(warning) << "counter " << name << ": cannot ask " << successor.address << ": "
                               << reply.status().ToString();
    return;
  }
  auto copy = chord::FromValue<CounterCopy>(reply.value(), "the reply of counter.peek");
  if (copy.ok() && copy->version > 0) Store({copy.value()});
}

void CounterLayer::Replicate(const std::vector<CounterCopy>& copies) {
  if (replicas_ <= 0 || copies.empty()) return;
  for (const auto& reply :
       router_.CallOnSuccessors(size_t(replicas_), "counter.store", chord::MakeParams(copies))) {
    // A missed copy is not an error for the caller: the owner still has the value, and the
    // next write sends a newer copy.
    if (!reply.reply.ok()) {
      BOOST_LOG_TRIVIAL(warning) << "counter copy to " << reply.node.address << ": "
                                 << reply.reply.status().ToString();
    }
  }
}

std::vector<CounterCopy> CounterLayer::Copies() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CounterCopy> copies;
  for (const auto& entry : counters_) copies.push_back(entry.second);
  return copies;
}

void CounterLayer::OnLeaving() {
  std::vector<CounterCopy> copies = Copies();
  if (copies.empty()) return;
  // The successor becomes the owner of this node's range and the next one its copy holder, so
  // both get everything (a version keeps whichever copy is newest).
  auto replies =
      router_.CallOnSuccessors(size_t(replicas_) + 1, "counter.store", chord::MakeParams(copies));
  size_t handed = 0;
  for (const auto& reply : replies) handed += reply.reply.ok() ? 1 : 0;
  // No reply at all: this node is the last one of the ring, and nobody is left to hand to.
  if (handed == 0 && !replies.empty()) {
    BOOST_LOG_TRIVIAL(warning) << "leaving: " << copies.size() << " counters were not handed over";
  }
}
