#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo available):
#   ./build.sh ring [N [SETTINGS...]]
#                         install what is missing, build, start a local ring of N nodes (default 5;
#                         node settings such as --replicas 2 --id-bits 8 are passed on)
#   ./build.sh test       install what is missing, build, run the whole test suite, then install
#                         into a temporary prefix and build and test examples/counter against it
#   ./build.sh build      install what is missing and build only
# Build directory: $BUILD_DIR (default ./build). Jobs: $JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config libxmlrpc-c++8-dev libcurl4-openssl-dev
          libboost-program-options-dev libboost-log-dev libboost-test-dev libssl-dev
          libreadline-dev python3 libfuse3-dev fuse3 iproute2 libleveldb-dev)
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

# The installed package as a user gets it: install into a temporary prefix, build the example
# project against it alone (CMAKE_PREFIX_PATH) and run its tests.
test_example() {
  EXAMPLE_TMP=$(mktemp -d)
  trap 'rm -rf "$EXAMPLE_TMP"' EXIT
  cmake --install "$BUILD_DIR" --prefix "$EXAMPLE_TMP/prefix" >/dev/null
  cmake -S examples/counter -B "$EXAMPLE_TMP/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_PREFIX_PATH="$EXAMPLE_TMP/prefix" >/dev/null
  cmake --build "$EXAMPLE_TMP/build" -j "$JOBS"
  (cd "$EXAMPLE_TMP/build" && ctest --output-on-failure -j "$JOBS")
}

ring() {
  local n=${1:-5}
  shift || true
  "$BUILD_DIR/tools/create_chord" "$n" "$@"
}

case "${1:-}" in
  build) install_missing; build ;;
  test)
    install_missing
    build
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS")
    test_example
    ;;
  ring) install_missing; build; shift; ring "$@" ;;
  *) echo "usage: $0 ring [N] | test | build" >&2; exit 2 ;;
esac
