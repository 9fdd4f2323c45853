// actk-bench: registers every benchmark file's rows from the catalogue, then runs Google Benchmark.
// Row names read <pass>/<activation>/<dtype>/<backend>/<n>; filter with --benchmark_filter.
#include <benchmark/benchmark.h>

#include "bench/registry.hpp"

int main(int argc, char** argv) {
  actk::bench::register_cpu_benchmarks();
  actk::bench::register_structured_benchmarks();
#ifdef ACTK_WITH_CUDA
  actk::bench::register_gpu_benchmarks();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
