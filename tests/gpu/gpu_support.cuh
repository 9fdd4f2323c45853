// Helpers of the GPU suites: device buffers (thrust::device_vector) with guard bytes, running a
// pass through Backend::cuda, and the fixture that skips a test by name where there is no device.
// Nothing here touches CUDA before a test body runs: gtest_discover_tests lists the tests on
// machines without a GPU.
#pragma once

#include <cuda_runtime.h>
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/fill.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support.hpp"

namespace actk::testing {

/// Fails the current test on a CUDA error, with the call in the message.
#define ACTK_ASSERT_CUDA(call) ASSERT_EQ(cudaSuccess, (call)) << #call << ": " << cudaGetErrorString(cudaGetLastError())

/// A fixture base that skips every test, by name, when the cuda backend cannot run here.
template <class Base>
class CudaFixture : public Base {
 protected:
  void SetUp() override {
    std::string why;
    if (!backend_available(Backend::cuda, &why)) GTEST_SKIP() << why;  // "no CUDA device: <reason>"
  }
};
using CudaTest = CudaFixture<::testing::Test>;
template <class Param>
using CudaTestWithParam = CudaFixture<::testing::TestWithParam<Param>>;

/// Device memory for `count` elements of `dtype`, starting `offset` elements past a 16-byte
/// boundary, between guard bands of kGuard bytes that no call may touch.
class DeviceBuffer {
 public:
  static constexpr std::size_t kGuard = 64;
  static constexpr unsigned char kCanary = 0xa5;

  DeviceBuffer(DType dtype, std::int64_t count, std::int64_t offset = 0)
      : dtype_(dtype),
        count_(count),
        begin_(kGuard + static_cast<std::size_t>(offset) * dtype_size(dtype)),
        storage_(begin_ + bytes() + kGuard, kCanary) {}

  /// A device copy of `host`.
  explicit DeviceBuffer(const validation::HostBuffer& host, std::int64_t offset = 0)
      : DeviceBuffer(host.dtype(), host.count(), offset) {
    const auto* bytes_in = static_cast<const unsigned char*>(host.data());
    thrust::copy(bytes_in, bytes_in + bytes(), storage_.begin() + begin_);
  }

  void* data() { return thrust::raw_pointer_cast(storage_.data()) + begin_; }
  TensorView view() { return {data(), dtype_, count_}; }
  ConstTensorView view() const {
    return {thrust::raw_pointer_cast(storage_.data()) + begin_, dtype_, count_};
  }
  std::size_t bytes() const { return static_cast<std::size_t>(count_) * dtype_size(dtype_); }

  validation::HostBuffer to_host() const {
    validation::HostBuffer host(dtype_, count_);
    thrust::copy(storage_.begin() + begin_, storage_.begin() + begin_ + bytes(),
                 static_cast<unsigned char*>(host.data()));
    return host;
  }

  /// Whether every byte around the elements (guard bands and offset) still holds the canary.
  bool guards_intact() const {
    std::vector<unsigned char> all(storage_.size());
    thrust::copy(storage_.begin(), storage_.end(), all.begin());
    for (std::size_t i = 0; i < all.size(); ++i) {
      const bool element = i >= begin_ && i < begin_ + bytes();
      if (!element && all[i] != kCanary) return false;
    }
    return true;
  }

 private:
  DType dtype_;
  std::int64_t count_;
  std::size_t begin_;
  thrust::device_vector<unsigned char> storage_;
};

/// Owns a non-blocking stream.
class Stream {
 public:
  Stream() { EXPECT_EQ(cudaSuccess, cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

/// The device buffers of one pass: x (y for backward_from_output), dy, and the outputs.
struct DevicePass {
  DeviceBuffer x, dy, y, dx;

  DevicePass(const validation::HostBuffer& x_host, const validation::HostBuffer& dy_host,
             const validation::HostBuffer* dx_init, std::int64_t offset = 0)
      : x(x_host, offset),
        dy(dy_host, offset),
        y(x_host.dtype(), x_host.count(), offset),
        dx(dx_init ? DeviceBuffer(*dx_init, offset) : DeviceBuffer(x_host.dtype(), x_host.count(), offset)) {}

  /// Enqueues the pass on options.stream through Backend::cuda.
  Backend run(Activation activation, Pass pass, Options options) {
    options.backend = Backend::cuda;
    switch (pass) {
      case Pass::forward: return forward(activation, x.view(), y.view(), options);
      case Pass::backward: return backward(activation, x.view(), dy.view(), dx.view(), options);
      case Pass::backward_from_output: return backward_from_output(activation, x.view(), dy.view(), dx.view(), options);
      case Pass::forward_backward:
        return forward_backward(activation, x.view(), dy.view(), y.view(), dx.view(), options);
    }
    return Backend::cuda;
  }
};

/// Runs `pass` on the GPU (host data in, host data out); dx starts as `dx_init` when given.
inline PassResult run_pass_on_device(Activation activation, Pass pass, const validation::HostBuffer& x,
                                     const validation::HostBuffer& dy, const Options& options,
                                     const validation::HostBuffer* dx_init = nullptr) {
  DevicePass buffers(x, dy, dx_init);
  EXPECT_EQ(buffers.run(activation, pass, options), Backend::cuda);
  EXPECT_EQ(cudaSuccess, cudaStreamSynchronize(static_cast<cudaStream_t>(options.stream)));
  return {buffers.y.to_host(), buffers.dx.to_host()};
}

/// The comparison of one output with the reference under the contract; `dy` scales the floor of
/// backward passes. Returns a failure message, or an empty string.
inline std::string compare_output(const char* output, Activation activation, DType dtype, Pass pass,
                                  const validation::HostBuffer& x, const validation::HostBuffer& got,
                                  const validation::HostBuffer& want, const validation::HostBuffer* dy) {
  const validation::Tolerance tol = validation::tolerance(activation, dtype, pass, Backend::cuda);
  const validation::Comparison r =
      validation::compare(dtype, got.data(), want.data(), dy ? dy->data() : nullptr, x.count(), tol);
  if (r.passed()) return {};
  return std::string(output) + ": " + std::to_string(r.failures) + " of " + std::to_string(r.checked) +
         " elements outside " + std::to_string(tol.max_ulp) + " ulp, first " +
         validation::describe_element(dtype, x.data(), got.data(), want.data(), r.worst_index);
}

}  // namespace actk::testing
