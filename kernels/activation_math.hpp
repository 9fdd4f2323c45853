// The scalar functors of every elementwise activation, one per catalogue entry, as the CUDA kernels,
// the cpu portable path, the cpu structured ops and the host tests use them; nvcc and the host
// compiler both compile this header.
//
// Each functor is a template on the compute type T. Functor<float> (f32, f16 and bf16 data) is the
// shared lane functor of kernels/math/ on the scalar lane (OnScalarLane below): the same source,
// and the same bits, as the cpu vector paths, built from IEEE operations only. The primary
// templates below serve T = double (f64 data), with the library's exp, expm1, erfc and log1p,
// which nvcc's libdevice and the host's libm provide at 1 ulp or better. A functor is
// constructed from the call's ActivationParams, and has
//   forward(x)                 f(x)
//   derivative(x)              f'(x)
//   derivative_from_output(y)  f'(x) from y = f(x), exactly where the catalogue allows it.
// Values, kinks and special values follow host/reference_math.hpp (PyTorch's semantics): NaN in
// gives NaN out (comparisons are written so that a NaN falls through to a branch that propagates
// it), +-inf give the mathematical limits, and no finite input overflows or cancels into a result
// outside the accuracy contract (host/validation/compare.cpp). Only the accurate math functions
// are used; the kernels must not be compiled with --use_fast_math.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "actk/catalogue.hpp"
#include "actk/ops.hpp"
#include "kernels/math/lanes_scalar.hpp"
// (the scalar lane first: the shared functors are written against its primitives)
#include "kernels/math/activations.hpp"
#include "kernels/math/derivative_scale.hpp"

namespace actk::math {
namespace detail {

// An unevaluated sum hi + lo with |lo| <= ulp(hi) / 2: twice the working precision, for the few
// arguments whose rounding error an exponential would amplify (error-free transformations:
// Dekker 1971, Knuth TAOCP vol. 2, 4.2.2).
template <class T>
struct Expansion {
  T hi;
  T lo;
};

// a * b exactly: the fma recovers the rounding error of the product. lo is 0 when the product is
// not finite, so that an overflow or an infinite factor shows in hi alone, not as a NaN in lo.
template <class T>
ACTK_HOST_DEVICE Expansion<T> two_product(T a, T b) {
  const T hi = a * b;
  const T lo = std::fma(a, b, -hi);
  return {hi, std::isfinite(hi) ? lo : T(0)};
}

// a + b exactly (Knuth's TwoSum: no ordering of |a| and |b| needed).
template <class T>
ACTK_HOST_DEVICE Expansion<T> two_sum(T a, T b) {
  const T sum = a + b;
  const T b_part = sum - a;
  return {sum, (a - (sum - b_part)) + (b - b_part)};
}

// x limited to [lo, hi]; NaN stays NaN.
template <class T>
ACTK_HOST_DEVICE T clamp(T x, T lo, T hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

// 1 strictly inside (lo, hi), 0 outside or on a bound (PyTorch's choice at the kinks), NaN for NaN.
template <class T>
ACTK_HOST_DEVICE T inside(T x, T lo, T hi) {
  return x > lo && x < hi ? T(1) : x <= lo || x >= hi ? T(0) : x;
}


// The logistic function at a, from one exponential of a non-positive number, t = e^-|a|, so
// that nothing overflows for any a: sigma(a) = 1 / (1 + t) or t / (1 + t) is one division with no
// cancellation, and sigma'(a) = sigma(a) sigma(-a) = t / (1 + t)^2 avoids the overflow of the
// naive e^-a / (1 + e^-a)^2. NaN gives NaN everywhere.
template <class T>
struct Logistic {
  T a;
  T t;     // e^-|a|
  T s;     // 1 + t, rounded
  T s_lo;  // its rounding error (Fast2Sum: exact, since t <= 1)

  ACTK_HOST_DEVICE T p() const { return scaled(T(1)); }  // sigma(a)
  // v sigma(a) as (v * numerator) / (1 + t): for a >= 0 a single rounding.
  ACTK_HOST_DEVICE T scaled(T v) const { return (a >= T(0) ? v : v * t) / s; }
  // The fma forms (1 + t)^2 from s + s_lo with one rounding, so the rounding of 1 + t does not
  // count twice: about 1 ulp plus the exponential's own error.
  ACTK_HOST_DEVICE T slope() const { return t / std::fma(s, s, T(2) * s * s_lo); }
};

template <class T>
ACTK_HOST_DEVICE Logistic<T> logistic(T a) {
  const T t = std::exp(-std::fabs(a));
  const T s = T(1) + t;
  return {a, t, s, t - (s - T(1))};
}

// x * g(x) activations (gelu, gelu_tanh, silu, mish) tend to x at +inf and to -0 at -inf, with
// derivative 1 and 0; their finite formulas would evaluate inf * 0 there.
template <class T>
ACTK_HOST_DEVICE T gated_forward(T x, T finite) {
  return std::isinf(x) ? (x > T(0) ? x : T(-0.0)) : finite;
}
template <class T>
ACTK_HOST_DEVICE T gated_derivative(T x, T finite) {
  return std::isinf(x) ? (x > T(0) ? T(1) : T(0)) : finite;
}

}  // namespace detail

template <class T>
struct Identity {
  ACTK_HOST_DEVICE explicit Identity(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return x; }
  // 1, except NaN for NaN, like every other derivative.
  ACTK_HOST_DEVICE T derivative(T x) const { return x == x ? T(1) : x; }
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return derivative(y); }
};

// sigma(x) = 1 / (1 + e^-x), evaluated through detail::logistic.
template <class T>
struct Sigmoid {
  ACTK_HOST_DEVICE explicit Sigmoid(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return detail::logistic(x).p(); }
  ACTK_HOST_DEVICE T derivative(T x) const { return detail::logistic(x).slope(); }
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return y * (T(1) - y); }
};

