// Host buffers staged in a backend's memory for the tools (internal): device copies for `cuda`,
// the host buffers themselves for the CPU backends.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "actk/ops.hpp"
#include "host/validation/battery.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk::validation {

/// Places host buffers in a backend's memory, and copies them back.
class Staging {
 public:
  explicit Staging(Backend backend) : backend_(backend) {}
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  ~Staging() {
#ifdef ACTK_WITH_CUDA
    for (void* p : device_) cuda::device_free(p);
#endif
  }

  // Backend-side copy of `host` (the host buffer itself for CPU backends), copied back by fetch().
  void* place(HostBuffer& host) {
    void* placed = const_cast<void*>(place_input(host));
    if (backend_ == Backend::cuda) pairs_.push_back({&host, placed});
    return placed;
  }

  // Backend-side read-only copy of `host`, not copied back.
  const void* place_input(const HostBuffer& host) {
    if (backend_ != Backend::cuda) return host.data();
#ifdef ACTK_WITH_CUDA
    std::string error;
    const std::size_t bytes = static_cast<std::size_t>(host.count()) * dtype_size(host.dtype());
    void* device = cuda::device_allocate(bytes + 16, &error);
    if (!device) throw std::runtime_error("device allocation: " + error);
    device_.push_back(device);
    if (!cuda::copy_to_device(device, host.data(), bytes, &error)) throw std::runtime_error("copy: " + error);
    return device;
#else
    return host.data();
#endif
  }

  // Copies every placed buffer back to its host buffer.
  void fetch() {
#ifdef ACTK_WITH_CUDA
    std::string error;
    if (backend_ == Backend::cuda && !cuda::synchronize(nullptr, &error)) throw std::runtime_error("sync: " + error);
    for (const auto& [host, device] : pairs_) {
      const std::size_t bytes = static_cast<std::size_t>(host->count()) * dtype_size(host->dtype());
      if (!cuda::copy_to_host(host->data(), device, bytes, &error)) throw std::runtime_error("copy: " + error);
    }
#endif
  }

 private:
  Backend backend_;
  std::vector<void*> device_;
  std::vector<std::pair<HostBuffer*, void*>> pairs_;
};

}  // namespace actk::validation
