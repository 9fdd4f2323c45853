// The host Device (malloc'd memory and the system BLAS through its CBLAS interface), and the
// choice of a Device for a backend.
#include <cblas.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "host/lab/device.hpp"

// OpenBLAS's own call, where the BLAS is OpenBLAS (a weak reference: null with another BLAS).
extern "C" void openblas_set_num_threads(int threads) __attribute__((weak));

namespace actk::lab {
namespace {

class HostDevice final : public Device {
 public:
  explicit HostDevice(Backend backend) : backend_(backend) {
    // The lab's GEMMs are a few hundred thousand multiply-adds: OpenBLAS's threads cost more
    // than they save there (measured: 0.16 -> 0.10 ms per relu step), and compete with actk's.
    if (openblas_set_num_threads) openblas_set_num_threads(1);
  }
  Backend backend() const noexcept override { return backend_; }
  void* stream() const noexcept override { return nullptr; }
  void* allocate(std::size_t bytes) override {
    void* data = std::calloc(bytes == 0 ? 1 : bytes, 1);
    if (!data) throw std::bad_alloc();
    return data;
  }
  void release(void* data) noexcept override { std::free(data); }
  // An unused buffer (a layer without PReLU's weight) has no storage: memcpy must not see it.
  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float* c, int ldc) override {
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, m,
                n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  }
  void axpy(int n, float alpha, const float* x, float* y) override { cblas_saxpy(n, alpha, x, 1, y, 1); }
  void scale(int n, float alpha, float* x) override { cblas_sscal(n, alpha, x, 1); }
  void synchronize() override {}

 private:
  Backend backend_;
};

}  // namespace

const char* host_blas() noexcept { return ACTK_LAB_BLAS; }

#ifdef ACTK_WITH_CUDA
std::unique_ptr<Device> make_cuda_device();  // device_cuda.cpp
#endif

std::unique_ptr<Device> make_device(Backend backend, std::string* why) {
  if (!backend_available(backend, why)) return nullptr;
  if (backend != Backend::cuda) return std::make_unique<HostDevice>(backend);
#ifdef ACTK_WITH_CUDA
  return make_cuda_device();
#else
  if (why) *why = "actk was built without CUDA";
  return nullptr;
#endif
}

}  // namespace actk::lab
