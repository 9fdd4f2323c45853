// More than 2^31 elements on the CPU backends: 64-bit counts and offsets all the way down.
// Label `large` (about 4.3 GB per run); not run by CI: `ctest -L large`.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

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

INSTANTIATE_TEST_SUITE_P(CpuBackends, Large, ::testing::Values(Backend::reference, Backend::cpu),
                         [](const auto& param) { return std::string(backend_name(param.param)); });

}  // namespace
}  // namespace actk
