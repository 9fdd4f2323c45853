// The reference path's math: direct formulas from the catalogue table, evaluated in R (double,
// or long double for f64 data), written to be obviously right rather than fast. Every branch
// point follows PyTorch's autograd. NaN is handled by the caller (NaN in, NaN out); infinities
// are handled here, where a formula would give 0 * inf.
#pragma once

#include <cmath>
#include <type_traits>

#include "actk/catalogue.hpp"

namespace actk::reference {

template <class R>
R sigmoid(R x) {
  // Both branches evaluate exp of a non-positive number, so nothing overflows.
  return x >= 0 ? R(1) / (R(1) + std::exp(-x)) : std::exp(x) / (R(1) + std::exp(x));
}

// sigma(x) * (1 - sigma(x)) = t / (1 + t)^2 with t = e^-|x|: no cancellation, no overflow.
template <class R>
R sigmoid_derivative(R x) {
  const R t = std::exp(-std::fabs(x));
  return t / ((R(1) + t) * (R(1) + t));
}

// log(1 + e^x) without overflow for large x.
template <class R>
R softplus_unit(R x) {
  return std::fmax(x, R(0)) + std::log1p(std::exp(-std::fabs(x)));
}

template <class R>
R sign_zero(R x) {
  return std::copysign(R(0), x);
}

struct Identity {
  template <class R> static R forward(R x, const ActivationParams&) { return x; }
  template <class R> static R derivative(R, const ActivationParams&) { return 1; }
  template <class R> static R derivative_from_output(R, const ActivationParams&) { return 1; }
};

struct Sigmoid {
  template <class R> static R forward(R x, const ActivationParams&) { return sigmoid(x); }
  template <class R> static R derivative(R x, const ActivationParams&) { return sigmoid_derivative(x); }
  template <class R> static R derivative_from_output(R y, const ActivationParams&) { return y * (1 - y); }
};

struct Tanh {
  template <class R> static R forward(R x, const ActivationParams&) { return std::tanh(x); }
  // sech^2 rather than 1 - tanh^2, which is 0 in double once tanh rounds to 1 (|x| > 19).
  template <class R> static R derivative(R x, const ActivationParams&) {
    const R c = std::cosh(x);
    return 1 / (c * c);
  }
  template <class R> static R derivative_from_output(R y, const ActivationParams&) { return 1 - y * y; }
};

struct Relu {
  template <class R> static R forward(R x, const ActivationParams&) { return x > 0 ? x : R(0); }
  template <class R> static R derivative(R x, const ActivationParams&) { return x > 0 ? 1 : 0; }
  template <class R> static R derivative_from_output(R y, const ActivationParams&) { return y > 0 ? 1 : 0; }
};

struct ReluSquared {
  template <class R> static R forward(R x, const ActivationParams&) { return x > 0 ? x * x : R(0); }
  template <class R> static R derivative(R x, const ActivationParams&) { return x > 0 ? 2 * x : R(0); }
  template <class R> static R derivative_from_output(R y, const ActivationParams&) { return y > 0 ? 2 * std::sqrt(y) : R(0); }
};

struct LeakyRelu {
  template <class R> static R forward(R x, const ActivationParams& p) {
    const R slope = p.negative_slope;
    return x > 0 ? x : slope == 0 ? R(0) : slope * x;  // slope 0 at -inf is 0, not NaN
  }
  template <class R> static R derivative(R x, const ActivationParams& p) {
    return x > 0 ? R(1) : R(p.negative_slope);
  }
  template <class R> static R derivative_from_output(R y, const ActivationParams& p) {
    return y > 0 ? R(1) : R(p.negative_slope);
  }
};

struct Elu {
  template <class R> static R forward(R x, const ActivationParams& p) {
    return x > 0 ? x : R(p.alpha) * std::expm1(x);
  }
  template <class R> static R derivative(R x, const ActivationParams& p) {
    return x > 0 ? R(1) : R(p.alpha) * std::exp(x);
  }
  // For x <= 0, alpha e^x = y + alpha.
  template <class R> static R derivative_from_output(R y, const ActivationParams& p) {
    return y > 0 ? R(1) : y + R(p.alpha);
  }
};

struct Selu {
  // The fixed constants of Klambauer et al. (2017), as torch.nn.SELU defines them.
  template <class R> static constexpr R kScale = R(1.0507009873554804934193349852946L);
  template <class R> static constexpr R kAlpha = R(1.6732632423543772848170429916717L);

  template <class R> static R forward(R x, const ActivationParams&) {
    return x > 0 ? kScale<R> * x : kScale<R> * kAlpha<R> * std::expm1(x);
  }
  template <class R> static R derivative(R x, const ActivationParams&) {
    return x > 0 ? kScale<R> : kScale<R> * kAlpha<R> * std::exp(x);
  }
  template <class R> static R derivative_from_output(R y, const ActivationParams&) {
    return y > 0 ? kScale<R> : y + kScale<R> * kAlpha<R>;
  }
};

struct Celu {
  template <class R> static R forward(R x, const ActivationParams& p) {
    const R alpha = p.alpha;
    return x > 0 ? x : alpha * std::expm1(x / alpha);
  }
  template <class R> static R derivative(R x, const ActivationParams& p) {
    return x > 0 ? R(1) : std::exp(x / R(p.alpha));
  }
  // For x <= 0, e^(x/alpha) = y / alpha + 1.
  template <class R> static R derivative_from_output(R y, const ActivationParams& p) {
    return y > 0 ? R(1) : y / R(p.alpha) + 1;
  }
};

template <class R>
constexpr R kInvSqrt2 = R(0.70710678118654752440084436210484903928L);
template <class R>
constexpr R kInvSqrt2Pi = R(0.39894228040143267793994605993438186848L);

struct Gelu {
  // Phi(x) = erfc(-x / sqrt 2) / 2 keeps its relative accuracy in the negative tail.
  template <class R> static R cdf(R x) { return std::erfc(-x * kInvSqrt2<R>) / 2; }

