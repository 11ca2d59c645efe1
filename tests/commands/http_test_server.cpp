// A bare XmlRpcServer for tests in other languages (tests/commands/hostile_client_test.py).
//
// Usage: http_test_server [--max-request-bytes N] [--secret S] [--client-auth]
// Serves test.echo (client: returns its argument) and test.peer (peer: returns "peer") on
// 127.0.0.1 and a free port, prints "PORT\n", and stops when its standard input closes, so a
// test that dies takes the server with it.
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "commands/command_registry.h"
#include "commands/xmlrpc_server.h"

int main(int argc, char** argv) {
  boost::log::core::get()->set_filter(boost::log::trivial::severity >=
                                      boost::log::trivial::warning);
  chord::SetXmlSizeLimit(8u << 20);
  chord::XmlRpcServer::Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--max-request-bytes" && i + 1 < argc) {
      options.max_request_bytes = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--secret" && i + 1 < argc) {
      options.secret = argv[++i];
    } else if (arg == "--max-connections" && i + 1 < argc) {
      options.max_connections = std::atoi(argv[++i]);
    } else if (arg == "--idle-timeout-ms" && i + 1 < argc) {
      options.idle_timeout_ms = std::atoi(argv[++i]);
    } else if (arg == "--client-auth") {
      options.client_auth = true;
    } else {
      std::cerr << "usage: http_test_server [--max-request-bytes N] [--secret S] [--client-auth]\n"
                   "                        [--max-connections N] [--idle-timeout-ms MS]\n";
      return 2;
    }
  }
  chord::CommandRegistry registry;
  auto echo = [](const xmlrpc_c::paramList& p) -> chord::Result<xmlrpc_c::value> { return p[0]; };
  auto peer = [](const xmlrpc_c::paramList&) -> chord::Result<xmlrpc_c::value> {
    return xmlrpc_c::value(xmlrpc_c::value_string("peer"));
  };
  if (!registry.Register({"test.echo", chord::Audience::kClient, "*:*", "Echo.", echo}).ok() ||
      !registry.Register({"test.peer", chord::Audience::kPeer, "s:", "Peer only.", peer}).ok()) {
    return 1;
  }
  chord::XmlRpcServer server(&registry, options);
  chord::Status started = server.Start();
  if (!started.ok()) {
    std::cerr << started.ToString() << "\n";
    return 1;
  }
  std::cout << server.port() << std::endl;
  while (std::cin.get() != EOF) {
  }
  server.Stop();
  return 0;
}
