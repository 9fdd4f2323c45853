// GPU rows of actk-bench, registered from the catalogue: for every elementwise activation, forward
// and backward, f32/f16/bf16, n = 2^12 .. 2^26, the rows
//   cuda         actk's kernels
//   thrust       thrust::transform with a plain functor over the same math (what a user writes
//                by hand around a formula): the launcher's worth, measured
//   cudnn        cudnnActivationForward/Backward, for the activations cuDNN has
//   copy         cudaMemcpyAsync device-to-device of the bytes the pass moves: the roofline
//   copy_kernel  a plain copy kernel over the same bytes
//   launch       an empty kernel: the floor for small n
// All timed with CUDA events (manual time), each iteration also timing the copy and the launch
// floor, so every ratio compares runs made under the same conditions. Counters: bytes_per_second,
// vs_copy (copy time / row time), vs_launch (empty-kernel time / row time), and vs_<peer> (peer
// time / row time) on the cuda rows where that peer ran. Without a device every row skips, saying
// why.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <thrust/device_ptr.h>
#include <thrust/transform.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "actk/actk.hpp"
#include "bench/registry.hpp"
#include "kernels/activation_math.hpp"
#include "kernels/elementwise.cuh"
#ifdef ACTK_BENCH_WITH_CUDNN
#include <cudnn.h>
#endif

namespace actk::bench {
namespace {

// ---- device buffers, per (dtype, n), made once ----

struct DeviceBuffers {
  void* x = nullptr;
  void* dy = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
};

bool device_present(std::string* why) { return backend_available(Backend::cuda, why); }

DeviceBuffers& buffers(DType dtype, std::int64_t n) {
  static std::map<std::pair<DType, std::int64_t>, DeviceBuffers> cache;
  DeviceBuffers& b = cache[{dtype, n}];
  if (!b.x) {
    const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
    for (void** p : {&b.x, &b.dy, &b.y, &b.dx}) {
      cudaMalloc(p, bytes);
      cudaMemset(*p, 0x3c, bytes);  // 1.0-ish values in every type: finite, not special
    }
  }
  return b;
}

std::size_t pass_bytes(Pass pass, std::int64_t n, DType dtype) {
  return static_cast<std::size_t>(n) * dtype_size(dtype) * (pass == Pass::forward ? 2 : 3);
}

// ---- the baselines ----

__global__ void empty_kernel() {}

// Copies 16-byte words with a grid-stride loop: the plain kernel a user would write.
__global__ void copy_kernel(const uint4* in, uint4* out, std::int64_t words) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < words;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = in[i];
  }
}

// ---- thrust: the same math through thrust::transform ----

template <class Op, class S>
struct ThrustForward {
  Op op;
  __device__ S operator()(S x) const { return cuda::detail::convert<S>(op.forward(cuda::detail::convert<float>(x))); }
};

template <class Op, class S>
struct ThrustBackward {
  Op op;
  __device__ S operator()(S x, S dy) const {
    return cuda::detail::convert<S>(cuda::detail::convert<float>(dy) * op.derivative(cuda::detail::convert<float>(x)));
  }
};

template <class T>
void thrust_pass(Activation activation, Pass pass, std::int64_t n, const DeviceBuffers& b) {
  using S = typename cuda::detail::DeviceType<T>::type;
  const thrust::device_ptr<S> x(static_cast<S*>(b.x)), dy(static_cast<S*>(b.dy)), y(static_cast<S*>(b.y)),
      dx(static_cast<S*>(b.dx));
  const ActivationParams params{};
  switch (activation) {
#define ACTK_THRUST_CASE(id, Functor, p, f)                                                              \
  case Activation::id:                                                                                   \
    if (pass == Pass::forward) {                                                                         \
      thrust::transform(x, x + n, y, ThrustForward<math::Functor<float>, S>{math::Functor<float>(params)}); \
    } else {                                                                                             \
      thrust::transform(x, x + n, dy, dx, ThrustBackward<math::Functor<float>, S>{math::Functor<float>(params)}); \
    }                                                                                                    \
    break;
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_THRUST_CASE)
#undef ACTK_THRUST_CASE
    default: break;
  }
}

// ---- cuDNN ----

