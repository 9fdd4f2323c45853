// One vector functor per activation of the catalogue, kLanes f32 lanes at a time, written once over
// the primitives of simd_<isa>.hpp. Same names and members as the scalar functors of
// kernels/activation_math.hpp: constructed from ActivationParams, forward(x), derivative(x), and
// derivative_from_output(y) where the catalogue allows it. NaN inputs are not their concern: the
// loop (kernels_simd.hpp) returns NaN for them. Infinities and the finite extremes are: every
// functor returns the limit, never 0 * inf. kComputeBound marks the activations whose forward pass
// costs more arithmetic than a copy's memory traffic leaves time for (the loop's store policy).
#pragma once

#include <cmath>

#include "actk/catalogue.hpp"
#include "host/cpu/vector_math.hpp"

namespace actk::cpu::ACTK_SIMD {

/// x * sigmoid(v), v = hi + lo, relative to full accuracy for every sign: x / (1 + e^-v) for
/// v >= 0 and (x e^v / (1 + e^v)) for v < 0, where e^v is kept as p * 2^k and the power of two is
/// applied last, so x e^v stays exact down to the smallest normal result even where e^v alone
/// is subnormal (silu at x = -90: e^x is subnormal, x e^x is not). x must be finite here.
ACTK_SIMD_INLINE V times_sigmoid(V x, V v_hi, V v_lo) {
  const Mask negative = less(v_hi, zero());
  const V lo = select(negative, v_lo, neg(v_lo));
  const ExpParts e = exp_parts(max(neg_abs(v_hi), splat(kExpMin)), lo);  // e^-|v|
  const V q = div(x, add(one(), ldexp(e.p, e.k)));
  return select(negative, ldexp(times(q, e.s), e.k), q);
}

/// sigma(x) and 1 - sigma(x) = sigma(-x) for derivatives (absolute accuracy), from E = e^-x:
/// 1 / (1 + E) and E / (1 + E), neither cancelling; x is clamped to +-87 so that E stays finite
/// and normal (beyond, the smaller of the two is below 1.7e-38 instead of smaller still).
struct SigmoidPair {
  V s;
  V complement;
};
ACTK_SIMD_INLINE SigmoidPair sigmoid_pair(V x) {
  const V e = exp_normal(clamp(neg(x), -87.0f, 87.0f));
  const V s = div(one(), add(one(), e));
  return {s, mul(e, s)};
}

/// t / (1 + t)^2 = sigma(x) sigma(-x) for t = e^-|x|, relative to full accuracy.
ACTK_SIMD_INLINE V logistic_slope(V t) {
  const V d = add(one(), t);
  return div(t, mul(d, d));
}

struct Identity {
  explicit Identity(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const { return x; }
  ACTK_SIMD_INLINE V derivative(V) const { return one(); }
  ACTK_SIMD_INLINE V derivative_from_output(V) const { return one(); }
};

struct Sigmoid {
  explicit Sigmoid(const ActivationParams&) {}
  // 1 / (1 + e^-x), e^-x finite for x >= -87 (and relative errors do not grow through 1 + E);
  // below -87 the result is e^x itself, subnormal, with the precision bf16 (whose subnormals
  // reach 2^-133) needs.
  ACTK_SIMD_INLINE V forward(V x) const {
    const V s = div(one(), add(one(), exp_normal(clamp(neg(x), -87.0f, 87.0f))));
    const Mask tail = less(x, splat(-87.0f));
    return any(tail) ? select(tail, exp(x), s) : s;
  }
  ACTK_SIMD_INLINE V derivative(V x) const {
    return logistic_slope(exp_nonpositive_flush(neg_abs(x)));
  }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return mul(y, sub(one(), y)); }
};

struct Tanh {
  explicit Tanh(const ActivationParams&) {}
  // tanh|x| = -m / (2 + m), m = e^(-2|x|) - 1 in (-1, 0]: no cancellation near 0, no overflow
  // for large |x| (the textbook (e^x - e^-x) / (e^x + e^-x) is inf / inf beyond 89).
  ACTK_SIMD_INLINE V forward(V x) const {
    const V m = expm1_nonpositive(mul(min(abs(x), splat(10.0f)), splat(-2.0f)));
    const V t = div(neg(m), add(splat(2.0f), m));
    return bit_or(t, sign_of(x));
  }
  // sech^2 x = 4t / (1 + t)^2, t = e^(-2|x|): keeps relative accuracy where 1 - tanh^2 cancels.
  ACTK_SIMD_INLINE V derivative(V x) const {
    return mul(splat(4.0f), logistic_slope(exp_nonpositive_flush(mul(abs(x), splat(-2.0f)))));
  }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return fnma(y, y, one()); }
};

