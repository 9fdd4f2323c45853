#!/usr/bin/env python3
"""Golden-value generator for actk's activation functions.

This script is the independent high-precision oracle of the accuracy contract
(design.md, "Accuracy contract"): it evaluates every catalogue activation and its
derivative with mpmath at >= 77 significant digits of working precision and writes
the true values, rounded to 30 significant digits, to tests/data/golden.txt.
CI does not run it; the output is committed.  Re-run it after changing a point
or an activation:

    python3 tests/data/gen_golden.py            # writes tests/data/golden.txt
    python3 tests/data/gen_golden.py -o FILE     # somewhere else
    python3 tests/data/gen_golden.py --no-check  # skip the self-checks (faster)

Design decisions (each is repeated in the output's header, where the consumer reads):

* Semantics are PyTorch's torch.nn.functional, including the value autograd
  assigns to the derivative at a kink (relu'(0) = 0, elu'(0) = alpha, hardtanh'
  is 0 on the bounds, hardswish'(-3) = -0.5, hardswish'(3) = 1.5, softplus at
  beta*x == threshold takes the log1p branch, ...).
* Parameters are doubles, as the C++ API (and PyTorch) receives them: the default
  slope 0.01 is the double nearest 0.01, with which an f64 call computes.  An f32,
  f16 or bf16 call computes with the parameter rounded to float32, so leaky_relu also
  has sets at the float32-rounded slopes (0.00999999977648258209228515625 and
  0.20000000298023223876953125); a reader applies a line to f32 only where its
  parameters are float32 values.  The params field gives each value as an exact hex
  float.
* Constants that are not parameters keep their exact mathematical value: selu's
  scale and alpha at 32 digits, gelu_tanh's sqrt(2/pi) and its decimal 0.044715.
  An implementation holding them as double or float differs from this by far less
  than one ulp of its own type.
* Every input is a float32 value, so the same lines serve the f32 and the f64 tests.
  +-inf are inputs too (the contract asks for the mathematical limits); NaN is not.
* A true value that is exactly zero is printed as 0 or -0; a tiny nonzero value is
  printed as it is (e.g. tanh' at float32(1e30) is
  5.53549556070139561997295153120e-868588976876566747138317507674), never flushed.  Such exponents are far outside any C type: strtod/strtof/strtold
  return a correctly signed 0 (or a subnormal) and set errno = ERANGE, which a
  reader must not treat as a parse error.
* Signed zeros follow one rule: f(+-0) = +-0 for the functions that pass through
  the origin with positive slope (identity, tanh, leaky_relu, elu, selu, celu,
  gelu, gelu_tanh, silu, quick_gelu, mish, hardtanh with min < 0 < max, hardswish,
  softsign); a constant zero piece (relu, relu_squared and relu6 for x <= 0, hardsigmoid and hardswish for
  x <= -3) is +0, as is every zero derivative at a finite point.  A zero limit at
  +-inf carries the sign of the side it is approached from (gelu(-inf) = -0,
  silu'(-inf) = -0, sigmoid(-inf) = +0).  Tests may well ignore the sign of zero.

Numerical approach: each activation is written in a form without cancellation
(sech^2 instead of 1 - tanh^2, expm1, log1p, erfc for the lower tail of Phi,
x*sigmoid(2u) for gelu_tanh), and the working precision grows with |x| so that an
argument such as x*x/2 or the cubic of gelu_tanh, whose magnitude reaches 2^379 at
FLT_MAX, still carries about 256 correct bits after the binary point before it is
exponentiated.  The self-checks (on by default; nothing is written if one fails)
compare a few values with published constants, re-evaluate every line at 200 more
bits and require identical output, compare derivatives with mpmath's numerical
differentiation, verify the limits at +-inf against evaluation at +-1e25, and
compare finite values with a double-precision evaluation through Python's math
module (a cross-check against formula typos).
"""

import argparse
import datetime
import math
import os
import random
import struct
import sys

import mpmath
from mpmath import mp, mpf

# ----------------------------------------------------------------------------------
# float32 helpers (no numpy: struct gives IEEE binary32 conversions exactly)
# ----------------------------------------------------------------------------------

FLT_MAX = 3.4028234663852886e38
INF = math.inf


def f32(v):
    """Round a Python float (double) to the nearest float32, returned as a double."""
    if math.isinf(v) or abs(v) <= FLT_MAX:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    # struct refuses values that round to infinity; the points here never need that.
    raise OverflowError(v)


