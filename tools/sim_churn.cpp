#include "tools/sim_churn.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "tools/sim_invariants.h"
#include "tools/simulation.h"

namespace chord {
namespace {

constexpr size_t kMaxMessages = 8;

// What the clients wrote to one key, in order: each value and whether it was acknowledged.
struct KeyHistory {
  std::vector<std::pair<std::string, bool>> writes;
  // The values a read may return: the last acknowledged one and every later one (a write that
  // was not acknowledged may still have been applied). Empty if none was acknowledged.
  std::vector<std::string> Acceptable() const {
    std::vector<std::string> values;
    for (size_t i = writes.size(); i-- > 0;) {
      values.push_back(writes[i].first);
      if (writes[i].second) return values;
    }
    return {};
  }
};

class ChurnRun {
 public:
  ChurnRun(uint64_t seed, const ChurnOptions& options)
      : options_(options), sim_(Overlay(options), seed, true, Dht(options)), random_(seed * 7919) {
    result_.seed = seed;
  }

  ChurnResult Run() {
    if (!sim_.GrowRing(options_.nodes, 0.1).ok()) {
      Note(0, "the ring could not be built");
      result_.violations++;
      return result_;
    }
    // The ring grows without loss; it must be ideal before the churn starts.
    if (sim_.StabilizeUntilCorrect(options_.settle_rounds) < 0) {
      Note(sim_.rounds(), "the first ring never became ideal: " + sim_.CheckRing());
      result_.violations++;
      return result_;
    }
    sim_.SetDropRate(options_.drop_rate);
    for (int round = 0; round < options_.churn_rounds; ++round) {
      Churn();
      Clients();
      Round();
    }
    sim_.SetDropRate(0);
    for (int round = 0; round <= options_.settle_rounds; ++round) {
      if (sim_.CheckRing().empty()) {
        result_.ideal = true;
        result_.rounds_to_ideal = round;
        break;
      }
      if (round < options_.settle_rounds) Round();
    }
    if (!result_.ideal) Note(sim_.rounds(), "not ideal after settling: " + sim_.CheckRing());
    for (int round = 0; round < options_.repair_rounds; ++round) Round();
    FinalReads();
    result_.final_nodes = sim_.live_count();
    return result_;
  }

 private:
  static OverlayOptions Overlay(const ChurnOptions& options) {
    OverlayOptions overlay;
    overlay.successors = options.successors;
    return overlay;
  }
  static DhtOptions Dht(const ChurnOptions& options) {
    DhtOptions dht;
    dht.replicas = options.replicas;
    return dht;
  }

  void Note(int round, const std::string& message) {
    if (result_.messages.size() < kMaxMessages || options_.verbose) {
      result_.messages.push_back("round " + std::to_string(round) + ": " + message);
    }
  }

  // One round, then the invariants.
  void Round() {
    sim_.StabilizeRound();
    std::vector<MemberState> members;
    for (auto* node : sim_.Sorted()) {
      members.push_back(
          MemberState{node->local->self(), node->local->successors(), node->local->predecessor()});
    }
    InvariantReport report = CheckInvariants(members);
    if (report.ok()) return;
    result_.violations += int(report.violations.size());
    result_.violating_rounds++;
    for (const auto& violation : report.violations) Note(sim_.rounds(), violation);
  }

  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }

  void Churn() {
    for (int k = 0; k < 2; ++k) {
      if (Uniform() >= options_.events_per_round / 2) continue;
      const int live = sim_.live_count();
      double join = 0.4;
      if (live < options_.nodes * 9 / 10) join = 1;
      if (live > options_.nodes * 11 / 10) join = 0;
      if (Uniform() < join) {
        if (auto* node = sim_.JoinOne()) {
          joined_at_[node->address] = sim_.rounds();
          result_.joins++;
        }
        continue;
      }
      const bool crash = Uniform() < 0.5;
      auto live_nodes = sim_.Sorted();
      std::shuffle(live_nodes.begin(), live_nodes.end(), random_);
      for (auto* victim : live_nodes) {
        if (!MayDepart(victim)) continue;
        departed_.push_back({victim->local->self().id, sim_.rounds()});
        if (crash) {
          sim_.CrashNode(victim);
          result_.crashes++;
        } else {
          sim_.LeaveNode(victim);
          result_.leaves++;
        }
        break;
      }
    }
  }

