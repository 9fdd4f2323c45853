// Device memory, copies and event timing for the tools (validation suite, `actk compare`,
// benchmarks). Plain CUDA runtime calls: compiled by the host compiler against cuda_runtime.h.
#include <cuda_runtime.h>

#include "kernels/cuda_backend.hpp"

namespace actk::cuda {
namespace {

bool ok(cudaError_t status, std::string* error) {
  if (status == cudaSuccess) return true;
  if (error) *error = cudaGetErrorString(status);
  return false;
}

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

}  // namespace

void* device_allocate(std::size_t bytes, std::string* error) {
  void* pointer = nullptr;
  return ok(cudaMalloc(&pointer, bytes == 0 ? 1 : bytes), error) ? pointer : nullptr;
}

void device_free(void* pointer) {
  if (pointer) cudaFree(pointer);
}

bool copy_to_device(void* device, const void* host, std::size_t bytes, std::string* error) {
  return ok(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), error);
}

bool copy_to_host(void* host, const void* device, std::size_t bytes, std::string* error) {
  return ok(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), error);
}

bool synchronize(void* stream, std::string* error) { return ok(cudaStreamSynchronize(as_stream(stream)), error); }

bool copy_device_to_device(void* device_out, const void* device_in, std::size_t bytes, void* stream,
                           std::string* error) {
  return ok(cudaMemcpyAsync(device_out, device_in, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)), error);
}

double time_ms(const std::function<void()>& work, int repetitions, void* stream, std::string* error) {
  cudaEvent_t start = nullptr, stop = nullptr;
  float ms = -1.0f;
  if (ok(cudaEventCreate(&start), error) && ok(cudaEventCreate(&stop), error)) {
    work();  // warm-up
    if (ok(cudaEventRecord(start, as_stream(stream)), error)) {
      for (int r = 0; r < repetitions; ++r) work();
      if (ok(cudaEventRecord(stop, as_stream(stream)), error) && ok(cudaEventSynchronize(stop), error) &&
          ok(cudaEventElapsedTime(&ms, start, stop), error)) {
        ms /= static_cast<float>(repetitions);
      } else {
        ms = -1.0f;
      }
    }
  }
  if (start) cudaEventDestroy(start);
  if (stop) cudaEventDestroy(stop);
  return ms;
}

}  // namespace actk::cuda