template <class T>
struct Tanh {
  ACTK_HOST_DEVICE explicit Tanh(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return std::tanh(x); }
  // sech^2(x) = 4 sigma(2x) sigma(-2x): 1 - tanh^2 would round to 0 once tanh rounds to 1
  // (|x| > 9 in f32), where sech^2 is still far above the smallest normal.
  ACTK_HOST_DEVICE T derivative(T x) const { return T(4) * detail::logistic(T(2) * x).slope(); }
  // (1 - |y|)(1 + |y|): the first factor is exact for |y| >= 1/2 (Sterbenz), where 1 - y^2 cancels.
  ACTK_HOST_DEVICE T derivative_from_output(T y) const {
    const T a = std::fabs(y);
    return (T(1) - a) * (T(1) + a);
  }
};

template <class T>
struct Relu {
  ACTK_HOST_DEVICE explicit Relu(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return x <= T(0) ? T(0) : x; }
  ACTK_HOST_DEVICE T derivative(T x) const { return x > T(0) ? T(1) : x <= T(0) ? T(0) : x; }
  // y > 0 exactly where x > 0.
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return derivative(y); }
};

// max(0, x)^2 (Primer); the derivative 2 max(0, x) halved (kDerivativeScale), from y sqrt(y).
template <class T>
struct ReluSquared {
  static constexpr float kDerivativeScale = 2.0f;
  ACTK_HOST_DEVICE explicit ReluSquared(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const {
    const T r = x <= T(0) ? T(0) : x;
    return r * r;
  }
  ACTK_HOST_DEVICE T derivative(T x) const { return x <= T(0) ? T(0) : x; }
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return y <= T(0) ? T(0) : std::sqrt(y); }
};

template <class T>
struct LeakyRelu {
  T slope;
  ACTK_HOST_DEVICE explicit LeakyRelu(const ActivationParams& p) : slope(p.negative_slope) {}
  // A zero slope gives 0 at -inf too, not 0 * -inf = NaN (x == x keeps NaN on the product).
  ACTK_HOST_DEVICE T forward(T x) const {
    return x > T(0) ? x : slope == T(0) && x == x ? T(0) : slope * x;
  }
  ACTK_HOST_DEVICE T derivative(T x) const { return x > T(0) ? T(1) : x <= T(0) ? slope : x; }
  // Valid for slope > 0 only (the dispatcher checks), where y and x have the same sign.
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return derivative(y); }
};

// x > 0 ? x : alpha (e^x - 1) (Clevert et al., 2015); expm1 keeps the relative accuracy near 0.
template <class T>
struct Elu {
  T alpha;
  ACTK_HOST_DEVICE explicit Elu(const ActivationParams& p) : alpha(p.alpha) {}
  ACTK_HOST_DEVICE T forward(T x) const { return x > T(0) ? x : alpha * std::expm1(x); }
  ACTK_HOST_DEVICE T derivative(T x) const { return x > T(0) ? T(1) : alpha * std::exp(x); }
  // alpha e^x = y + alpha for x <= 0; valid for alpha > 0 only (the dispatcher checks).
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return y > T(0) ? T(1) : y + alpha; }
};

