// chord-node: runs one Chord node (overlay + DHT) until SIGINT or SIGTERM, then leaves the ring
// gracefully and exits 0. SIGUSR1 means the whole ring is stopping: exit 0 without a hand-off.
//
//   chord-node --create [--port 4000]
//   chord-node --join 127.0.0.1:4000 [--config settings/chord.conf] ...
//
// A joining node takes the ring's id size (--id-bits) from the node it joins through unless
// --id-bits is given (on the command line or in the config file); then it must match the ring's.
//
// On start it prints one line to stdout, which scripts and tests read:
//   chord-node: id <hex> address <HOST:PORT>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <boost/log/trivial.hpp>
#include <cstdio>
#include <iostream>

#include "commands/xmlrpc_server.h"
#include "commands/xmlrpc_transport.h"
#include "dht/dht.h"
#include "dht/dht_metrics.h"
#include "overlay/node_host.h"
#include "settings/logging.h"
#include "settings/secret.h"
#include "settings/settings_parser.h"
#include "tools/node_storage.h"

namespace {

// Each connection, kept alive, holds a descriptor: the server alone may keep --max-connections
// of them (1024 by default) besides the node's own to its peers, above the usual soft limit of
// 1024. The hard limit is what the administrator allows.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Before joining: asks the node at settings->join for the ring's id size. Without an explicit
// --id-bits the node takes it; with one that differs, the join could only fail later with ids
// that do not fit, so it is refused here with what to do. A contact that does not answer is left
// to the join itself to report.
chord::Status MatchRingIdBits(bool bits_given, chord::Settings* settings) {
  std::string secret;
  if (!settings->secret_file.empty()) {
    auto loaded = chord::LoadSecret(settings->secret_file);
    if (!loaded.ok()) return chord::Status::Ok();  // NodeHost::Start reports it
    secret = loaded.value();
  }
  chord::XmlRpcTransport transport(chord::TransportOptionsFrom(*settings, secret));
  auto info = chord::ChordStub(&transport, 0).Info(settings->join);
  if (!info.ok() || info->bits == settings->id_bits) return chord::Status::Ok();
  if (!bits_given) {
    settings->id_bits = info->bits;
    return chord::Status::Ok();
  }
  return chord::Status::Refused(
      "the ring at " + settings->join + " uses " + std::to_string(info->bits) +
      "-bit ids, this node " + std::to_string(settings->id_bits) +
      "-bit ids (--id-bits): every node of a ring uses the same size; give --id-bits " +
      std::to_string(info->bits) + " or leave --id-bits out to take the ring's");
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // One malloc arena for every thread: glibc's default of one per thread (up to 8 per core)
  // keeps each busy thread's freed memory in its own arena, which more than doubled an idle
  // node's proportional memory after a benchmark (4 MiB -> 9 MiB PSS); a node's threads spend
  // little time in malloc, so sharing one arena costs no measurable throughput
  // (docs/PERFORMANCE.md).
  mallopt(M_ARENA_MAX, 1);
  RaiseOpenFileLimit();

  chord::Settings settings;
  chord::SettingsParser parser("chord-node");
  parser.tool_options().add_options()("version", "print the version and exit");
  auto outcome = parser.Parse(argc, argv, &settings);
  if (outcome.help) {
    std::cout << outcome.message;
    return 0;
  }
  if (!outcome.ok) {
    std::cerr << "chord-node: " << outcome.message << "\n";
    return 2;
  }
  if (parser.variables().count("version")) {
    std::cout << "chord-node " << CHORD_VERSION << "\n";
    return 0;
  }
  if (!settings.create && settings.join.empty()) {
    std::cerr << "chord-node: give --create to start a ring or --join HOST:PORT to join one\n";
    return 2;
  }
  std::string log_error = chord::InitLogging(settings.log_level, settings.log_file, "chord-node");
  if (!log_error.empty()) {
    std::cerr << "chord-node: " << log_error << "\n";
    return 2;
  }
  // The data directory first: one in use or unreadable is refused before anything binds, and
  // the identity it keeps (port, id size) applies to what follows.
  auto opened = chord::OpenNodeStorage(settings);
  if (!opened.ok()) {
    std::cerr << "chord-node: " << opened.status().ToString() << "\n";
    return 1;
  }
  chord::NodeStorage storage = std::move(opened).value();
  bool bits_given = !parser.variables()["id-bits"].defaulted();
  bool kept_port = false, kept_bits = false;
  if (storage.durable) {
    chord::Status restored =
        chord::RestoreIdentity(*storage.durable, !parser.variables()["port"].defaulted(),
                               bits_given, &settings, &kept_port, &kept_bits);
    if (!restored.ok()) {
      std::cerr << "chord-node: " << restored.ToString() << "\n";
      return 1;
    }
    bits_given = bits_given || kept_bits;
  }
  if (!settings.join.empty()) {
    chord::Status bits = MatchRingIdBits(bits_given, &settings);
    if (!bits.ok()) {
      std::cerr << "chord-node: " << bits.ToString() << "\n";
      return 1;
    }
  }
  // Room for the largest value as base64 plus the envelope; process-global, so set it once here.
  chord::SetXmlSizeLimit(size_t(settings.max_value_bytes) * 2 + (1u << 20));

  auto host_owner = std::make_unique<chord::NodeHost>(settings);
  chord::Status status = host_owner->Start();
  if (!status.ok() && kept_port) {
    // The port this node had is taken: come back under a new address (a new id); repair hands
    // the records it kept to their owners.
    std::cerr << "chord-node: port " << settings.port
              << " of the data directory's identity: " << status.ToString()
              << "; starting on a free port (a new id)\n";
    settings.port = 0;
    host_owner = std::make_unique<chord::NodeHost>(settings);
    status = host_owner->Start();
  }
  if (!status.ok()) {
    std::cerr << "chord-node: " << status.ToString() << "\n";
    return 1;
  }
  chord::NodeHost& host = *host_owner;
  if (storage.durable) {
    status = chord::SaveIdentity(storage.durable, host.address(), settings.id_bits);
    if (!status.ok()) {
      std::cerr << "chord-node: " << status.ToString() << "\n";
      host.Stop();
      return 1;
    }
  }
  chord::Dht dht(&host.local(), &host.registry(), chord::DhtOptionsFrom(settings),
                 std::move(storage.storage));
  host.AddMetrics([&dht](std::ostream& out) { chord::WriteDhtMetrics(dht, out); });
  // In-sync rounds cost one call per replica; after quiet rounds, wait up to 4 periods.
  const std::chrono::milliseconds repair_period(settings.repair_ms);
  host.maintenance().AddAdaptive("dht_repair", repair_period, 4 * repair_period, [&dht] {
    bool busy = true;
    dht.RepairStep(&busy);
    return busy;
  });
  // A thread of its own, so that slow maintenance steps do not look like a frozen process.
  chord::Maintenance heartbeat;
  heartbeat.Add("dht_heartbeat", dht.HeartbeatPeriod(), [&dht] { dht.Heartbeat(); });
  dht.Heartbeat();
  heartbeat.Start();
  status = host.Enter();
  if (!status.ok()) {
    std::cerr << "chord-node: " << status.ToString() << "\n";
    host.Stop();
    return 1;
  }
  std::cout << "chord-node: id " << host.local().self().id.ToHex(settings.id_bits) << " address "
            << host.address() << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  if (signal_number == SIGUSR1) {
    // The whole ring is stopping (create_chord quits): every node is going, so there is no one
    // to hand keys to, and trying would only fill the terminal with failed hand-offs.
    BOOST_LOG_TRIVIAL(info) << "signal " << signal_number << ": the ring stops; exiting";
    dht.StopWatches();  // no server worker waits out a watch
    host.Stop();
    return 0;
  }
  BOOST_LOG_TRIVIAL(info) << "signal " << signal_number << ": leaving the ring";
  dht.StopWatches();  // as above: the server stops at the end of Leave
  status = host.Leave();
  if (!status.ok()) {
    BOOST_LOG_TRIVIAL(warning) << "leave: " << status.ToString();
  }
  return 0;
}
