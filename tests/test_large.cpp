// More than 2^31 elements on the CPU backends: 64-bit counts and offsets all the way down.
// Label `large` (4.3 GB for the elementwise run, 8.6 GB for each structured one); not run by CI:
// `ctest -L large`.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
#include "tests/support.hpp"

namespace actk {
namespace {

class Large : public ::testing::TestWithParam<Backend> {};

TEST_P(Large, InPlaceF16BeyondTwoToThe31) {
  const std::int64_t n = (std::int64_t{1} << 31) + 4099;  // odd tail past the 32-bit boundary
  // x[i] = (i % 5) - 2, as f16: -2, -1, 0, 1, 2; relu6 of that is 0, 0, 0, 1, 2.
  const Half values[5] = {half_from_double(-2), half_from_double(-1), half_from_double(0), half_from_double(1),
                          half_from_double(2)};
  std::vector<Half> data(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) data[i] = values[i % 5];
  Options options;
  options.backend = GetParam();
  ASSERT_EQ(forward(Activation::relu6, ConstTensorView(data.data(), n), TensorView(data.data(), n), options),
            GetParam());
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float want = i % 5 < 3 ? 0.0f : static_cast<float>(i % 5 - 2);
    wrong += to_float(data[i]) != want;
  }
  EXPECT_EQ(wrong, 0);
}

TEST_P(Large, BiasBackwardBeyondTwoToThe31) {
  // rows x 5 channels past 2^31 elements, dx in place over dy; x[i] = (i % 5) - 2 (its channel's),
  // b = 0.5: relu'(x + b) = 0, 0, 1, 1, 1 per channel. dy = 2^-16, so each dbias is an exact sum
  // of rows x 2^-16 (or 0), rounded once to f16 by every backend.
  const std::int64_t channels = 5, rows = ((std::int64_t{1} << 31) + 4099) / channels + 1;
  const std::int64_t n = rows * channels;
  std::vector<Half> x(static_cast<std::size_t>(n)), grad(static_cast<std::size_t>(n), half_from_double(0x1p-16));
  for (std::int64_t i = 0; i < n; ++i) x[i] = half_from_double(static_cast<double>(i % channels) - 2);
  const std::vector<Half> bias(channels, half_from_double(0.5));
  std::vector<Half> dbias(channels);
  Options options;
  options.backend = GetParam();
  ASSERT_EQ(backward_bias(Activation::relu, ConstTensorView(x.data(), n), ConstTensorView(bias.data(), channels),
                          ConstTensorView(grad.data(), n), TensorView(grad.data(), n),
                          TensorView(dbias.data(), channels), options),
            GetParam());
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) wrong += to_float(grad[i]) != (i % channels >= 2 ? 0x1p-16f : 0.0f);
  EXPECT_EQ(wrong, 0);
  for (std::int64_t c = 0; c < channels; ++c) {
    const float want = to_float(half_from_double(c >= 2 ? static_cast<double>(rows) * 0x1p-16 : 0.0));
    EXPECT_EQ(to_float(dbias[c]), want) << "channel " << c;
  }
}

TEST_P(Large, GatedForwardBeyondTwoToThe31) {
  // The concatenated [gate | up] rows of one projection, rows x 2H with H = 2048, past 2^31
  // outputs and 2^32 elements of storage (64-bit row offsets); y in place over up.
  // gate = (r + c) % 5 - 2, up = 2: reglu gives 0, 0, 0, 2, 4.
  const std::int64_t cols = 2048, rows = (std::int64_t{1} << 20) + 3, stride = 2 * cols;
  std::vector<Half> data(static_cast<std::size_t>(rows * stride));
  const Half two = half_from_double(2);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      data[r * stride + c] = half_from_double(static_cast<double>((r + c) % 5) - 2);
      data[r * stride + cols + c] = two;
    }
  }
  Options options;
  options.backend = GetParam();
  const ConstMatrixView gate(data.data(), DType::f16, rows, cols, stride);
  const ConstMatrixView up(data.data() + cols, DType::f16, rows, cols, stride);
  ASSERT_EQ(gated_forward(Activation::reglu, gate, up, MatrixView(data.data() + cols, DType::f16, rows, cols, stride),
                          options),
            GetParam());
  std::int64_t wrong = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::int64_t k = (r + c) % 5;
      wrong += to_float(data[r * stride + cols + c]) != (k < 3 ? 0.0f : 2.0f * static_cast<float>(k - 2));
    }
  }
  EXPECT_EQ(wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, Large, ::testing::Values(Backend::reference, Backend::cpu),
                         [](const auto& param) { return std::string(backend_name(param.param)); });

}  // namespace
}  // namespace actk
