// The CUDA backend's host side: device discovery, memory spaces, the dispatch switch and the
// launch geometry. Plain C++ against the CUDA runtime API; the kernels are in the generated
// activations/<name>.cu files, the tools' device memory in device_tools.cpp.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/launch.hpp"

namespace actk::cuda {
namespace detail {
namespace {

// The backend's global state: two thread-safe caches (below) and the tests' block limit.
// The first: each device's multiprocessor count, read on first use
// (the grid of every launch depends on it). Lock-free and thread-safe: threads that race on
// the first read store the same value. Devices numbered kCachedDevices and up are queried on
// every launch. Zero (not read yet) by static zero-initialization: no CUDA call at start-up.
constexpr int kCachedDevices = 64;
std::atomic<int> g_multiprocessors[kCachedDevices];

// The tests' cap on the blocks of a launch (set_block_limit); 0 for none.
std::atomic<unsigned> g_block_limit{0};

// The second cache: each device's workspace pool for the structured reductions, created on first
// use under the mutex (a handful of calls per process), never destroyed.
std::mutex g_pool_mutex;
cudaMemPool_t g_pools[kCachedDevices] = {};

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

cudaError_t workspace_allocate(void** pointer, std::size_t bytes, cudaStream_t stream) {
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status != cudaSuccess) return status;
  if (device < 0 || device >= kCachedDevices) return cudaMallocAsync(pointer, bytes, stream);
  cudaMemPool_t pool = nullptr;
  {
    const std::lock_guard<std::mutex> lock(g_pool_mutex);
    if (!g_pools[device]) {
      cudaMemPoolProps properties{};
      properties.allocType = cudaMemAllocationTypePinned;
      properties.location.type = cudaMemLocationTypeDevice;
      properties.location.id = device;
      status = cudaMemPoolCreate(&g_pools[device], &properties);
      if (status != cudaSuccess) return status;
      // Keep freed memory for the next call instead of returning it at each synchronization.
      std::uint64_t keep_everything = UINT64_MAX;
      status = cudaMemPoolSetAttribute(g_pools[device], cudaMemPoolAttrReleaseThreshold, &keep_everything);
      if (status != cudaSuccess) return status;
    }
    pool = g_pools[device];
  }
  return cudaMallocFromPoolAsync(pointer, bytes, pool, stream);
}

cudaError_t grid_size(std::int64_t work, unsigned* blocks) {
  int multiprocessors = 0;
  const cudaError_t status = multiprocessor_count(&multiprocessors);
  if (status != cudaSuccess) return status;
  const std::int64_t needed = (work + kThreadsPerBlock - 1) / kThreadsPerBlock;
  std::int64_t wave = static_cast<std::int64_t>(multiprocessors) * kBlocksPerMultiprocessor;
  const unsigned limit = g_block_limit.load(std::memory_order_relaxed);
  if (limit > 0) wave = std::min<std::int64_t>(wave, limit);
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

namespace {

// The message of a launch: `status` from before the launch, else the launch's own error, which
// a kernel launch reports (bad configuration, no kernel image for this device) through the
// per-thread last error; reading it also clears it.
std::string launch_result(cudaError_t status) {
  const cudaError_t launch = cudaGetLastError();
  if (status == cudaSuccess) status = launch;
  return status == cudaSuccess ? std::string() : std::string(cudaGetErrorString(status));
}

}  // namespace

// The dispatch of the launchers instantiated per elementwise activation: one `case` per entry,
// made by CASE(id, Functor, ...); the structured entries get cudaErrorInvalidValue.
#define ACTK_FUNCTOR_SWITCH(activation, CASE) \
  switch (activation) {                       \
    ACTK_ELEMENTWISE_ACTIVATIONS(CASE)        \
    default: return cudaErrorInvalidValue;    \
  }

std::string launch_elementwise(const actk::detail::ElementwiseCall& call) {
  if (call.count == 0) return {};
  auto launch = [&]() -> cudaError_t {
#define ACTK_LAUNCH_CASE(id, Functor, params, from_output) \
  case Activation::id: return detail::launch_elementwise_op<math::Functor>(call);
    ACTK_FUNCTOR_SWITCH(call.activation, ACTK_LAUNCH_CASE)
#undef ACTK_LAUNCH_CASE
  };
  return launch_result(launch());
}

std::string launch_structured(const actk::detail::BiasCall& call) {
  auto launch = [&]() -> cudaError_t {
#define ACTK_LAUNCH_CASE(id, Functor, params, from_output) \
  case Activation::id: return detail::launch_bias_op<math::Functor>(call);
    ACTK_FUNCTOR_SWITCH(call.activation, ACTK_LAUNCH_CASE)
#undef ACTK_LAUNCH_CASE
  };
  return launch_result(launch());
}

std::string launch_structured(const actk::detail::GatedCall& call) {
  auto launch = [&]() -> cudaError_t {
#define ACTK_LAUNCH_CASE(id, Functor, params, from_output) \
  case Activation::id: return detail::launch_gated_op<Activation::id, math::Functor>(call);
    ACTK_FUNCTOR_SWITCH(call.activation, ACTK_LAUNCH_CASE)
#undef ACTK_LAUNCH_CASE
  };
  return launch_result(launch());
}

std::string launch_structured(const actk::detail::PreluCall& call) { return launch_result(detail::launch_prelu_op(call)); }

std::string launch_structured(const actk::detail::MaxoutCall& call) { return launch_result(detail::launch_maxout_op(call)); }

void set_block_limit(unsigned blocks) { detail::g_block_limit.store(blocks, std::memory_order_relaxed); }

}  // namespace actk::cuda