  template <class R> static R forward(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? x : R(-0.0);
    return x * cdf(x);
  }
  template <class R> static R derivative(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(0);
    return cdf(x) + x * kInvSqrt2Pi<R> * std::exp(-x * x / 2);
  }
};

struct GeluTanh {
  template <class R> static constexpr R kSqrt2OverPi = R(0.79788456080286535587989211986876373695L);
  template <class R> static constexpr R kCubic = R(0.044715L);

  // 1 + tanh(u) = 2 sigma(2u), so f = x sigma(2u): no cancellation for negative x.
  template <class R> static R inner(R x) { return kSqrt2OverPi<R> * (x + kCubic<R> * x * x * x); }

  template <class R> static R forward(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? x : R(-0.0);
    return x * sigmoid(2 * inner(x));
  }
  template <class R> static R derivative(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(0);
    const R two_u = 2 * inner(x);
    const R du_dx = kSqrt2OverPi<R> * (1 + 3 * kCubic<R> * x * x);
    const R slope = sigmoid_derivative(two_u);
    return sigmoid(two_u) + (slope == 0 ? R(0) : x * 2 * slope * du_dx);
  }
};

struct Silu {
  template <class R> static R forward(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? x : R(-0.0);
    return x * sigmoid(x);
  }
  // sigma(x) (1 + x (1 - sigma(x))) with 1 - sigma(x) = sigma(-x).
  template <class R> static R derivative(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(0);
    return sigmoid(x) * (1 + x * sigmoid(-x));
  }
};

struct QuickGelu {
  template <class R> static R forward(R x, const ActivationParams& p) {
    if (std::isinf(x)) return x > 0 ? x : R(-0.0);
    return x * sigmoid(static_cast<R>(p.sigmoid_scale) * x);
  }
  // d/dx x sigma(a x) = sigma(v) (1 + v sigma(-v)), v = a x.
  template <class R> static R derivative(R x, const ActivationParams& p) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(0);
    const R v = static_cast<R>(p.sigmoid_scale) * x;
    return sigmoid(v) * (1 + v * sigmoid(-v));
  }
};

struct Softplus {
  // The threshold test is on the exact product beta * x (PyTorch rounds it to the compute type
  // first; the two differ only where the product rounds onto the threshold). For f32/f16/bf16
  // data the product of two floats is exact in double; for f64 data it is split as hi + lo, and
  // where both vanish (the product below the smallest subnormal; beta is never 0) its sign is the
  // sign of beta times that of x.
  template <class R> static bool linear(R x, const ActivationParams& p) {
    if constexpr (std::is_same_v<R, long double>) {
      const double hi = double(p.beta) * double(x);
      const double lo = std::fma(double(p.beta), double(x), -hi);
      if (hi != p.threshold) return hi > p.threshold;
      if (lo != 0) return lo > 0;
      return hi == 0 && x != 0 && (x > 0) == (p.beta > 0);
    } else {
      return R(p.beta) * x > R(p.threshold);
    }
  }
  template <class R> static R forward(R x, const ActivationParams& p) {
    const R beta = p.beta;
    return linear(x, p) ? x : softplus_unit(beta * x) / beta;
  }
  template <class R> static R derivative(R x, const ActivationParams& p) {
    return linear(x, p) ? R(1) : sigmoid(R(p.beta) * x);
  }
};

struct Mish {
  template <class R> static R forward(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? x : R(-0.0);
    return x * std::tanh(softplus_unit(x));
  }
  // tanh(sp) + x sech^2(sp) sigma(x), since sp'(x) = sigma(x).
  template <class R> static R derivative(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(0);
    const R sp = softplus_unit(x);
    const R c = std::cosh(sp);
    return std::tanh(sp) + x * sigmoid(x) / (c * c);
  }
};

template <class R>
R clamp(R x, R lo, R hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

struct Hardtanh {
  template <class R> static R forward(R x, const ActivationParams& p) {
    return clamp(x, R(p.min_val), R(p.max_val));
  }
  template <class R> static R derivative(R x, const ActivationParams& p) {
    return x > R(p.min_val) && x < R(p.max_val) ? 1 : 0;
  }
};

struct Relu6 {
  template <class R> static R forward(R x, const ActivationParams&) { return clamp(x, R(0), R(6)); }
  template <class R> static R derivative(R x, const ActivationParams&) { return x > 0 && x < 6 ? 1 : 0; }
};

struct Hardsigmoid {
  template <class R> static R forward(R x, const ActivationParams&) { return clamp(x + 3, R(0), R(6)) / 6; }
  template <class R> static R derivative(R x, const ActivationParams&) {
    return x > -3 && x < 3 ? R(1) / 6 : R(0);
  }
};

struct Hardswish {
  template <class R> static R forward(R x, const ActivationParams&) {
    return x <= -3 ? R(0) : x >= 3 ? x : x * (x + 3) / 6;
  }
  // PyTorch's choice at the kinks: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
  template <class R> static R derivative(R x, const ActivationParams&) {
    return x < -3 ? R(0) : x <= 3 ? x / 3 + R(0.5) : R(1);
  }
};

struct Softsign {
  template <class R> static R forward(R x, const ActivationParams&) {
    if (std::isinf(x)) return x > 0 ? R(1) : R(-1);
    return x / (1 + std::fabs(x));
  }
  template <class R> static R derivative(R x, const ActivationParams&) {
    const R d = 1 + std::fabs(x);
    return 1 / (d * d);
  }
};

}  // namespace actk::reference
