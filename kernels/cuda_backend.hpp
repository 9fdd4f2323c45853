// Entry points of the CUDA backend, as the host dispatcher sees them: plain C++, no CUDA header,
// so host/ compiles without the toolkit. Implemented in kernels/ (nvcc) when ACTK_WITH_CUDA.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "host/backend.hpp"

namespace actk::cuda {

/// Where a pointer lives, as the CUDA runtime reports it.
enum class MemorySpace { host, device };

/// Whether a usable CUDA device is present; `why` receives the runtime's reason if not.
bool device_available(std::string* why);

/// host for plain host memory (or when no device is usable), device for device or managed memory.
MemorySpace memory_space(const void* pointer);

/// Enqueues one elementwise call on call.stream. Returns an empty string on success, else the
/// CUDA error string of the failed launch. Never throws, never synchronizes.
std::string launch_elementwise(const detail::ElementwiseCall& call);

/// The structured activations' launches, same contract as launch_elementwise. Reductions
/// (dweight, dbias) take stream-ordered workspace (cudaMallocAsync / cudaFreeAsync).
std::string launch_structured(const detail::PreluCall& call);
std::string launch_structured(const detail::MaxoutCall& call);
std::string launch_structured(const detail::GatedCall& call);
std::string launch_structured(const detail::BiasCall& call);

/// Caps the blocks of every later launch at `blocks` (0: no cap but one full wave), so that tests
/// can show that no result depends on the launch configuration. Atomic: safe to call from any
/// thread, but launches already enqueued keep their grid.
void set_block_limit(unsigned blocks);

/// Plain device memory for the tools (validation suite, comparison, benchmarks); never used by
/// the passes themselves. Each returns false (or null) and fills `error` on failure.
void* device_allocate(std::size_t bytes, std::string* error);
void device_free(void* pointer);
bool copy_to_device(void* device, const void* host, std::size_t bytes, std::string* error);
bool copy_to_host(void* host, const void* device, std::size_t bytes, std::string* error);
/// Waits for all work on `stream` (null: the legacy default stream).
bool synchronize(void* stream, std::string* error);
/// Enqueues a device-to-device copy (cudaMemcpyAsync) on `stream`: the bandwidth roofline.
bool copy_device_to_device(void* device_out, const void* device_in, std::size_t bytes, void* stream, std::string* error);
/// Mean milliseconds per run of `work` (which enqueues on `stream`), timed with CUDA events over
/// `repetitions` runs after one warm-up run. Negative on error.
double time_ms(const std::function<void()>& work, int repetitions, void* stream, std::string* error);

}  // namespace actk::cuda