def f32_bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def f32_from_bits(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def f32_next(v, direction):
    """Adjacent float32 of a finite float32 v, towards +inf (direction > 0) or -inf."""
    if v == 0:
        tiny = f32_from_bits(1)
        return tiny if direction > 0 else -tiny
    b = f32_bits(v)
    # For positive v, larger bit patterns are larger values; for negative v the
    # reverse, so moving away from zero is always +1 on the magnitude bits.
    away = (v > 0) == (direction > 0)
    return f32_from_bits(b + 1 if away else b - 1)


def hex_short(v):
    """Shortest C99 hex float of a double, e.g. 0x1p-1, -0x1.47ae14p-7, 0x1.4p+4."""
    h = float.hex(v)  # '0x1.47ae140000000p-7'
    mant, exp = h.split("p")
    whole, frac = mant.split(".")
    frac = frac.rstrip("0")
    return whole + ("." + frac if frac else "") + "p" + exp


# ----------------------------------------------------------------------------------
# Exact decimal output
# ----------------------------------------------------------------------------------

DIGITS = 30


def fmt_value(v):
    """Format a result: a Python float for exact specials (+-0, +-inf) or an mpf.

    Finite nonzero mpf values are rounded to DIGITS significant digits in C-style
    scientific notation with at least two exponent digits.  The decimal conversion is
    done here rather than with mpmath.nstr because nstr converts at a precision tied
    to the digit count, which loses the last digits when the decimal exponent itself
    is enormous (e.g. sigmoid(-FLT_MAX) ~ 1e-147782745434202637294112003802236491331).
    """
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        assert v == 0, "non-special Python floats must be converted to mpf first"
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    if mpmath.isinf(v):
        return "inf" if v > 0 else "-inf"
    assert not mpmath.isnan(v)
    if v == 0:
        return "0"
    neg = v < 0
    a = abs(v)
    # Extra bits so that 10^e is accurate for a decimal exponent e of any size, on top
    # of the value's own precision.
    mag = int(mpmath.mag(a))
    with mp.workprec(mp.prec + 2 * abs(mag).bit_length() + 96):
        e = int(mpmath.floor(mpmath.log10(a)))
        while True:
            # Want 10^(DIGITS-1) <= a * 10^(DIGITS-1-e) < 10^DIGITS; floor(log10) can be
            # off by one right at a power of ten, which the loop corrects.
            scaled = a * mpmath.power(10, DIGITS - 1 - e)
            if scaled < 10 ** (DIGITS - 1):
                e -= 1
            elif scaled >= 10 ** DIGITS:
                e += 1
            else:
                break
        n = int(mpmath.nint(scaled))
        if n == 10 ** DIGITS:      # 9.99...95 rounds up to 1.00...0e(e+1)
            n //= 10
            e += 1
    d = str(n)
    return "%s%s.%se%s%02d" % ("-" if neg else "", d[0], d[1:], "-" if e < 0 else "+", abs(e))


# ----------------------------------------------------------------------------------
# The activations
# ----------------------------------------------------------------------------------
#
# Each activation is (fwd, der, lim, odd0):
#   fwd(x, p), der(x, p): value and derivative at a finite mpf x, parameters p (dict of
#       mpf).  Branch tests compare mpf values exactly.
#   lim(s, p): (forward, derivative) limits at x = s*inf, s = +1 or -1.  Zero limits
#       are Python floats carrying the sign of approach; other limits may be mpf.
#   odd0(p): True when f(-0) = -0 (see the header's signed-zero rule).

# Decimal constants are kept as strings and converted at the precision in force at
# the call: an mpf built at import time would carry mpmath's default 53 bits.
SELU_SCALE = "1.0507009873554804934193349852946"
SELU_ALPHA = "1.6732632423543772848170429916717"
GELU_TANH_C = "0.044715"


def sigmoid(z):
    # 1/(1+e^-z) has no cancellation for either sign in arbitrary precision;
    # mpmath's exp handles any exponent, so e^-z never overflows.
    return 1 / (1 + mp.exp(-z))


def sech2(z):
    # 1 - tanh^2 cancels for large |z|; sech^2 does not.
    return mp.sech(z) ** 2


def Phi(x):
    # Standard normal CDF through erfc, which is accurate in the lower tail where
    # 1 + erf(x/sqrt2) would cancel completely.  erfc squares its rounded argument
    # internally; working_prec() leaves room for that.
    return mp.erfc(-x / mp.sqrt(2)) / 2


def phi(x):
    # x*x is exact for a float32 x at this precision, so the huge exponent of e^(-x^2/2)
    # carries no rounding error before exponentiation.
    return mp.exp(-(x * x) / 2) / mp.sqrt(2 * mp.pi)


def gelu_tanh_u(x):
    return mp.sqrt(2 / mp.pi) * (x + mpf(GELU_TANH_C) * x ** 3)


def gelu_tanh_du(x):
    return mp.sqrt(2 / mp.pi) * (1 + 3 * mpf(GELU_TANH_C) * x * x)


def softplus_raw(z):
    # log(1+e^z) through log1p: no cancellation for z << 0, no overflow for z >> 0.
    return mp.log1p(mp.exp(z))


ONE = mpf(1)
ZERO = mpf(0)
P0 = 0.0    # limit approached from above (or a plateau)
N0 = -0.0   # limit approached from below


def _identity():
    return dict(
        fwd=lambda x, p: x,
        der=lambda x, p: ONE,
        lim=lambda s, p: (INF * s, ONE),
        odd0=lambda p: True)


def _sigmoid():
    return dict(
        fwd=lambda x, p: sigmoid(x),
        der=lambda x, p: sigmoid(x) * sigmoid(-x),   # s(1-s) without computing 1-s
        lim=lambda s, p: (ONE, P0) if s > 0 else (P0, P0),
        odd0=lambda p: False)


def _tanh():
    return dict(
        fwd=lambda x, p: mp.tanh(x),
        der=lambda x, p: sech2(x),
        lim=lambda s, p: (ONE * s, P0),
        odd0=lambda p: True)


def _relu():
    return dict(
        fwd=lambda x, p: x if x > 0 else ZERO,
        der=lambda x, p: ONE if x > 0 else ZERO,
        lim=lambda s, p: (INF, ONE) if s > 0 else (P0, P0),
        odd0=lambda p: False)


def _relu_squared():
    # max(0, x)^2 (Primer); autograd's derivative 2*max(0, x), 0 at the kink.
    return dict(
        fwd=lambda x, p: x * x if x > 0 else P0,
        der=lambda x, p: 2 * x if x > 0 else P0,
        lim=lambda s, p: (INF, INF) if s > 0 else (P0, P0),
        odd0=lambda p: False)


def _leaky_relu():
    return dict(
        fwd=lambda x, p: x if x > 0 else p["negative_slope"] * x,
        der=lambda x, p: ONE if x > 0 else p["negative_slope"],
        lim=lambda s, p: (INF, ONE) if s > 0 else (-INF, p["negative_slope"]),
        odd0=lambda p: True)


def _elu():
    return dict(
        fwd=lambda x, p: x if x > 0 else p["alpha"] * mp.expm1(x),
        der=lambda x, p: ONE if x > 0 else p["alpha"] * mp.exp(x),
        lim=lambda s, p: (INF, ONE) if s > 0 else (-p["alpha"], P0),
        odd0=lambda p: True)


def _selu():
    def fwd(x, p):
        return mpf(SELU_SCALE) * (x if x > 0 else mpf(SELU_ALPHA) * mp.expm1(x))

    def der(x, p):
        return mpf(SELU_SCALE) * (ONE if x > 0 else mpf(SELU_ALPHA) * mp.exp(x))

    def lim(s, p):
        if s > 0:
            return INF, mpf(SELU_SCALE)
        return -mpf(SELU_SCALE) * mpf(SELU_ALPHA), P0

    return dict(fwd=fwd, der=der, lim=lim, odd0=lambda p: True)


def _celu():
    # max(0,x) + min(0, alpha*(e^(x/alpha)-1)): the second term vanishes for x > 0.
    return dict(
        fwd=lambda x, p: x if x > 0 else p["alpha"] * mp.expm1(x / p["alpha"]),
        der=lambda x, p: ONE if x > 0 else mp.exp(x / p["alpha"]),
        lim=lambda s, p: (INF, ONE) if s > 0 else (-p["alpha"], P0),
        odd0=lambda p: True)


def _gelu():
    # For x -> -inf, Phi(x) + x*phi(x) ~ -|x|*phi(x) < 0: the derivative tends to -0.
    return dict(
        fwd=lambda x, p: x * Phi(x),
        der=lambda x, p: Phi(x) + x * phi(x),
        lim=lambda s, p: (INF, ONE) if s > 0 else (N0, N0),
        odd0=lambda p: True)


def _gelu_tanh():
    # 0.5*x*(1+tanh u) = x*sigmoid(2u): the right-hand side does not cancel for u << 0.
    # d/dx = sigmoid(2u) + 0.5*x*sech^2(u)*u', with sech^2(u) = 4*sigmoid(2u)*sigmoid(-2u).
    def fwd(x, p):
        return x * sigmoid(2 * gelu_tanh_u(x))

    def der(x, p):
        u2 = 2 * gelu_tanh_u(x)
        return sigmoid(u2) + 2 * x * sigmoid(u2) * sigmoid(-u2) * gelu_tanh_du(x)

    return dict(fwd=fwd, der=der,
                lim=lambda s, p: (INF, ONE) if s > 0 else (N0, N0),
                odd0=lambda p: True)


def _silu():
    # s*(1 + x*(1-s)), with 1-s computed as sigmoid(-x).
    return dict(
        fwd=lambda x, p: x * sigmoid(x),
        der=lambda x, p: sigmoid(x) * (1 + x * sigmoid(-x)),
        lim=lambda s, p: (INF, ONE) if s > 0 else (N0, N0),
        odd0=lambda p: True)


def _quick_gelu():
    # x*sigmoid(a*x) (CLIP's QuickGELU, a = 1.702); d/dx = s(v)*(1 + v*s(-v)) at v = a*x.
    def fwd(x, p):
        return x * sigmoid(p["sigmoid_scale"] * x)

    def der(x, p):
        v = p["sigmoid_scale"] * x
        return sigmoid(v) * (1 + v * sigmoid(-v))

    return dict(fwd=fwd, der=der,
                lim=lambda s, p: (INF, ONE) if s > 0 else (N0, N0),
                odd0=lambda p: True)


def _softplus():
    # PyTorch: beta*x > threshold ? x : log1p(exp(beta*x))/beta, gradient
    # sigmoid(beta*x) in the second branch.  beta*x is exact here (two float32s).
    def fwd(x, p):
        z = p["beta"] * x
        return x if z > p["threshold"] else softplus_raw(z) / p["beta"]

    def der(x, p):
        z = p["beta"] * x
        return ONE if z > p["threshold"] else sigmoid(z)

    return dict(fwd=fwd, der=der,
                lim=lambda s, p: (INF, ONE) if s > 0 else (P0, P0),
                odd0=lambda p: False)


def _mish():
    # f = x*tanh(sp(x)), sp = log1p(e^x) (no threshold); f' = tanh(sp) + x*sech^2(sp)*sigmoid(x).
    # For x -> -inf, f' ~ e^x*(1+x) < 0: the limit is -0.
    def fwd(x, p):
        return x * mp.tanh(softplus_raw(x))

    def der(x, p):
        sp = softplus_raw(x)
        return mp.tanh(sp) + x * sech2(sp) * sigmoid(x)

    return dict(fwd=fwd, der=der,
                lim=lambda s, p: (INF, ONE) if s > 0 else (N0, N0),
                odd0=lambda p: True)


def _clamp(lo, hi, x):
    return lo if x < lo else (hi if x > hi else x)


def _inside(lo, hi, x):
    # PyTorch's hardtanh_backward passes the gradient only strictly inside (lo, hi).
    return ONE if lo < x < hi else ZERO


def _hardtanh():
    return dict(
        fwd=lambda x, p: _clamp(p["min_val"], p["max_val"], x),
        der=lambda x, p: _inside(p["min_val"], p["max_val"], x),
        lim=lambda s, p: (p["max_val"], P0) if s > 0 else (p["min_val"], P0),
        odd0=lambda p: p["min_val"] < 0 < p["max_val"])


def _relu6():
    return dict(
        fwd=lambda x, p: _clamp(ZERO, mpf(6), x),
        der=lambda x, p: _inside(ZERO, mpf(6), x),
        lim=lambda s, p: (mpf(6), P0) if s > 0 else (P0, P0),
        odd0=lambda p: False)


def _hardsigmoid():
    return dict(
        fwd=lambda x, p: _clamp(ZERO, mpf(6), x + 3) / 6,
        der=lambda x, p: ONE / 6 if -3 < x < 3 else ZERO,
        lim=lambda s, p: (ONE, P0) if s > 0 else (P0, P0),
        odd0=lambda p: False)


def _hardswish():
    # PyTorch's backward: x < -3 ? 0 : (x <= 3 ? x/3 + 0.5 : 1), i.e. the inner
    # formula's one-sided derivative at both kinks.
    def der(x, p):
        if x < -3:
            return ZERO
        return x / 3 + mpf(0.5) if x <= 3 else ONE

    return dict(
        fwd=lambda x, p: x * _clamp(ZERO, mpf(6), x + 3) / 6,
        der=der,
        lim=lambda s, p: (INF, ONE) if s > 0 else (P0, P0),
        odd0=lambda p: True)


def _softsign():
    return dict(
        fwd=lambda x, p: x / (1 + abs(x)),
        der=lambda x, p: 1 / (1 + abs(x)) ** 2,
        lim=lambda s, p: (ONE * s, P0),
        odd0=lambda p: True)


ACTIVATIONS = {
    "identity": _identity(),
    "sigmoid": _sigmoid(),
    "tanh": _tanh(),
    "relu": _relu(),
    "leaky_relu": _leaky_relu(),
    "elu": _elu(),
    "selu": _selu(),
    "celu": _celu(),
    "gelu": _gelu(),
    "gelu_tanh": _gelu_tanh(),
    "silu": _silu(),
    "softplus": _softplus(),
    "mish": _mish(),
    "hardtanh": _hardtanh(),
    "relu6": _relu6(),
    "hardsigmoid": _hardsigmoid(),
    "hardswish": _hardswish(),
    "softsign": _softsign(),
    "relu_squared": _relu_squared(),
    "quick_gelu": _quick_gelu(),
}

# Parameter sets, in output order.  The first set of each activation is PyTorch's
# default (printed as '-'); values are doubles, and a set applies to f32 data only where
# they are float32 values (leaky_relu's float32-rounded sets stand in for 0.01 there).
PARAM_SETS = {
    "leaky_relu": [dict(negative_slope=0.01), dict(negative_slope=f32(0.01)), dict(negative_slope=f32(0.2))],
    "elu": [dict(alpha=1.0), dict(alpha=0.5)],
    "celu": [dict(alpha=1.0), dict(alpha=2.0)],
    "softplus": [dict(beta=1.0, threshold=20.0), dict(beta=2.0, threshold=10.0)],
    "hardtanh": [dict(min_val=-1.0, max_val=1.0), dict(min_val=-2.0, max_val=3.0)],
    "quick_gelu": [dict(sigmoid_scale=1.702), dict(sigmoid_scale=f32(1.702)), dict(sigmoid_scale=0.75)],
}

PARAM_KEYS = ("negative_slope", "alpha", "beta", "threshold", "min_val", "max_val", "sigmoid_scale", "limit")


def param_sets(name):
    sets = PARAM_SETS.get(name, [dict()])
    for i, ps in enumerate(sets):
        for v in ps.values():
            assert isinstance(v, float), "parameters are doubles"
        label = "-" if i == 0 else ",".join(
            "%s=%s" % (k, hex_short(ps[k])) for k in PARAM_KEYS if k in ps)
        yield label, ps


# ----------------------------------------------------------------------------------
# The input points (shared by every activation and parameter set)
# ----------------------------------------------------------------------------------

SEED = 0xAC7C  # fixed: the random points must be the same on every run


def build_points():
    pts = []

    def both(*vals):
        for v in vals:
            pts.append(v)
            pts.append(-v)

    # Signed zeros, the kink of most activations.
    pts += [0.0, -0.0]
    # Subnormal float32: the smallest, a few in between, the largest; then the
    # smallest normals.  Catches flushing and x*(...) formulas losing the tiny x.
    both(2.0 ** -149, 2.0 ** -148, 3 * 2.0 ** -149, 2.0 ** -140, 2.0 ** -130,
         2.0 ** -126 - 2.0 ** -149, 2.0 ** -126, f32_next(2.0 ** -126, +1))
    # Small magnitudes: expm1 / log1p cancellation (|x| ~ 1e-4), odd-function tails.
    both(*[f32(v) for v in (1e-30, 1e-20, 1e-10, 1e-8, 1e-6, 3e-5, 1e-4, 1.5e-4, 1e-3)])
    # Dense core: a 0.25 grid on [-10, 10] (holds -3, 3, 6, -2, +-1 and the integers)
    # plus non-round values drawn with a fixed seed.
    pts += [k * 0.25 for k in range(-40, 41)]
    rng = random.Random(SEED)
    pts += [f32(rng.uniform(-10.0, 10.0)) for _ in range(24)]
    pts += [f32(rng.uniform(-1.0, 1.0)) for _ in range(8)]
    # Log-uniform magnitudes over the whole float32 range, random sign.
    for _ in range(10):
        mant = rng.uniform(1.0, 2.0)
        exp = rng.randint(-126, 127)
        pts.append(f32(math.copysign(math.ldexp(mant, exp), rng.choice((-1, 1)))))
    # Tails.
    both(15.0, 20.0, 30.0, 50.0, 88.0, 89.0, 90.0, 100.0, 1e4, 1e10,
         f32(1e30), f32(3e38), FLT_MAX)
    # Where naive formulas break:
    both(f32(88.72283),        # e^x overflows float32 just above ln(FLT_MAX)
         f32(709.78),          # ... and double just above ln(DBL_MAX)
         710.0)
    pts += [f32(v) for v in (
        -87.33654,             # e^x reaches FLT_MIN (ln 2^-126)
        -103.27893,            # e^x reaches the smallest float32 subnormal
        -104.0, -95.0,         # e^x underflows to 0 in float32
        -44.4, -45.0, -60.0,   # naive sigmoid' e^-x/(1+e^-x)^2: inf/inf in float32
        -355.0, -356.0,        # ... and in double
        -14.0, -14.5,          # gelu: erfc(-x/sqrt2) underflows in float32
        -25.0, -35.0, -38.5, -40.0,  # 1+erf cancellation; erfc underflow in double
        -708.4, -745.1, -746.0, -1000.0)]  # e^x: DBL_MIN, smallest subnormal, underflow
    # Powers of x overflowing: x^3 in float32 (gelu_tanh) near 6.98e12, x^2 near 1.84e19.
    both(f32(6e12), f32(7e12), f32(1e19), f32(2e19))
    # Kinks of the parameter sets and their float32 neighbours: hardtanh bounds
    # (+-1, -2, 3), hardsigmoid/hardswish (+-3), relu6 (6), softplus beta*x ==
    # threshold (20 for beta=1, 5 for beta=2).  0's neighbours are +-2^-149 above.
    for k in (1.0, -1.0, -2.0, 3.0, -3.0, 6.0, 20.0, 5.0):
        pts += [k, f32_next(k, -1), f32_next(k, +1)]
    # The mathematical limits.
    pts += [INF, -INF]

    # Deduplicate (keeping -0 and +0 apart) and sort by value, -0 before +0.
    uniq = {}
    for v in pts:
        assert not math.isnan(v)
        assert f32(v) == v, "point %r is not a float32 value" % v
        uniq[(v, math.copysign(1.0, v))] = v
    return sorted(uniq.values(), key=lambda v: (v, math.copysign(1.0, v)))


# ----------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------

BASE_PREC = 256  # bits, about 77 significant digits


def working_prec(x):
    # Arguments such as x*x/2 (gelu) and the cubic of gelu_tanh reach |x|^3 in
    # magnitude; exponentiating them needs their absolute error, not just the
    # relative one, to be small, so add three bits per binary order of |x|.
    if x == 0 or math.isinf(x):
        return BASE_PREC
    return BASE_PREC + 3 * max(0, math.frexp(x)[1])


def evaluate(act, x, ps, extra_prec=0):
    """(forward, derivative) at the float32 value x as printable strings."""
    if math.isinf(x):
        with mp.workprec(BASE_PREC + extra_prec):
            p = {k: mpf(v) for k, v in ps.items()}
            f, d = act["lim"](1 if x > 0 else -1, p)
            return fmt_value(f), fmt_value(d)
    with mp.workprec(working_prec(x) + extra_prec):
        p = {k: mpf(v) for k, v in ps.items()}
        xm = mpf(x)
        f = act["fwd"](xm, p)
        d = act["der"](xm, p)
        if f == 0:
            # mpmath has no signed zero; apply the header's rule.
            neg = x == 0 and math.copysign(1.0, x) < 0 and act["odd0"](p)
            f = -0.0 if neg else 0.0
        if d == 0:
            d = 0.0
        return fmt_value(f), fmt_value(d)


def generate():
    points = build_points()
    rows = []
    for name, act in ACTIVATIONS.items():
        for label, ps in param_sets(name):
            for x in points:
                f, d = evaluate(act, x, ps)
                rows.append((name, label, ps, x, f, d))
    return points, rows


# ----------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------

def kinks(name, ps):
    """Points where the derivative is a convention, not a limit (skip in diff checks)."""
    k = {0.0}
    if name == "hardtanh":
        k |= {ps["min_val"], ps["max_val"]}
    if name == "relu6":
        k |= {6.0}
    if name in ("hardsigmoid", "hardswish"):
        k |= {-3.0, 3.0}
    if name == "softplus":
        k |= {ps["threshold"] / ps["beta"]}
    return k


def double_reference(name, ps, x):
    """Straightforward double-precision formulas, for |x| <= 30 (a typo detector)."""
    s = lambda z: 1 / (1 + math.exp(-z))
    P = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))
    if name == "identity":
        return x, 1.0
    if name == "sigmoid":
        return s(x), s(x) * s(-x)
    if name == "tanh":
        return math.tanh(x), 1 / math.cosh(x) ** 2
    if name == "relu":
        return max(x, 0.0), float(x > 0)
    if name == "leaky_relu":
        a = ps["negative_slope"]
        return (x, 1.0) if x > 0 else (a * x, a)
    if name == "elu":
        a = ps["alpha"]
        return (x, 1.0) if x > 0 else (a * math.expm1(x), a * math.exp(x))
    if name == "selu":
        sc, a = 1.0507009873554805, 1.6732632423543772
        return (sc * x, sc) if x > 0 else (sc * a * math.expm1(x), sc * a * math.exp(x))
    if name == "celu":
        a = ps["alpha"]
        return (x, 1.0) if x > 0 else (a * math.expm1(x / a), math.exp(x / a))
    if name == "gelu":
        return x * P(x), P(x) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    if name == "gelu_tanh":
        k = math.sqrt(2 / math.pi)
        u = k * (x + 0.044715 * x ** 3)
        t = math.tanh(u)
        sech2 = (1 / math.cosh(u)) ** 2 if abs(u) < 700 else 0.0
        return (0.5 * x * (1 + t),
                0.5 * (1 + t) + 0.5 * x * sech2 * k * (1 + 3 * 0.044715 * x * x))
    if name == "silu":
        return x * s(x), s(x) * (1 + x * (1 - s(x)))
    if name == "softplus":
        b, th = ps["beta"], ps["threshold"]
        return (x, 1.0) if b * x > th else (math.log1p(math.exp(b * x)) / b, s(b * x))
    if name == "mish":
        sp = math.log1p(math.exp(x))
        return x * math.tanh(sp), math.tanh(sp) + x * s(x) / math.cosh(sp) ** 2
    if name == "hardtanh":
        lo, hi = ps["min_val"], ps["max_val"]
        return min(max(x, lo), hi), float(lo < x < hi)
    if name == "relu6":
        return min(max(x, 0.0), 6.0), float(0 < x < 6)
    if name == "hardsigmoid":
        return min(max(x + 3, 0.0), 6.0) / 6, (1 / 6 if -3 < x < 3 else 0.0)
    if name == "hardswish":
        return (x * min(max(x + 3, 0.0), 6.0) / 6,
                0.0 if x < -3 else (x / 3 + 0.5 if x <= 3 else 1.0))
    if name == "softsign":
        return x / (1 + abs(x)), 1 / (1 + abs(x)) ** 2
    if name == "relu_squared":
        return (x * x, 2 * x) if x > 0 else (0.0, 0.0)
    if name == "quick_gelu":
        v = ps["sigmoid_scale"] * x
        return x * s(v), s(v) * (1 + v * (1 - s(v)))
    raise KeyError(name)


