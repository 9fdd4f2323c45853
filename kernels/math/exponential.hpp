// The exponential-linear family: elu, selu and celu, x for x > 0 and a scaled e^x - 1 below.
// One functor per activation, written once over the lane primitives (kernels/math/lanes_scalar.hpp
// or host/cpu/lanes_<isa>.hpp, included first) and compiled once per lane type, so the CUDA
// kernels, the cpu portable path and the cpu vector paths run the same operations (see
// activations.hpp for what a functor provides).
#pragma once

#include "actk/catalogue.hpp"
#include "kernels/math/vector_math.hpp"

namespace actk::lanes::ACTK_LANES {

struct Elu {
  explicit Elu(const ActivationParams& p) : alpha_(splat(p.alpha)) {}
  ACTK_LANE_INLINE V forward(V x) const { return select(greater(x, zero()), x, mul(alpha_, expm1_nonpositive(x))); }
  ACTK_LANE_INLINE V derivative(V x) const {
    // The full-range exp, not the flushing one: alpha is the caller's and may be large, so
    // e^x's relative accuracy matters down to the subnormals.
    return select(greater(x, zero()), one(), mul(alpha_, exp(x)));
  }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return select(greater(y, zero()), one(), add(y, alpha_)); }

 private:
  V alpha_;
};

struct Selu {
  // Klambauer et al. (2017); scale * alpha rounded once from the double product.
  static constexpr double kScale = 1.0507009873554804934193349852946;
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  explicit Selu(const ActivationParams&) {}
  ACTK_LANE_INLINE V forward(V x) const {
    return select(greater(x, zero()), mul(splat(float(kScale)), x), mul(splat(float(kScale * kAlpha)), expm1_nonpositive(x)));
  }
  // scale alpha e^x for x <= 0, as scale alpha p 2^k rounded once (the power of two last).
  ACTK_LANE_INLINE V derivative(V x) const {
    const ExpTail t = exp_tail(min(x, zero()));
    const V negative = scale(times(splat(float(kScale * kAlpha)), t.e.s), t.e.k, t.far);
    return select(greater(x, zero()), splat(float(kScale)), negative);
  }
  ACTK_LANE_INLINE V derivative_from_output(V y) const {
    return select(greater(y, zero()), splat(float(kScale)), add(y, splat(float(kScale * kAlpha))));
  }
};

struct Celu {
  static constexpr bool kComputeBound = true;
  explicit Celu(const ActivationParams& p) : alpha_(splat(p.alpha)) {}
  // x / alpha by division, not by a rounded reciprocal: one rounding less in the argument. Where
  // |x / alpha| < 2^-12, alpha expm1(x / alpha) = x (1 + z/2) to f32 precision: exact even when
  // z = x / alpha underflows (a large alpha), which alpha * expm1(z) is not.
  ACTK_LANE_INLINE V forward(V x) const {
    const V z = div(x, alpha_);
    const V series = fma(x, mul(z, splat(0.5f)), x);
    const V result = select(less(abs(z), splat(0x1p-12f)), series, mul(alpha_, expm1(z)));
    return select(greater(x, zero()), x, result);
  }
  ACTK_LANE_INLINE V derivative(V x) const { return select(greater(x, zero()), one(), exp(div(x, alpha_))); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return select(greater(y, zero()), one(), add(div(y, alpha_), one())); }

 private:
  V alpha_;
};

}  // namespace actk::lanes::ACTK_LANES
