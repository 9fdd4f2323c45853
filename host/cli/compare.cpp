// `actk compare`: CPU against GPU for a person at a terminal. For each activation, forward and
// backward at a few sizes: time and GB/s on `cpu` and `cuda`, the fraction of the same-run copy
// bandwidth each reaches, and the GPU's speed-up. GPU work is timed with CUDA events. The inputs
// are actk-bench's realistic ones unless the battery is asked for.
#include "host/cli/compare.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "actk/actk.hpp"
#include "host/validation/battery.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk::cli {
namespace {

constexpr int kRepetitions = 7;

// Best of kRepetitions wall-clock runs, in milliseconds (the minimum filters out interference).
template <class Work>
double best_ms(Work&& work) {
  work();  // warm-up: first touch, thread pool start
  double best = 1e300;
  for (int r = 0; r < kRepetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

// The CPU roofline: the same bytes copied by every OpenMP thread, each its own contiguous share.
void parallel_copy(void* out, const void* in, std::size_t bytes) {
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
#pragma omp parallel
  {
    const std::size_t threads = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t begin = bytes * t / threads, end = bytes * (t + 1) / threads;
    std::memcpy(dst + begin, src + begin, end - begin);
  }
}

struct Timing {
  double ms = -1;        // negative: not run
  double copy_ms = -1;   // the same bytes copied on the same device, same run
};

// Bytes a pass moves: forward reads x and writes y; backward reads x and dy and writes dx.
std::size_t bytes_moved(Pass pass, std::int64_t n, DType dtype) {
  return static_cast<std::size_t>(n) * dtype_size(dtype) * (pass == Pass::forward ? 2 : 3);
}

Timing time_cpu(Activation a, Pass pass, const validation::HostBuffer& x, const validation::HostBuffer& dy) {
  validation::HostBuffer out(x.dtype(), x.count());
  Options options;
  options.backend = Backend::cpu;
  Timing t;
  t.ms = best_ms([&] {
    if (pass == Pass::forward) {
      forward(a, x.view(), out.view(), options);
    } else {
      backward(a, x.view(), dy.view(), out.view(), options);
    }
  });
  // Copy as many bytes as the pass moves: half read, half written.
  const std::size_t half = bytes_moved(pass, x.count(), x.dtype()) / 2;
  std::vector<unsigned char> from(half), to(half);
  t.copy_ms = best_ms([&] { parallel_copy(to.data(), from.data(), half); });
  return t;
}

#ifdef ACTK_WITH_CUDA
Timing time_cuda(Activation a, Pass pass, const validation::HostBuffer& x, const validation::HostBuffer& dy,
                 std::string* error) {
  const std::size_t bytes = static_cast<std::size_t>(x.count()) * dtype_size(x.dtype());
  void* buffers[3] = {};
  Timing t;
  for (void*& b : buffers) {
    b = cuda::device_allocate(bytes, error);
    if (!b) break;
  }
  if (buffers[2] && cuda::copy_to_device(buffers[0], x.data(), bytes, error) &&
      cuda::copy_to_device(buffers[1], dy.data(), bytes, error)) {
    Options options;
    options.backend = Backend::cuda;
    const DType d = x.dtype();
    const std::int64_t n = x.count();
    t.ms = cuda::time_ms(
        [&] {
          if (pass == Pass::forward) {
            forward(a, {buffers[0], d, n}, {buffers[2], d, n}, options);
          } else {
            backward(a, {buffers[0], d, n}, {buffers[1], d, n}, {buffers[2], d, n}, options);
          }
        },
        kRepetitions, nullptr, error);
    // The roofline moves the same bytes: a device-to-device copy of half of them.
    const std::size_t half = bytes_moved(pass, n, d) / 2;
    void* from = cuda::device_allocate(half, error);
    void* to = cuda::device_allocate(half, error);
    if (from && to) {
      t.copy_ms = cuda::time_ms([&] { cuda::copy_device_to_device(to, from, half, nullptr, error); }, kRepetitions,
                                nullptr, error);
    }
    cuda::device_free(from);
    cuda::device_free(to);
  }
  for (void* b : buffers) cuda::device_free(b);
  return t;
}
#endif

std::string cell(double ms, std::size_t bytes, double copy_ms) {
  if (ms < 0) return "        -       -     -";
  char text[64];
  std::snprintf(text, sizeof text, "%9.1f %7.1f %5.2f", ms * 1e3, bytes / (ms * 1e6), copy_ms / ms);
  return text;
}

}  // namespace

int compare(const std::vector<std::string>& names, const std::vector<std::int64_t>& sizes, DType dtype,
            CompareInputs inputs) {
  std::string why;
  const bool have_cuda = backend_available(Backend::cuda, &why);
  std::printf("actk compare: %s, cpu with %d OpenMP threads, cuda %s\n", dtype_name(dtype), omp_get_max_threads(),
              have_cuda ? "available" : ("not available: " + why).c_str());
  if (inputs == CompareInputs::realistic) {
    std::printf("inputs: x uniform on [-%g, %g], dy uniform on [-%g, %g] (seeded; actk-bench's)\n",
                validation::kRealisticX, validation::kRealisticX, validation::kRealisticDy, validation::kRealisticDy);
  } else {
    std::printf("inputs: x the validation battery of each activation, repeated; dy its gradients\n");
  }
  std::printf("time in us, GB/s, fraction of the same-run copy bandwidth (copy time / op time)\n\n");
  std::printf("%-12s %-8s %10s | %9s %7s %5s | %9s %7s %5s | %8s\n", "activation", "pass", "n", "cpu us", "GB/s",
              "copy", "cuda us", "GB/s", "copy", "speed-up");

  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
    if (!names.empty() && std::find(names.begin(), names.end(), entry.name) == names.end()) continue;
    const validation::HostBuffer battery = validation::battery(entry.activation, {}, dtype, 0, false);
    for (std::int64_t n : sizes) {
      validation::HostBuffer input(dtype, n), dy(dtype, n);
      if (inputs == CompareInputs::realistic) {
        input = validation::uniform(dtype, n, validation::kRealisticX, 0x5eed);
        dy = validation::uniform(dtype, n, validation::kRealisticDy, 0x6a7d);
      } else {
        std::vector<double> values(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) values[i] = battery.at(i % battery.count());
        input = validation::HostBuffer(dtype, values);
        dy = validation::gradients(dtype, n);
      }
      for (Pass pass : {Pass::forward, Pass::backward}) {
        const std::size_t bytes = bytes_moved(pass, n, dtype);
        const Timing cpu = time_cpu(entry.activation, pass, input, dy);
        Timing gpu;
#ifdef ACTK_WITH_CUDA
        if (have_cuda) gpu = time_cuda(entry.activation, pass, input, dy, &why);
#endif
        char speedup[32] = "-";
        if (gpu.ms > 0) std::snprintf(speedup, sizeof speedup, "%7.1fx", cpu.ms / gpu.ms);
        std::printf("%-12s %-8s %10lld | %s | %s | %8s\n", entry.name, pass_name(pass), static_cast<long long>(n),
                    cell(cpu.ms, bytes, cpu.copy_ms).c_str(), cell(gpu.ms, bytes, gpu.copy_ms).c_str(), speedup);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace actk::cli