def close(a, b, rel, absolute=0.0):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + absolute


def self_check(points, rows):
    failures = []

    def fail(msg):
        failures.append(msg)
        if len(failures) <= 20:
            print("CHECK FAILED: " + msg, file=sys.stderr)

    # 0. Values known independently of this file's formulas (published constants, or
    #    the textbook form of gelu_tanh evaluated separately).
    with mp.workprec(BASE_PREC):
        gelu_tanh_1 = fmt_value(0.5 * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * mpf("1.044715"))))
    known = [
        ("gelu", "-", 1.0, "8.41344746068542948585232545632e-01", None),
        ("sigmoid", "-", 0.0, "5.00000000000000000000000000000e-01",
         "2.50000000000000000000000000000e-01"),
        ("tanh", "-", 1.0, "7.61594155955764888119458282605e-01", None),
        ("softplus", "-", 0.0, "6.93147180559945309417232121458e-01", None),
        ("selu", "-", 1.0, "1.05070098735548049341933498529e+00",
         "1.05070098735548049341933498529e+00"),
        ("gelu_tanh", "-", 1.0, gelu_tanh_1, None),
    ]
    table = {(r[0], r[1], r[3]): (r[4], r[5]) for r in rows}
    for name, label, x, f, d in known:
        got = table[(name, label, x)]
        if got[0] != f or (d is not None and got[1] != d):
            fail("%s(%r) = %s %s, expected %s %s" % (name, x, got[0], got[1], f, d))

    # 1. Precision stability: every printed value is unchanged with 200 more bits.
    for name, label, ps, x, f, d in rows:
        f2, d2 = evaluate(ACTIVATIONS[name], x, ps, extra_prec=200)
        if (f, d) != (f2, d2):
            fail("%s %s x=%r unstable: %s %s vs %s %s" % (name, label, x, f, d, f2, d2))

    # 2. Derivatives against numerical differentiation of the forward formula, at
    #    smooth points of moderate size.
    for name, act in ACTIVATIONS.items():
        for label, ps in param_sets(name):
            skip = kinks(name, ps)
            for x in points:
                if math.isinf(x) or x in skip or abs(x) > 1e4 or abs(x) < 1e-30:
                    continue
                with mp.workprec(working_prec(x)):
                    p = {k: mpf(v) for k, v in ps.items()}
                    xm = mpf(x)
                    num = mp.diff(lambda t: act["fwd"](t, p), xm)
                    ana = act["der"](xm, p)
                    if not close(num, ana, mpf(10) ** -40, mpf(10) ** -60):
                        fail("%s %s x=%r derivative %s vs numerical %s"
                             % (name, label, x, mp.nstr(ana, 20), mp.nstr(num, 20)))

    # 3. Limits at +-inf against evaluation at +-1e25.
    for name, act in ACTIVATIONS.items():
        for label, ps in param_sets(name):
            for s in (1, -1):
                with mp.workprec(BASE_PREC + 3 * 84):
                    p = {k: mpf(v) for k, v in ps.items()}
                    big = mpf(10) ** 25 * s
                    for lim, val in zip(act["lim"](s, p), (act["fwd"](big, p), act["der"](big, p))):
                        if isinstance(lim, float) and math.isinf(lim):
                            ok = abs(val) > 1e20 and (val > 0) == (lim > 0)
                        elif isinstance(lim, float) or lim == 0:
                            sign = math.copysign(1.0, lim) if isinstance(lim, float) else 1.0
                            # a plateau evaluates to exactly 0 and is printed +0
                            ok = abs(val) < 1e-40 and (val == 0 and sign > 0 or val * sign > 0)
                        else:
                            ok = close(val, lim, mpf(10) ** -20)
                        if not ok:
                            fail("%s %s limit at %sinf: %r vs value at 1e25 %s"
                                 % (name, label, "+" if s > 0 else "-", lim, mp.nstr(val, 10)))

    # 4. Finite values against plain double formulas (where those are accurate).
    for name, label, ps, x, f, d in rows:
        if math.isinf(x) or abs(x) > 30:
            continue
        rf, rd = double_reference(name, ps, x)
        for got, ref, what in ((f, rf, "forward"), (d, rd, "derivative")):
            g = float(got) if got not in ("0", "-0") else 0.0
            # absolute floor: near the derivative roots of silu/gelu/mish and near
            # gelu_tanh's cubic, the double formulas lose relative accuracy
            if not close(g, ref, 1e-12, 1e-15):
                fail("%s %s x=%r %s %s vs double %r" % (name, label, x, what, got, ref))

    # 5. The formatter against mpmath's own for ordinary exponents.
    for v in ("0.5", "-1e-5", "9.9999999999999999999999999999999e2", "1.5e300", "2e-300"):
        with mp.workprec(BASE_PREC):
            mine = fmt_value(mpf(v))
            ref = mpmath.nstr(mpf(v), DIGITS, strip_zeros=False, min_fixed=1, max_fixed=0)
            if float(mine) != float(ref) or mine.split("e")[0] != ref.split("e")[0]:
                fail("formatter %s: %s vs %s" % (v, mine, ref))

    return failures


