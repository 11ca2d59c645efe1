#!/usr/bin/env bash
# Fails (and prints them) if a sanitized run left reports in BUILD_DIR/sanitizer-reports/
# (see tests/sanitizers/env.sh).
set -euo pipefail
reports=${1:?usage: check_reports.sh BUILD_DIR}/sanitizer-reports
shopt -s nullglob
files=("$reports"/*)
if ((${#files[@]})); then
  for f in "${files[@]}"; do
    echo "=== $f"
    cat "$f"
  done
  echo "${#files[@]} sanitizer report(s) in $reports" >&2
  exit 1
fi
echo "no sanitizer reports in $reports"
