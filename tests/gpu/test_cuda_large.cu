// More than 2^31 elements through the cuda backend (label `large`, not run by CI). Elementwise:
// f16 in place, 2^31 + 2^20 + 7 elements, so that indices, the vector count and the odd tail all
// pass 2^31; each element holds a bit pattern chosen by its index, and after the call every element
// must equal the GPU's own result for that pattern, which the `gpu` suite checks against the
// reference. Structured: the CPU backends' `large` cases (tests/test_large.cpp) with the data made
// and checked on the device: backward_bias in place with exact dbias sums, and gated forward on
// concatenated [gate | up] rows past 2^32 elements of storage.
#include <cuda_runtime.h>
#include <thrust/count.h>
#include <thrust/device_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/tabulate.h>

#include <cstdint>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
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

// The f16 bits of k - 2 for k in [0, 5): -2, -1, 0, 1, 2.
__host__ __device__ std::uint16_t five_cycle(std::int64_t k) {
  return k == 0 ? 0xc000 : k == 1 ? 0xbc00 : k == 2 ? 0x0000 : k == 3 ? 0x3c00 : 0x4000;
}
constexpr std::uint16_t kHalfTwo = 0x4000, kHalfFour = 0x4400, kHalfHalf = 0x3800, kHalfTwoToMinus16 = 0x0100;

// x of the bias case: element i holds (i % 5) - 2, its channel's value.
struct ChannelCycle {
  __host__ __device__ std::uint16_t operator()(std::int64_t i) const { return five_cycle(i % 5); }
};

// Whether dx[i], computed in place over dy = 2^-16, is not relu'(x + 0.5) * dy: 0 for the
// channels holding -2 and -1, dy for the others.
struct BiasGradientWrong {
  const std::uint16_t* dx;
  __host__ __device__ bool operator()(std::int64_t i) const {
    return dx[i] != (i % 5 >= 2 ? kHalfTwoToMinus16 : std::uint16_t{0});
  }
};

TEST_F(CudaTest, BiasBackwardBeyondTwoTo31Elements) {
  const std::int64_t channels = 5, rows = ((std::int64_t{1} << 31) + 4099) / channels + 1, n = rows * channels;
  thrust::device_vector<std::uint16_t> x(static_cast<std::size_t>(n)), grad(static_cast<std::size_t>(n), kHalfTwoToMinus16);
  thrust::tabulate(x.begin(), x.end(), ChannelCycle{});
  const thrust::device_vector<std::uint16_t> bias(channels, kHalfHalf);
  thrust::device_vector<std::uint16_t> dbias(channels);
  EXPECT_EQ(backward_bias(Activation::relu, {thrust::raw_pointer_cast(x.data()), DType::f16, n},
                          {thrust::raw_pointer_cast(bias.data()), DType::f16, channels},
                          {thrust::raw_pointer_cast(grad.data()), DType::f16, n},
                          {thrust::raw_pointer_cast(grad.data()), DType::f16, n},
                          {thrust::raw_pointer_cast(dbias.data()), DType::f16, channels}, testing::on(Backend::cuda)),
            Backend::cuda);
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  EXPECT_EQ(thrust::count_if(thrust::counting_iterator<std::int64_t>(0), thrust::counting_iterator<std::int64_t>(n),
                             BiasGradientWrong{thrust::raw_pointer_cast(grad.data())}),
            0);
  // Each sum is rows x 2^-16 exactly (or 0), rounded once to f16.
  for (std::int64_t c = 0; c < channels; ++c) {
    const Half want = half_from_double(c >= 2 ? static_cast<double>(rows) * 0x1p-16 : 0.0);
    EXPECT_EQ(static_cast<std::uint16_t>(dbias[static_cast<std::size_t>(c)]), want.bits) << "channel " << c;
  }
}

// One projection's [gate | up] rows of 2 x kGatedCols: gate (r + c) % 5 - 2, up 2.
constexpr std::int64_t kGatedCols = 2048, kGatedStride = 2 * kGatedCols;
struct GatedRows {
  __host__ __device__ std::uint16_t operator()(std::int64_t i) const {
    const std::int64_t r = i / kGatedStride, c = i % kGatedStride;
    return c < kGatedCols ? five_cycle((r + c) % 5) : kHalfTwo;
  }
};

// Whether element i is wrong after reglu in place over up: gates unchanged, up = relu(gate) * 2.
struct GatedRowWrong {
  const std::uint16_t* data;
  __host__ __device__ bool operator()(std::int64_t i) const {
    const std::int64_t r = i / kGatedStride, c = i % kGatedStride;
    if (c < kGatedCols) return data[i] != five_cycle((r + c) % 5);
    const std::int64_t k = (r + c - kGatedCols) % 5;
    return data[i] != (k < 3 ? std::uint16_t{0} : k == 3 ? kHalfTwo : kHalfFour);
  }
};

TEST_F(CudaTest, GatedForwardBeyondTwoTo31Elements) {
  const std::int64_t rows = (std::int64_t{1} << 20) + 3, storage = rows * kGatedStride;  // 2^32 + 12,288
  thrust::device_vector<std::uint16_t> data(static_cast<std::size_t>(storage));
  thrust::tabulate(data.begin(), data.end(), GatedRows{});
  std::uint16_t* gate = thrust::raw_pointer_cast(data.data());
  std::uint16_t* up = gate + kGatedCols;
  EXPECT_EQ(gated_forward(Activation::reglu, {gate, DType::f16, rows, kGatedCols, kGatedStride},
                          {up, DType::f16, rows, kGatedCols, kGatedStride},
                          {up, DType::f16, rows, kGatedCols, kGatedStride}, testing::on(Backend::cuda)),
            Backend::cuda);
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  EXPECT_EQ(thrust::count_if(thrust::counting_iterator<std::int64_t>(0),
                             thrust::counting_iterator<std::int64_t>(storage), GatedRowWrong{gate}),
            0);
}

}  // namespace
}  // namespace actk
