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

# Scales the TIMEOUT of every test of the calling directory (see above); tests without one keep
# ctest's default. Tests that assert a latency read the same factor from CHORD_TEST_TIME_SCALE
# in their environment.
function(chord_scale_test_timeouts)
  if(CHORD_TEST_TIMEOUT_SCALE EQUAL 1)
    return()
  endif()
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(test IN LISTS tests)
    get_test_property(${test} TIMEOUT timeout)
    if(timeout)
      math(EXPR timeout "${timeout} * ${CHORD_TEST_TIMEOUT_SCALE}")
      set_tests_properties(${test} PROPERTIES TIMEOUT ${timeout})
    endif()
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT
                 "CHORD_TEST_TIME_SCALE=${CHORD_TEST_TIMEOUT_SCALE}")
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
