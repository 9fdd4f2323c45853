// The project's own f32 math: exp, expm1, log1p and the normal tail function that gelu needs,
// from +, x, fma, IEEE division, rounding to an integer and bit operations only, inline so that an
// activation costs what its arithmetic costs. Written once over the lane primitives (the scalar
// lane of lanes_scalar.hpp, or the SIMD lanes of host/cpu/lanes_<isa>.hpp, included first) and
// compiled once per lane type: the CUDA kernels, the portable path and the vector paths run the
// same operations on each value, so they give the same bits.
//
// Why not a library: SLEEF 3.5, Highway 1.0.3 contrib/math and glibc 2.36 libmvec were measured
// here (README.md of this folder has the table). Their out-of-line calls cost 11 to 150 cycles per
// 8 floats, while a sweep at copy speed on this class of machine leaves about 14 cycles per 8
// floats for the whole activation; inlined code below costs 8 to 25. Coefficients come from
// host/cpu/fit_coefficients.py (weighted least squares refined towards minimax against mpmath),
// which also states each polynomial's error as evaluated in f32; the functions' bounds are
// checked through the activations that use them (tests/test_cpu_backend.cpp: elu is expm1,
// softplus is exp and log1p, gelu is the normal tail, on 2^20 random f32 values, every special
// value and all f16/bf16 inputs).
#pragma once

#include "kernels/math/normal_tail_table.hpp"

#ifndef ACTK_LANES
#error "include the primitives of one lane type (lanes_scalar.hpp, host/cpu/lanes_<isa>.hpp) first"
#endif

