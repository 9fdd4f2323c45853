// The CUDA Device: cudaMalloc'd memory, cuBLAS on one stream that actk's calls share.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "host/lab/device.hpp"

namespace actk::lab {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string("lab: ") + what + ": " + cudaGetErrorString(status));
}
void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("lab: ") + what + ": " + cublasGetStatusString(status));
  }
}

class CudaDevice final : public Device {
 public:
  CudaDevice() {
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetStream(blas_, stream_), "cublasSetStream");
    // Plain f32 GEMMs (no TF32), so the cuda run trains the same model as the cpu run.
    check(cublasSetMathMode(blas_, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  }
  ~CudaDevice() override {
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }
  Backend backend() const noexcept override { return Backend::cuda; }
  void* stream() const noexcept override { return stream_; }
  void* allocate(std::size_t bytes) override {
    void* data = nullptr;
    check(cudaMalloc(&data, bytes == 0 ? 1 : bytes), "cudaMalloc");
    check(cudaMemsetAsync(data, 0, bytes, stream_), "cudaMemset");
    return data;
  }
  void release(void* data) noexcept override {
    cudaStreamSynchronize(stream_);
    cudaFree(data);
  }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpy to the device");
    synchronize();
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpy to the host");
    synchronize();
  }
  // cuBLAS is column-major: the row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T,
  // so the operands swap and each keeps its own transpose flag.
  void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float* c, int ldc) override {
    const float one = 1.0f, zero = 0.0f;
    check(cublasSgemm(blas_, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m,
                      k, &one, b, ldb, a, lda, &zero, c, ldc),
          "cublasSgemm");
  }
  void axpy(int n, float alpha, const float* x, float* y) override {
    check(cublasSaxpy(blas_, n, &alpha, x, 1, y, 1), "cublasSaxpy");
  }
  void scale(int n, float alpha, float* x) override { check(cublasSscal(blas_, n, &alpha, x, 1), "cublasSscal"); }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

 private:
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
};

}  // namespace

std::unique_ptr<Device> make_cuda_device() { return std::make_unique<CudaDevice>(); }

}  // namespace actk::lab