struct Relu {
  explicit Relu(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const { return max(x, zero()); }
  ACTK_SIMD_INLINE V derivative(V x) const { return indicator(greater(x, zero())); }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return indicator(greater(y, zero())); }
};

struct LeakyRelu {
  explicit LeakyRelu(const ActivationParams& p)
      : slope_(splat(p.negative_slope)), keep_(not_equal(slope_, zero())) {}
  // With slope 0, slope * -inf would be NaN; the mask makes the negative branch exactly 0.
  ACTK_SIMD_INLINE V forward(V x) const { return select(greater(x, zero()), x, select_or_zero(keep_, mul(slope_, x))); }
  ACTK_SIMD_INLINE V derivative(V x) const { return select(greater(x, zero()), one(), slope_); }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return derivative(y); }

 private:
  V slope_;
  Mask keep_;
};

struct Elu {
  explicit Elu(const ActivationParams& p) : alpha_(splat(p.alpha)) {}
  ACTK_SIMD_INLINE V forward(V x) const { return select(greater(x, zero()), x, mul(alpha_, expm1_nonpositive(x))); }
  ACTK_SIMD_INLINE V derivative(V x) const {
    // The full-range exp, not the flushing one: alpha is the caller's and may be large, so
    // e^x's relative accuracy matters down to the subnormals.
    return select(greater(x, zero()), one(), mul(alpha_, exp(x)));
  }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return select(greater(y, zero()), one(), add(y, alpha_)); }

 private:
  V alpha_;
};

struct Selu {
  // Klambauer et al. (2017); scale * alpha rounded once from the double product.
  static constexpr double kScale = 1.0507009873554804934193349852946;
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  explicit Selu(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const {
    return select(greater(x, zero()), mul(splat(float(kScale)), x), mul(splat(float(kScale * kAlpha)), expm1_nonpositive(x)));
  }
  ACTK_SIMD_INLINE V derivative(V x) const {
    return select(greater(x, zero()), splat(float(kScale)), mul(splat(float(kScale * kAlpha)), exp_nonpositive_flush(x)));
  }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const {
    return select(greater(y, zero()), splat(float(kScale)), add(y, splat(float(kScale * kAlpha))));
  }
};

struct Celu {
  static constexpr bool kComputeBound = true;
  explicit Celu(const ActivationParams& p) : alpha_(splat(p.alpha)) {}
  // x / alpha by division, not by a rounded reciprocal: one rounding less in the argument. Where
  // |x / alpha| < 2^-12, alpha expm1(x / alpha) = x (1 + z/2) to f32 precision: exact even when
  // z = x / alpha underflows (a large alpha), which alpha * expm1(z) is not.
  ACTK_SIMD_INLINE V forward(V x) const {
    const V z = div(x, alpha_);
    const V series = fma(x, mul(z, splat(0.5f)), x);
    const V result = select(less(abs(z), splat(0x1p-12f)), series, mul(alpha_, expm1(z)));
    return select(greater(x, zero()), x, result);
  }
  ACTK_SIMD_INLINE V derivative(V x) const { return select(greater(x, zero()), one(), exp(div(x, alpha_))); }
  ACTK_SIMD_INLINE V derivative_from_output(V y) const { return select(greater(y, zero()), one(), add(div(y, alpha_), one())); }