namespace actk::lanes::ACTK_LANES {

ACTK_LANE_INLINE V one() { return splat(1.0f); }
ACTK_LANE_INLINE V neg(V x) { return bit_xor(x, splat(-0.0f)); }
ACTK_LANE_INLINE V abs(V x) { return bit_and(x, from_bits(splat_int(0x7fffffff))); }
/// -|x|
ACTK_LANE_INLINE V neg_abs(V x) { return bit_or(x, splat(-0.0f)); }
/// x's sign bit alone: +0 or -0.
ACTK_LANE_INLINE V sign_of(V x) { return bit_and(x, splat(-0.0f)); }
/// mask ? 1 : 0
ACTK_LANE_INLINE V indicator(Mask m) { return select_or_zero(m, one()); }
/// min/max that clamp finite values and infinities; NaN is handled by the callers' NaN blend.
ACTK_LANE_INLINE V clamp(V x, float lo, float hi) { return min(max(x, splat(lo)), splat(hi)); }
ACTK_LANE_INLINE V infinity() { return from_bits(splat_int(0x7f800000)); }

/// e^r - 1 = r + r^2 q(r) for |r| <= ln2/2 (plus a small correction), q of degree 4:
/// relative error of 1 + r + r^2 q below 1.2 x 2^-24 as evaluated in f32.
ACTK_LANE_INLINE V expm1_reduced(V r) {
  V q = splat(0x1.6c86c6p-10f);
  q = fma(q, r, splat(0x1.120b2cp-7f));
  q = fma(q, r, splat(0x1.55559ep-5f));
  q = fma(q, r, splat(0x1.5554dep-3f));
  q = fma(q, r, splat(0x1.000000p-1f));
  return fma(mul(r, r), q, r);
}

/// e^(hi + lo) as p * 2^k, p in [0.70, 1.42], so that products with tiny or huge factors can be
/// scaled once at the end (ldexp) instead of under- or overflowing midway.
struct ExpParts {
  V p;
  Exponent k;
  V s;  ///< p - 1 before rounding p: v * p is fma(v, s, v), one rounding instead of two
};

/// v * p rounded once, given s = p - 1 unrounded.
ACTK_LANE_INLINE V times(V v, V s) { return fma(v, s, v); }

// Clamp bounds: below -115, e^x * |anything the activations multiply it by| is below half the
// smallest subnormal and rounds to zero; above 88.8 e^x is infinite. Inside them 2^k is within
// the range of ldexp.
inline constexpr float kExpMin = -115.0f;
inline constexpr float kExpMax = 88.8f;

/// k ln2 split so that kf * kLn2Hi is exact for |k| < 2^8: the reduced argument x - k ln2.
ACTK_LANE_INLINE V reduce(V x, V kf) {
  const V r = fma(kf, splat(-0x1.62e400p-1f), x);
  return fma(kf, splat(-0x1.7f7d1cp-20f), r);
}
/// The k of e^x = 2^k e^r: x / ln2 rounded to the nearest integer.
ACTK_LANE_INLINE V exp_k(V x) { return round_to_integer(mul(x, splat(0x1.715476p+0f))); }

/// e^(hi + lo), lo a small correction (|lo| <= a few ulp(hi)) carrying the rounding error of an
/// argument computed in more than f32 precision (x^2, beta*x, the gelu_tanh cubic).
/// Cody-Waite reduction r = hi - k ln2 + lo, |r| <= ln2/2 (+ |lo|), then e^r = 1 + s with
/// s = expm1_reduced(r); p's total error is below 0.6 ulp. hi must lie in [kExpMin, kExpMax]:
/// the callers clamp (most need only one side, or none).
ACTK_LANE_INLINE ExpParts exp_parts(V hi, V lo) {
  const V kf = exp_k(hi);
  const V s = expm1_reduced(add(reduce(hi, kf), lo));
  return {add(one(), s), to_exponent(kf), s};
}

/// e^hi as p * 2^k, hi in [kExpMin, kExpMax] (no low part: one addition less).
ACTK_LANE_INLINE ExpParts exp_parts(V hi) {
  const V kf = exp_k(hi);
  const V s = expm1_reduced(reduce(hi, kf));
  return {add(one(), s), to_exponent(kf), s};
}

/// e^x, below 0.6 ulp on the whole f32 range (subnormal results rounded once).
ACTK_LANE_INLINE V exp(V x) {
  const ExpParts e = exp_parts(clamp(x, kExpMin, kExpMax));
  return ldexp(e.p, e.k);
}

/// e^x for x in [-87, 88], 0.6 ulp: 2^k is one normal factor there.
ACTK_LANE_INLINE V exp_normal(V x) {
  const ExpParts e = exp_parts(x);
  return ldexp_normal(e.p, e.k);
}

/// v 2^k rounded once: with ldexp (subnormal results, k down to -166) where `far`, else with one
/// normal power of two (k >= -126). Both round the same exact value once, so a lane gets the same
/// bits from either: the vector code passes any() of its lanes, the scalar lane its own test.
ACTK_LANE_INLINE V scale(V v, Exponent k, bool far) { return far ? ldexp(v, k) : ldexp_normal(v, k); }

/// e^a for a <= 0 (or -inf) as p 2^k, a clamped to kExpMin, and whether some lane needs ldexp
/// (a < -87: 2^k below the normal range). Lanes with a > 0 are for callers that discard them.
struct ExpTail {
  ExpParts e;
  bool far;
};
ACTK_LANE_INLINE ExpTail exp_tail(V a) {
  return {exp_parts(max(a, splat(kExpMin))), any(less(a, splat(-87.0f)))};
}

// The activations compute their common range with one power-of-two factor (ldexp_normal) and run
// the exact tail code (ldexp: subnormal results) only for vectors that have a lane in the tail
// (any()); a lane's result never depends on its neighbours, because both codes give the same bits
// wherever the common one is valid.

/// e^x - 1, below 1 ulp. With e^x = 2^k (1 + s): 2^k s + (2^k - 1), where 2^k - 1 is exact for
/// the k that matter (|k| <= 24) and the sum is one fused rounding; k = 0 returns s itself, which
/// keeps full relative accuracy near 0. x is clamped to [-88, 88.8]: below, the result is -1.
ACTK_LANE_INLINE V expm1(V x) {
  x = clamp(x, -88.0f, kExpMax);
  const V kf = exp_k(x);
  V s = expm1_reduced(reduce(x, kf));
  // k = 128 (x near the overflow bound) has no f32 power of two: use 2^127 (2 + 2s) instead.
  const Mask top = equal(kf, splat(128.0f));
  s = select(top, fma(s, splat(2.0f), splat(1.0f)), s);
  const V t = pow2(to_exponent(sub(kf, select_or_zero(top, one()))));
  const V scaled = fma(t, s, sub(t, one()));
  return select(equal(kf, zero()), s, scaled);
}

/// expm1 for x <= 0 (elu, selu, tanh): no k = 128 case. Lanes with x > 0 are computed as 0.
ACTK_LANE_INLINE V expm1_nonpositive(V x) {
  x = clamp(x, -88.0f, 0.0f);
  const V kf = exp_k(x);
  const V s = expm1_reduced(reduce(x, kf));
  const V t = pow2(to_exponent(kf));
  const V scaled = fma(t, s, sub(t, one()));
  return select(equal(kf, zero()), s, scaled);
}

/// log(1 + t) for t in [0, 1], below 1.5 ulp: s = t / (2 + t) in [0, 1/3] and
/// log(1 + t) = 2 atanh(s) = 2s + s w P(w), w = s^2, P of degree 3 (relative error 1e-9).
/// No exponent extraction is needed on this range (softplus calls it with t = e^-|x|).
ACTK_LANE_INLINE V log1p_unit(V t) {
  const V s = div(t, add(splat(2.0f), t));
  const V w = mul(s, s);
  V p = splat(0x1.1326ccp-2f);
  p = fma(p, w, splat(0x1.211c72p-2f));
  p = fma(p, w, splat(0x1.99adc2p-2f));
  p = fma(p, w, splat(0x1.55554cp-1f));
  return fma(mul(s, w), p, add(s, s));
}

/// gelu's normal CDF through the tail function: Phi(-|x|) = e^(-x^2/2) Q(|x|), where
/// Q(x) = Phi(-x) e^(x^2/2) (the Mills ratio over sqrt(2 pi)) is one of 16 polynomials in
/// (|x| - midpoint) on 16 equal intervals over [0, 13.55], chosen per lane by a table lookup
/// (normal_tail_table.hpp: relative error below 1.6 ulp as evaluated in f32). Phi(x) is then
/// e^(-x^2/2) Q for x < 0, with full relative accuracy (no 1 - erf cancellation), and
/// 1 - e^(-x^2/2) Q >= 1/2 for x >= 0. Beyond 13.55, x Phi(x) is below the smallest normal and
/// e^(-x^2/2) alone decides.
/// e^(-x^2/2) takes x^2 as hi + lo (exact through an FMA), so its relative error stays below
/// 0.6 ulp where the argument reaches -88; a rounded x^2 would cost |x^2/2| * 2^-24, 40 ulp.
/// Flat, not an ExpParts inside: GCC copies nested vector aggregates through the stack.
struct NormalTail {
  V p;  ///< e^(-x^2/2) = p * 2^k
  Exponent k;
  V s;      ///< p - 1 unrounded (see ExpParts)
  V mills;  ///< Q(|x|)
};

/// gauss_limit clamps |x| for the Gaussian, at most 15 (-x^2/2 >= kExpMin): 15 where it must
/// reach 0 (e^-112.5 times anything gelu multiplies it by rounds to 0), 13 where one power-of-two
/// factor must do (k >= -122). The polynomial takes |x| clamped to the top of its last interval.
ACTK_LANE_INLINE NormalTail normal_tail(V x, float gauss_limit) {
  const V gx = min(abs(x), splat(gauss_limit));
  const V minus_half_gx = mul(gx, splat(-0.5f));  // exact
  const V arg = mul(gx, minus_half_gx);           // -x^2/2 = arg + arg_lo
  const V arg_lo = fms(gx, minus_half_gx, arg);
  const ExpParts gauss = exp_parts(arg, arg_lo);

  using Table = NormalTailTable;
  const Table& table = normal_tail_table();
  const V ax = min(abs(x), splat(Table::kLast));
  const VI index = table_index(mul(ax, splat(Table::kIntervals / Table::kTop)));
  const V u = sub(ax, lookup(table.midpoint, index));
  // Horner's scheme: Estrin's (four FMA levels instead of nine) would shorten the latency but
  // doubles the rounding error here (3.0 instead of 1.6 x 2^-24), which gelu cannot afford.
  V q = lookup(table.coefficient[Table::kDegree], index);
#if defined(__CUDACC__)
#pragma unroll
#else
#pragma GCC unroll 16
#endif
  for (int j = Table::kDegree - 1; j >= 0; --j) q = fma(q, u, lookup(table.coefficient[j], index));
  return {gauss.p, gauss.k, gauss.s, q};
}

}  // namespace actk::lanes::ACTK_LANES
