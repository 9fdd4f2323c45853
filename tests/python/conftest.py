"""Shared fixtures of the Python tests: the oracle formulas, in float64 NumPy, and inputs.

The tests import the actk package from PYTHONPATH (ctest points it at the build tree's
python/ folder; after `pip install .` the installed package is found the same way).
"""
import math

import numpy as np
import pytest

import actk

try:
    import ml_dtypes

    BF16 = ml_dtypes.bfloat16
except ImportError:  # bf16 NumPy arrays need ml_dtypes; the other dtypes do not
    BF16 = None


def _erf(x):
    return np.vectorize(math.erf)(x)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softplus(x, beta, threshold):
    bx = beta * x
    return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta)


# Each elementwise entry of the catalogue, written independently of actk: f(x, **params) in f64.
FORMULAS = {
    "identity": lambda x: x,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
    "elu": lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x)),
    "selu": lambda x: 1.0507009873554804934193349852946 * np.where(
        x > 0, x, 1.6732632423543772848170429916717 * np.expm1(x)),
    "celu": lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x / alpha)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * _sigmoid(x),
    "softplus": _softplus,
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "hardtanh": lambda x, min_val, max_val: np.clip(x, min_val, max_val),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hardsigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hardswish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "relu_squared": lambda x: np.maximum(x, 0) ** 2,
    "quick_gelu": lambda x, sigmoid_scale: x * _sigmoid(sigmoid_scale * x),
}


def gate_formula(name, gate, up, params):
    """act(gate) * up for a gated entry, in f64."""
    entry = {e["name"]: e for e in actk.catalogue()}[name]
    if name == "swiglu_clamped":
        gate = np.minimum(gate, params["limit"])
        up = np.clip(up, -params["limit"], params["limit"]) + 1
    inner = {p: v for p, v in params.items() if p != "limit"}
    return FORMULAS[entry["gate"]](gate, **inner) * up


def defaults(name):
    return {p: d for p, d in {e["name"]: e for e in actk.catalogue()}[name]["params"]}


def derivative(name, x, params, h=1e-6):
    """f'(x) by a central difference in f64 (the inputs keep clear of the kinks)."""
    f = FORMULAS[name]
    return (f(x + h, **params) - f(x - h, **params)) / (2 * h)


def away_from_kinks(x, dtype=np.float64):
    """x in ``dtype``, moved off the points where some entry has a kink (0, +-1, +-3, 6, +-7, 20)
    by more than the type's spacing there."""
    gap = 1e-3 if np.dtype(dtype).itemsize >= 4 else 0.05
    for kink in (0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 7.0, 20.0, -7.0):
        x = np.where(np.abs(x - kink) < gap, x + 2 * gap, x)
    return x.astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


DTYPES = [np.float32, np.float64, np.float16] + ([BF16] if BF16 is not None else [])
# The relative error the tests allow against the f64 oracle: a few ulp of the type, and the
# contract's absolute floor near zero.
RTOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-13, np.dtype(np.float16): 2e-3}
if BF16 is not None:
    RTOL[np.dtype(BF16)] = 1.6e-2