 private:
  V alpha_;
};

struct Gelu {
  static constexpr bool kComputeBound = true;
  explicit Gelu(const ActivationParams&) {}
  // With m = |x| e^(-x^2/2) Q(|x|) = |x| Phi(-|x|): gelu = -m for x < 0 and x - m for x >= 0.
  // The power of two of e^(-x^2/2) is applied after the product with |x|, with ldexp for vectors
  // with a lane beyond |x| = 9 (m exact down to the smallest normal result); |x| is clamped to 15
  // in m (m rounds to 0 there) to keep inf out of it.
  ACTK_SIMD_INLINE V forward(V x) const {
    const NormalTail tail = normal_tail(x, 15.0f);
    const V gx = min(abs(x), splat(15.0f));
    const V scaled = mul(times(gx, tail.s), tail.mills);
    const V m = any(greater(abs(x), splat(9.0f))) ? ldexp(scaled, tail.k) : ldexp_normal(scaled, tail.k);
    return select(less(x, zero()), neg(m), sub(x, m));
  }
  // Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi); beyond |x| = 13 both tails are below
  // the absolute floor and e^-84.5 stands in for smaller values.
  ACTK_SIMD_INLINE V derivative(V x) const {
    const NormalTail tail = normal_tail(x, 13.0f);
    const V gauss = ldexp_normal(tail.p, tail.k);
    const V lower = mul(gauss, tail.mills);  // Phi(-|x|)
    const V cdf = select(less(x, zero()), lower, sub(one(), lower));
    const V xc = clamp(x, -20.0f, 20.0f);
    return fma(mul(xc, gauss), splat(0x1.988454p-2f), cdf);
  }
};

struct GeluTanh {
  static constexpr bool kComputeBound = true;
  explicit GeluTanh(const ActivationParams&) {}
  static constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
  static constexpr double kCubic = 0.044715;

  // 1 + tanh(u) = 2 sigma(2u): f = x sigma(2u). 2u = c1 x + c3 x^3 is carried as hi + lo: where 2u
  // reaches -87, its f32 rounding alone would cost ~100 ulp in e^(2u).
  struct Inner {
    V hi, lo;
  };
  // Double-f32 arithmetic (exact products and sums through FMAs, the constants as two floats):
  // |hi + lo - 2u| below 2^-45 |2u| over [-12, 12], |lo| below 3 ulp(hi). Cheaper than the same
  // in f64, whose conversions cost as much as all of the rest of forward.
  ACTK_SIMD_INLINE static Inner twice_inner(V x) {
    constexpr double kC1 = 2 * kSqrt2OverPi, kC3 = 2 * kSqrt2OverPi * kCubic;
    constexpr float kC1Hi = float(kC1), kC1Lo = float(kC1 - double(kC1Hi));
    constexpr float kC3Hi = float(kC3), kC3Lo = float(kC3 - double(kC3Hi));
    const V s = mul(x, x);
    const V s_lo = fms(x, x, s);  // x^2 = s + s_lo exactly
    // c3 x^2 = t + t_lo
    const V t = mul(splat(kC3Hi), s);
    const V t_lo = fma(splat(kC3Hi), s_lo, fma(splat(kC3Lo), s, fms(splat(kC3Hi), s, t)));
    // c1 + c3 x^2 = p + p_lo: both terms are >= 0, so Fast2Sum with the larger one first is exact.
    const V p = add(splat(kC1Hi), t);
    const V big = max(splat(kC1Hi), t), small = min(splat(kC1Hi), t);
    const V p_lo = add(add(sub(small, sub(p, big)), t_lo), splat(kC1Lo));
    // x (p + p_lo)
    const V hi = mul(x, p);
    return {hi, fma(x, p_lo, fms(x, p, hi))};
  }

