// The piecewise family: identity, relu, leaky_relu, the hard variants and softsign, from comparisons,
// selects and at most one division.
// One functor per activation, written once over the lane primitives (kernels/math/lanes_scalar.hpp
// or host/cpu/lanes_<isa>.hpp, included first) and compiled once per lane type, so the CUDA
// kernels, the cpu portable path and the cpu vector paths run the same operations (see
// activations.hpp for what a functor provides).
#pragma once

#include "actk/catalogue.hpp"
#include "kernels/math/vector_math.hpp"

namespace actk::lanes::ACTK_LANES {

struct Identity {
  explicit Identity(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const { return x; }
  ACTK_LANE_INLINE V derivative(V) const { return one(); }
  ACTK_LANE_INLINE V derivative_from_output(V) const { return one(); }
};

struct Relu {
  explicit Relu(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const { return max(x, zero()); }
  ACTK_LANE_INLINE V derivative(V x) const { return indicator(greater(x, zero())); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return indicator(greater(y, zero())); }
};

// max(0, x)^2 (So et al., 2021, "Primer"): one rounding forward; the derivative 2 max(0, x) is
// returned halved (kDerivativeScale: 2x is infinite above 1.7e38, where dy 2x need not be); from
// y, sqrt(y) is within an ulp of max(0, x) (y holds x^2 rounded once).
struct ReluSquared {
  static constexpr float kDerivativeScale = 2.0f;
  explicit ReluSquared(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const {
    const V r = max(x, zero());
    return mul(r, r);
  }
  ACTK_LANE_INLINE V derivative(V x) const { return max(x, zero()); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return sqrt(max(y, zero())); }
};

struct LeakyRelu {
  static constexpr bool kForwardKeepsNan = true;
  explicit LeakyRelu(const ActivationParams& p)
      : slope_(splat(p.negative_slope)), keep_(not_equal(slope_, zero())) {}
  // With slope 0, slope * -inf would be NaN; the mask makes the negative branch exactly 0. A NaN
  // fails x <= 0 and is returned itself, whatever the slope.
  ACTK_LANE_INLINE V forward(V x) const { return select(less_equal(x, zero()), select_or_zero(keep_, mul(slope_, x)), x); }
  ACTK_LANE_INLINE V derivative(V x) const { return select(greater(x, zero()), one(), slope_); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return derivative(y); }

 private:
  V slope_;
  Mask keep_;
};

struct Hardtanh {
  explicit Hardtanh(const ActivationParams& p) : lo_(splat(p.min_val)), hi_(splat(p.max_val)) {}
  ACTK_LANE_INLINE V forward(V x) const { return min(max(x, lo_), hi_); }
  ACTK_LANE_INLINE V derivative(V x) const { return indicator(mask_and(greater(x, lo_), less(x, hi_))); }

 private:
  V lo_, hi_;
};

struct Relu6 {
  explicit Relu6(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const { return clamp(x, 0.0f, 6.0f); }
  ACTK_LANE_INLINE V derivative(V x) const { return indicator(mask_and(greater(x, zero()), less(x, splat(6.0f)))); }
};

struct Hardsigmoid {
  explicit Hardsigmoid(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const { return div(clamp(add(x, splat(3.0f)), 0.0f, 6.0f), splat(6.0f)); }
  ACTK_LANE_INLINE V derivative(V x) const {
    return select_or_zero(mask_and(greater(x, splat(-3.0f)), less(x, splat(3.0f))), splat(1.0f / 6.0f));
  }
};

struct Hardswish {
  static constexpr bool kForwardKeepsNan = true;
  explicit Hardswish(const ActivationParams&) {}
  // The zero at and below -3 masks the division (one instruction on AVX-512), and lets a NaN through.
  ACTK_LANE_INLINE V forward(V x) const {
    const V middle = div(mul(x, add(x, splat(3.0f))), splat(6.0f));
    return select(greater_equal(x, splat(3.0f)), x, select_or_zero(not_less_equal(x, splat(-3.0f)), middle));
  }
  // PyTorch's choice at the kinks: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
  ACTK_LANE_INLINE V derivative(V x) const {
    const V middle = add(div(x, splat(3.0f)), splat(0.5f));
    const V upper = select(greater(x, splat(3.0f)), one(), middle);
    return select(less(x, splat(-3.0f)), zero(), upper);
  }
};

struct Softsign {
  explicit Softsign(const ActivationParams&) {}
  // For |x| > 2^25, 1 + |x| rounds to |x| and the quotient is exactly +-1, as is the limit;
  // only +-inf itself (inf / inf) needs the select.
  ACTK_LANE_INLINE V forward(V x) const {
    const V ax = abs(x);
    const V sign_one = bit_or(sign_of(x), one());
    return select(equal(ax, infinity()), sign_one, div(x, add(one(), ax)));
  }
  ACTK_LANE_INLINE V derivative(V x) const {
    const V d = add(one(), abs(x));
    return div(one(), mul(d, d));
  }
};

}  // namespace actk::lanes::ACTK_LANES
