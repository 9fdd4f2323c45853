// Where the lab's networks keep their buffers and run their GEMMs: host memory with the CBLAS of
// the system's BLAS package for the `cpu` (and `reference`) backend, device memory with cuBLAS for
// `cuda`. The activations themselves are always actk's own calls on that backend.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "actk/ops.hpp"

namespace actk::lab {

class Device {
 public:
  virtual ~Device() = default;
  virtual Backend backend() const noexcept = 0;
  /// The stream actk's calls and the GEMMs share (null on the host).
  virtual void* stream() const noexcept = 0;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* data) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;
  /// Row-major C (m x n) = op(A) op(B), op(A) m x k, with leading dimensions the row lengths of
  /// A, B and C as stored.
  virtual void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, const float* a, int lda,
                    const float* b, int ldb, float* c, int ldc) = 0;
  /// y += alpha x.
  virtual void axpy(int n, float alpha, const float* x, float* y) = 0;
  /// x *= alpha.
  virtual void scale(int n, float alpha, float* x) = 0;
  /// Waits for the queued work (a no-op on the host).
  virtual void synchronize() = 0;

  Options options() const {
    Options o;
    o.backend = backend();
    o.stream = stream();
    return o;
  }
};

/// The BLAS library the host devices call (its path, as configure found it).
const char* host_blas() noexcept;

/// The device of a backend (reference and cpu share host memory and the CBLAS GEMMs), or null
/// with the reason in `why` when it cannot run here.
std::unique_ptr<Device> make_device(Backend backend, std::string* why = nullptr);

/// A typed allocation on a Device, released with it.
template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Device& device, std::size_t count)
      : device_(&device), data_(static_cast<T*>(device.allocate(count * sizeof(T)))), count_(count) {}
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  ~Buffer() {
    if (data_) device_->release(data_);
  }
  T* data() const noexcept { return data_; }
  std::size_t count() const noexcept { return count_; }

 private:
  Device* device_ = nullptr;
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace actk::lab
