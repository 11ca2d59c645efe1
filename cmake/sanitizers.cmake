# CHORD_SANITIZE=address: AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer
# together; undefined behaviour aborts (-fno-sanitize-recover) so that it fails the test that
# reached it instead of scrolling past in its output.
# CHORD_SANITIZE=thread: ThreadSanitizer. It cannot be combined with ASan.
# Both apply to every target of the build (libraries, tools, tests), so that the multi-process
# tests run sanitized chord-node processes too. The run-time options the tests use are in
# tests/sanitizers/ (see docs/sanitizers.md).
set(CHORD_SANITIZE "" CACHE STRING "Build with sanitizers: address (ASan+UBSan), thread (TSan) or empty")
set_property(CACHE CHORD_SANITIZE PROPERTY STRINGS "" address thread)

if(CHORD_SANITIZE STREQUAL "address")
  set(CHORD_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
elseif(CHORD_SANITIZE STREQUAL "thread")
  set(CHORD_SANITIZE_FLAGS -fsanitize=thread)
elseif(NOT CHORD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CHORD_SANITIZE must be address, thread or empty, not '${CHORD_SANITIZE}'")
endif()

# Sanitized programs run slower (ASan about 2x, TSan 5-15x): every test's TIMEOUT is multiplied
# by CHORD_TEST_TIMEOUT_SCALE (chord_scale_test_timeouts, called by each tests/ directory), so
# that no test has to be left out for being slow.
if(CHORD_SANITIZE STREQUAL "address")
  set(CHORD_TEST_TIMEOUT_SCALE 3)
elseif(CHORD_SANITIZE STREQUAL "thread")
  set(CHORD_TEST_TIMEOUT_SCALE 10)
else()
  set(CHORD_TEST_TIMEOUT_SCALE 1)
endif()

# The sanitizers' run-time options, as tests/sanitizers/env.sh sets them for a shell, except
# that each test writes its reports to files of its own, sanitizer-reports/TEST.asan.PID (and
# .ubsan., .tsan.), from the test process and from every process it starts (chord-node,
# create_chord, chord, ...): a report in a child is on its own no failure of the test, since a
# test stops its nodes without looking at how they exited.
set(CHORD_SANITIZER_REPORTS ${CMAKE_BINARY_DIR}/sanitizer-reports)
get_filename_component(CHORD_SANITIZER_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/sanitizers ABSOLUTE)

# For every test of the calling directory, in a sanitized build:
# - its TIMEOUT is multiplied by CHORD_TEST_TIMEOUT_SCALE (tests without one keep ctest's
#   default), and CHORD_TEST_TIME_SCALE in its environment carries the same factor to the tests
#   that assert a latency or wait for a ring with their own deadlines;
# - its processes' sanitizer reports go to CHORD_SANITIZER_REPORTS/TEST.*, and a test
#   TEST.sanitizer_reports, run after it (a ctest fixture cleanup, so also with -R TEST),
#   fails and prints them if there are any.
function(chord_sanitize_tests)
  if(NOT CHORD_SANITIZE)
    return()
  endif()
  file(MAKE_DIRECTORY ${CHORD_SANITIZER_REPORTS})
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(test IN LISTS tests)
    get_test_property(${test} TIMEOUT timeout)
    if(timeout)
      math(EXPR timeout "${timeout} * ${CHORD_TEST_TIMEOUT_SCALE}")
      set_tests_properties(${test} PROPERTIES TIMEOUT ${timeout})
    endif()
    set(log ${CHORD_SANITIZER_REPORTS}/${test})
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT
      "CHORD_TEST_TIME_SCALE=${CHORD_TEST_TIMEOUT_SCALE}"
      "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=${log}.asan"
      "LSAN_OPTIONS=suppressions=${CHORD_SANITIZER_DIR}/lsan.supp:print_suppressions=0"
      "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=${log}.ubsan"
      "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CHORD_SANITIZER_DIR}/tsan.supp:print_suppressions=0:log_path=${log}.tsan")
    set_property(TEST ${test} APPEND PROPERTY FIXTURES_REQUIRED ${test}.sanitizer)
    add_test(NAME ${test}.sanitizer_reports
             COMMAND ${CHORD_SANITIZER_DIR}/check_reports.sh ${CMAKE_BINARY_DIR} ${test})
    set_tests_properties(${test}.sanitizer_reports PROPERTIES FIXTURES_CLEANUP ${test}.sanitizer
                         TIMEOUT 30)
    get_test_property(${test} LABELS labels)
    if(labels)  # so that -L/-LE select the check with its test
      set_tests_properties(${test}.sanitizer_reports PROPERTIES LABELS "${labels}")
    endif()
  endforeach()
endfunction()

if(CHORD_SANITIZE_FLAGS)
  # Frame pointers keep the reports' stacks whole in optimised builds. -O1 and line tables only
  # (-g1): what the sanitizers' documentation recommends, and a much shorter build than -O2 -g.
  add_compile_options(${CHORD_SANITIZE_FLAGS} -fno-omit-frame-pointer -O1 -g1)
  add_link_options(${CHORD_SANITIZE_FLAGS})
endif()

# CHORD_FUZZ=ON: the libFuzzer targets of tests/fuzz, with everything built for them
# (instrumented for coverage, ASan and UBSan). Needs clang (-DCMAKE_CXX_COMPILER=clang++); best
# in a build directory of its own, since the instrumentation slows every other program down.
option(CHORD_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(CHORD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CHORD_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(CHORD_SANITIZE)
    message(FATAL_ERROR "CHORD_FUZZ brings its own sanitizers: leave CHORD_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