  // True if `victim` may go now without a run of departures as long as the replicas (or r).
  bool MayDepart(Simulation::Node* victim) {
    const int limit = std::min(options_.successors, options_.replicas);
    const int now = sim_.rounds();
    // (id, gone) of every node on the circle that counts; recent newcomers are passed over.
    std::vector<std::pair<Id, bool>> circle;
    for (auto* node : sim_.Sorted()) {
      auto joined = joined_at_.find(node->address);
      if (joined != joined_at_.end() && now - joined->second < options_.window_rounds) continue;
      circle.push_back({node->local->self().id, node == victim});
    }
    for (const auto& [id, round] : departed_) {
      if (now - round < options_.window_rounds) circle.push_back({id, true});
    }
    if (circle.size() < 2 * size_t(limit) + 2) return false;
    std::sort(circle.begin(), circle.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    // The longest circular run of departed nodes.
    int run = 0;
    const size_t n = circle.size();
    for (size_t i = 0; i < 2 * n; ++i) {
      run = circle[i % n].second ? run + 1 : 0;
      if (run >= limit) return false;
    }
    // And no member may be left with no live node in its list but the victim.
    std::set<std::string> live;
    for (auto* node : sim_.Sorted()) {
      if (node != victim) live.insert(node->address);
    }
    for (auto* node : sim_.Sorted()) {
      if (node == victim) continue;
      const auto list = node->local->successors();
      if (list.empty()) continue;
      if (std::none_of(list.begin(), list.end(),
                       [&](const NodeRef& s) { return live.count(s.address) > 0; })) {
        return false;
      }
    }
    return true;
  }

  void Clients() {
    auto live = sim_.Sorted();
    if (live.empty()) return;
    for (int i = 0; i < options_.writes_per_round; ++i) {
      const std::string key = "key-" + std::to_string(random_() % uint64_t(options_.keys));
      const std::string value = "value-" + std::to_string(++write_counter_);
      auto* from = live[random_() % live.size()];
      auto answer = from->dht->Set(key, DhtValue{value, false});
      const bool acked = answer.ok() && answer->ok;
      history_[key].writes.push_back({value, acked});
      result_.writes++;
      if (acked) result_.acked++;
    }
    for (int i = 0; i < options_.reads_per_round; ++i) {
      const std::string key = "key-" + std::to_string(random_() % uint64_t(options_.keys));
      auto* from = live[random_() % live.size()];
      auto answer = from->dht->Get(key);
      if (!answer.ok()) continue;
      result_.reads++;
      const auto acceptable = history_[key].Acceptable();
      if (acceptable.empty()) continue;
      if (!answer->ok || std::find(acceptable.begin(), acceptable.end(), answer->value.bytes) ==
                             acceptable.end()) {
        result_.stale_reads++;
      }
    }
  }

  void FinalReads() {
    auto live = sim_.Sorted();
    for (const auto& [key, history] : history_) {
      const auto acceptable = history.Acceptable();
      if (acceptable.empty()) continue;
      auto* from = live[random_() % live.size()];
      auto answer = from->dht->Get(key);
      std::string got = !answer.ok()  ? "error " + answer.status().message()
                        : !answer->ok ? "not found"
                                      : "\"" + answer->value.bytes + "\"";
      if (answer.ok() && answer->ok &&
          std::find(acceptable.begin(), acceptable.end(), answer->value.bytes) !=
              acceptable.end()) {
        continue;
      }
      result_.lost++;
      Note(sim_.rounds(),
           "acked write lost: " + key + " reads " + got + ", want \"" + acceptable.back() + "\"");
    }
  }

  ChurnOptions options_;
  Simulation sim_;
  std::mt19937_64 random_;  // the schedule's own choices (the simulation has its own)
  ChurnResult result_;
  std::map<std::string, int> joined_at_;      // address -> round, for churn joins
  std::vector<std::pair<Id, int>> departed_;  // id, round
  std::map<std::string, KeyHistory> history_;
  uint64_t write_counter_ = 0;
};

}  // namespace

ChurnResult RunChurn(uint64_t seed, const ChurnOptions& options) {
  return ChurnRun(seed, options).Run();
}

}  // namespace chord
