#!/usr/bin/env python3
"""Fits the polynomial coefficients of kernels/math/vector_math.hpp and normal_tail_table.hpp, and
checks them in f32.

Each fit is a weighted least-squares fit on Chebyshev nodes, refined towards minimax by Lawson
reweighting, against mpmath at 40 digits; the coefficients are then rounded to f32 and the
polynomial is evaluated as the C++ code does (f32 FMA steps) to report the error that matters.

    pip install numpy mpmath && python3 host/cpu/fit_coefficients.py

Prints each table as C++ hex-float literals with its relative error in units of 2^-24.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
f32 = np.float32


def fit(f, lo, hi, degree, nodes=600):
    """Coefficients c (increasing powers, as f32) of p(v) ~ f(v) on [lo, hi], relative error."""
    k = np.arange(nodes)
    v = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([float(f(mp.mpf(float(t)))) for t in v])
    a = np.vander(v, degree + 1, increasing=True) / np.abs(y)[:, None]
    b = np.sign(y)
    weights = np.ones(nodes)
    for _ in range(30):
        c = np.linalg.lstsq(a * weights[:, None], b * weights, rcond=None)[0]
        error = np.abs(a @ c - b)
        weights *= error / error.max() + 1e-3
        weights /= weights.max()
    return c.astype(f32)


def fma(a, b, c):
    # The product of two f32 values is exact in f64; one rounding of the sum, as an f32 FMA.
    return f32(np.float64(a) * np.float64(b) + np.float64(c))


def horner(c, u):
    p = f32(c[-1])
    for ci in reversed(c[:-1]):
        p = fma(p, u, f32(ci))
    return p


def hexf(v):
    return float(f32(v)).hex().replace("0000000p", "p") + "f"


def exp_polynomial():
    # e^r = 1 + r + r^2 q(r), |r| <= ln2 / 2.
    half_ln2 = float(mp.log(2)) / 2
    c = fit(lambda r: (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(0.5), -half_ln2, half_ln2, 4)
    worst = 0.0
    for r in np.linspace(-half_ln2, half_ln2, 20001).astype(f32):
        p = f32(1) + fma(f32(r * r), horner(c, r), r)
        worst = max(worst, abs(float(p) - float(mp.exp(mp.mpf(float(r))))) / float(mp.exp(mp.mpf(float(r)))))
    print("exp q(r), degree 4:", ", ".join(hexf(x) for x in c), f"  max error {worst / 2**-24:.2f} x 2^-24")


def log1p_polynomial():
    # log(1 + t) = 2s + s w P(w), s = t / (2 + t), w = s^2 in [0, 1/9].
    def f(w):
        if w == 0:
            return mp.mpf(2) / 3
        s = mp.sqrt(w)
        return (mp.log1p(2 * s / (1 - s)) - 2 * s) / (s * w)

    c = fit(f, 1e-12, 1 / 9, 3)
    print("log1p P(w), degree 3:", ", ".join(hexf(x) for x in c))


def normal_tail_table(intervals=16, top=13.55, degree=7):
    # Q(x) = Phi(-x) e^(x^2/2) on [i w, (i + 1) w], as a polynomial in x - midpoint.
    def q(x):
        return mp.ncdf(-x) * mp.exp(x * x / 2)

    width = top / intervals
    mids, tables, worst = [], [], 0.0
    for i in range(intervals):
        lo, hi = i * width, (i + 1) * width
        mid = float(f32(lo + width / 2))
        c = fit(lambda u: q(u + mid), lo - mid, hi - mid, degree)
        for x in np.linspace(lo, hi, 400).astype(f32):
            truth = float(q(mp.mpf(float(x))))
            worst = max(worst, abs(float(horner(c, f32(x - f32(mid)))) - truth) / truth)
        mids.append(mid)
        tables.append(c)
    print(f"normal tail Q: {intervals} intervals of width {top}/{intervals}, degree {degree}, "
          f"max error {worst / 2**-24:.2f} x 2^-24 (Horner in f32)")
    print("  mid", ", ".join(hexf(m) for m in mids))
    for j in range(degree + 1):
        print(f"  c{j}", ", ".join(hexf(t[j]) for t in tables))


if __name__ == "__main__":
    exp_polynomial()
    log1p_polynomial()
    normal_tail_table()  # every lane type reads the same 16 intervals