// scale * elu(x, alpha) with the fixed constants of Klambauer et al. (2017), as torch.nn.SELU.
template <class T>
struct Selu {
  static constexpr T kScale = T(1.0507009873554804934193349852946L);
  static constexpr T kScaleAlpha = T(1.7580993408473768599402175208123193L);  // scale * alpha
  // kScaleAlpha's rounding error: y + scale * alpha cancels as x -> -inf, and the error of the
  // rounded constant alone would then exceed the result.
  static constexpr T kScaleAlphaTail = T(1.4153519380084498e-17L);

  ACTK_HOST_DEVICE explicit Selu(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return x > T(0) ? kScale * x : kScaleAlpha * std::expm1(x); }
  ACTK_HOST_DEVICE T derivative(T x) const { return x > T(0) ? kScale : kScaleAlpha * std::exp(x); }
  // scale alpha e^x = y + scale alpha for x <= 0; y + kScaleAlpha is exact where it cancels.
  ACTK_HOST_DEVICE T derivative_from_output(T y) const {
    return y > T(0) ? kScale : (y + kScaleAlpha) + kScaleAlphaTail;
  }
};

// max(0, x) + min(0, alpha (e^(x/alpha) - 1)) (Barron, 2017); alpha != 0 (the dispatcher checks).
template <class T>
struct Celu {
  // Below it, expm1(z) = z (1 + z/2) to working precision.
  static constexpr T kSmall = T(0x1p-26L);

  T alpha;
  ACTK_HOST_DEVICE explicit Celu(const ActivationParams& p) : alpha(p.alpha) {}
  // Where |x / alpha| < kSmall, alpha expm1(x / alpha) = x (1 + z/2) to working precision: exact
  // even when z = x / alpha underflows (a large alpha); alpha * expm1(z) is not.
  ACTK_HOST_DEVICE T forward(T x) const {
    if (x > T(0)) return x;
    const T z = x / alpha;
    return std::fabs(z) < kSmall ? std::fma(x, z * T(0.5), x) : alpha * std::expm1(z);
  }
  ACTK_HOST_DEVICE T derivative(T x) const { return x > T(0) ? T(1) : std::exp(x / alpha); }
  // e^(x/alpha) = (y + alpha) / alpha for x <= 0; y + alpha is exact where it cancels, unlike
  // y / alpha + 1.
  ACTK_HOST_DEVICE T derivative_from_output(T y) const { return y > T(0) ? T(1) : (y + alpha) / alpha; }
};

// x Phi(x), Phi the normal CDF in its erf form (Hendrycks and Gimpel, 2016).
template <class T>
struct Gelu {
  static constexpr T kInvSqrt2 = T(0.70710678118654752440084436210484903928L);
  static constexpr T kInvSqrt2Tail = T(-4.8336466567264565e-17L);
  static constexpr T kInvSqrt2Pi = T(0.39894228040143267793994605993438186848L);
  static constexpr T kTwoOverSqrtPi = T(1.12837916709551257389615890312154517169L);

  ACTK_HOST_DEVICE explicit Gelu(const ActivationParams&) {}

  struct Terms {
    T twice_cdf;     // 2 Phi(x) = erfc(z), rounded ...
    T twice_cdf_lo;  // ... and the first-order correction for the rounding of z (see terms)
    T density;       // phi(x)
  };

  // Phi(x) = erfc(z) / 2 with z = -x / sqrt 2: erfc keeps its relative accuracy in the negative
  // tail, where 1 + erf cancels. There erfc amplifies the relative error of its argument about
  // 2 z^2 times (z reaches 9 in f32, 26 in f64), so z is carried as hi + lo and the first-order
  // term erfc(hi + lo) = erfc(hi) - 2/sqrt(pi) e^(-hi^2) lo removes the rounding of x / sqrt 2.
  // g = e^(-x^2/2) is accurate to about z^2 ulp only, but it enters the correction and the
  // derivative's x phi(x), whose absolute error stays below the backward floor.
  ACTK_HOST_DEVICE Terms terms(T x) const {
    const detail::Expansion<T> z = detail::two_product(x, -kInvSqrt2);
    const T z_lo = z.lo - x * kInvSqrt2Tail;
    const T g = std::exp(-z.hi * z.hi);  // the library exp: its error does not matter here
    return {std::erfc(z.hi), -kTwoOverSqrtPi * g * z_lo, kInvSqrt2Pi * g};
  }
  // (x/2) erfc(z) with the correction folded into one fma.
  ACTK_HOST_DEVICE T forward(T x, const Terms& t) const {
    const T half_x = T(0.5) * x;
    return detail::gated_forward(x, std::fma(half_x, t.twice_cdf, half_x * t.twice_cdf_lo));
  }
  // Phi(x) + x phi(x).
  ACTK_HOST_DEVICE T derivative(T x, const Terms& t) const {
    return detail::gated_derivative(x, std::fma(x, t.density, T(0.5) * (t.twice_cdf + t.twice_cdf_lo)));
  }
  ACTK_HOST_DEVICE T forward(T x) const { return forward(x, terms(x)); }
  ACTK_HOST_DEVICE T derivative(T x) const { return derivative(x, terms(x)); }
};

