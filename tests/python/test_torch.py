"""actk.torch: the custom operators against torch.nn.functional, gradcheck in f64 for every
operator, torch.compile(fullgraph=True) through them, the modules, and what autograd saves."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import actk  # noqa: E402
import actk.torch as at  # noqa: E402

ELEMENTWISE = [e["name"] for e in actk.catalogue("elementwise")]
GATED = [e["name"] for e in actk.catalogue("gated")]

# torch's own form of every elementwise entry; quick_gelu and relu_squared as their models write them.
TORCH = {
    "identity": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x, negative_slope: F.leaky_relu(x, negative_slope),
    "elu": lambda x, alpha: F.elu(x, alpha),
    "selu": F.selu,
    "celu": lambda x, alpha: F.celu(x, alpha),
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "softplus": lambda x, beta, threshold: F.softplus(x, beta, threshold),
    "mish": F.mish,
    "hardtanh": lambda x, min_val, max_val: F.hardtanh(x, min_val, max_val),
    "relu6": F.relu6,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "softsign": F.softsign,
    "relu_squared": lambda x: F.relu(x).square(),
    "quick_gelu": lambda x, sigmoid_scale: x * torch.sigmoid(sigmoid_scale * x),
}


def torch_gated(name, gate, up, **params):
    entry = {e["name"]: e for e in actk.catalogue()}[name]
    if name == "swiglu_clamped":  # GPT-OSS's reference (gpt_oss/torch/model.py)
        gate = gate.clamp(max=params["limit"])
        up = up.clamp(-params["limit"], params["limit"]) + 1
    inner = {p: v for p, v in params.items() if p != "limit"}
    return TORCH[entry["gate"]](gate, **inner) * up


def params_of(name):
    return {p: d for p, d in {e["name"]: e for e in actk.catalogue()}[name]["params"]}


def inputs(shape, dtype, seed, scale=4.0):
    """Uniform in [-scale, scale], off the kinks (0, +-1, +-3, 6, +-7) by more than dtype's spacing."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * scale
    gap = 0.05 if dtype == torch.bfloat16 else 1e-3
    for kink in (0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 7.0, -7.0):
        x = torch.where((x - kink).abs() < gap, x + 2 * gap, x)
    return x.to(dtype)


