// The reference backend against the independent oracle: tests/data/golden.txt, written by
// tests/data/gen_golden.py with mpmath at 30 digits (compiled in: validation::golden_points).
// f32 and f64 within 1 ulp.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/validation/golden.hpp"
#include "tests/support.hpp"

namespace actk {
namespace {

struct GoldenCase {
  Activation activation;
  DType dtype;
  bool derivative;
};

class Golden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  template <class T>
  void check() {
    const GoldenCase c = GetParam();
    std::vector<validation::GoldenPoint> points;
    for (const validation::GoldenPoint& point : validation::golden_points()) {
      if (point.activation == c.activation && validation::serves(point, c.dtype)) points.push_back(point);
    }
    ASSERT_GE(points.size(), 150u) << "too few golden values for " << activation_name(c.activation);
    double max_ulp = 0;
    for (const validation::GoldenPoint& point : points) {
      Options options;
      options.backend = Backend::reference;
      options.params = point.params;
      const T x = static_cast<T>(point.x);
      ASSERT_EQ(static_cast<double>(x), point.x) << "golden inputs are representable in f32";
      T got{};
      if (c.derivative) {
        const T one = 1;
        backward(c.activation, ConstTensorView(&x, 1), ConstTensorView(&one, 1), TensorView(&got, 1), options);
      } else {
        forward(c.activation, ConstTensorView(&x, 1), TensorView(&got, 1), options);
      }
      const std::string& text = c.derivative ? point.derivative : point.forward;
      T want;
      if constexpr (std::is_same_v<T, float>) {
        want = validation::golden_as_float(text);
      } else {
        want = validation::golden_as_double(text);
      }
      const double ulp = validation::ulp_distance(dtype_of<T>::value, &got, &want);
      max_ulp = std::fmax(max_ulp, ulp);
      EXPECT_LE(ulp, 1.0) << activation_name(c.activation) << "(" << point.params_text << ") "
                          << (c.derivative ? "derivative" : "forward") << " at x=" << point.x << ": got "
                          << static_cast<double>(got) << " want " << static_cast<double>(want);
    }
    RecordProperty("max_ulp", std::to_string(max_ulp));
    std::printf("[ golden   ] %s %s %s: %zu points, max %.0f ulp\n", activation_name(c.activation),
                dtype_name(c.dtype), c.derivative ? "derivative" : "forward", points.size(), max_ulp);
  }
};

TEST_P(Golden, WithinOneUlp) {
  if (GetParam().dtype == DType::f32) {
    check<float>();
  } else {
    check<double>();
  }
}

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (Activation a : testing::all_activations()) {
    for (DType d : {DType::f32, DType::f64}) {
      for (bool derivative : {false, true}) cases.push_back({a, d, derivative});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Reference, Golden, ::testing::ValuesIn(golden_cases()), [](const auto& param) {
  return std::string(activation_name(param.param.activation)) + "_" + dtype_name(param.param.dtype) +
         (param.param.derivative ? "_derivative" : "_forward");
});

}  // namespace
}  // namespace actk
