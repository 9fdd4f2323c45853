// The logistic family: sigmoid, tanh, silu, quick_gelu, gelu_tanh, softplus and mish, each from one
// exponential (tanh x = 2 sigma(2x) - 1, gelu_tanh = x sigma(2u), mish through e^x alone).
// One functor per activation, written once over the lane primitives (kernels/math/lanes_scalar.hpp
// or host/cpu/lanes_<isa>.hpp, included first) and compiled once per lane type, so the CUDA
// kernels, the cpu portable path and the cpu vector paths run the same operations (see
// activations.hpp for what a functor provides).
#pragma once

#include <cmath>

#include "actk/catalogue.hpp"
#include "kernels/math/vector_math.hpp"

namespace actk::lanes::ACTK_LANES {

/// x * sigmoid(v), v = hi + lo, relative to full accuracy for every sign: x / (1 + e^-v) for
/// v >= 0 and (x e^v / (1 + e^v)) for v < 0, where e^v is kept as p * 2^k and the power of two is
/// applied last, so x e^v stays exact down to the smallest normal result even where e^v alone
/// is subnormal (silu at x = -90: e^x is subnormal, x e^x is not). x must be finite here.
ACTK_LANE_INLINE V times_sigmoid(V x, V v_hi, V v_lo) {
  const Mask negative = less(v_hi, zero());
  const V lo = select(negative, v_lo, neg(v_lo));
  const ExpParts e = exp_parts(max(neg_abs(v_hi), splat(kExpMin)), lo);  // e^-|v|
  const V q = div(x, add(one(), ldexp(e.p, e.k)));
  return select(negative, ldexp(times(q, e.s), e.k), q);
}

/// sigma(v) and sigma(-v) over the whole range, from t = e^-|v| = p 2^k: the larger of the two,
/// 1 / (1 + t), and the smaller one, t / (1 + t), without its power of two, which the caller
/// applies last (scale) after its own products, so that they round once where the smaller one is
/// subnormal and reach 0 where the exact value rounds to 0 (at +-inf too).
struct LogisticParts {
  V upper;         ///< 1 / (1 + t) = max(sigma(v), sigma(-v))
  V lower_scaled;  ///< p / (1 + t) = min(sigma(v), sigma(-v)) / 2^k
  Exponent k;
  bool far;        ///< pass to scale()
  Mask negative;   ///< v < 0: sigma(v) is the smaller one
};
ACTK_LANE_INLINE LogisticParts logistic_parts(V v) {
  const ExpTail t = exp_tail(neg_abs(v));
  const V upper = div(one(), add(one(), scale(t.e.p, t.e.k, t.far)));
  return {upper, mul(t.e.p, upper), t.e.k, t.far, less(v, zero())};
}

/// sigma(v) (1 + c sigma(-v)): the derivatives of x sigma(x) (c = x) and of gelu_tanh. Where
/// v < 0, sigma(v) is the scaled smaller value and its power of two is applied last.
ACTK_LANE_INLINE V sigmoid_times_one_plus(const LogisticParts& s, V c) {
  const V below = scale(mul(s.lower_scaled, fma(c, s.upper, one())), s.k, s.far);
  const V above = mul(s.upper, fma(c, scale(s.lower_scaled, s.k, s.far), one()));
  return select(s.negative, below, above);
}

/// t / (1 + t)^2 = sigma(a) sigma(-a) for t = e^a = p 2^k, a <= 0, times `factor` (1, or 4 for
/// tanh), the power of two applied last: relative to full accuracy down to the subnormals.
ACTK_LANE_INLINE V logistic_slope(V a, float factor) {
  const ExpTail t = exp_tail(a);
  const V d = add(one(), scale(t.e.p, t.e.k, t.far));
  return scale(div(mul(splat(factor), t.e.p), mul(d, d)), t.e.k, t.far);
}

struct Sigmoid {
  explicit Sigmoid(const ActivationParams&) {}
  // 1 / (1 + e^-x), e^-x finite for x >= -87 (and relative errors do not grow through 1 + E);
  // below -87 the result is e^x itself, subnormal, with the precision bf16 (whose subnormals
  // reach 2^-133) needs.
  ACTK_LANE_INLINE V forward(V x) const {
    const V s = div(one(), add(one(), exp_normal(clamp(neg(x), -87.0f, 87.0f))));
    const Mask tail = less(x, splat(-87.0f));
    return any(tail) ? select(tail, exp(x), s) : s;
  }
  ACTK_LANE_INLINE V derivative(V x) const { return logistic_slope(neg_abs(x), 1.0f); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return mul(y, sub(one(), y)); }
};

struct Tanh {
  explicit Tanh(const ActivationParams&) {}
  // tanh|x| = -m / (2 + m), m = e^(-2|x|) - 1 in (-1, 0]: no cancellation near 0, no overflow
  // for large |x| (the textbook (e^x - e^-x) / (e^x + e^-x) is inf / inf beyond 89).
  ACTK_LANE_INLINE V forward(V x) const {
    const V m = expm1_nonpositive(mul(min(abs(x), splat(10.0f)), splat(-2.0f)));
    const V t = div(neg(m), add(splat(2.0f), m));
    return bit_or(t, sign_of(x));
  }
  // sech^2 x = 4t / (1 + t)^2, t = e^(-2|x|): keeps relative accuracy where 1 - tanh^2 cancels.
  ACTK_LANE_INLINE V derivative(V x) const { return logistic_slope(mul(abs(x), splat(-2.0f)), 4.0f); }
  ACTK_LANE_INLINE V derivative_from_output(V y) const { return fnma(y, y, one()); }
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
  ACTK_LANE_INLINE static Inner twice_inner(V x) {
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
  ACTK_LANE_INLINE V forward(V x) const {
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
  // = sigma(2u) (1 + 2x du sigma(-2u)). 2u in f32: near the root (x = -0.75) the derivative is
  // judged in absolute terms, and in the tail (2u < -87) its rounding costs relative accuracy in a
  // value below 2^-126 only. Beyond |x| = 12 the result is 1 or rounds to 0.
  ACTK_LANE_INLINE V derivative(V x) const {
    const V xc = clamp(x, -12.0f, 12.0f);
    const V x2 = mul(xc, xc);
    const V two_u = mul(xc, fma(x2, splat(float(2 * kSqrt2OverPi * kCubic)), splat(float(2 * kSqrt2OverPi))));
    const V du = mul(splat(float(kSqrt2OverPi)), fma(x2, splat(float(3 * kCubic)), one()));
    return sigmoid_times_one_plus(logistic_parts(two_u), mul(mul(xc, splat(2.0f)), du));
  }
};

struct Silu {
  explicit Silu(const ActivationParams&) {}
  // x / (1 + e^-x); below -80, x e^x / (1 + e^x) with the power of two applied last
  // (times_sigmoid: exact where e^x alone is subnormal). Below -120 the result rounds to -0;
  // clamping keeps -inf out of the product.
  ACTK_LANE_INLINE V forward(V x) const {
    V f = div(x, add(one(), exp_normal(clamp(neg(x), -87.0f, 80.0f))));
    const Mask tail = less(x, splat(-80.0f));
    if (any(tail)) {
      const V xc = max(x, splat(-120.0f));
      f = select(tail, times_sigmoid(xc, xc, zero()), f);
    }
    return f;
  }
  // sigma(x) (1 + x sigma(-x)); beyond |x| = 115 the result is 1 or rounds to 0.
  ACTK_LANE_INLINE V derivative(V x) const {
    const V xc = clamp(x, kExpMin, -kExpMin);
    return sigmoid_times_one_plus(logistic_parts(xc), xc);
  }
};

// x sigma(a x), a = sigmoid_scale (1.702: CLIP's "QuickGELU", Radford et al., 2021). a x is carried
// as hi + lo (exact through an FMA): where a x reaches -80, its f32 rounding alone would cost ~100
// ulp in e^(a x). x / (1 + e^-(a x)) down to a x = -80, below it x e^(a x) / (1 + e^(a x)) with the
// power of two applied last (times_sigmoid), as silu. Beyond |a x| = 120 the result is x, or
// rounds to 0 (|x| <= 120 / a <= 2^15 there, as sigmoid_scale >= 2^-8: |x| e^-115 < 2^-150).
struct QuickGelu {
  explicit QuickGelu(const ActivationParams& p) : scale_(splat(p.sigmoid_scale)), bound_(splat(float(120.0 / float(p.sigmoid_scale)))) {}
  ACTK_LANE_INLINE V forward(V x) const {
    const V xc = min(max(x, neg(bound_)), bound_);
    const V hi = mul(scale_, xc);
    const V lo = fms(scale_, xc, hi);
    const ExpParts e = exp_parts(clamp(neg(hi), -87.0f, 80.0f), neg(lo));
    V f = div(xc, add(one(), ldexp_normal(e.p, e.k)));
    const Mask tail = less(hi, splat(-80.0f));
    if (any(tail)) f = select(tail, times_sigmoid(xc, hi, lo), f);
    return select(greater(x, bound_), x, f);
  }
  // d/dx x sigma(a x) = sigma(v) (1 + v sigma(-v)) at v = a x: silu' at a x.
  ACTK_LANE_INLINE V derivative(V x) const {
    const V v = clamp(mul(scale_, x), kExpMin, -kExpMin);
    return sigmoid_times_one_plus(logistic_parts(v), v);
  }

 private:
  V scale_, bound_;
};

struct Softplus {
  static constexpr bool kComputeBound = true;
  static constexpr bool kForwardKeepsNan = true;
  explicit Softplus(const ActivationParams& p)
      : beta_(splat(p.beta)), inverse_beta_(splat(1.0f / p.beta)), threshold_(splat(p.threshold)),
        minus_log_beta_(splat(float(-std::log(std::fabs(double(p.beta)))))),
        minus_log_beta_lo_(splat(float(-std::log(std::fabs(double(p.beta))) -
                                       double(float(-std::log(std::fabs(double(p.beta)))))))),
        exact_inverse_(has_exact_inverse(p.beta)),
        unit_beta_(p.beta == 1.0),
        negative_beta_(p.beta < 0) {}
  // log(1 + e^(beta x)) / beta = (max(bx, 0) + log1p(e^-|bx|)) / beta. Unless beta is a power of
  // two with a finite inverse (1 by default), bx = beta x is carried as hi + lo (exact through an
  // FMA) because e^bx magnifies its rounding by |bx|. Beyond |bx| = 87, e^-|bx| is subnormal: ldexp rounds it once,
  // and below bx = -87 the result is e^bx / beta = +-e^(bx - log |beta|) (log1p(t) = t to f32
  // precision), one exp, so that a small beta does not magnify the subnormal's rounding (a
  // negative beta has its tail at large positive x, and a negative result).
  ACTK_LANE_INLINE V forward(V x) const {
    if (unit_beta_) return forward_unit_beta(x);
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
    const V sum = add(max(zero(), bx), log_term);  // max(0, NaN) is NaN (kForwardKeepsNan)
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
    // beta x past the range from a finite x (a huge beta above a huge threshold): the result is x
    // to within log(2) / |beta|, far below x's ulp.
    result = select(equal(bx, infinity()), x, result);
    return select(linear(x, bx), x, result);
  }
  // sigma(beta x), rounded once where it is subnormal (beta x < -87).
  ACTK_LANE_INLINE V derivative(V x) const {
    const V bx = mul(beta_, x);
    const LogisticParts s = logistic_parts(bx);
    return select(linear(x, bx), one(), select(s.negative, scale(s.lower_scaled, s.k, s.far), s.upper));
  }

 private:
  // beta x > threshold on the exact product (as the reference and the functors test it): the
  // rounded bx decides, but for a tie with the threshold, where the product's rounding error does,
  // or, where the product is below the smallest subnormal (bx = 0 and no error left: a subnormal
  // beta), the signs of beta and x.
  ACTK_LANE_INLINE Mask linear(V x, V bx) const {
    if (unit_beta_) return greater(x, threshold_);  // bx = x exactly
    const V error = fms(beta_, x, bx);
    const Mask positive_product = negative_beta_ ? less(x, zero()) : greater(x, zero());
    const Mask vanished = mask_and(equal(bx, zero()), mask_and(equal(error, zero()), positive_product));
    const Mask tie = mask_and(equal(bx, threshold_), mask_or(greater(error, zero()), vanished));
    return mask_or(greater(bx, threshold_), tie);
  }
  // forward() for beta = 1 (the default), the same bits for a fifth fewer instructions: bx = x
  // exactly, no low part, no division, and below x = -87 the result is e^x itself, the t that
  // log1p's argument already holds.
  ACTK_LANE_INLINE V forward_unit_beta(V x) const {
    const ExpParts e = exp_parts(max(neg_abs(x), splat(kExpMin)));
    const bool tail = any(greater(abs(x), splat(87.0f)));
    const V t = tail ? ldexp(e.p, e.k) : ldexp_normal(e.p, e.k);
    V result = add(max(zero(), x), log1p_unit(t));
    if (tail) result = select(less(x, splat(-87.0f)), t, result);
    return select(mask_or(linear(x, x), equal(x, infinity())), x, result);
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
  bool unit_beta_;
  bool negative_beta_;  ///< beta is never 0
};

struct Mish {
  static constexpr bool kComputeBound = true;
  explicit Mish(const ActivationParams&) {}
  // tanh(log(1 + e)) = n / (n + 2) with e = e^x, n = e (e + 2): one exp, no log, no tanh.
  // mish = x e (e + 2) / (n + 2), with e's power of two applied last (x e^x is exact down to the
  // smallest normal result). Above x = 20 the ratio is 1 to f32 precision. Vectors within
  // [-80, 20] (e^x normal, no clamp) take the short path; the others clamp, and scale with ldexp.
  ACTK_LANE_INLINE V forward(V x) const {
    if (!any(mask_or(less(x, splat(-80.0f)), greater(x, splat(20.0f))))) return ratio<false>(x, x);
    // below kExpMin, mish rounds to -0 all the same
    return select(greater(x, splat(20.0f)), x, ratio<true>(x, clamp(x, kExpMin, 20.0f)));
  }
  // tanh(sp) + x sigma(x) sech^2(sp) = n / (n + 2) + 4 x e (1 + e) / (n + 2)^2
  //   = e q ((e + 2) + 4 x (1 + e) q), q = 1 / (n + 2),
  // with e = p 2^k and the power of two applied last: the result rounds once where it is
  // subnormal, and to 0 where the exact one does (below x = -103, and at -inf).
  ACTK_LANE_INLINE V derivative(V x) const {
    const V xc = clamp(x, kExpMin, 20.0f);
    const ExpParts e = exp_parts(xc);
    const bool far = any(less(xc, splat(-87.0f)));
    const V ev = scale(e.p, e.k, far);
    const V e_plus_2 = add(ev, splat(2.0f));
    const V q = div(one(), fma(ev, e_plus_2, splat(2.0f)));
    const V inner = fma(mul(mul(splat(4.0f), xc), add(one(), ev)), q, e_plus_2);
    return select(greater(x, splat(20.0f)), one(), scale(mul(mul(e.p, q), inner), e.k, far));
  }
 private:
  // mish(x) from xc, x clamped to [kExpMin, 20]; kTail: e^xc may be subnormal (ldexp).
  template <bool kTail>
  ACTK_LANE_INLINE static V ratio(V x, V xc) {
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

}  // namespace actk::lanes::ACTK_LANES
