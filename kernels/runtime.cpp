// The CUDA backend's host side: device discovery, memory spaces, the dispatch switch and the
// launch geometry. Plain C++ against the CUDA runtime API; the kernels are in the generated
// activations/<name>.cu files, the tools' device memory in device_tools.cpp.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/launch.hpp"

namespace actk::cuda {
namespace detail {
namespace {

// The backend's only global state: each device's multiprocessor count, read on first use
// (the grid of every launch depends on it). Lock-free and thread-safe: threads that race on
// the first read store the same value. Devices numbered kCachedDevices and up are queried on
// every launch. Zero (not read yet) by static zero-initialization: no CUDA call at start-up.
constexpr int kCachedDevices = 64;
std::atomic<int> g_multiprocessors[kCachedDevices];

// A full wave: 2048 resident threads per multiprocessor on sm_80 and sm_90.
constexpr int kBlocksPerMultiprocessor = 2048 / kThreadsPerBlock;

cudaError_t multiprocessor_count(int* count) {
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status != cudaSuccess) return status;
  const bool cached = device >= 0 && device < kCachedDevices;
  if (cached) {
    *count = g_multiprocessors[device].load(std::memory_order_relaxed);
    if (*count > 0) return cudaSuccess;
  }
  status = cudaDeviceGetAttribute(count, cudaDevAttrMultiProcessorCount, device);
  if (status == cudaSuccess && cached) g_multiprocessors[device].store(*count, std::memory_order_relaxed);
  return status;
}

}  // namespace

cudaError_t grid_size(std::int64_t work, unsigned* blocks) {
  int multiprocessors = 0;
  const cudaError_t status = multiprocessor_count(&multiprocessors);
  if (status != cudaSuccess) return status;
  const std::int64_t needed = (work + kThreadsPerBlock - 1) / kThreadsPerBlock;
  const std::int64_t wave = static_cast<std::int64_t>(multiprocessors) * kBlocksPerMultiprocessor;
  *blocks = static_cast<unsigned>(std::clamp<std::int64_t>(needed, 1, wave));
  return cudaSuccess;
}

}  // namespace detail

bool device_available(std::string* why) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // a failed query must not leave an error for the next launch to report
    if (why) *why = std::string("no CUDA device: ") + cudaGetErrorString(status);
    return false;
  }
  if (devices == 0) {
    if (why) *why = "no CUDA device: the CUDA runtime reports none";
    return false;
  }
  return true;
}

MemorySpace memory_space(const void* pointer) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, pointer) != cudaSuccess) {
    (void)cudaGetLastError();  // no device, or a pointer the runtime does not know: host memory
    return MemorySpace::host;
  }
  const bool on_device = attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
  return on_device ? MemorySpace::device : MemorySpace::host;
}

std::string launch_elementwise(const actk::detail::ElementwiseCall& call) {
  if (call.count == 0) return {};
  cudaError_t status = cudaErrorInvalidValue;
  switch (call.activation) {
#define ACTK_LAUNCH_CASE(id, Functor, params, from_output)                 \
  case Activation::id:                                                     \
    status = detail::launch_elementwise_op<math::Functor>(call);           \
    break;
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_LAUNCH_CASE)
#undef ACTK_LAUNCH_CASE
    default: break;  // structured activations have their own entry points
  }
  // A launch reports its errors (bad configuration, no kernel image for this device) through
  // the per-thread last error; reading it also clears it.
  const cudaError_t launch = cudaGetLastError();
  if (status == cudaSuccess) status = launch;
  return status == cudaSuccess ? std::string() : std::string(cudaGetErrorString(status));
}

}  // namespace actk::cuda
