#!/bin/sh
# Installs the Debian packages actk needs beyond the base toolchain (cmake, gcc, nvcc, GoogleTest,
# Google Benchmark), and only those that are missing. Idempotent; runs as root with no stdin
# (CI), and runs `apt-get update` at most once, only when something has to be installed.
#
#   libdnnl-dev         oneDNN, the peer baseline of bench/bench_cpu.cpp (its rows skip without it)
#   python3-matplotlib  plots of the benchmark report
#
# The cpu backend needs no vector math library: host/cpu/README.md says why (measured).
#
# Usage: sh cmake/install-deps.sh [package...]   (no argument: all of the above)
set -eu

packages=${*:-"libdnnl-dev python3-matplotlib"}

missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps: all present ($packages)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
# shellcheck disable=SC2086  # the list is meant to split into words
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
