// Helpers shared by the test suites: catalogue-driven parameters and running a pass on host data.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "actk/actk.hpp"
#include "host/validation/battery.hpp"
#include "host/validation/compare.hpp"

namespace actk::testing {

inline const std::vector<Activation>& all_activations() {
  static const std::vector<Activation> list = [] {
    std::vector<Activation> v;
    for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) v.push_back(entry.activation);
    return v;
  }();
  return list;
}

inline const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> list = {DType::f32, DType::f64, DType::f16, DType::bf16};
  return list;
}

inline const std::vector<Pass>& all_passes() {
  static const std::vector<Pass> list = {Pass::forward, Pass::backward, Pass::backward_from_output,
                                         Pass::forward_backward};
  return list;
}

/// Options that select `backend`, the rest default.
inline Options on(Backend backend) {
  Options options;
  options.backend = backend;
  return options;
}

/// `count` values drawn uniformly from [lo, hi) with `seed`, stored as `dtype`.
inline validation::HostBuffer random_buffer(DType dtype, std::int64_t count, std::uint64_t seed, double lo = -4,
                                            double hi = 4) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(lo, hi);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (double& v : values) v = uniform(rng);
  return validation::HostBuffer(dtype, values);
}

/// Whether the pass exists for the activation with its default parameters.
inline bool pass_applies(Activation activation, Pass pass) {
  return pass != Pass::backward_from_output || supports_backward_from_output(activation, ActivationParams{});
}

/// The outputs of one pass on host buffers.
struct PassResult {
  validation::HostBuffer y;
  validation::HostBuffer dx;
};

/// Runs `pass` on `x` (y for backward_from_output) and `dy`; dx starts as `dx_init` when given
/// (for accumulate), else zero-filled bytes.
inline PassResult run_pass(Activation activation, Pass pass, const validation::HostBuffer& x,
                           const validation::HostBuffer& dy, const Options& options,
                           const validation::HostBuffer* dx_init = nullptr) {
  PassResult out{validation::HostBuffer(x.dtype(), x.count()),
                 dx_init ? *dx_init : validation::HostBuffer(x.dtype(), x.count())};
  switch (pass) {
    case Pass::forward: forward(activation, x.view(), out.y.view(), options); break;
    case Pass::backward: backward(activation, x.view(), dy.view(), out.dx.view(), options); break;
    case Pass::backward_from_output:
      backward_from_output(activation, x.view(), dy.view(), out.dx.view(), options);
      break;
    case Pass::forward_backward:
      forward_backward(activation, x.view(), dy.view(), out.y.view(), out.dx.view(), options);
      break;
  }
  return out;
}

/// The limits of f and f' at +inf and -inf, which every backend must return for infinite inputs.
struct Limits {
  double forward_pos, forward_neg, derivative_pos, derivative_neg;
};

inline Limits expected_limits(Activation activation, const ActivationParams& p = {}) {
  const double inf = std::numeric_limits<double>::infinity();
  constexpr double kSeluScale = 1.0507009873554804934193349852946;
  constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
  switch (activation) {
    case Activation::identity: return {inf, -inf, 1, 1};
    case Activation::sigmoid: return {1, 0, 0, 0};
    case Activation::tanh: return {1, -1, 0, 0};
    case Activation::relu: return {inf, 0, 1, 0};
    case Activation::relu_squared: return {inf, 0, inf, 0};
    case Activation::leaky_relu: return {inf, p.negative_slope > 0 ? -inf : 0, 1, p.negative_slope};
    case Activation::elu: return {inf, -double(p.alpha), 1, 0};
    case Activation::selu: return {inf, -kSeluScale * kSeluAlpha, kSeluScale, 0};
    case Activation::celu: return {inf, -double(p.alpha), 1, 0};
    case Activation::gelu:
    case Activation::gelu_tanh:
    case Activation::silu:
    case Activation::quick_gelu:
    case Activation::softplus:
    case Activation::mish:
    case Activation::hardswish: return {inf, 0, 1, 0};
    case Activation::hardtanh: return {p.max_val, p.min_val, 0, 0};
    case Activation::relu6: return {6, 0, 0, 0};
    case Activation::hardsigmoid: return {1, 0, 0, 0};
    case Activation::softsign: return {1, -1, 0, 0};
  }
  return {};
}

/// "gelu_tanh_bf16_backward"-style names for parameterized tests.
inline std::string case_name(Activation activation, DType dtype, Pass pass) {
  return std::string(activation_name(activation)) + "_" + dtype_name(dtype) + "_" + pass_name(pass);
}

}  // namespace actk::testing