TOL = {torch.float32: dict(rtol=2e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.bfloat16: dict(rtol=1.6e-2, atol=1e-2)}


def test_every_entry_is_an_operator():
    for e in actk.catalogue():
        assert hasattr(torch.ops.actk, e["name"]), e["name"]
    assert hasattr(torch.ops.actk, "bias_activation")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_torch(name, dtype):
    params = params_of(name)
    x = inputs((6, 50), dtype, 1).requires_grad_()
    xt = x.detach().clone().requires_grad_()
    y = at.activation(name, x)
    want = TORCH[name](xt, **params)
    torch.testing.assert_close(y, want, **TOL[dtype])
    dy = inputs((6, 50), dtype, 2, 1.0)
    y.backward(dy)
    want.backward(dy)
    if name == "hardsigmoid" and dtype == torch.float64:
        # A deviation, in actk's favour: torch's f64 hardsigmoid backward scales by float(1/6)
        # (0.1666666716...), 3e-8 relative off; actk's is 1/6 in double.
        torch.testing.assert_close(xt.grad, torch.where(xt.abs() < 3, dy * 0.1666666716337204, 0), **TOL[dtype])
        torch.testing.assert_close(x.grad, torch.where(xt.abs() < 3, dy / 6, 0), **TOL[dtype])
        return
    torch.testing.assert_close(x.grad, xt.grad, **TOL[dtype])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_elementwise(name):
    x = inputs((4, 9), torch.float64, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: at.activation(name, t), (x,))


@pytest.mark.parametrize("name", GATED)
def test_gated_matches_torch_and_gradcheck(name):
    x = inputs((3, 4, 16), torch.float64, 4).requires_grad_()
    gate, up = x.chunk(2, dim=-1)  # strided halves, read in place
    params = params_of(name)
    torch.testing.assert_close(at.gated(name, gate, up), torch_gated(name, gate, up, **params), **TOL[torch.float64])
    assert torch.autograd.gradcheck(lambda t: at.gated(name, *t.chunk(2, dim=-1)), (x,))


def test_glu_module_is_torch_glu():
    x = inputs((5, 12), torch.float32, 5)
    torch.testing.assert_close(at.GLU()(x), F.glu(x), **TOL[torch.float32])


def test_prelu_maxout_bias_gradcheck_and_values():
    x = inputs((3, 4, 5), torch.float64, 6).requires_grad_()
    w = torch.tensor([0.25, -0.5, 2.0, 0.1], dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(at.prelu(x, w), F.prelu(x, w))
    assert torch.autograd.gradcheck(at.prelu, (x, w))
    single = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(at.prelu, (x, single))
    torch.testing.assert_close(at.maxout(x, 5), x.reshape(3, 4, 1, 5).amax(-1))
    assert torch.autograd.gradcheck(lambda t: at.maxout(t, 5), (x,))
    b = inputs((5,), torch.float64, 7).requires_grad_()
    torch.testing.assert_close(at.bias_activation("gelu", x, b), F.gelu(x + b))
    assert torch.autograd.gradcheck(lambda t, c: at.bias_activation("softplus", t, c, beta=2.0), (x, b))


def test_modules_and_parameters():
    m = at.PReLU(num_parameters=4, dtype=torch.float64)
    assert isinstance(m.weight, torch.nn.Parameter)
    x = inputs((2, 4, 3), torch.float64, 8)
    m(x).sum().backward()
    torch.testing.assert_close(m.weight.grad, torch.where(x > 0, 0, x).sum(dim=(0, 2)))
    torch.testing.assert_close(at.GELU("tanh")(x), F.gelu(x, approximate="tanh"))
    torch.testing.assert_close(at.Activation("leaky_relu", negative_slope=0.2)(x), F.leaky_relu(x, 0.2))
    torch.testing.assert_close(at.SwiGLU()(x.reshape(2, 12)), F.silu(x.reshape(2, 12)[:, :6]) * x.reshape(2, 12)[:, 6:])
    with pytest.raises(actk.Error, match="not a parameter of gelu"):
        at.Activation("gelu", alpha=1.0)


def saved_by(fn, x):
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    return y, saved


def test_autograd_saves_the_output_where_the_catalogue_allows():
    x = inputs((16,), torch.float32, 9).requires_grad_()
    y, saved = saved_by(lambda t: at.activation("sigmoid", t), x)
    assert len(saved) == 1 and saved[0].data_ptr() == y.data_ptr()  # y, not x: x can be freed
    y, saved = saved_by(lambda t: at.activation("gelu", t), x)
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr()
    # leaky_relu from y only when the slope is > 0
    y, saved = saved_by(lambda t: at.activation("leaky_relu", t, negative_slope=-0.5), x)
    assert saved[0].data_ptr() == x.data_ptr()


def test_non_contiguous_inputs_are_copied_not_misread():
    x = inputs((8, 6), torch.float32, 10)
    torch.testing.assert_close(at.activation("silu", x.t()), F.silu(x.t()), **TOL[torch.float32])


def test_compile_fullgraph_traces_through_the_operators():
    torch._dynamo.reset()

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.up = torch.nn.Linear(8, 32, dtype=torch.float64)
            self.act = at.SwiGLU()
            self.down = torch.nn.Linear(16, 8, dtype=torch.float64)
            self.prelu = at.PReLU(dtype=torch.float64)

        def forward(self, x):
            return self.prelu(self.down(self.act(self.up(x)))) + at.activation("gelu", x)

    block = Block()
    x = inputs((4, 8), torch.float64, 11).requires_grad_()
    eager = block(x)
    eager.sum().backward()
    grads = [p.grad.clone() for p in block.parameters()]
    block.zero_grad()
    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    out = compiled(x)
    out.sum().backward()
    torch.testing.assert_close(out, eager)
    for p, g in zip(block.parameters(), grads):
        torch.testing.assert_close(p.grad, g)


def test_errors_are_actk_errors():
    with pytest.raises(actk.Error, match="not an elementwise entry"):
        at.activation("swiglu", torch.ones(4))
    with pytest.raises(actk.Error, match="unsupported dtype"):
        at.activation("gelu", torch.ones(4, dtype=torch.int32))
