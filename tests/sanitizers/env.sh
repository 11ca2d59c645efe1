# Run-time options for a sanitized build's tests (CHORD_SANITIZE=address or thread):
#   source tests/sanitizers/env.sh BUILD_DIR
# then run ctest (or any program of BUILD_DIR) from the same shell. Every report, from a test or
# from a chord-node process a test started, is also written to BUILD_DIR/sanitizer-reports/
# (one file per process), so that a report in a child process that its test did not notice is
# still seen: tests/sanitizers/check_reports.sh fails when the directory is not empty.
_chord_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_chord_reports=$(cd "${1:?usage: source tests/sanitizers/env.sh BUILD_DIR}" && pwd)/sanitizer-reports
mkdir -p "$_chord_reports"
# halt_on_error: the first report ends the process (a test fails instead of scrolling on).
# log_path: the report goes to a file named after the process (NAME.PID) instead of stderr.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$_chord_reports/asan"
export LSAN_OPTIONS="suppressions=$_chord_root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$_chord_reports/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$_chord_root/tests/sanitizers/tsan.supp:print_suppressions=0:log_path=$_chord_reports/tsan"
unset _chord_root _chord_reports
