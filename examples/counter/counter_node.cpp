// counter-node: runs one Chord node that serves the counter.* commands (CounterLayer) until
// SIGINT or SIGTERM, then leaves the ring gracefully and exits 0.
//
//   counter-node --create [--port 4000]
//   counter-node --join 127.0.0.1:4000 [any chord-node setting: --id-bits 8, --config FILE, ...]
//
// Like chord-node it prints one line when it is in the ring, which scripts and tests read:
//   counter-node: id <hex> address <HOST:PORT>
#include <signal.h>

#include <boost/log/trivial.hpp>
#include <iostream>

#include "chord/overlay/node_host.h"
#include "chord/settings/logging.h"
#include "chord/settings/settings_parser.h"
#include "counter_layer.h"

namespace {

int Fail(const chord::Status& status) {
  std::cerr << "counter-node: " << status.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  chord::Settings settings;
  chord::SettingsParser parser("counter-node");
  auto outcome = parser.Parse(argc, argv, &settings);
  if (outcome.help || !outcome.ok) {
    (outcome.help ? std::cout : std::cerr) << outcome.message << "\n";
    return outcome.help ? 0 : 2;
  }
  if (!settings.create && settings.join.empty()) {
    std::cerr << "counter-node: give --create to start a ring or --join HOST:PORT to join one\n";
    return 2;
  }
  std::string log_error = chord::InitLogging(settings.log_level, settings.log_file, "counter-node");
  if (!log_error.empty()) {
    std::cerr << "counter-node: " << log_error << "\n";
    return 2;
  }

  // [readme-begin main]
  chord::NodeHost host(settings);
  chord::Status status = host.Start();  // binds the XML-RPC server, creates the overlay node
  if (!status.ok()) return Fail(status);
  CounterLayer counters(&host.local(), &host.registry());
  status = counters.Attach();              // registers counter.*
  if (status.ok()) status = host.Enter();  // creates or joins the ring
  if (!status.ok()) {
    host.Stop();
    return Fail(status);
  }
  std::cout << "counter-node: id " << host.local().self().id.ToHex(settings.id_bits) << " address "
            << host.address() << std::endl;
  // [readme-end main]

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  BOOST_LOG_TRIVIAL(info) << "signal " << signal_number << ": leaving the ring";
  status = host.Leave();  // counters hands its counters over (OnLeaving), then the node leaves
  if (!status.ok()) BOOST_LOG_TRIVIAL(warning) << "leave: " << status.ToString();
  return 0;
}