// x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation of gelu. Since
// (1 + tanh u) / 2 = sigma(2u), f = x sigma(a) with a = 2u = x (K1 + K3 x^2): no cancellation
// for x < 0, and no tanh.
template <class T>
struct GeluTanh {
  static constexpr T kLinear = T(1.59576912160573071175978423973752747L);     // K1 = 2 sqrt(2/pi)
  static constexpr T kLinearTail = T(-9.9693088091109203e-17L);
  static constexpr T kCubic = T(0.071354816272600248776338752279863541L);     // K3 = 0.044715 K1
  static constexpr T kCubicTail = T(-6.1751499181553155e-19L);
  // Beyond |x| = 32, |a| > 2300 and sigma(a) is exactly 0 or 1 in every type; clamping the
  // argument there also keeps x^3 from overflowing.
  static constexpr T kSaturation = T(32);

  ACTK_HOST_DEVICE explicit GeluTanh(const ActivationParams&) {}

  // a as hi + lo. In the negative tail sigma(a) ~ e^a turns an absolute error of a into the same
  // relative error of f, and |a| reaches 90 (f32) or 750 (f64) before f underflows, so a is
  // evaluated with error-free products to about twice the working precision.
  ACTK_HOST_DEVICE detail::Expansion<T> argument(T x) const {
    const detail::Expansion<T> square = detail::two_product(x, x);
    const detail::Expansion<T> cubic = detail::two_product(kCubic, square.hi);
    const detail::Expansion<T> sum = detail::two_sum(kLinear, cubic.hi);
    const T sum_lo = sum.lo + cubic.lo + kCubic * square.lo + kCubicTail * square.hi + kLinearTail;
    const detail::Expansion<T> a = detail::two_product(x, sum.hi);
    return {a.hi, a.lo + x * sum_lo};
  }
  ACTK_HOST_DEVICE static T saturate(T x) { return detail::clamp(x, -kSaturation, kSaturation); }

  // sigma(hi + lo) = sigma(hi) + sigma'(hi) lo to first order.
  ACTK_HOST_DEVICE T forward(T x) const {
    const detail::Expansion<T> a = argument(saturate(x));
    const detail::Logistic<T> s = detail::logistic(a.hi);
    return detail::gated_forward(x, std::fma(x, s.p(), x * s.slope() * a.lo));
  }
  // sigma(a) + x sigma'(a) a'(x) with a' = K1 + 3 K3 x^2; the rounding of a matters only in
  // terms below the backward floor.
  ACTK_HOST_DEVICE T derivative(T x) const {
    const T xs = saturate(x);
    const detail::Logistic<T> s = detail::logistic(argument(xs).hi);
    const T da_dx = kLinear + T(3) * kCubic * xs * xs;
    return detail::gated_derivative(x, s.p() + x * s.slope() * da_dx);
  }
};

// x sigma(x) (Ramachandran et al., 2017; Elfwing et al., 2018).
template <class T>
struct Silu {
  ACTK_HOST_DEVICE explicit Silu(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return detail::gated_forward(x, detail::logistic(x).scaled(x)); }
  // sigma(x) (1 + x (1 - sigma(x))) = sigma(x) + x sigma'(x): one fma of two accurate terms.
  ACTK_HOST_DEVICE T derivative(T x) const {
    const detail::Logistic<T> s = detail::logistic(x);
    return detail::gated_derivative(x, std::fma(x, s.slope(), s.p()));
  }
};

