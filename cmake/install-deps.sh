#!/bin/sh
# Installs the Debian packages actk needs beyond the base toolchain (cmake, gcc, nvcc, GoogleTest,
# Google Benchmark), and only those that are missing. Idempotent; runs as root with no stdin
# (CI), and runs `apt-get update` at most once, only when something has to be installed.
#
#   libdnnl-dev         oneDNN, the peer baseline of bench/bench_cpu.cpp (its rows skip without it)
#   libopenblas-dev     the BLAS of `actk lab`'s GEMMs (configure takes any CBLAS, OpenBLAS first)
#   python3-matplotlib  plots of the benchmark report and of the lab
#
# and, for the python3 on PATH (pip, from PyPI), the Python modules that are missing:
#
#   nanobind, scikit-build-core   build the module actk._actk (host/python)
#   numpy, ml_dtypes, pytest      its tests (tests/python); ml_dtypes gives NumPy a bfloat16
#   torch                         the actk.torch ops, their tests and bench/bench_torch.py; a
#                                 failed install (about 5 GB with its CUDA libraries) only warns,
#                                 and the torch tests then report themselves skipped by name
#
# The cpu backend needs no vector math library: host/cpu/README.md says why (measured).
#
# Usage: sh cmake/install-deps.sh [package...]   (no argument: all of the above; arguments: only
# those Debian packages)
set -eu

packages=${*:-"libdnnl-dev libopenblas-dev python3-matplotlib"}

install_python_modules() {
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "install-deps: no python3 on PATH: the Python module and its tests are left out"
    return 0
  fi
  # module:requirement pairs; the module name is what `import` takes.
  required=""
  for pair in "nanobind:nanobind>=2.0" "scikit_build_core:scikit-build-core>=0.10" "numpy:numpy>=1.24" \
      "ml_dtypes:ml_dtypes>=0.4" "pytest:pytest>=7"; do
    "$python" -c "import ${pair%%:*}" 2>/dev/null || required="$required ${pair#*:}"
  done
  if [ -n "$required" ]; then
    echo "install-deps: pip installing$required for $python"
    # shellcheck disable=SC2086
    "$python" -m pip install -q $required </dev/null
  fi
  if "$python" -c "import torch" 2>/dev/null; then
    echo "install-deps: python modules all present (torch $("$python" -c 'import torch; print(torch.__version__)'))"
  else
    echo "install-deps: pip installing torch>=2.4 for $python"
    "$python" -m pip install -q "torch>=2.4" </dev/null ||
      echo "install-deps: WARNING: torch did not install: the actk.torch tests will be skipped"
  fi
}

missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done

if [ $# -eq 0 ]; then
  install_python_modules
fi

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
