"""The actk package over NumPy arrays: every entry, pass and dtype against an f64 oracle,
out= and in place, the structured calls, and the errors (which write nothing)."""
import numpy as np
import pytest

import actk
from conftest import BF16, DTYPES, FORMULAS, RTOL, away_from_kinks, defaults, derivative, gate_formula

ELEMENTWISE = [e["name"] for e in actk.catalogue("elementwise")]
GATED = [e["name"] for e in actk.catalogue("gated")]


def f64(a):
    return np.asarray(a, dtype=np.float64)


def close(got, want, dtype, atol=1e-6):
    np.testing.assert_allclose(f64(got), want, rtol=RTOL[np.dtype(dtype)], atol=atol)


def test_the_formulas_cover_the_catalogue():
    assert sorted(FORMULAS) == sorted(ELEMENTWISE)
    assert {e["kind"] for e in actk.catalogue()} == {"elementwise", "prelu", "maxout", "gated"}


def test_error_is_a_value_error():
    assert issubclass(actk.Error, ValueError)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_and_backward_match_the_oracle(name, dtype, rng):
    x = away_from_kinks(rng.uniform(-8, 8, size=(3, 7, 11)), dtype)
    dy = rng.uniform(-2, 2, size=x.shape).astype(dtype)
    params = defaults(name)
    xd = f64(x)
    y = actk.forward(name, x)
    assert y.dtype == x.dtype and y.shape == x.shape and isinstance(y, np.ndarray)
    close(y, FORMULAS[name](xd, **params), dtype)
    dx = actk.backward(name, x, dy)
    close(dx, f64(dy) * derivative(name, xd, params), dtype, atol=1e-4)
    y2, dx2 = actk.forward_backward(name, x, dy)
    np.testing.assert_array_equal(f64(y2), f64(y))  # one sweep gives the two passes' bits
    np.testing.assert_array_equal(f64(dx2), f64(dx))
    if actk.supports_backward_from_output(name):
        # f'(x) from the rounded y: judged against the reference backend on the same y (the C++
        # suites prove that one against the oracle)
        want = actk.backward_from_output(name, y, dy, backend="reference")
        close(actk.backward_from_output(name, y, dy), f64(want), dtype, atol=1e-4)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "celu", "softplus", "hardtanh", "quick_gelu"])
def test_parameters_reach_the_kernels(name, rng):
    x = away_from_kinks(rng.uniform(-4, 4, 257))
    params = {p: v * 0.5 if p != "min_val" else -2.0 for p, v in defaults(name).items()}
    close(actk.forward(name, x, **params), FORMULAS[name](x, **params), np.float64)
    # f64 parameters are double: leaky_relu's 0.01 gives the exact product, not float(0.01)'s.
    if name == "leaky_relu":
        neg = -np.abs(x) - 1
        np.testing.assert_array_equal(actk.forward(name, neg, negative_slope=0.01), neg * 0.01)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_backends_agree(backend, rng):
    x = rng.standard_normal(1000).astype(np.float32)
    close(actk.forward("gelu", x, backend=backend), FORMULAS["gelu"](f64(x)), np.float32)


def test_out_and_in_place(rng):
    x = rng.standard_normal((64, 33)).astype(np.float32)
    want = actk.forward("silu", x)
    out = np.empty_like(x)
    assert actk.forward("silu", x, out=out) is out
    np.testing.assert_array_equal(out, want)
    inplace = x.copy()
    actk.forward("silu", inplace, out=inplace)
    np.testing.assert_array_equal(inplace, want)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    grad = dy.copy()
    actk.backward("silu", x, grad, out=grad)  # dx over dy
    np.testing.assert_array_equal(grad, actk.backward("silu", x, dy))
    acc = np.ones_like(x)
    actk.backward("silu", x, dy, out=acc, accumulate=True)
    close(acc, 1 + f64(actk.backward("silu", x, dy)), np.float32)


def test_zero_and_zero_dimensional_arrays():
    assert actk.forward("relu", np.empty((0, 5), np.float32)).shape == (0, 5)
    assert actk.forward("relu", np.float32(-2.0) * np.ones((), np.float32)).shape == ()


@pytest.mark.skipif(BF16 is None, reason="ml_dtypes is not installed")
def test_bfloat16_rounds_the_f32_result_once(rng):
    x = rng.uniform(-6, 6, 4096).astype(BF16)
    y = actk.forward("tanh", x)
    assert y.dtype == BF16
    want = np.tanh(f64(x)).astype(BF16)  # rounded once from (nearly) the exact value
    assert np.mean(f64(y) == f64(want)) > 0.99


