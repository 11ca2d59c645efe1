#include "tools/sim_exp_common.h"

#include <algorithm>
#include <cmath>

namespace chord {

namespace {

// Nearest rank: the smallest value at or above `q` of the sorted sample.
double Rank(const std::vector<double>& sorted, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

}  // namespace

Spread SpreadOf(std::vector<double> sample) {
  Spread spread;
  if (sample.empty()) return spread;
  std::sort(sample.begin(), sample.end());
  double total = 0;
  for (double value : sample) total += value;
  spread.mean = total / sample.size();
  spread.p1 = Rank(sample, 0.01);
  spread.p99 = Rank(sample, 0.99);
  spread.max = sample.back();
  return spread;
}

namespace sim_exp {

void Tell(const ExperimentProgress& progress, const std::string& message) {
  if (progress) progress(message);
}

std::vector<double> Sample(const std::map<int, int>& histogram) {
  std::vector<double> sample;
  for (const auto& [value, count] : histogram) sample.insert(sample.end(), count, value);
  return sample;
}

OverlayOptions Overlay(int successors) {
  OverlayOptions options;
  options.id_bits = kIdBits;
  options.successors = successors;
  return options;
}

bool GrowSettled(Simulation* sim, int count, const ExperimentProgress& progress) {
  // live_count() sorts the whole ring: once, not per join.
  for (int live = sim->live_count(); live < count; ++live) {
    if (sim->JoinSettled() == nullptr) return false;
    if ((live + 1) % 1000 == 0) {
      Tell(progress, "joined " + std::to_string(live + 1) + "/" + std::to_string(count));
    }
  }
  return true;
}

size_t SuccessorIndex(const Ring& ring, const Id& id) {
  auto at = std::lower_bound(
      ring.begin(), ring.end(), id,
      [](const std::pair<Id, int>& entry, const Id& key) { return entry.first < key; });
  return at == ring.end() ? 0 : static_cast<size_t>(at - ring.begin());
}

int KeysBetween(const std::vector<Id>& keys, const Id& after, const Id& upto) {
  auto count = [&](const Id& low, const Id& high) {  // in (low, high], low < high
    return static_cast<int>(std::upper_bound(keys.begin(), keys.end(), high) -
                            std::upper_bound(keys.begin(), keys.end(), low));
  };
  if (after < upto) return count(after, upto);
  // Wraps past zero: (after, max] and [0, upto].
  return static_cast<int>(keys.end() - std::upper_bound(keys.begin(), keys.end(), after)) +
         static_cast<int>(std::upper_bound(keys.begin(), keys.end(), upto) - keys.begin());
}

std::vector<Id> SortedKeyIds(int count, const std::string& prefix) {
  std::vector<Id> keys;
  keys.reserve(count);
  for (int k = 0; k < count; ++k) keys.push_back(Id::Hash(prefix + std::to_string(k), kIdBits));
  std::sort(keys.begin(), keys.end());
  return keys;
}

const Id& PredecessorIn(const Ring& ring, const Id& id) {
  const size_t next = SuccessorIndex(ring, id);
  return ring[next == 0 ? ring.size() - 1 : next - 1].first;
}

}  // namespace sim_exp
}  // namespace chord
