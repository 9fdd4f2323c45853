#!/bin/sh
# The runs that prove actk's GPU claims, for a session lent a GPU machine (the library's `device`
# tool: an H100/H200 with nvcc, CMake, ninja and PyTorch, but no GoogleTest or Google Benchmark,
# and no network). Each stage fits one 10-minute command and leaves its files in the folder given
# (the tool's $OUT), ready for bench/results/<date>-<gpu>/:
#
#   sh bench/gpu_session.sh prepare         here, first: Debian's GoogleTest and Google Benchmark
#                                           unpacked into .deps/ (git-ignored), and the commit
#   sh bench/gpu_session.sh test  "$OUT"    there: build for sm_90, every test (the gpu label
#                                           included), the gpu `large` tests, validate, compare
#   sh bench/gpu_session.sh bench "$OUT"    there: actk-bench's cuda rows (elementwise and
#                                           structured) and bench/torch_peer.py, one report
#
# `run` carries .deps (carry: [".deps"]); the build folder, build/gpu, is kept between the calls
# while the machine stays warm, and rebuilt by `bench` when it is not. cuDNN, a peer of the bench,
# comes from PyTorch's nvidia-cudnn wheel when there is one.
set -eu
cd "$(dirname "$0")/.."
stage=${1:?"usage: gpu_session.sh prepare | test OUTDIR | bench OUTDIR"}
build=build/gpu

prepare() {
  mkdir -p .deps
  (cd .deps && rm -f ./*.deb && apt-get download libgtest-dev libbenchmark-dev libbenchmark1debian >/dev/null &&
    for deb in ./*.deb; do dpkg -x "$deb" root; done)
  { git rev-parse HEAD; git status --porcelain | grep -q . && echo "(with uncommitted changes)" || true; } >.deps/commit
  echo "gpu_session: .deps ready for commit $(head -n 1 .deps/commit)"
}

# cuDNN from PyTorch's wheel, when there is one: its folder, and its libraries on the loader's
# path for every stage (libcudnn loads its parts at run time).
cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
if [ -n "$cudnn" ] && [ -f "$cudnn/include/cudnn.h" ]; then
  export LD_LIBRARY_PATH="$cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  cudnn=
fi

# Configures and builds build/gpu for sm_90, with cuDNN when there is one.
build() {
  set --
  if [ -n "$cudnn" ]; then
    set -- -DACTK_CUDNN_INCLUDE_DIR="$cudnn/include" -DACTK_CUDNN_LIBRARY="$(ls "$cudnn"/lib/libcudnn.so* | head -n 1)"
  fi
  generator=
  command -v ninja >/dev/null && generator="-GNinja"
  cmake -S . -B "$build" $generator -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_PREFIX_PATH="$PWD/.deps/root/usr" "$@" >"$out/configure.txt" 2>&1 || { tail -n 30 "$out/configure.txt"; exit 1; }
  cmake --build "$build" --parallel "$(nproc)" >"$out/build.txt" 2>&1 || { tail -n 60 "$out/build.txt"; exit 1; }
}

machine() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(cat .deps/commit 2>/dev/null || echo unknown)"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv || echo "nvidia-smi: not available"
    nvcc --version | tail -n 2 || true
    python3 -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || true
    echo "cpu: $(nproc) x $(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2)"
  } >"$out/machine.txt"
}

if [ "$stage" = prepare ]; then
  prepare
  exit 0
fi
out=${2:?"gpu_session.sh $stage needs the output folder"}
mkdir -p "$out"
machine
case "$stage" in
  test)
    build
    # Every test of the suite (CPU and GPU), then the gpu `large` ones (> 2^31 elements).
    ctest --test-dir "$build" --label-exclude large --parallel 8 --output-on-failure >"$out/ctest.txt" 2>&1 || true
    tail -n 3 "$out/ctest.txt"
    "$build"/tests/gpu/actk_gpu_large_tests >"$out/large.txt" 2>&1 || true
    tail -n 3 "$out/large.txt"
    "$build"/actk validate --json "$out/validate.json" >"$out/validate.txt" 2>&1 || true
    tail -n 3 "$out/validate.txt"
    "$build"/actk compare >"$out/compare.txt" 2>&1 || true
    tail -n 3 "$out/compare.txt"
    ;;
  bench)
    [ -x "$build/actk-bench" ] || build
    # The cuda rows (their copy, launch, thrust and cuDNN baselines are timed in the same
    # iterations) at 2^16 .. 2^26; the structured rows at their own sizes.
    "$build"/actk-bench \
      --benchmark_filter='^(forward|backward)/[a-z0-9_]+/(f32|f16|bf16)/cuda/(65536|1048576|4194304|16777216|67108864)(/|$)|^(forward_bias|backward_bias)/.*/cuda/' \
      --benchmark_min_time=0.05 --benchmark_out="$out/bench_gpu.json" --benchmark_out_format=json >"$out/bench.txt" 2>&1
    python3 bench/torch_peer.py --out "$out/torch_peer.json" --sizes 16,20,22,24,26
    python3 bench/report.py "$out/bench_gpu.json" "$out/torch_peer.json" --out /tmp/actk-report >/dev/null
    cp /tmp/actk-report/report.md "$out/report.md"
    echo "gpu_session: $(grep -c '"name"' "$out/bench_gpu.json") actk-bench rows, report in $out/report.md"
    ;;
  *) echo "gpu_session.sh: unknown stage $stage (prepare, test, bench)" >&2; exit 2 ;;
esac
