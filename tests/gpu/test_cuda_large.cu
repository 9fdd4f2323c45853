// More than 2^31 elements through the cuda backend (label `large`, not run by CI): f16 in place,
// 2^31 + 2^20 + 7 elements, so that indices, the vector count and the odd tail all pass 2^31.
// Each element holds a bit pattern chosen by its index; after the call every element must equal
// the GPU's own result for that pattern, which the `gpu` suite checks against the reference.
#include <cuda_runtime.h>
#include <thrust/count.h>
#include <thrust/device_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/tabulate.h>

#include <cstdint>

#include <gtest/gtest.h>

#include "tests/gpu/gpu_support.cuh"

namespace actk {
namespace {

// The f16 pattern of element i: odd multiplier and the high bits folded in, so elements 2^31
// apart hold different values and a wrapped 32-bit index would show.
struct Pattern {
  __host__ __device__ std::uint16_t operator()(std::int64_t i) const {
    return static_cast<std::uint16_t>(static_cast<std::uint64_t>(i) * 40503u + (static_cast<std::uint64_t>(i) >> 31));
  }
};

// Whether element i of `result` differs from the expected output for its pattern.
struct Mismatch {
  const std::uint16_t* result;
  const std::uint16_t* expected;  // indexed by the input's bit pattern
  __host__ __device__ bool operator()(std::int64_t i) const {
    return result[i] != expected[Pattern{}(i)];
  }
};

using testing::CudaTest;

TEST_F(CudaTest, Float16BeyondTwoTo31Elements) {
  const Activation activation = Activation::sigmoid;
  const std::int64_t count = (std::int64_t{1} << 31) + (std::int64_t{1} << 20) + 7;
  Options options;
  options.backend = Backend::cuda;

  // The GPU's results for all 65,536 patterns.
  thrust::device_vector<std::uint16_t> table(65536);
  thrust::sequence(table.begin(), table.end());
  const TensorView table_view(thrust::raw_pointer_cast(table.data()), DType::f16, 65536);
  forward(activation, table_view, table_view, options);

  thrust::device_vector<std::uint16_t> data(static_cast<std::size_t>(count));
  thrust::tabulate(data.begin(), data.end(), Pattern{});
  const TensorView view(thrust::raw_pointer_cast(data.data()), DType::f16, count);
  EXPECT_EQ(forward(activation, view, view, options), Backend::cuda);
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());

  const std::int64_t mismatches =
      thrust::count_if(thrust::counting_iterator<std::int64_t>(0), thrust::counting_iterator<std::int64_t>(count),
                       Mismatch{thrust::raw_pointer_cast(data.data()), thrust::raw_pointer_cast(table.data())});
  EXPECT_EQ(mismatches, 0);
  const std::uint16_t last = data[static_cast<std::size_t>(count - 1)];
  const std::uint16_t expected_last = table[Pattern{}(count - 1)];
  EXPECT_EQ(last, expected_last) << "the last element, past 2^31";
}

}  // namespace
}  // namespace actk
