#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace chord_bench {
namespace {

struct Column {
  const char* title;
  int width;
};
// The first column is left-aligned, the others right-aligned.
const Column kColumns[] = {{"phase", 8},     {"ops/s", 9},  {"p50 ms", 9}, {"p99 ms", 9},
                           {"p99.9 ms", 10}, {"hops", 6},   {"rpc/op", 8}, {"eff", 6},
                           {"conn/1k", 9},   {"thr/1k", 8}, {"fail", 6}};

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, size_t(p * double(sorted.size())))];
}

std::string Fixed(double value, int precision) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << value;
  return out.str();
}

std::string Cell(const std::optional<double>& value, int precision) {
  return value ? Fixed(*value, precision) : "n/a";
}

std::string JsonNumber(const std::optional<double>& value, int precision) {
  return value && std::isfinite(*value) ? Fixed(*value, precision) : "null";
}

std::string JsonString(const std::string& text) {
  std::string json = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      json += '\\';
      json += char(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      json += escaped;
    } else {
      json += char(c);
    }
  }
  return json + "\"";
}

std::string JsonPhase(const Figures& f) {
  std::ostringstream json;
  json << "{\"phase\":" << JsonString(f.phase) << ",\"ops\":" << f.ops
       << ",\"seconds\":" << Fixed(f.seconds, 4) << ",\"ops_per_s\":" << Fixed(f.ops_per_s, 1)
       << ",\"p50_ms\":" << Fixed(f.p50_ms, 3) << ",\"p99_ms\":" << Fixed(f.p99_ms, 3)
       << ",\"p999_ms\":" << Fixed(f.p999_ms, 3) << ",\"mean_hops\":" << JsonNumber(f.mean_hops, 3)
       << ",\"rpc_per_op\":" << JsonNumber(f.rpc_per_op, 4)
       << ",\"efficiency\":" << JsonNumber(f.efficiency, 4)
       << ",\"connections_per_1k_calls\":" << JsonNumber(f.conn_per_1k, 3)
       << ",\"threads_per_1k_calls\":" << JsonNumber(f.thr_per_1k, 3)
       << ",\"background_calls_per_s\":" << JsonNumber(f.background, 1)
       << ",\"failures\":" << f.failures << ",\"first_error\":" << JsonString(f.first_error) << "}";
  return json.str();
}

// The figures that come from the nodes' counters.
void AddCounters(const Served& served, const std::optional<double>& background,
                 const std::optional<double>& ceiling_ops_per_s, Figures* f) {
  if (f->ops == 0) return;
  if (background) f->rpc_per_op = (served.calls - *background * served.seconds) / f->ops;
  const double ceiling = ceiling_ops_per_s.value_or(f->ops_per_s);
  if (f->rpc_per_op && ceiling > 0) f->efficiency = f->ops_per_s * *f->rpc_per_op / ceiling;
  if (served.calls > 0) {
    f->conn_per_1k = served.connections_accepted / served.calls * 1000;
    f->thr_per_1k = served.threads_started / served.calls * 1000;
  }
}

}  // namespace

Figures Compute(const std::string& phase, const LoadResult& load, bool has_hops,
                const std::optional<Served>& served, const std::optional<double>& background,
                const std::optional<double>& ceiling_ops_per_s) {
  Figures f;
  f.phase = phase;
  f.ops = int(load.latencies_ms.size());
  f.seconds = load.seconds;
  f.ops_per_s = load.seconds > 0 ? f.ops / load.seconds : 0;
  auto sorted = load.latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  f.p50_ms = Percentile(sorted, 0.5);
  f.p99_ms = Percentile(sorted, 0.99);
  f.p999_ms = Percentile(sorted, 0.999);
  if (has_hops && load.succeeded > 0) f.mean_hops = double(load.hops) / load.succeeded;
  f.failures = load.failures;
  f.first_error = load.first_error;
  f.background = background;
  if (served) AddCounters(*served, background, ceiling_ops_per_s, &f);
  return f;
}

std::string HeaderLine(const RunInfo& run) {
  std::ostringstream out;
  out << "chord-bench " << run.version << ": " << run.nodes << " nodes, " << run.ops
      << " operations per phase (+" << run.warmup << " warm-up), " << run.threads
      << " client threads, " << run.value_bytes << "-byte values, set/get sent to the "
      << (run.entry == "owner" ? "key's owner as the client guesses it" : "random member");
  return out.str();
}

void PrintTableHead(std::ostream& out) {
  for (const Column& c : kColumns) {
    out << (&c == kColumns ? std::left : std::right) << std::setw(c.width) << c.title;
  }
  out << "\n";
}

void PrintRow(std::ostream& out, const Figures& f) {
  const std::string cells[] = {f.phase,
                               Fixed(f.ops_per_s, 0),
                               Fixed(f.p50_ms, 2),
                               Fixed(f.p99_ms, 2),
                               Fixed(f.p999_ms, 2),
                               Cell(f.mean_hops, 2),
                               Cell(f.rpc_per_op, 2),
                               Cell(f.efficiency, 2),
                               Cell(f.conn_per_1k, 2),
                               Cell(f.thr_per_1k, 2),
                               std::to_string(f.failures)};
  for (size_t i = 0; i < std::size(cells); ++i) {
    out << (i == 0 ? std::left : std::right) << std::setw(kColumns[i].width) << cells[i];
  }
  out << "\n";
  if (f.failures) out << "  first failure: " << f.first_error << "\n";
  out << std::flush;
}

void PrintLegend(std::ostream& out, const RunInfo& run) {
  out << "eff = ops/s x rpc/op / ceiling ops/s: the calls the ring served per second, as a share "
         "of what one node serves to "
      << run.threads << " clients doing chord.ping (1.00 = the transport ceiling)";
  if (run.idle_ms > 0) {
    out << "; rpc/op is net of the ring's own traffic, measured in idle windows of " << run.idle_ms
        << " ms around each phase";
  }
  out << "; n/a: a node did not answer chord.stats\n";
}

std::string Json(const RunInfo& run, const std::vector<Figures>& phases) {
  std::ostringstream json;
  json << "{\"version\":" << JsonString(run.version) << ",\"nodes\":" << run.nodes
       << ",\"ops\":" << run.ops << ",\"threads\":" << run.threads << ",\"warmup\":" << run.warmup
       << ",\"value_bytes\":" << run.value_bytes << ",\"bits\":" << run.bits
       << ",\"call_timeout_ms\":" << run.call_timeout_ms << ",\"idle_ms\":" << run.idle_ms
       << ",\"entry\":" << JsonString(run.entry) << ",\"phases\":[";
  for (size_t i = 0; i < phases.size(); ++i) json << (i ? "," : "") << JsonPhase(phases[i]);
  json << "]}";
  return json.str();
}

}  // namespace chord_bench
