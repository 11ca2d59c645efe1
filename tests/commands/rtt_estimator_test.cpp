// RttEstimator (commands/rtt_estimator.h): the time-out follows SRTT + 4 RTTVAR within its
// bounds, grows after time-outs and comes back down with answers. Pure arithmetic: no clock.
#define BOOST_TEST_MODULE commands_rtt_estimator
#define BOOST_TEST_DYN_LINK
#include "commands/rtt_estimator.h"

#include <boost/test/unit_test.hpp>
#include <string>

using chord::RttEstimator;

namespace {

RttEstimator::Options Bounds(int floor_ms, int ceiling_ms, int initial_ms) {
  RttEstimator::Options options;
  options.floor_ms = floor_ms;
  options.ceiling_ms = ceiling_ms;
  options.initial_ms = initial_ms;
  return options;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_unknown_peer_gets_the_initial_time_out) {
  RttEstimator rtt(Bounds(50, 5000, 1000));
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 1000);
  RttEstimator low_ceiling(Bounds(50, 300, 1000));
  BOOST_CHECK_EQUAL(low_ceiling.TimeoutMs("a"), 300);
}

BOOST_AUTO_TEST_CASE(the_first_sample_sets_srtt_and_half_of_it_as_rttvar) {
  RttEstimator rtt(Bounds(1, 5000, 1000));
  rtt.Observe("a", 100000);                     // 100 ms
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 300);   // 100 + 4 * 50
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("b"), 1000);  // keys are independent
}

BOOST_AUTO_TEST_CASE(steady_samples_shrink_the_time_out_to_the_floor) {
  RttEstimator rtt(Bounds(20, 5000, 1000));
  for (int i = 0; i < 100; ++i) rtt.Observe("a", 2000);  // 2 ms every time
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 20);
  RttEstimator no_floor(Bounds(1, 5000, 1000));
  for (int i = 0; i < 100; ++i) no_floor.Observe("a", 2000);
  // SRTT 2 ms; RTTVAR 1 ms x 0.75^99, a few picoseconds, still rounds the time-out up to 3 ms.
  BOOST_CHECK_EQUAL(no_floor.TimeoutMs("a"), 3);
  for (int i = 0; i < 100; ++i) no_floor.Observe("a", 2000);
  BOOST_CHECK_EQUAL(no_floor.TimeoutMs("a"), 2);  // RTTVAR now below a double's resolution
}

BOOST_AUTO_TEST_CASE(the_rfc_6298_update) {
  RttEstimator rtt(Bounds(1, 5000, 1000));
  rtt.Observe("a", 100000);  // SRTT 100, RTTVAR 50
  rtt.Observe("a", 200000);  // RTTVAR 3/4*50 + 1/4*100 = 62.5; SRTT 7/8*100 + 1/8*200 = 112.5
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 363);  // 112.5 + 250 = 362.5, rounded up
}

BOOST_AUTO_TEST_CASE(time_outs_in_a_row_grow_the_time_out_up_to_max_backoff) {
  RttEstimator::Options options = Bounds(100, 5000, 1000);
  options.max_backoff_ms = 1500;
  RttEstimator rtt(options);
  for (int i = 0; i < 50; ++i) rtt.Observe("a", 1000);
  int timeout = rtt.TimeoutMs("a");
  BOOST_CHECK_EQUAL(timeout, 100);
  for (int i = 0; i < 30; ++i) {
    rtt.ObserveTimeout("a", timeout);
    const int next = rtt.TimeoutMs("a");
    BOOST_CHECK_GE(next, timeout);
    BOOST_CHECK_LE(next, 2 * timeout);  // never more than a doubling at a time
    timeout = next;
  }
  BOOST_CHECK_EQUAL(timeout, 1500);
  // Answers bring it back down.
  for (int i = 0; i < 100; ++i) rtt.Observe("a", 1000);
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 100);
}

BOOST_AUTO_TEST_CASE(a_first_time_out_doubles_the_next_wait) {
  RttEstimator::Options options = Bounds(100, 5000, 1000);
  options.max_backoff_ms = 3000;
  RttEstimator rtt(options);
  rtt.ObserveTimeout("a", 1000);
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 2000);
}

BOOST_AUTO_TEST_CASE(slow_answers_raise_the_time_out_beyond_max_backoff) {
  RttEstimator::Options options = Bounds(100, 5000, 1000);
  options.max_backoff_ms = 1000;
  RttEstimator rtt(options);
  rtt.ObserveTimeout("a", 1000);  // at max_backoff already: no change
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("a"), 1000);
  for (int i = 0; i < 20; ++i) rtt.Observe("a", 1500000);  // answers after 1.5 s
  BOOST_CHECK_GE(rtt.TimeoutMs("a"), 1500);
  BOOST_CHECK_LE(rtt.TimeoutMs("a"), 5000);
}

BOOST_AUTO_TEST_CASE(the_least_recently_sampled_key_is_forgotten_beyond_max_keys) {
  RttEstimator::Options options = Bounds(1, 5000, 1000);
  options.max_keys = 2;
  RttEstimator rtt(options);
  rtt.Observe("a", 10000);
  rtt.Observe("b", 10000);
  rtt.Observe("a", 10000);  // b is now the least recently sampled
  rtt.Observe("c", 10000);
  BOOST_CHECK_EQUAL(rtt.TimeoutMs("b"), 1000);
  BOOST_CHECK_LT(rtt.TimeoutMs("a"), 1000);
  BOOST_CHECK_LT(rtt.TimeoutMs("c"), 1000);
}