  // x / (1 + e^-2u); where 2u < -80 (x < -9.3), x e^2u / (1 + e^2u) with the power of two
  // applied last (times_sigmoid). Beyond |x| = 12, sigma(2u) is 0 or 1 to far below f32
  // resolution (|2u| > 140).
  ACTK_SIMD_INLINE V forward(V x) const {
    const V xc = clamp(x, -12.0f, 12.0f);
    const Inner v = twice_inner(xc);
    const V minus_hi = neg(v.hi);
    const ExpParts e = exp_parts(clamp(minus_hi, -87.0f, 80.0f), neg(v.lo));
    V f = div(xc, add(one(), ldexp_normal(e.p, e.k)));
    const Mask tail = less(v.hi, splat(-80.0f));
    if (any(tail)) f = select(tail, times_sigmoid(xc, v.hi, v.lo), f);
    return select(greater(x, splat(12.0f)), x, f);
  }
  // sigma(2u) + x * 2 sigma'(2u) * du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V xc = clamp(x, -12.0f, 12.0f);
    // In f32: the derivative is judged in absolute terms, where 2u's rounding does not show.
    const V two_u = mul(xc, fma(mul(xc, xc), splat(float(2 * kSqrt2OverPi * kCubic)), splat(float(2 * kSqrt2OverPi))));
    const SigmoidPair s = sigmoid_pair(two_u);
    const V du = mul(splat(float(kSqrt2OverPi)), fma(mul(xc, xc), splat(float(3 * kCubic)), one()));
    return fma(mul(xc, splat(2.0f)), mul(mul(s.s, s.complement), du), s.s);
  }
};

struct Silu {
  explicit Silu(const ActivationParams&) {}
  // x / (1 + e^-x); below -80, x e^x / (1 + e^x) with the power of two applied last
  // (times_sigmoid: exact where e^x alone is subnormal). Below -120 the result rounds to -0;
  // clamping keeps -inf out of the product.
  ACTK_SIMD_INLINE V forward(V x) const {
    V f = div(x, add(one(), exp_normal(clamp(neg(x), -87.0f, 80.0f))));
    const Mask tail = less(x, splat(-80.0f));
    if (any(tail)) {
      const V xc = max(x, splat(-120.0f));
      f = select(tail, times_sigmoid(xc, xc, zero()), f);
    }
    return f;
  }
  // sigma(x) (1 + x sigma(-x)); beyond |x| = 87 the second term is below 2^-119.
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V xc = clamp(x, -87.0f, 87.0f);
    const SigmoidPair s = sigmoid_pair(xc);
    return mul(s.s, fma(xc, s.complement, one()));
  }
};

