#!/usr/bin/env bash
# Sanitizer reports left in BUILD_DIR/sanitizer-reports/ (see cmake/sanitizers.cmake and
# tests/sanitizers/env.sh), one file per process that reported:
#   check_reports.sh BUILD_DIR        every report there (after a whole run)
#   check_reports.sh BUILD_DIR TEST   the reports of the processes of ctest test TEST (run by
#                                     ctest as TEST.sanitizer_reports right after TEST); they are
#                                     removed once printed, so that a later run starts clean
# Prints each report and fails if there is any.
set -euo pipefail
dir=${1:?usage: check_reports.sh BUILD_DIR [TEST]}/sanitizer-reports
test=${2:-}
shopt -s nullglob
if [ -n "$test" ]; then
  files=("$dir/$test".asan.* "$dir/$test".ubsan.* "$dir/$test".tsan.*)
else
  files=("$dir"/*)
fi
if ((${#files[@]})); then
  for f in "${files[@]}"; do
    echo "=== $f"
    cat "$f"
  done
  echo "${#files[@]} sanitizer report(s) in $dir${test:+ from test $test}" >&2
  [ -z "$test" ] || rm -f "${files[@]}"
  exit 1
fi
echo "no sanitizer reports in $dir${test:+ from test $test}"