#ifdef ACTK_BENCH_WITH_CUDNN
bool cudnn_mode(Activation activation, cudnnActivationMode_t* mode, double* coef) {
  *coef = 0;
  switch (activation) {
    case Activation::sigmoid: *mode = CUDNN_ACTIVATION_SIGMOID; return true;
    case Activation::relu: *mode = CUDNN_ACTIVATION_RELU; return true;
    case Activation::tanh: *mode = CUDNN_ACTIVATION_TANH; return true;
    case Activation::relu6: *mode = CUDNN_ACTIVATION_CLIPPED_RELU, *coef = 6; return true;
    case Activation::elu: *mode = CUDNN_ACTIVATION_ELU, *coef = 1; return true;
    case Activation::silu: *mode = CUDNN_ACTIVATION_SWISH; return true;
    default: return false;
  }
}

// A prepared cuDNN call, or an empty function and the reason.
std::function<void()> cudnn_work(Activation activation, Pass pass, DType dtype, std::int64_t n, const DeviceBuffers& b,
                                 std::string* why) {
  cudnnActivationMode_t mode;
  double coef;
  if (!cudnn_mode(activation, &mode, &coef)) {
    *why = std::string("cuDNN has no ") + activation_name(activation) + " activation";
    return {};
  }
  static cudnnHandle_t handle = nullptr;
  if (!handle && cudnnCreate(&handle) != CUDNN_STATUS_SUCCESS) {
    *why = "cudnnCreate failed";
    return {};
  }
  const cudnnDataType_t type = dtype == DType::f16 ? CUDNN_DATA_HALF : dtype == DType::bf16 ? CUDNN_DATA_BFLOAT16
                               : dtype == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  cudnnTensorDescriptor_t tensor;
  cudnnActivationDescriptor_t act;
  cudnnCreateTensorDescriptor(&tensor);
  cudnnCreateActivationDescriptor(&act);
  if (cudnnSetTensor4dDescriptor(tensor, CUDNN_TENSOR_NCHW, type, 1, 1, 1, static_cast<int>(n)) != CUDNN_STATUS_SUCCESS ||
      cudnnSetActivationDescriptor(act, mode, CUDNN_NOT_PROPAGATE_NAN, coef) != CUDNN_STATUS_SUCCESS) {
    *why = "cuDNN rejected the descriptors";
    return {};
  }
  if (mode == CUDNN_ACTIVATION_SWISH) cudnnSetActivationDescriptorSwishBeta(act, 1.0);
  // Scaling factors are float for half/bf16/float data, double for double data.
  static const float one_f = 1, zero_f = 0;
  static const double one_d = 1, zero_d = 0;
  const void* one = dtype == DType::f64 ? static_cast<const void*>(&one_d) : &one_f;
  const void* zero = dtype == DType::f64 ? static_cast<const void*>(&zero_d) : &zero_f;
  auto work = [=] {
    if (pass == Pass::forward) {
      return cudnnActivationForward(handle, act, one, tensor, b.x, zero, tensor, b.y);
    }
    return cudnnActivationBackward(handle, act, one, tensor, b.y, tensor, b.dy, tensor, b.x, zero, tensor, b.dx);
  };
  if (work() != CUDNN_STATUS_SUCCESS) {
    *why = std::string("cuDNN does not run ") + activation_name(activation) + " in " + dtype_name(dtype);
    return {};
  }
  return [work] { work(); };
}
#else
std::function<void()> cudnn_work(Activation, Pass, DType, std::int64_t, const DeviceBuffers&, std::string* why) {
  *why = "actk-bench was built without cuDNN";
  return {};
}
#endif

// ---- the rows ----

enum class Row { cuda, thrust, cudnn, copy, copy_kernel, launch };
const char* row_name(Row row) {
  switch (row) {
    case Row::cuda: return "cuda";
    case Row::thrust: return "thrust";
    case Row::cudnn: return "cudnn";
    case Row::copy: return "copy";
    case Row::copy_kernel: return "copy_kernel";
    case Row::launch: return "launch";
  }
  return "?";
}

// Milliseconds per run of `work`, over `reps` runs between two events.
double time_ms(const std::function<void()>& work, int reps) {
  static cudaEvent_t start = nullptr, stop = nullptr;
  if (!start) cudaEventCreate(&start), cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int r = 0; r < reps; ++r) work();
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  return ms / reps;
}