struct Softplus {
  static constexpr bool kComputeBound = true;
  explicit Softplus(const ActivationParams& p)
      : beta_(splat(p.beta)), inverse_beta_(splat(1.0f / p.beta)), threshold_(splat(p.threshold)),
        minus_log_beta_(splat(float(-std::log(std::fabs(double(p.beta)))))),
        minus_log_beta_lo_(splat(float(-std::log(std::fabs(double(p.beta))) -
                                       double(float(-std::log(std::fabs(double(p.beta)))))))),
        exact_inverse_(has_exact_inverse(p.beta)),
        negative_beta_(p.beta < 0) {}
  // log(1 + e^(beta x)) / beta = (max(bx, 0) + log1p(e^-|bx|)) / beta. Unless beta is a power of
  // two with a finite inverse (1 by default), bx = beta x is carried as hi + lo (exact through an
  // FMA) because e^bx magnifies its rounding by |bx|. Beyond |bx| = 87, e^-|bx| is subnormal: ldexp rounds it once,
  // and below bx = -87 the result is e^bx / beta = +-e^(bx - log |beta|) (log1p(t) = t to f32
  // precision), one exp, so that a small beta does not magnify the subnormal's rounding (a
  // negative beta has its tail at large positive x, and a negative result).
  ACTK_SIMD_INLINE V forward(V x) const {
    const V bx = mul(beta_, x);
    const V bx_lo = fms(beta_, x, bx);  // beta x = bx + bx_lo exactly, where finite
    V lo = zero();
    if (!exact_inverse_) {
      // masked to 0 where |bx| is beyond exp's clamp (there e^-|bx| is 0 whatever lo is, and an
      // unclamped lo of ulp(bx) would wreck the reduction) or infinite.
      const V clamped_lo = select_or_zero(less(abs(bx), splat(-kExpMin)), bx_lo);
      lo = select(less(bx, zero()), clamped_lo, neg(clamped_lo));
    }
    const ExpParts e = exp_parts(max(neg_abs(bx), splat(kExpMin)), lo);
    const bool tail = any(greater(abs(bx), splat(87.0f)));
    const V t = tail ? ldexp(e.p, e.k) : ldexp_normal(e.p, e.k);
    const V log_term = log1p_unit(t);
    const V sum = add(max(bx, zero()), log_term);
    V result = exact_inverse_ ? mul(sum, inverse_beta_) : div(sum, beta_);
    if (tail) {
      // bx - log beta as hi + lo: TwoSum of the high parts, then the low parts.
      const V hi = add(bx, minus_log_beta_);
      const V b = sub(hi, bx);
      const V hi_error = add(sub(bx, sub(hi, b)), sub(minus_log_beta_, b));
      const V arg = max(hi, splat(kExpMin));
      const V arg_lo = select_or_zero(greater(hi, splat(kExpMin)), add(hi_error, add(bx_lo, minus_log_beta_lo_)));
      const ExpParts scaled = exp_parts(arg, arg_lo);  // arg <= -87 + 103.3: within exp's range
      const V magnitude = ldexp(scaled.p, scaled.k);
      result = select(less(bx, splat(-87.0f)), negative_beta_ ? neg(magnitude) : magnitude, result);
    }
    return select(linear(x, bx), x, result);
  }
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V bx = mul(beta_, x);
    return select(linear(x, bx), one(), sigmoid_pair(bx).s);
  }

 private:
  // beta x > threshold on the exact product (as the reference and the functors test it): the
  // rounded bx decides, but for a tie with the threshold, where the product's rounding error does,
  // or, where the product is below the smallest subnormal (bx = 0 and no error left: a subnormal
  // beta), the signs of beta and x.
  ACTK_SIMD_INLINE Mask linear(V x, V bx) const {
    const V error = fms(beta_, x, bx);
    const Mask positive_product = negative_beta_ ? less(x, zero()) : greater(x, zero());
    const Mask vanished = mask_and(equal(bx, zero()), mask_and(equal(error, zero()), positive_product));
    const Mask tie = mask_and(equal(bx, threshold_), mask_or(greater(error, zero()), vanished));
    return mask_or(greater(bx, threshold_), tie);
  }
  // Dividing by beta = 1 (the default) or another power of two is multiplying by its exact
  // inverse, where that inverse is finite (not for beta = 2^-128: a fuzz finding).
  static bool has_exact_inverse(float beta) {
    int exponent = 0;
    return std::fabs(std::frexp(beta, &exponent)) == 0.5f && std::isfinite(1.0f / beta);
  }
  V beta_, inverse_beta_, threshold_;
  V minus_log_beta_, minus_log_beta_lo_;  ///< -log |beta| as hi + lo
  bool exact_inverse_;
  bool negative_beta_;  ///< beta is never 0
};

