// The cpu backend's own f32 vector math for AVX2+FMA: exp, expm1, log1p and the normal tail
// function that gelu needs, inline so that an activation costs what its arithmetic costs.
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
//
// Only this header's includer (kernels_avx2.cpp) is compiled with -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstdint>

// Everything here is forced inline: a call would spill every live vector register (all are
// caller-saved), and GCC declines to inline the larger activations at their four call sites.
#define ACTK_AVX2_INLINE inline __attribute__((always_inline))

namespace actk::cpu::avx2 {

using V = __m256;
using VI = __m256i;

ACTK_AVX2_INLINE V splat(float v) { return _mm256_set1_ps(v); }
ACTK_AVX2_INLINE V abs(V x) { return _mm256_andnot_ps(splat(-0.0f), x); }
ACTK_AVX2_INLINE V is_nan(V x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
/// mask ? a : b, lane by lane (mask lanes all ones or all zeros).
ACTK_AVX2_INLINE V select(V mask, V a, V b) { return _mm256_blendv_ps(b, a, mask); }
/// min/max that clamp finite values and infinities; NaN is handled by the callers' NaN blend.
ACTK_AVX2_INLINE V clamp(V x, float lo, float hi) { return _mm256_min_ps(_mm256_max_ps(x, splat(lo)), splat(hi)); }

/// e^r - 1 = r + r^2 q(r) for |r| <= ln2/2 (plus a small correction), q of degree 4:
/// relative error of 1 + r + r^2 q below 1.2 x 2^-24 as evaluated in f32.
ACTK_AVX2_INLINE V expm1_reduced(V r) {
  V q = splat(0x1.6c86c6p-10f);
  q = _mm256_fmadd_ps(q, r, splat(0x1.120b2cp-7f));
  q = _mm256_fmadd_ps(q, r, splat(0x1.55559ep-5f));
  q = _mm256_fmadd_ps(q, r, splat(0x1.5554dep-3f));
  q = _mm256_fmadd_ps(q, r, splat(0x1.000000p-1f));
  return _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r);
}

/// e^(hi + lo) as p * 2^k, p in [0.70, 1.42], so that products with tiny or huge factors can be
/// scaled once at the end (ldexp_split) instead of under- or overflowing midway.
struct ExpParts {
  V p;
  VI k;
  V s;  ///< p - 1 before rounding p: v * p is fma(v, s, v), one rounding instead of two
};

/// v * p rounded once, given s = p - 1 unrounded.
ACTK_AVX2_INLINE V times(V v, V s) { return _mm256_fmadd_ps(v, s, v); }

// Clamp bounds: below -115, e^x * |anything the activations multiply it by| is below half the
// smallest subnormal and rounds to zero; above 88.8 e^x is infinite. Inside them 2^k splits into
// two normal factors (see ldexp_split).
inline constexpr float kExpMin = -115.0f;
inline constexpr float kExpMax = 88.8f;

/// e^(hi + lo), lo a small correction (|lo| <= ulp(hi)) carrying the rounding error of an
/// argument computed in more than f32 precision (x^2, beta*x, the gelu_tanh cubic).
/// Cody-Waite reduction r = hi - k ln2 + lo, |r| <= ln2/2 (+ |lo|), then e^r = 1 + s with
/// s = expm1_reduced(r); p's total error is below 0.6 ulp. hi must lie in [kExpMin, kExpMax]:
/// the callers clamp (most need only one side, or none).
ACTK_AVX2_INLINE ExpParts exp_parts(V hi, V lo) {
  const V kf = _mm256_round_ps(_mm256_mul_ps(hi, splat(0x1.715476p+0f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln2 split so that kf * kLn2Hi is exact for |k| < 2^8.
  V r = _mm256_fmadd_ps(kf, splat(-0x1.62e400p-1f), hi);
  r = _mm256_fmadd_ps(kf, splat(-0x1.7f7d1cp-20f), r);
  r = _mm256_add_ps(r, lo);
  const V s = expm1_reduced(r);
  return {_mm256_add_ps(splat(1.0f), s), _mm256_cvtps_epi32(kf), s};
}

/// e^hi as p * 2^k, hi in [kExpMin, kExpMax] (no low part: one addition less).
ACTK_AVX2_INLINE ExpParts exp_parts(V hi) {
  const V kf = _mm256_round_ps(_mm256_mul_ps(hi, splat(0x1.715476p+0f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm256_fmadd_ps(kf, splat(-0x1.62e400p-1f), hi);
  r = _mm256_fmadd_ps(kf, splat(-0x1.7f7d1cp-20f), r);
  const V s = expm1_reduced(r);
  return {_mm256_add_ps(splat(1.0f), s), _mm256_cvtps_epi32(kf), s};
}

ACTK_AVX2_INLINE V pow2(VI k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23)); }

/// v * 2^k for k in [-166, 128], rounded once: 2^k is applied as two normal powers of two, so a
/// result in the subnormal range is rounded only by the last multiplication, and one past the
/// largest finite value becomes infinity.
ACTK_AVX2_INLINE V ldexp_split(V v, VI k) {
  const VI k1 = _mm256_srai_epi32(k, 1);
  const VI k2 = _mm256_sub_epi32(k, k1);
  return _mm256_mul_ps(_mm256_mul_ps(v, pow2(k1)), pow2(k2));
}

/// e^x, below 0.6 ulp on the whole f32 range (subnormal results rounded once).
ACTK_AVX2_INLINE V exp(V x) {
  const ExpParts e = exp_parts(clamp(x, kExpMin, kExpMax));
  return ldexp_split(e.p, e.k);
}

/// e^x for x in [-87, 88], 0.6 ulp: 2^k is one normal factor there.
ACTK_AVX2_INLINE V exp_normal(V x) {
  const ExpParts e = exp_parts(x);
  return _mm256_mul_ps(e.p, pow2(e.k));
}

/// e^x for x <= 0 where only absolute accuracy matters (derivatives, judged against an absolute
/// floor of 2^-22): x is clamped to -87 so that 2^k is one normal factor; below, the result is
/// e^-87 = 1.6e-38 instead of something smaller. 0.6 ulp above -87. Lanes with x > 0 give
/// garbage, for callers that discard them.
ACTK_AVX2_INLINE V exp_nonpositive_flush(V x) {
  const ExpParts e = exp_parts(_mm256_max_ps(x, splat(-87.0f)));
  return _mm256_mul_ps(e.p, pow2(e.k));
}

/// Whether any lane of a comparison mask is set. The activations compute their common range
/// with one power-of-two factor and run the exact tail code (two factors, subnormal results)
/// only for vectors that have a lane in the tail; a lane's result never depends on its
/// neighbours, because both codes give the same bits wherever the common one is valid.
ACTK_AVX2_INLINE bool any(V mask) { return _mm256_movemask_ps(mask) != 0; }

/// e^x - 1, below 1 ulp. With e^x = 2^k (1 + s): 2^k s + (2^k - 1), where 2^k - 1 is exact for
/// the k that matter (|k| <= 24) and the sum is one fused rounding; k = 0 returns s itself, which
/// keeps full relative accuracy near 0. x is clamped to [-88, 88.8]: below, the result is -1.
ACTK_AVX2_INLINE V expm1(V x) {
  x = clamp(x, -88.0f, kExpMax);
  const V kf = _mm256_round_ps(_mm256_mul_ps(x, splat(0x1.715476p+0f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm256_fmadd_ps(kf, splat(-0x1.62e400p-1f), x);
  r = _mm256_fmadd_ps(kf, splat(-0x1.7f7d1cp-20f), r);
  V s = expm1_reduced(r);
  // k = 128 (x near the overflow bound) has no f32 power of two: use 2^127 (2 + 2s) instead.
  const V top = _mm256_cmp_ps(kf, splat(128.0f), _CMP_EQ_OQ);
  s = select(top, _mm256_fmadd_ps(s, splat(2.0f), splat(1.0f)), s);
  const V t = pow2(_mm256_cvtps_epi32(_mm256_sub_ps(kf, _mm256_and_ps(top, splat(1.0f)))));
  const V scaled = _mm256_fmadd_ps(t, s, _mm256_sub_ps(t, splat(1.0f)));
  return select(_mm256_cmp_ps(kf, _mm256_setzero_ps(), _CMP_EQ_OQ), s, scaled);
}

/// expm1 for x <= 0 (elu, selu, tanh): no k = 128 case. Lanes with x > 0 are computed as 0.
ACTK_AVX2_INLINE V expm1_nonpositive(V x) {
  x = clamp(x, -88.0f, 0.0f);
  const V kf = _mm256_round_ps(_mm256_mul_ps(x, splat(0x1.715476p+0f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm256_fmadd_ps(kf, splat(-0x1.62e400p-1f), x);
  r = _mm256_fmadd_ps(kf, splat(-0x1.7f7d1cp-20f), r);
  const V s = expm1_reduced(r);
  const V t = pow2(_mm256_cvtps_epi32(kf));
  const V scaled = _mm256_fmadd_ps(t, s, _mm256_sub_ps(t, splat(1.0f)));
  return select(_mm256_cmp_ps(kf, _mm256_setzero_ps(), _CMP_EQ_OQ), s, scaled);
}

/// log(1 + t) for t in [0, 1], below 1.5 ulp: s = t / (2 + t) in [0, 1/3] and
/// log(1 + t) = 2 atanh(s) = 2s + s w P(w), w = s^2, P of degree 3 (relative error 1e-9).
/// No exponent extraction is needed on this range (softplus calls it with t = e^-|x|).
ACTK_AVX2_INLINE V log1p_unit(V t) {
  const V s = _mm256_div_ps(t, _mm256_add_ps(splat(2.0f), t));
  const V w = _mm256_mul_ps(s, s);
  V p = splat(0x1.1326ccp-2f);
  p = _mm256_fmadd_ps(p, w, splat(0x1.211c72p-2f));
  p = _mm256_fmadd_ps(p, w, splat(0x1.99adc2p-2f));
  p = _mm256_fmadd_ps(p, w, splat(0x1.55554cp-1f));
  return _mm256_fmadd_ps(_mm256_mul_ps(s, w), p, _mm256_add_ps(s, s));
}

/// gelu's normal CDF through the tail function: Phi(-|x|) = e^(-x^2/2) Q(|x|), where
/// Q(x) = Phi(-x) e^(x^2/2) (the Mills ratio over sqrt(2 pi)) is one of 8 polynomials of degree 9
/// in (|x| - midpoint) on intervals of width 13.55/8 over [0, 13.55], chosen per lane by vpermps:
/// relative error below 1.6 ulp as evaluated in f32 (fit_coefficients.py simulates it). Phi(x) is
/// then e^(-x^2/2) Q for x < 0, with full relative accuracy (no 1 - erf cancellation), and
/// 1 - e^(-x^2/2) Q >= 1/2 for x >= 0. Beyond 13.55, x Phi(x) is below the smallest normal and
/// e^(-x^2/2) alone decides.
/// e^(-x^2/2) takes x^2 as hi + lo (exact through an FMA), so its relative error stays below
/// 0.6 ulp where the argument reaches -88; a rounded x^2 would cost |x^2/2| * 2^-24, 40 ulp.
/// Flat, not an ExpParts inside: GCC copies nested vector aggregates through the stack.
struct NormalTail {
  V p;      ///< e^(-x^2/2) = p * 2^k
  VI k;
  V s;      ///< p - 1 unrounded (see ExpParts)
  V mills;  ///< Q(|x|)
};

/// gauss_limit clamps |x| for the Gaussian: 20 where it must reach 0 (e^-200 after the split
/// scaling; the square stays finite), 13 where one power-of-two factor must do (k >= -122).
/// The polynomial takes |x| clamped to 13.55.
ACTK_AVX2_INLINE NormalTail normal_tail(V x, float gauss_limit) {
  const V gx = _mm256_min_ps(abs(x), splat(gauss_limit));
  const V x2 = _mm256_mul_ps(gx, gx);
  const V x2_lo = _mm256_fmsub_ps(gx, gx, x2);
  const ExpParts gauss =
      exp_parts(_mm256_max_ps(_mm256_mul_ps(x2, splat(-0.5f)), splat(kExpMin)), _mm256_mul_ps(x2_lo, splat(-0.5f)));

  const V ax = _mm256_min_ps(abs(x), splat(13.55f));
  const VI index = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(ax, splat(8.0f / 13.55f))), _mm256_set1_epi32(7));
  auto coefficient = [&](float c0, float c1, float c2, float c3, float c4, float c5, float c6, float c7) {
    return _mm256_permutevar8x32_ps(_mm256_setr_ps(c0, c1, c2, c3, c4, c5, c6, c7), index);
  };
  const V u = _mm256_sub_ps(ax, coefficient(0x1.b1999ap-1f, 0x1.453334p+1f, 0x1.0f0000p+2f, 0x1.7b6666p+2f,
                                            0x1.e7ccccp+2f, 0x1.2a199ap+3f, 0x1.604cccp+3f, 0x1.968000p+3f));
  // Horner's scheme: Estrin's (four FMA levels instead of nine) would shorten the latency but
  // doubles the rounding error here (3.0 instead of 1.6 x 2^-24), which gelu cannot afford.
  V q = coefficient(-0x1.5479d0p-15f, -0x1.76d7e4p-21f, -0x1.f2248ep-26f, -0x1.368290p-29f,
                    -0x1.2fa86cp-32f, -0x1.9c94b6p-35f, -0x1.730fcep-37f, -0x1.697092p-39f);
  q = _mm256_fmadd_ps(q, u, coefficient(0x1.381a42p-13f, 0x1.b63f66p-19f, 0x1.6ff68cp-23f, 0x1.1ab8bep-26f,
                                        0x1.4c0de4p-29f, 0x1.08dc6cp-31f, 0x1.093b9ep-33f, 0x1.3c775ap-35f));
  q = _mm256_fmadd_ps(q, u, coefficient(-0x1.cadfa4p-12f, -0x1.c3d190p-17f, -0x1.f74ba6p-21f, -0x1.e984eap-24f,
                                        -0x1.5ebbc4p-26f, -0x1.4bb8eap-28f, -0x1.813144p-30f, -0x1.05f846p-31f));
  q = _mm256_fmadd_ps(q, u, coefficient(0x1.6e9374p-10f, 0x1.e83166p-15f, 0x1.61b6aap-18f, 0x1.af109ep-21f,
                                        0x1.76b4b0p-23f, 0x1.a2d4c0p-25f, 0x1.1988c6p-26f, 0x1.b365f6p-28f));
  q = _mm256_fmadd_ps(q, u, coefficient(-0x1.17ccf6p-8f, -0x1.fd08fcp-13f, -0x1.e5052ep-16f, -0x1.75204ap-18f,
                                        -0x1.8b6fbcp-20f, -0x1.0605f4p-21f, -0x1.988968p-23f, -0x1.6803eep-24f));
  q = _mm256_fmadd_ps(q, u, coefficient(0x1.8be4f2p-7f, 0x1.faea1cp-11f, 0x1.431c0cp-13f, 0x1.3cec04p-15f,
                                        0x1.9be1b0p-17f, 0x1.44bfa0p-18f, 0x1.264e36p-19f, 0x1.2809b2p-20f));
  q = _mm256_fmadd_ps(q, u, coefficient(-0x1.02ac1ap-5f, -0x1.e10694p-9f, -0x1.a1d292p-11f, -0x1.07fe74p-12f,
                                        -0x1.a74e92p-14f, -0x1.8e9ffap-15f, -0x1.a4f92cp-16f, -0x1.e4238cp-17f));
  q = _mm256_fmadd_ps(q, u, coefficient(0x1.336d2ap-4f, 0x1.b03fe0p-7f, 0x1.058a5ep-8f, 0x1.aedccap-10f,
                                        0x1.ad0aa6p-11f, 0x1.e47a10p-12f, 0x1.2adce4p-12f, 0x1.89a186p-13f));
  q = _mm256_fmadd_ps(q, u, coefficient(-0x1.442e16p-3f, -0x1.6cbd08p-5f, -0x1.3c0938p-6f, -0x1.580676p-7f,
                                        -0x1.ac9aeep-8f, -0x1.236b06p-8f, -0x1.a5273ap-9f, -0x1.3e31e8p-9f));
  q = _mm256_fmadd_ps(q, u, coefficient(0x1.22fbd8p-2f, 0x1.1db274p-3f, 0x1.6f3f0ep-4f, 0x1.0c647cp-4f,
                                        0x1.a5c122p-5f, 0x1.5ae9a2p-5f, 0x1.267596p-5f, 0x1.ff68c6p-6f));
  return {gauss.p, gauss.k, gauss.s, q};
}

}  // namespace actk::cpu::avx2