# ----------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------

HEADER = """\
# actk golden values: activation forward values and derivatives.
# Generated by tests/data/gen_golden.py (do not edit by hand; re-run the script).
# Oracle: mpmath {mpmath} (Python {python}), working precision >= {prec} bits
#   (~{dps} significant digits, more for large |x|), checked stable under +200 bits.
# Date: {date}.  Random points: Python random.Random({seed:#x}).
#
# Format: one record per line, 5 fields separated by single spaces:
#   activation params x forward derivative
#   activation  catalogue name (identity sigmoid tanh relu leaky_relu elu selu celu
#               gelu gelu_tanh silu softplus mish hardtanh relu6 hardsigmoid hardswish
#               softsign relu_squared quick_gelu).
#   params      '-' for PyTorch's defaults, else comma-separated key=value with keys
#               negative_slope alpha beta threshold min_val max_val sigmoid_scale
#               limit; values are
#               doubles written as C99 hex floats (strtod reads them exactly).
#               Defaults: negative_slope=0.01 (the double), elu/celu alpha=1,
#               softplus beta=1 threshold=20, hardtanh min_val=-1 max_val=1,
#               quick_gelu sigmoid_scale=1.702 (the double).
#               A line serves f32 data only where its parameters are float32 values.
#   x           the input, a float32 value written as a C99 hex float (Python
#               float.hex()), or inf / -inf.  The same points serve f32 and f64.
#   forward     f(x), and
#   derivative  df/dx as PyTorch autograd defines it (including at kinks), both the
#               true value correctly rounded to {digits} significant digits
#               (d.ddd...e+XX), or inf / -inf, or 0 / -0 where exactly zero.
# Lines starting with '#' are comments.
#
# Reading: the decimal exponents of tiny true values can be enormous (e.g. tanh' at
# float32(1e30) is 5.53549556070139561997295153120e-868588976876566747138317507674).  glibc's strtod/strtof/strtold return a
# correctly signed 0 or subnormal and set errno = ERANGE for these and for any
# subnormal result: do not treat ERANGE as a parse error.  istringstream >> double
# does not read inf; split fields with istringstream and convert with strtod/strtof.
#
# Conventions:
# - leaky_relu's default 0.01 is the double 0x1.47ae147ae147bp-7, with which f64 calls
#   compute; f32 calls compute with the float32-rounded slope, which has sets of its
#   own (0x1.47ae14p-7 = 0.00999999977648..., 0x1.99999ap-3 = 0.200000002980...);
#   quick_gelu's default 1.702 likewise has a float32-rounded set.  All other
#   parameters are float32 values.
# - selu uses scale = 1.0507009873554804934193349852946 and
#   alpha = 1.6732632423543772848170429916717; gelu_tanh uses exact sqrt(2/pi) and
#   the decimal 0.044715; gelu is x*Phi(x) with Phi the exact normal CDF.
# - Kinks follow PyTorch: relu'(0)=0, leaky_relu'(0)=slope, elu'(0)=alpha,
#   selu'(0)=scale*alpha, celu'(0)=1, hardtanh'/relu6' = 0 on the bounds,
#   hardsigmoid'(+-3)=0, hardswish'(-3)=-0.5 and hardswish'(3)=1.5, softplus uses
#   the log1p branch at beta*x == threshold (the identity branch only above it).
# - x = +-inf gives the mathematical limits (the contract's special values).
# - Signed zeros: f(-0) = -0 for identity tanh leaky_relu elu selu celu gelu
#   gelu_tanh silu quick_gelu mish hardtanh hardswish softsign; the constant zero
#   pieces (relu, relu_squared and relu6 at x <= 0, hardsigmoid and hardswish at x <= -3) and zero derivatives
#   at finite x are +0;
#   a zero limit at +-inf has the sign of the side it is approached from (e.g.
#   gelu(-inf) = -0, silu'(-inf) = -0).  Tests may ignore the sign of zero.
#
# Records: {nrows} ({nsets} activation/parameter sets x {npoints} points).
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.txt"))
    ap.add_argument("--no-check", action="store_true", help="skip the self-checks")
    ap.add_argument("--date", default=datetime.date.today().isoformat(),
                    help="date written to the header (default: today)")
    args = ap.parse_args()

    points, rows = generate()
    if not args.no_check:
        failures = self_check(points, rows)
        if failures:
            sys.exit("%d self-check failures; nothing written" % len(failures))

    nsets = sum(1 for name in ACTIVATIONS for _ in param_sets(name))
    with open(args.output, "w", newline="\n") as out:
        out.write(HEADER.format(
            mpmath=mpmath.__version__, python=sys.version.split()[0], prec=BASE_PREC,
            dps=int(BASE_PREC * math.log10(2)), date=args.date, seed=SEED,
            digits=DIGITS, nrows=len(rows), nsets=nsets, npoints=len(points)))
        for name, label, ps, x, f, d in rows:
            out.write("%s %s %s %s %s\n" % (name, label, float.hex(x), f, d))
    print("wrote %d records (%d sets x %d points) to %s"
          % (len(rows), nsets, len(points), args.output))


if __name__ == "__main__":
    main()