// x sigma(a x), a = sigmoid_scale (CLIP's QuickGELU: 1.702). v = a x is carried as hi + lo, since
// e^v turns an absolute error of v into the same relative error of f, and |v| reaches 745 before
// f underflows: sigma(hi + lo) = sigma(hi) (1 + sigma(-hi) lo) to first order.
template <class T>
struct QuickGelu {
  T scale;
  ACTK_HOST_DEVICE explicit QuickGelu(const ActivationParams& p) : scale(static_cast<T>(p.sigmoid_scale)) {}
  ACTK_HOST_DEVICE T forward(T x) const {
    const detail::Expansion<T> v = detail::two_product(scale, x);
    const detail::Logistic<T> s = detail::logistic(v.hi);
    const T scaled = s.scaled(x);                                 // x sigma(hi)
    const T complement = (v.hi >= T(0) ? s.t : T(1)) / s.s;       // sigma(-hi)
    return detail::gated_forward(x, std::fma(scaled, complement * v.lo, scaled));
  }
  // silu' at v = a x, clamped where sigma'(v) is 0 in every type (no inf * 0).
  ACTK_HOST_DEVICE T derivative(T x) const {
    const T v = detail::clamp(scale * x, T(-1000), T(1000));
    const detail::Logistic<T> s = detail::logistic(v);
    return detail::gated_derivative(x, std::fma(v, s.slope(), s.p()));
  }
};

// log(1 + e^(beta x)) / beta, and x where beta x > threshold (torch.nn.Softplus).
template <class T>
struct Softplus {
  T beta;
  T threshold;
  ACTK_HOST_DEVICE explicit Softplus(const ActivationParams& p) : beta(p.beta), threshold(p.threshold) {}

  // beta x is carried as hi + lo: in the negative tail log(1 + e^b) ~ e^b turns the rounding of
  // beta x into a relative error |b| times larger. The threshold test is exact too, also where
  // beta x is below the smallest subnormal (hi = lo = 0, a subnormal beta: a fuzz finding): its
  // sign is then the sign of beta times that of x.
  ACTK_HOST_DEVICE bool linear(detail::Expansion<T> b, T x) const {
    if (b.hi != threshold) return b.hi > threshold;
    if (b.lo != T(0)) return b.lo > T(0);
    return b.hi == T(0) && x != T(0) && (x > T(0)) == (beta > T(0));
  }
  // softplus(b) = max(b, 0) + log1p(e^-|b|), and softplus(hi + lo) = softplus(hi) + sigma(hi) lo.
  ACTK_HOST_DEVICE T forward(T x) const {
    const detail::Expansion<T> b = detail::two_product(beta, x);
    if (linear(b, x)) return x;
    if (b.hi < T(-40)) return tail(b);
    const detail::Logistic<T> s = detail::logistic(b.hi);
    const T unit = (b.hi > T(0) ? b.hi : T(0)) + std::log1p(s.t) + b.lo * s.p();
    return unit / beta;
  }
  ACTK_HOST_DEVICE T derivative(T x) const {
    const detail::Expansion<T> b = detail::two_product(beta, x);
    return linear(b, x) ? T(1) : detail::logistic(b.hi).p();
  }
  // Below b = -40, log1p(e^b) = e^b to working precision and softplus = e^b / beta. With a small
  // beta that quotient is normal where e^b alone is subnormal (beta = 2^-55, b = -100: a fuzz
  // finding), so it is formed as (e^r / m) 2^(k - e) from b = k ln2 + r and beta = m 2^e, with
  // one rounding at the end, into a subnormal if need be.
  // Below kTailZero, e^b / beta is under half the smallest subnormal even for the smallest beta.
  static constexpr T kTailZero = T(-1500);
  static constexpr T kLog2e = T(1.4426950408889634L);
  static constexpr T kLn2Hi = T(0.6931471805599453L);
  static constexpr T kLn2Lo = T(2.3190468138462996e-17L);
  ACTK_HOST_DEVICE T tail(detail::Expansion<T> b) const {
    if (b.hi < kTailZero) return T(0) / beta;
    const T k = std::rint(b.hi * kLog2e);
    const T r = std::fma(-k, kLn2Lo, std::fma(-k, kLn2Hi, b.hi)) + b.lo;
    int exponent = 0;
    const T m = std::frexp(beta, &exponent);
    return std::ldexp(std::exp(r) / m, static_cast<int>(k) - exponent);
  }
};

// x tanh(softplus(x)) (Misra, 2019).
template <class T>
struct Mish {
  ACTK_HOST_DEVICE explicit Mish(const ActivationParams&) {}

  struct Terms {
    T numerator;    // tanh(softplus(x)) = numerator / denominator
    T denominator;
    T sech2_sp;     // 1 - tanh^2(softplus(x))
    T sigmoid;      // sigma(x) = softplus'(x)
  };