def test_structured_calls_match_the_oracle(rng):
    x = away_from_kinks(rng.standard_normal((4, 3, 10)))
    w = np.array([0.25, -0.5, 2.0])
    y = actk.prelu_forward(x, w)
    wb = w[None, :, None]
    np.testing.assert_array_equal(y, np.where(x > 0, x, wb * x))
    dy = rng.standard_normal(x.shape)
    dx, dw = actk.prelu_backward(x, w, dy)
    np.testing.assert_array_equal(dx, np.where(x > 0, dy, wb * dy))
    np.testing.assert_allclose(dw, np.where(x > 0, 0, dy * x).sum(axis=(0, 2)), rtol=1e-13)
    # channels last: the channel axis is the last one
    xl = np.ascontiguousarray(x.transpose(0, 2, 1))
    np.testing.assert_array_equal(actk.prelu_forward(xl, w, channel_axis=-1), np.where(xl > 0, xl, w * xl))
    # maxout over groups of 5
    m, idx = actk.maxout_forward(x, 5, return_indices=True)
    groups = x.reshape(4, 3, 2, 5)
    np.testing.assert_array_equal(m, groups.max(axis=-1))
    np.testing.assert_array_equal(idx, groups.argmax(axis=-1))
    assert idx.dtype == np.int32
    dm = rng.standard_normal(m.shape)
    want = np.zeros_like(groups)
    np.put_along_axis(want, groups.argmax(axis=-1)[..., None], dm[..., None], axis=-1)
    np.testing.assert_array_equal(actk.maxout_backward(dm, 5, indices=idx), want.reshape(x.shape))
    np.testing.assert_array_equal(actk.maxout_backward(dm, 5, x=x), want.reshape(x.shape))
    # bias fusion: b along the last axis, dbias the sum over rows
    b = rng.standard_normal(10)
    close(actk.forward_bias("gelu", x, b), FORMULAS["gelu"](x + b), np.float64)
    dxb, db = actk.backward_bias("gelu", x, b, dy)
    np.testing.assert_array_equal(dxb, actk.backward("gelu", x + b, dy))
    np.testing.assert_allclose(db, dxb.reshape(-1, 10).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("name", GATED)
def test_gated_halves_of_one_array(name, rng):
    h = 24
    x = away_from_kinks(rng.uniform(-4, 4, (5, 2, 2 * h)))
    gate, up = x[..., :h], x[..., h:]  # views, rows 2h apart: no copy
    params = defaults(name)
    close(actk.gated_forward(name, gate, up), gate_formula(name, gate, up, params), np.float64, atol=1e-12)
    dy = rng.standard_normal(gate.shape)
    dgate, dup = actk.gated_backward(name, gate, up, dy)
    eps = 1e-6  # |gate|, |up| <= 4: inside swiglu_clamped's limit of 7, so central differences hold
    for got, plus, minus in ((dgate, (gate + eps, up), (gate - eps, up)), (dup, (gate, up + eps), (gate, up - eps))):
        numeric = (gate_formula(name, *plus, params) - gate_formula(name, *minus, params)) / (2 * eps)
        np.testing.assert_allclose(got, dy * numeric, rtol=1e-6, atol=1e-6)
    # in place: the gradients over the inputs, as memory-tight training does
    inplace = x.copy()
    actk.gated_backward(name, inplace[..., :h], inplace[..., h:], dy, out=(inplace[..., :h], inplace[..., h:]))
    np.testing.assert_array_equal(inplace[..., :h], dgate)
    np.testing.assert_array_equal(inplace[..., h:], dup)


def test_glu_matches_torch_convention(rng):
    # torch.nn.functional.glu(x) = a * sigmoid(b) for x = [a | b]: the gate is the second half.
    x = rng.standard_normal((3, 8))
    a, b = x[:, :4], x[:, 4:]
    close(actk.gated_forward("glu", b, a), a * (1 / (1 + np.exp(-b))), np.float64)


# ---- errors: a clear message, and nothing written -----------------------------------------------

def raises_and_keeps(out, match, call):
    before = out.copy()
    with pytest.raises(actk.Error, match=match):
        call()
    np.testing.assert_array_equal(out, before)


def test_errors_name_the_problem_and_write_nothing(rng):
    x = rng.standard_normal((8, 8)).astype(np.float32)
    out = np.full_like(x, 7)
    raises_and_keeps(out, r"actk::forward\(gelu\): x: not C-contiguous", lambda: actk.forward("gelu", x.T, out=out))
    raises_and_keeps(out, r"actk::forward\(gelu\): y: not C-contiguous",
                     lambda: actk.forward("gelu", x[:, :4].copy(), out=np.zeros((8, 8), np.float32)[:, :4]))
    raises_and_keeps(out, r"unknown activation", lambda: actk.forward("gelux", x, out=out))
    raises_and_keeps(out, r"alpha: not a parameter of gelu", lambda: actk.forward("gelu", x, out=out, alpha=2.0))
    raises_and_keeps(out, r"x: unsupported dtype int32", lambda: actk.forward("gelu", x.astype(np.int32), out=out))
    raises_and_keeps(out, r"actk::forward\(gelu\): y", lambda: actk.forward("gelu", x.astype(np.float64), out=out))
    raises_and_keeps(out, r"actk::forward\(gelu\): y", lambda: actk.forward("gelu", x[:4], out=out))
    raises_and_keeps(out, r"beta", lambda: actk.forward("softplus", x, out=out, beta=0.0))
    raises_and_keeps(out, r"unknown backend", lambda: actk.forward("gelu", x, out=out, backend="gpu"))
    raises_and_keeps(out, r"a gated entry", lambda: actk.forward("swiglu", x, out=out))
    raises_and_keeps(out, r"determine the derivative", lambda: actk.backward_from_output("gelu", x, x, out=out))
    readonly = np.zeros_like(x)
    readonly.flags.writeable = False
    with pytest.raises(actk.Error, match=r"y: the output array is read-only"):
        actk.forward("gelu", x, out=readonly)
    raises_and_keeps(out, r"out: a tuple of 2", lambda: actk.forward_backward("gelu", x, x, out=out))
    w = np.ones(3, np.float32)
    raises_and_keeps(out, r"actk::prelu_forward", lambda: actk.prelu_forward(x, w, out=out))
    raises_and_keeps(out, r"actk::maxout_forward", lambda: actk.maxout_forward(x, 3, out=out[:, :2].copy()))


def test_cuda_without_a_device_names_why():
    available, why = actk.backend_available("cuda")
    if available:
        pytest.skip("a CUDA device is present")
    with pytest.raises(actk.Error, match="the cuda backend is unavailable"):
        actk.forward("gelu", np.ones(4, np.float32), backend="cuda")
