// TestSetup: the global set-up every test module shares. Logs below warning are dropped, so a
// test's output shows what matters, and XML-RPC documents up to 8 MiB are accepted (values of up
// to 1 MiB travel as base64; the limit is process-wide and set here, before any thread starts).
//
//   using chord::testing::TestSetup;
//   BOOST_GLOBAL_FIXTURE(TestSetup);
#ifndef CHORD_TESTS_COMMON_TEST_SETUP_H_
#define CHORD_TESTS_COMMON_TEST_SETUP_H_

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/trivial.hpp>

#include "commands/logger_before_threads.h"
#include "commands/xmlrpc_server.h"

namespace chord {
namespace testing {

struct TestSetup {
  TestSetup() {
    boost::log::core::get()->set_filter(boost::log::trivial::severity >=
                                        boost::log::trivial::warning);
    SetXmlSizeLimit(8u << 20);
    CreateLoggerBeforeThreads();  // tests start threads of their own too
  }
};

}  // namespace testing
}  // namespace chord

#endif  // CHORD_TESTS_COMMON_TEST_SETUP_H_