  // With s = 1 + e^x, tanh(log s) = (s^2 - 1) / (s^2 + 1) = n / (n + 2c), where e = e^-|x| and
  //   x <= 0: n = e (e + 2), c = 1;    x > 0: n = 1 + 2e, c = e^2 (both divided by e^(2x)).
  // One exp, no log and no tanh, nothing overflows, and 1 - tanh^2 = 4c (n + c) / (n + 2c)^2
  // has no cancellation.
  ACTK_HOST_DEVICE Terms terms(T x) const {
    const detail::Logistic<T> s = detail::logistic(x);
    const T e = s.t;
    const bool positive = x > T(0);
    const T n = positive ? T(1) + T(2) * e : std::fma(e, e, T(2) * e);
    const T c = positive ? e * e : T(1);
    const T d = n + T(2) * c;
    return {n, d, T(4) * c * (n + c) / (d * d), s.p()};
  }
  // x n / d with one rounding fewer than x (n / d); x n cannot overflow, since n > 1 only for
  // 0 < x < 104.
  ACTK_HOST_DEVICE T forward(T x, const Terms& t) const {
    return detail::gated_forward(x, x * t.numerator / t.denominator);
  }
  // tanh(sp) + x sech^2(sp) sigma(x), since softplus'(x) = sigma(x).
  ACTK_HOST_DEVICE T derivative(T x, const Terms& t) const {
    return detail::gated_derivative(x, std::fma(x * t.sigmoid, t.sech2_sp, t.numerator / t.denominator));
  }
  ACTK_HOST_DEVICE T forward(T x) const { return forward(x, terms(x)); }
  ACTK_HOST_DEVICE T derivative(T x) const { return derivative(x, terms(x)); }
};

template <class T>
struct Hardtanh {
  T min_val;
  T max_val;
  ACTK_HOST_DEVICE explicit Hardtanh(const ActivationParams& p) : min_val(p.min_val), max_val(p.max_val) {}
  ACTK_HOST_DEVICE T forward(T x) const { return detail::clamp(x, min_val, max_val); }
  ACTK_HOST_DEVICE T derivative(T x) const { return detail::inside(x, min_val, max_val); }
};

template <class T>
struct Relu6 {
  ACTK_HOST_DEVICE explicit Relu6(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return detail::clamp(x, T(0), T(6)); }
  ACTK_HOST_DEVICE T derivative(T x) const { return detail::inside(x, T(0), T(6)); }
};

// relu6(x + 3) / 6; x + 3 is exact near -3 (Sterbenz), where the result is small.
template <class T>
struct Hardsigmoid {
  static constexpr T kSixth = T(1) / T(6);
  ACTK_HOST_DEVICE explicit Hardsigmoid(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return detail::clamp(x + T(3), T(0), T(6)) / T(6); }
  ACTK_HOST_DEVICE T derivative(T x) const { return detail::inside(x, T(-3), T(3)) * kSixth; }
};

// x relu6(x + 3) / 6 (Howard et al., 2019).
template <class T>
struct Hardswish {
  ACTK_HOST_DEVICE explicit Hardswish(const ActivationParams&) {}
  ACTK_HOST_DEVICE T forward(T x) const { return x <= T(-3) ? T(0) : x >= T(3) ? x : x * (x + T(3)) / T(6); }
  // PyTorch's choice at the kinks: 0 below -3, (2x + 3) / 6 on [-3, 3], 1 above. 2x + 3 is exact
  // near its root -1.5 (Sterbenz), unlike x / 3 + 1/2.
  ACTK_HOST_DEVICE T derivative(T x) const {
    return x < T(-3) ? T(0) : x > T(3) ? T(1) : (T(2) * x + T(3)) / T(6);
  }
};

template <class T>
struct Softsign {
  ACTK_HOST_DEVICE explicit Softsign(const ActivationParams&) {}
  // +-1 at +-inf, where x / (1 + |x|) would be inf / inf.
  ACTK_HOST_DEVICE T forward(T x) const {
    return std::isinf(x) ? std::copysign(T(1), x) : x / (T(1) + std::fabs(x));
  }
  ACTK_HOST_DEVICE T derivative(T x) const {
    const T d = T(1) + std::fabs(x);
    return T(1) / (d * d);
  }
};