struct Mish {
  static constexpr bool kComputeBound = true;
  explicit Mish(const ActivationParams&) {}
  // tanh(log(1 + e)) = n / (n + 2) with e = e^x, n = e (e + 2): one exp, no log, no tanh.
  // mish = x e (e + 2) / (n + 2), with e's power of two applied last (x e^x is exact down to the
  // smallest normal result). Above x = 20 the ratio is 1 to f32 precision. Vectors within
  // [-80, 20] (e^x normal, no clamp) take the short path; the others clamp, and scale with ldexp.
  ACTK_SIMD_INLINE V forward(V x) const {
    if (!any(mask_or(less(x, splat(-80.0f)), greater(x, splat(20.0f))))) return ratio<false>(x, x);
    // below kExpMin, mish rounds to -0 all the same
    return select(greater(x, splat(20.0f)), x, ratio<true>(x, clamp(x, kExpMin, 20.0f)));
  }
  // tanh(sp) + x sigma(x) sech^2(sp) = n / (n + 2) + 4 x e (1 + e) / (n + 2)^2.
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V xc = clamp(x, -120.0f, 20.0f);
    const V ev = exp_normal(max(xc, splat(-87.0f)));
    const V n = mul(ev, add(ev, splat(2.0f)));
    const V q = div(one(), add(n, splat(2.0f)));  // one division for both terms (absolute accuracy)
    const V slope = mul(mul(mul(splat(4.0f), xc), mul(ev, add(one(), ev))), mul(q, q));
    return select(greater(x, splat(20.0f)), one(), fma(n, q, slope));
  }
 private:
  // mish(x) from xc, x clamped to [kExpMin, 20]; kTail: e^xc may be subnormal (ldexp).
  template <bool kTail>
  ACTK_SIMD_INLINE static V ratio(V x, V xc) {
    const ExpParts e = exp_parts(xc);
    const V ev = kTail ? ldexp(e.p, e.k) : ldexp_normal(e.p, e.k);
    const V e_plus_2 = add(ev, splat(2.0f));
    const V d = fma(ev, e_plus_2, splat(2.0f));  // n + 2, rounded once
    // For x >= 0, x (1 - 2 / (n + 2)): the quotient is at most 0.4 of the result, so its
    // rounding counts less than in the product form (2 ulp -> 1 ulp). One division serves both
    // forms: each lane divides the numerator of its own.
    const Mask below_zero = less(x, zero());
    const V q = div(select(below_zero, mul(times(xc, e.s), e_plus_2), add(xc, xc)), d);
    const V negative = kTail ? ldexp(q, e.k) : ldexp_normal(q, e.k);
    return select(below_zero, negative, sub(xc, q));
  }
};

struct Hardtanh {
  explicit Hardtanh(const ActivationParams& p) : lo_(splat(p.min_val)), hi_(splat(p.max_val)) {}
  ACTK_SIMD_INLINE V forward(V x) const { return min(max(x, lo_), hi_); }
  ACTK_SIMD_INLINE V derivative(V x) const { return indicator(mask_and(greater(x, lo_), less(x, hi_))); }

 private:
  V lo_, hi_;
};

struct Relu6 {
  explicit Relu6(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const { return clamp(x, 0.0f, 6.0f); }
  ACTK_SIMD_INLINE V derivative(V x) const { return indicator(mask_and(greater(x, zero()), less(x, splat(6.0f)))); }
};

struct Hardsigmoid {
  explicit Hardsigmoid(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const { return div(clamp(add(x, splat(3.0f)), 0.0f, 6.0f), splat(6.0f)); }
  ACTK_SIMD_INLINE V derivative(V x) const {
    return select_or_zero(mask_and(greater(x, splat(-3.0f)), less(x, splat(3.0f))), splat(1.0f / 6.0f));
  }
};

struct Hardswish {
  explicit Hardswish(const ActivationParams&) {}
  ACTK_SIMD_INLINE V forward(V x) const {
    const V middle = div(mul(x, add(x, splat(3.0f))), splat(6.0f));
    const V upper = select(greater_equal(x, splat(3.0f)), x, middle);
    return select(less_equal(x, splat(-3.0f)), zero(), upper);
  }
  // PyTorch's choice at the kinks: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V middle = add(div(x, splat(3.0f)), splat(0.5f));
    const V upper = select(greater(x, splat(3.0f)), one(), middle);
    return select(less(x, splat(-3.0f)), zero(), upper);
  }
};

struct Softsign {
  explicit Softsign(const ActivationParams&) {}
  // For |x| > 2^25, 1 + |x| rounds to |x| and the quotient is exactly +-1, as is the limit;
  // only +-inf itself (inf / inf) needs the select.
  ACTK_SIMD_INLINE V forward(V x) const {
    const V ax = abs(x);
    const V sign_one = bit_or(sign_of(x), one());
    return select(equal(ax, splat(__builtin_inff())), sign_one, div(x, add(one(), ax)));
  }
  ACTK_SIMD_INLINE V derivative(V x) const {
    const V d = add(one(), abs(x));
    return div(one(), mul(d, d));
  }
};

}  // namespace actk::cpu::ACTK_SIMD