void run_row(benchmark::State& state, Activation activation, Pass pass, DType dtype, Row row, std::int64_t n) {
  std::string why;
  if (!device_present(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const DeviceBuffers& b = buffers(dtype, n);
  const std::size_t half = pass_bytes(pass, n, dtype) / 2;
  // The copy baselines move the pass's bytes, half read and half written: x to y (n elements),
  // plus, for a backward pass (3n elements moved), half of dy to dx.
  const std::size_t element_bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
  auto copy = [&, half] {
    cudaMemcpyAsync(b.y, b.x, std::min(half, element_bytes), cudaMemcpyDeviceToDevice);
    if (half > element_bytes) cudaMemcpyAsync(b.dx, b.dy, half - element_bytes, cudaMemcpyDeviceToDevice);
  };
  auto copy_with_kernel = [&, half] {
    const std::int64_t words = static_cast<std::int64_t>(std::min(half, element_bytes) / 16);
    copy_kernel<<<1024, 256>>>(static_cast<const uint4*>(b.x), static_cast<uint4*>(b.y), words);
    if (half > element_bytes) {
      copy_kernel<<<1024, 256>>>(static_cast<const uint4*>(b.dy), static_cast<uint4*>(b.dx),
                                 static_cast<std::int64_t>((half - element_bytes) / 16));
    }
  };
  auto launch = [] { empty_kernel<<<1, 32>>>(); };
  Options options;
  options.backend = Backend::cuda;
  auto actk_pass = [&] {
    const ConstTensorView x(b.x, dtype, n), dy(b.dy, dtype, n);
    if (pass == Pass::forward) {
      forward(activation, x, TensorView(b.y, dtype, n), options);
    } else {
      backward(activation, x, dy, TensorView(b.dx, dtype, n), options);
    }
  };
  auto thrust_work = [&] {
    switch (dtype) {
      case DType::f16: return thrust_pass<Half>(activation, pass, n, b);
      case DType::bf16: return thrust_pass<BFloat16>(activation, pass, n, b);
      default: return thrust_pass<float>(activation, pass, n, b);
    }
  };

  std::function<void()> work;
  switch (row) {
    case Row::cuda: work = actk_pass; break;
    case Row::thrust: work = thrust_work; break;
    case Row::copy: work = copy; break;
    case Row::copy_kernel: work = copy_with_kernel; break;
    case Row::launch: work = launch; break;
    case Row::cudnn:
      work = cudnn_work(activation, pass, dtype, n, b, &why);
      if (!work) {
        state.SkipWithError(why.c_str());
        return;
      }
      break;
  }
  // The peers the cuda row is compared with, timed in the same iterations.
  std::string ignored;
  const std::function<void()> cudnn = row == Row::cuda ? cudnn_work(activation, pass, dtype, n, b, &ignored)
                                                       : std::function<void()>();
  const int reps = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(200, (std::int64_t{1} << 24) / n)));
  work();
  cudaDeviceSynchronize();
  if (cudaGetLastError() != cudaSuccess) {
    state.SkipWithError("the row's first run failed");
    return;
  }
  double ms = 0, copy_ms = 0, launch_ms = 0, thrust_ms = 0, cudnn_ms = 0;
  for (auto _ : state) {
    const double t = time_ms(work, reps);
    state.SetIterationTime(t / 1e3);
    ms += t;
    copy_ms += time_ms(copy, reps);
    launch_ms += time_ms(launch, reps);
    if (row == Row::cuda) {
      thrust_ms += time_ms(thrust_work, reps);
      if (cudnn) cudnn_ms += time_ms(cudnn, reps);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * pass_bytes(pass, n, dtype)));
  state.counters["vs_copy"] = copy_ms / ms;
  state.counters["vs_launch"] = launch_ms / ms;
  if (row == Row::cuda) {
    state.counters["vs_thrust"] = thrust_ms / ms;
    if (cudnn) state.counters["vs_cudnn"] = cudnn_ms / ms;
  }
}

}  // namespace

void register_gpu_benchmarks() {
  const Row rows[] = {Row::cuda, Row::thrust, Row::cudnn, Row::copy, Row::copy_kernel, Row::launch};
  for (const Pass pass : {Pass::forward, Pass::backward}) {
    for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
      for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
        for (const Row row : rows) {
          for (int log2 = 12; log2 <= 26; log2 += 2) {
            const std::int64_t n = std::int64_t{1} << log2;
            const std::string name = std::string(pass_name(pass)) + "/" + entry.name + "/" + dtype_name(dtype) + "/" +
                                     row_name(row) + "/" + std::to_string(n);
            benchmark::RegisterBenchmark(name.c_str(), [activation = entry.activation, pass, dtype, row, n](benchmark::State& s) {
              run_row(s, activation, pass, dtype, row, n);
            })->UseManualTime()->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
}

}  // namespace actk::bench