namespace detail {

/// The f32 functor of an activation: its shared lane functor on the scalar lane, with the NaN rule
/// (NaN in, NaN out, its payload kept) that the cpu vector loop applies to whole vectors; the lane
/// functor never sees a NaN (its float-to-integer conversions would be undefined for one).
template <class LaneOp>
struct OnScalarLane {
  static constexpr float kDerivativeScale = DerivativeScale<LaneOp>::value;
  LaneOp lane;
  explicit OnScalarLane(const ActivationParams& params) : lane(params) {}
  ACTK_HOST_DEVICE float forward(float x) const { return x != x ? x : lane.forward(x); }
  ACTK_HOST_DEVICE float derivative(float x) const { return x != x ? x : lane.derivative(x); }
  template <class L = LaneOp>
  ACTK_HOST_DEVICE auto derivative_from_output(float y) const
      -> decltype(std::declval<const L&>().derivative_from_output(y)) {
    return y != y ? y : lane.derivative_from_output(y);
  }
};

}  // namespace detail

#define ACTK_FLOAT_FUNCTOR(id, Functor, params, from_output) \
  template <>                                                \
  struct Functor<float> : detail::OnScalarLane<lanes::scalar::Functor> {  \
    using OnScalarLane::OnScalarLane;                        \
  };
ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_FLOAT_FUNCTOR)
#undef ACTK_FLOAT_FUNCTOR

/// Whether a functor has derivative_from_output.
template <class Op, class = void>
struct HasDerivativeFromOutput : std::false_type {};
template <class Op>
struct HasDerivativeFromOutput<Op, std::void_t<decltype(std::declval<const Op&>().derivative_from_output(0.0f))>>
    : std::true_type {};

// Every catalogue entry names its functor here, and a functor has derivative_from_output exactly
// where the catalogue allows backward_from_output.
#define ACTK_CHECK_FUNCTOR(id, Functor, params, from_output)                                        \
  static_assert(HasDerivativeFromOutput<Functor<float>>::value == (FromOutput::from_output != FromOutput::never), \
                #Functor ": derivative_from_output must exist exactly where the catalogue allows it");
ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_CHECK_FUNCTOR)
#undef ACTK_CHECK_FUNCTOR

/// Whether a functor shares work between f and f' as terms(x), with forward(x, terms) and
/// derivative(x, terms): the forward_backward pass then computes the terms once. (The compiler
/// does not merge the two evaluations itself when they branch, as the f64 erfc does.)
template <class Op, class = void>
struct HasTerms : std::false_type {};
template <class Op>
struct HasTerms<Op, std::void_t<decltype(std::declval<const Op&>().terms(0.0f))>> : std::true_type {};

/// The outputs of one element of a pass, in the compute type.
template <class T>
struct ElementResult {
  T y;
  T dx;
};

/// One element of a pass, as every backend that uses these functors computes it: y = f(x) and/or
/// dx = dy * f'(x), or dx_old + dy * f'(x) when accumulating (one fma in T, so that where the sum
/// cancels only the error of f' remains; the caller rounds once to the storage type). For backward_from_output, `x` holds y. Members a pass does not produce are
/// left zero.
template <Pass kPass, class Op, class T>
ACTK_HOST_DEVICE ElementResult<T> apply_pass(const Op& op, T x, T dy, T dx_old, bool accumulate) {
  ElementResult<T> out{T(0), T(0)};
  if constexpr (std::is_same_v<T, double>) {
    // The NaN rule for the f64 functors (Functor<float> applies it itself): the input NaN, as
    // is, for y and f', so that every pass gives the same NaN bits (the formulas' own NaN would
    // depend on the operations and their order).
    if (x != x) {
      out.y = x;
      out.dx = accumulate ? std::fma(dy, x, dx_old) : dy * x;
      return out;
    }
  }
  T derivative = T(0);
  if constexpr (kPass == Pass::forward) {
    out.y = op.forward(x);
    return out;
  } else if constexpr (kPass == Pass::backward) {
    derivative = op.derivative(x);
  } else if constexpr (kPass == Pass::backward_from_output) {
    derivative = op.derivative_from_output(x);
  } else if constexpr (HasTerms<Op>::value) {
    const auto terms = op.terms(x);
    out.y = op.forward(x, terms);
    derivative = op.derivative(x, terms);
  } else {
    out.y = op.forward(x);
    derivative = op.derivative(x);
  }
  constexpr T kScale = static_cast<T>(DerivativeScale<Op>::value);
  if constexpr (kScale != T(1)) {
    const bool dy_smaller = std::fabs(dy) < std::fabs(derivative);
    const T first = (dy_smaller ? dy : derivative) * kScale;
    const T second = dy_smaller ? derivative : dy;
    out.dx = accumulate ? std::fma(first, second, dx_old) : first * second;
  } else {
    out.dx = accumulate ? std::fma(dy, derivative, dx_old) : dy * derivative;
  }
  return out;
}

