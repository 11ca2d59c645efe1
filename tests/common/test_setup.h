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
#include <chrono>
#include <cstdlib>
#include <string>

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

// How much slower this build's programs run than a plain build's: CHORD_TEST_TIME_SCALE, which
// ctest sets in sanitized builds (3 under ASan, 10 under TSan; cmake/sanitizers.cmake), else 1.
// Only bounds that wait for something to happen are scaled, never what a test asserts.
inline double TimeScale() {
  const char* text = std::getenv("CHORD_TEST_TIME_SCALE");
  double scale = text ? std::atof(text) : 1.0;
  return scale >= 1.0 ? scale : 1.0;
}

// `d` stretched by TimeScale(), in the same unit.
template <class Duration>
Duration Scaled(Duration d) {
  return std::chrono::duration_cast<Duration>(d * TimeScale());
}

// A time-out in milliseconds for a program's option (such as --call-timeout-ms), scaled.
inline std::string ScaledMs(int ms) { return std::to_string(int(ms * TimeScale())); }

}  // namespace testing
}  // namespace chord

#endif  // CHORD_TESTS_COMMON_TEST_SETUP_H_
