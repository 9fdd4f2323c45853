// gelu, x Phi(x), through the normal tail function of vector_math.hpp.
// One functor per activation, written once over the lane primitives (kernels/math/lanes_scalar.hpp
// or host/cpu/lanes_<isa>.hpp, included first) and compiled once per lane type, so the CUDA
// kernels, the cpu portable path and the cpu vector paths run the same operations (see
// activations.hpp for what a functor provides).
#pragma once

#include "actk/catalogue.hpp"
#include "kernels/math/vector_math.hpp"

namespace actk::lanes::ACTK_LANES {

struct Gelu {
  static constexpr bool kComputeBound = true;
  explicit Gelu(const ActivationParams&) {}
  // With m = |x| e^(-x^2/2) Q(|x|) = |x| Phi(-|x|): gelu = -m for x < 0 and x - m for x >= 0.
  // The power of two of e^(-x^2/2) is applied after the product with |x|, with ldexp for vectors
  // with a lane beyond |x| = 9 (m exact down to the smallest normal result); |x| is clamped to 15
  // in m (m rounds to 0 there) to keep inf out of it.
  ACTK_LANE_INLINE V forward(V x) const {
    const NormalTail tail = normal_tail(x, 15.0f);
    const V gx = min(abs(x), splat(15.0f));
    const V scaled = mul(times(gx, tail.s), tail.mills);
    const V m = any(greater(abs(x), splat(9.0f))) ? ldexp(scaled, tail.k) : ldexp_normal(scaled, tail.k);
    return select(less(x, zero()), neg(m), sub(x, m));
  }
  // Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi), with e^(-x^2/2) = p 2^k. For x < 0 it is
  // p (Q + x / sqrt(2 pi)) 2^k, the power of two applied last: one rounding where the result is
  // subnormal, 0 where the exact one rounds to 0 (beyond |x| = 14.2, and at -inf); for x >= 0,
  // 1 - Phi(-x) + x phi(x). |x| is clamped to 15, where both terms round to 0.
  ACTK_LANE_INLINE V derivative(V x) const {
    const NormalTail tail = normal_tail(x, 15.0f);
    const bool far = any(greater(abs(x), splat(13.0f)));  // 2^k below the normal range
    const V xc = clamp(x, -15.0f, 15.0f);
    const V density = splat(0x1.988454p-2f);  // 1 / sqrt(2 pi)
    const V below = scale(times(fma(xc, density, tail.mills), tail.s), tail.k, far);
    const V gauss = scale(tail.p, tail.k, far);
    const V above = fma(mul(xc, gauss), density, fnma(gauss, tail.mills, one()));
    return select(less(x, zero()), below, above);
  }
};

}  // namespace actk::lanes::ACTK_LANES
