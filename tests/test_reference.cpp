// The reference backend on its own: derivatives against finite differences, backward from the
// output against backward from the input, the fused pass against the separate ones, special
// values, and every f16/bf16 bit pattern rounded exactly once.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support.hpp"

namespace actk {
namespace {

using testing::all_activations;
using testing::all_dtypes;
using testing::all_passes;
using testing::run_pass;
using validation::HostBuffer;

Options reference_options() {
  Options options;
  options.backend = Backend::reference;
  return options;
}

// ---- derivative against central finite differences, in f64, away from kinks -----------------

class FiniteDifferences : public ::testing::TestWithParam<Activation> {};

TEST_P(FiniteDifferences, DerivativeMatches) {
  const Activation a = GetParam();
  const Options options = reference_options();
  const std::vector<double> kinks = validation::kink_values(a, options.params, DType::f64);
  int checked = 0;
  for (double x0 = -9.0; x0 <= 9.0; x0 += 0.0371) {
    const double h = 1e-5 * std::fmax(1.0, std::fabs(x0));
    bool near_kink = false;
    for (double k : kinks) near_kink |= std::fabs(x0 - k) < 4 * h;
    if (near_kink) continue;
    const HostBuffer x(DType::f64, std::vector<double>{x0 - h, x0 + h, x0});
    const HostBuffer dy(DType::f64, std::vector<double>{1.0, 1.0, 1.0});
    const auto fb = run_pass(a, Pass::forward_backward, x, dy, options);
    const double numeric = (fb.y.at(1) - fb.y.at(0)) / (2 * h);
    const double analytic = fb.dx.at(2);
    // Truncation error O(h^2 f''') plus rounding O(eps |f| / h).
    const double tolerance = 1e-7 * std::fmax(1.0, std::fabs(analytic)) + 1e-10 * std::fmax(1.0, std::fabs(fb.y.at(2))) / h;
    EXPECT_NEAR(analytic, numeric, tolerance) << activation_name(a) << " at x=" << x0;
    ++checked;
  }
  EXPECT_GT(checked, 400);
}

INSTANTIATE_TEST_SUITE_P(Reference, FiniteDifferences, ::testing::ValuesIn(all_activations()),
                         [](const auto& param) { return std::string(activation_name(param.param)); });

// ---- cases over activation x dtype x pass --------------------------------------------------

struct Case {
  Activation activation;
  DType dtype;
  Pass pass;
};

// Every (activation, dtype, pass) that exists, narrowed to some passes or dtypes when given.
std::vector<Case> cases(std::vector<Pass> passes = all_passes(), std::vector<DType> dtypes = all_dtypes()) {
  std::vector<Case> list;
  for (Activation a : all_activations()) {
    for (DType d : dtypes) {
      for (Pass p : passes) {
        if (testing::pass_applies(a, p)) list.push_back({a, d, p});
      }
    }
  }
  return list;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return testing::case_name(info.param.activation, info.param.dtype, info.param.pass);
}

class ReferencePass : public ::testing::TestWithParam<Case> {
 public:
  // The output a pass is judged by: dx for backward passes, y for forward.
  static const HostBuffer& output(const testing::PassResult& r, Pass pass) {
    return pass == Pass::forward ? r.y : r.dx;
  }
};

// NaN in gives NaN out; +-inf give the limits; no finite input gives NaN or inf where the true
// value is finite (every power of two of the type's range, the extremes and the subnormals).
TEST_P(ReferencePass, SpecialValues) {
  const Case c = GetParam();
  const Options options = reference_options();
  const HostBuffer x(c.dtype, validation::special_values(c.dtype));
  const HostBuffer ones(c.dtype, std::vector<double>(x.count(), 1.0));
  HostBuffer input = x;
  if (c.pass == Pass::backward_from_output) input = run_pass(c.activation, Pass::forward, x, ones, options).y;
  const auto r = run_pass(c.activation, c.pass, input, ones, options);
  const testing::Limits limits = testing::expected_limits(c.activation);
  const bool derivative = c.pass != Pass::forward;
  const HostBuffer& out = output(r, c.pass);
  for (std::int64_t i = 0; i < x.count(); ++i) {
    const double xi = x.at(i), got = out.at(i);
    if (std::isnan(xi)) {
      EXPECT_TRUE(std::isnan(got)) << "NaN in must give NaN out, got " << got;
    } else if (std::isinf(xi)) {
      if (c.pass == Pass::backward_from_output) continue;  // f(+-inf) is a finite y for bounded f
      const double want = xi > 0 ? (derivative ? limits.derivative_pos : limits.forward_pos)
                                 : (derivative ? limits.derivative_neg : limits.forward_neg);
      const HostBuffer want_buffer(c.dtype, std::vector<double>{want});
      EXPECT_LE(validation::ulp_distance(c.dtype, static_cast<const unsigned char*>(out.data()) + i * dtype_size(c.dtype),
                                         want_buffer.data()),
                1.0)
          << "at x=" << xi << " got " << got << " want " << want;
    } else {
      // Only selu's forward pass (scale > 1) and relu_squared's x^2 and 2x truly exceed the range
      // (and 2 sqrt(y) from a y past it).
      const double top = validation::special_values(c.dtype)[6];
      const double square_or_twice = c.pass == Pass::forward ? xi * xi : c.pass == Pass::backward_from_output ? std::fmax(xi * xi, 2 * xi) : 2 * xi;
      const bool true_overflow =
          (c.activation == Activation::selu && !derivative && std::fabs(xi) * 1.0507009873554805 > top) ||
          (c.activation == Activation::relu_squared && xi > 0 && square_or_twice > top);
      EXPECT_TRUE(std::isfinite(got) || true_overflow) << "finite x=" << xi << " gave " << got;
    }
  }
}

// The fused pass is bit-identical to the separate passes; accumulate adds to dx.
class ReferenceFused : public ReferencePass {};

TEST_P(ReferenceFused, AgreesWithSeparatePassesAndAccumulates) {
  const Case c = GetParam();
  const Options options = reference_options();
  const HostBuffer x = validation::battery(c.activation, options.params, c.dtype, 20000, false);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const auto fused = run_pass(c.activation, Pass::forward_backward, x, dy, options);
  const auto y = run_pass(c.activation, Pass::forward, x, dy, options).y;
  const auto dx = run_pass(c.activation, Pass::backward, x, dy, options).dx;
  EXPECT_TRUE(fused.y == y);
  EXPECT_TRUE(fused.dx == dx);

  Options accumulate = options;
  accumulate.accumulate = true;
  const HostBuffer dx_old = validation::gradients(c.dtype, x.count(), 99);
  const auto summed = run_pass(c.activation, Pass::backward, x, dy, accumulate, &dx_old);
  for (std::int64_t i = 0; i < x.count(); ++i) {
    // dx.at(i) was rounded once already, and for f64 so is the sum here: allow both roundings
    // beside the result's own.
    const double want = dx_old.at(i) + dx.at(i);
    if (!std::isfinite(want)) continue;
    const double allowed = validation::ulp_size(c.dtype, dx.at(i)) / 2 + validation::ulp_size(c.dtype, want);
    EXPECT_LE(std::fabs(summed.dx.at(i) - want), allowed) << "x=" << x.at(i);
  }
}

// In place: y == x and dx == dy give the same results as separate buffers.
TEST_P(ReferencePass, InPlace) {
  const Case c = GetParam();
  const Options options = reference_options();
  const HostBuffer x = validation::battery(c.activation, options.params, c.dtype, 1000, false);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const auto separate = run_pass(c.activation, c.pass, x, dy, options);
  HostBuffer xi = x, dyi = dy;
  switch (c.pass) {
    case Pass::forward: forward(c.activation, xi.view(), xi.view(), options); break;
    case Pass::backward: backward(c.activation, x.view(), dyi.view(), dyi.view(), options); break;
    case Pass::backward_from_output: backward_from_output(c.activation, x.view(), dyi.view(), dyi.view(), options); break;
    case Pass::forward_backward: forward_backward(c.activation, xi.view(), dyi.view(), xi.view(), dyi.view(), options); break;
  }
  if (c.pass == Pass::forward || c.pass == Pass::forward_backward) EXPECT_TRUE(xi == separate.y);
  if (c.pass != Pass::forward) EXPECT_TRUE(dyi == separate.dx);
}

// Backward from y agrees with backward from x, to within what rounding y to the storage type
// allows: |g(y+) - g(y-)| / 2 for the neighbours y+- of y, g the derivative as a function of y.
class ReferenceFromOutput : public ReferencePass {};

TEST_P(ReferenceFromOutput, MatchesFromInput) {
  const Case c = GetParam();
  const Options options = reference_options();
  std::vector<double> finite;
  const HostBuffer battery = validation::battery(c.activation, options.params, c.dtype, 20000, true);
  for (std::int64_t i = 0; i < battery.count(); ++i) {
    if (std::isfinite(battery.at(i))) finite.push_back(battery.at(i));
  }
  const HostBuffer x(c.dtype, finite);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const HostBuffer y = run_pass(c.activation, Pass::forward, x, dy, options).y;
  const HostBuffer from_x = run_pass(c.activation, Pass::backward, x, dy, options).dx;
  const HostBuffer from_y = run_pass(c.activation, Pass::backward_from_output, y, dy, options).dx;

  // g(y) = f'(f^-1(y)) at y -+ one storage ulp, in f64, bounds what rounding y can change: the
  // larger change of the two sides (relu_squared's 2 sqrt(y) is steep at 0, where the mean of the
  // two sides, g's slope times an ulp, would be too small).
  std::vector<double> below, above, at;
  for (std::int64_t i = 0; i < y.count(); ++i) {
    below.push_back(y.at(i) - validation::ulp_size(c.dtype, y.at(i)));
    above.push_back(y.at(i) + validation::ulp_size(c.dtype, y.at(i)));
    at.push_back(y.at(i));
  }
  const HostBuffer ones(DType::f64, std::vector<double>(y.count(), 1.0));
  const HostBuffer g_below = run_pass(c.activation, Pass::backward_from_output, HostBuffer(DType::f64, below), ones, options).dx;
  const HostBuffer g_above = run_pass(c.activation, Pass::backward_from_output, HostBuffer(DType::f64, above), ones, options).dx;
  const HostBuffer g_at = run_pass(c.activation, Pass::backward_from_output, HostBuffer(DType::f64, at), ones, options).dx;
  const std::size_t size = dtype_size(c.dtype);
  for (std::int64_t i = 0; i < y.count(); ++i) {
    if (std::isinf(y.at(i))) continue;  // a y past the range determines no x (relu_squared's x^2)
    const double allowed =
        std::fabs(dy.at(i)) * std::fmax(std::fabs(g_above.at(i) - g_at.at(i)), std::fabs(g_at.at(i) - g_below.at(i)));
    const double diff = std::fabs(from_x.at(i) - from_y.at(i));
    const double ulp = validation::ulp_distance(c.dtype, static_cast<const unsigned char*>(from_x.data()) + i * size,
                                                static_cast<const unsigned char*>(from_y.data()) + i * size);
    // Both results are rounded to the storage type once more: up to an ulp each on top.
    const double rounding = 2 * validation::ulp_size(c.dtype, from_x.at(i));
    EXPECT_TRUE(ulp <= 2 || diff <= allowed + rounding)
        << "x=" << x.at(i) << " y=" << y.at(i) << " from x " << from_x.at(i) << " from y " << from_y.at(i);
  }
}

// Every 16-bit pattern: the f16/bf16 result is the f64 result rounded once (ties aside).
class ReferenceExhaustive : public ReferencePass {};

TEST_P(ReferenceExhaustive, SixteenBitIsTheWideResultRoundedOnce) {
  const Case c = GetParam();
  const Options options = reference_options();
  const HostBuffer x = validation::battery(c.activation, options.params, c.dtype, 0, true);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  HostBuffer input = x;
  if (c.pass == Pass::backward_from_output) input = run_pass(c.activation, Pass::forward, x, dy, options).y;
  const auto narrow = run_pass(c.activation, c.pass, input, dy, options);

  std::vector<double> wide_input(x.count()), wide_dy(x.count());
  for (std::int64_t i = 0; i < x.count(); ++i) {
    wide_input[i] = input.at(i);
    wide_dy[i] = dy.at(i);
  }
  // The wide call computes with the parameters the narrow one does (rounded to f32, its compute
  // type): quick_gelu's e^(a x) turns 1.702 vs 1.702f into a visible difference.
  Options wide_options = options;
  wide_options.params = params_for_compute(options.params, c.dtype);
  const auto wide =
      run_pass(c.activation, c.pass, HostBuffer(DType::f64, wide_input), HostBuffer(DType::f64, wide_dy), wide_options);
  for (const bool check_y : {true, false}) {
    if (check_y && c.pass != Pass::forward && c.pass != Pass::forward_backward) continue;
    if (!check_y && c.pass == Pass::forward) continue;
    const HostBuffer& got = check_y ? narrow.y : narrow.dx;
    const HostBuffer& exact = check_y ? wide.y : wide.dx;
    std::vector<double> exact_values(x.count());
    for (std::int64_t i = 0; i < x.count(); ++i) exact_values[i] = exact.at(i);
    const HostBuffer rounded(c.dtype, exact_values);
    int mismatches = 0;
    for (std::int64_t i = 0; i < x.count(); ++i) {
      if (got.at(i) == rounded.at(i) || (std::isnan(got.at(i)) && std::isnan(rounded.at(i)))) continue;
      // Allowed only on a tie: the exact value within a hair of the midpoint of two 16-bit values.
      const double mid = (got.at(i) + rounded.at(i)) / 2;
      const bool tie = std::fabs(exact_values[i] - mid) <= std::ldexp(std::fabs(mid), -40);
      if (!tie && ++mismatches <= 5) {
        ADD_FAILURE() << (check_y ? "y" : "dx") << " at x=" << x.at(i) << ": got " << got.at(i) << " want "
                      << rounded.at(i) << " (exact " << exact_values[i] << ")";
      }
    }
    EXPECT_EQ(mismatches, 0);
  }
}

// softplus's threshold test is on the exact product beta x, also where that product is below the
// smallest subnormal double (a fuzz finding: beta = 2^-105, x = 8.3e-317, threshold 0): its sign
// is then that of beta times that of x, so x > 0 with beta > 0 is linear (y = x, y' = 1), where
// the product rounded to 0 gave log(2) / beta = 2.8e31.
TEST(ReferenceSoftplus, ThresholdTestOnAProductBelowTheSubnormals) {
  Options options = reference_options();
  options.params.threshold = 0;
  for (const float beta : {0x1.01fffp-105f, -0x1p-140f}) {
    options.params.beta = beta;
    const std::vector<double> values = {0x1p-1000, -0x1p-1000, 0x1p-1074, -0x1p-1074};
    const HostBuffer x(DType::f64, values), dy(DType::f64, std::vector<double>(values.size(), 1.0));
    const testing::PassResult r = run_pass(Activation::softplus, Pass::forward_backward, x, dy, options);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const bool linear = (values[i] > 0) == (beta > 0);
      if (linear) {
        EXPECT_EQ(r.y.at(i), values[i]) << "beta " << beta << ", x " << values[i];
        EXPECT_EQ(r.dx.at(i), 1.0) << "beta " << beta << ", x " << values[i];
      } else {  // log(1 + e^(beta x)) / beta with beta x a hair from 0: log(2) / beta, slope 1/2
        const double want = std::log(2.0) / beta;
        EXPECT_NEAR(r.y.at(i), want, 0x1p-51 * std::fabs(want)) << "beta " << beta << ", x " << values[i];
        EXPECT_EQ(r.dx.at(i), 0.5) << "beta " << beta << ", x " << values[i];
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, ReferencePass, ::testing::ValuesIn(cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Reference, ReferenceFused, ::testing::ValuesIn(cases({Pass::forward_backward})), case_name);
INSTANTIATE_TEST_SUITE_P(Reference, ReferenceFromOutput, ::testing::ValuesIn(cases({Pass::backward_from_output})),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Reference, ReferenceExhaustive, ::testing::ValuesIn(cases(all_passes(), {DType::f16, DType::bf16})),
                         case_name);

}  // namespace
}  // namespace actk
