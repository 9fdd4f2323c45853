// Registration functions of actk-bench's benchmark files; main.cpp calls each once.
#pragma once

namespace actk::bench {

/// The cpu, reference, oneDNN, copy and textbook rows (bench_cpu.cpp).
void register_cpu_benchmarks();

/// The structured rows, fused against unfused, on cpu and (in CUDA builds) cuda (bench_structured.cpp).
void register_structured_benchmarks();

/// The cuda, thrust, cuDNN, copy and launch rows (bench_gpu.cu; only in CUDA builds).
void register_gpu_benchmarks();

}  // namespace actk::bench