/// One element of a gated op's forward pass, y = act(gate) * up, with `op` the gate's functor in
/// the compute type T and `wide` the same activation in double. Where act(gate), or a factor of
/// it (e^gate in silu = gate e^gate), is below T's smallest normal value, its rounding is an
/// absolute error (down to 0 where it underflows), which a large up turns into a large relative
/// one (swiglu in f32 at gate = -110, up = 1e38: 0 for -2e-8; at gate = -91.75: 52 ulp): below
/// 2^10 times the smallest normal value (the gate factors are below 2^7) and with |up| > 1, the
/// product is formed in double and rounded once. relu is exact. With T = double there is no wider
/// type, and y keeps that error.
template <class Op, class WideOp, class T>
ACTK_HOST_DEVICE T gated_forward(const Op& op, const WideOp& wide, T gate, T up) {
  const T activated = op.forward(gate);
  if constexpr (!std::is_same_v<T, double> && !std::is_same_v<Op, Relu<T>>) {
    if (std::fabs(activated) < T(0x1p-116f) && std::fabs(up) > T(1)) {
      return static_cast<T>(wide.forward(static_cast<double>(gate)) * static_cast<double>(up));
    }
  }
  return activated * up;
}

/// The input clamps of the gated entries that read `limit` (swiglu_clamped, after GPT-OSS): the
/// gate limited above by `limit`, up to [-limit, limit] and shifted by 1, so y = act(gate') * up'.
/// The gradients flow only where a clamp did not bind (a bound itself passes, as in torch.clamp's
/// backward); NaN passes through as everywhere. Off, every input and gradient is as given.
template <class T>
struct GateClamp {
  bool on = false;
  T limit = T(0);
  ACTK_HOST_DEVICE T gate(T g) const { return on && g > limit ? limit : g; }
  ACTK_HOST_DEVICE T up(T u) const { return on ? detail::clamp(u, -limit, limit) + T(1) : u; }
  ACTK_HOST_DEVICE T gate_gradient(T g, T value) const { return on && g > limit ? T(0) : value; }
  ACTK_HOST_DEVICE T up_gradient(T u, T value) const { return on && (u < -limit || u > limit) ? T(0) : value; }
};

/// A gated op's dgate = dy * up * act'(gate), plus `old` when accumulating (one rounding), with
/// no intermediate past the range where the result is not: in float compute, dy * up is exact in
/// double and the rest is formed there; in double, the smaller of dy and up meets act' first
/// (|act'| < 1.13 for every gate, so that product cannot overflow unless the result does).
template <bool kAccumulate, class T>
ACTK_HOST_DEVICE T gated_gate_gradient(T dy, T up, T derivative, T old) {
  if constexpr (std::is_same_v<T, double>) {
    const bool dy_smaller = std::fabs(dy) < std::fabs(up);
    const T first = (dy_smaller ? dy : up) * derivative;
    const T second = dy_smaller ? up : dy;
    return kAccumulate ? std::fma(first, second, old) : first * second;
  } else {
    const double product = static_cast<double>(dy) * static_cast<double>(up) * static_cast<double>(derivative);
    return static_cast<T>(kAccumulate ? product + static_cast<double>(old) : product);
  }
}

/// The scale of a term of a per-channel sum (dbias, dweight), which every backend adds in double:
/// 2^-64 for compute type double, so that no running sum of up to 2^63 finite terms overflows
/// where the sum (or the sum plus the value accumulated into) is finite, the result being scaled
/// back once at the end; 1 for float, whose terms cannot approach the double range. A power of
/// two: exact, except that scaled terms below the smallest normal double (terms below 2^-958)
/// keep fewer bits, an absolute error under 2^-1010, far inside the contract's floor.
template <class C>
inline constexpr double kSumTermScale = std::is_same_v<C, double> ? 0x1p-64 : 1.0;

/// What a per-channel sum writes, in double, before the one rounding to C: the sum of its terms
/// (`scaled_sum`, each term scaled by kSumTermScale<C>), plus `old` when accumulating. Scaling back
/// is exact unless the sum is past the double range; then only an old value that nearly cancels
/// it gives a finite total, and the two are added in the scaled domain. Elsewhere old is added
/// unscaled: scaled, a subnormal old value would be lost.
template <class C>
ACTK_HOST_DEVICE double sum_plus_old(double scaled_sum, double old, bool accumulate) {
  constexpr double scale = kSumTermScale<C>;
  const double sum = scaled_sum / scale;
  if (!accumulate) return sum;
  return std::isfinite(sum) ? old + sum : (old * scale + scaled_sum) / scale;
}

}  // namespace actk::math
