"""actk's activations as PyTorch operators, with autograd, torch.compile support and nn modules.

Every catalogue entry is an operator of the ``actk`` namespace, registered with
``torch.library.custom_op``: ``torch.ops.actk.gelu(x)``, ``torch.ops.actk.leaky_relu(x, 0.2)``,
``torch.ops.actk.swiglu(gate, up)``, ``torch.ops.actk.prelu(x, weight)``,
``torch.ops.actk.maxout(x, k)`` and ``torch.ops.actk.bias_activation(x, bias, "gelu", [])``.
Each has a backward operator (``<name>_backward``) that autograd calls, so gradients come from
actk's own backward kernels: from the output y where the catalogue allows it (sigmoid, tanh,
relu, ...: x is then not kept), else from x. Fake (meta) implementations let
``torch.compile(fullgraph=True)`` trace through all of them. Tensors run on their device (CPU or
CUDA) and, on CUDA, on torch's current stream.

Non-contiguous inputs are copied to contiguous ones first (``Tensor.contiguous()``), except the
two halves of one ``[gate | up]`` tensor, which the gated operators read in place.
"""
from __future__ import annotations

import struct

import torch

import actk as _actk

__all__ = ["Activation", "GELU", "SiLU", "ReLU", "Gated", "SwiGLU", "GeGLU", "GLU", "PReLU", "Maxout",
           "BiasActivation", "activation", "gated", "prelu", "maxout", "bias_activation"]

_ENTRIES = {e["name"]: e for e in _actk.catalogue()}


def _param_names(name: str) -> list[str]:
    return [p for p, _ in _ENTRIES[name]["params"]]


def _schema_params(name: str) -> str:
    return "".join(f", float {p}={d!r}" for p, d in _ENTRIES[name]["params"])


def _as_f32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]


def _from_output(name: str, dtype: torch.dtype, params: dict) -> bool:
    """Whether the backward may run from y: the catalogue's rule, with the parameter as the
    kernels see it (rounded to f32 for every type but f64)."""
    if dtype != torch.float64:
        params = {k: _as_f32(v) for k, v in params.items()}
    return _actk.supports_backward_from_output(name, **params)


def _rowwise(t: torch.Tensor) -> torch.Tensor:
    """t itself when its rows are a fixed stride apart with a contiguous last axis, else a copy."""
    if t.dim() == 0 or t.stride(-1) == 1 or t.shape[-1] == 1:
        expected = None
        for size, stride in reversed(list(zip(t.shape[:-1], t.stride()[:-1]))):
            if size == 1:
                continue
            if expected is not None and stride != expected:
                return t.contiguous()
            expected = stride * size
        return t
    return t.contiguous()


# ---- elementwise ------------------------------------------------------------------------------

def _define_elementwise(name: str) -> None:
    names = _param_names(name)
    params_schema = _schema_params(name)

    def forward(x, *params):
        return _actk.forward(name, x.contiguous(), **dict(zip(names, params)))

    def backward(saved, dy, from_output, *params):
        kwargs = dict(zip(names, params))
        if from_output:
            return _actk.backward_from_output(name, saved.contiguous(), dy.contiguous(), **kwargs)
        return _actk.backward(name, saved.contiguous(), dy.contiguous(), **kwargs)

    fwd = torch.library.custom_op(f"actk::{name}", forward, mutates_args=(),
                                  schema=f"(Tensor x{params_schema}) -> Tensor")
    bwd = torch.library.custom_op(f"actk::{name}_backward", backward, mutates_args=(),
                                  schema=f"(Tensor saved, Tensor dy, bool from_output{params_schema}) -> Tensor")
    fwd.register_fake(lambda x, *params: torch.empty_like(x, memory_format=torch.contiguous_format))
    bwd.register_fake(lambda saved, dy, from_output, *params:
                      torch.empty_like(saved, memory_format=torch.contiguous_format))

    def setup_context(ctx, inputs, output):
        x, params = inputs[0], inputs[1:]
        ctx.params = params
        ctx.from_output = _from_output(name, x.dtype, dict(zip(names, params)))
        ctx.save_for_backward(output if ctx.from_output else x)

    def grad(ctx, dy):
        (saved,) = ctx.saved_tensors
        dx = bwd(saved, dy, ctx.from_output, *ctx.params)
        return (dx,) + (None,) * len(ctx.params)

    fwd.register_autograd(grad, setup_context=setup_context)


def _define_gated(name: str) -> None:
    names = _param_names(name)
    params_schema = _schema_params(name)

    def forward(gate, up, *params):
        return _actk.gated_forward(name, _rowwise(gate), _rowwise(up), **dict(zip(names, params)))

    def backward(gate, up, dy, *params):
        return _actk.gated_backward(name, _rowwise(gate), _rowwise(up), _rowwise(dy), **dict(zip(names, params)))

    fwd = torch.library.custom_op(f"actk::{name}", forward, mutates_args=(),
                                  schema=f"(Tensor gate, Tensor up{params_schema}) -> Tensor")
    bwd = torch.library.custom_op(f"actk::{name}_backward", backward, mutates_args=(),
                                  schema=f"(Tensor gate, Tensor up, Tensor dy{params_schema}) -> (Tensor, Tensor)")
    fwd.register_fake(lambda gate, up, *params: gate.new_empty(gate.shape))
    bwd.register_fake(lambda gate, up, dy, *params: (gate.new_empty(gate.shape), up.new_empty(up.shape)))

    def setup_context(ctx, inputs, output):
        ctx.params = inputs[2:]
        ctx.save_for_backward(inputs[0], inputs[1])

    def grad(ctx, dy):
        gate, up = ctx.saved_tensors
        dgate, dup = bwd(gate, up, dy, *ctx.params)
        return (dgate, dup) + (None,) * len(ctx.params)

    fwd.register_autograd(grad, setup_context=setup_context)


for _entry in _ENTRIES.values():
    if _entry["kind"] == "elementwise":
        _define_elementwise(_entry["name"])
    elif _entry["kind"] == "gated":
        _define_gated(_entry["name"])


# ---- PReLU, Maxout, bias ----------------------------------------------------------------------

@torch.library.custom_op("actk::prelu", mutates_args=())
def _prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return _actk.prelu_forward(x.contiguous(), weight.contiguous())


@torch.library.custom_op("actk::prelu_backward", mutates_args=())
def _prelu_backward(x: torch.Tensor, weight: torch.Tensor, dy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return _actk.prelu_backward(x.contiguous(), weight.contiguous(), dy.contiguous())


_prelu.register_fake(lambda x, weight: torch.empty_like(x, memory_format=torch.contiguous_format))
_prelu_backward.register_fake(lambda x, weight, dy: (torch.empty_like(x, memory_format=torch.contiguous_format),
                                                     torch.empty_like(weight, memory_format=torch.contiguous_format)))


def _prelu_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _prelu_grad(ctx, dy):
    x, weight = ctx.saved_tensors
    return _prelu_backward(x, weight, dy)


_prelu.register_autograd(_prelu_grad, setup_context=_prelu_setup)


@torch.library.custom_op("actk::maxout", mutates_args=())
def _maxout(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    return _actk.maxout_forward(x.contiguous(), k, return_indices=True)


@torch.library.custom_op("actk::maxout_backward", mutates_args=())
def _maxout_backward(indices: torch.Tensor, dy: torch.Tensor, k: int) -> torch.Tensor:
    return _actk.maxout_backward(dy.contiguous(), k, indices=indices.contiguous())


def _maxout_shape(x, k):
    return x.shape[:-1] + (x.shape[-1] // k,)


_maxout.register_fake(lambda x, k: (x.new_empty(_maxout_shape(x, k)),
                                    x.new_empty(_maxout_shape(x, k), dtype=torch.int32)))
_maxout_backward.register_fake(lambda indices, dy, k: dy.new_empty(dy.shape[:-1] + (dy.shape[-1] * k,)))


def _maxout_setup(ctx, inputs, output):
    ctx.k = inputs[1]
    ctx.mark_non_differentiable(output[1])
    ctx.save_for_backward(output[1])


def _maxout_grad(ctx, dy, _dindices):
    (indices,) = ctx.saved_tensors
    return _maxout_backward(indices, dy, ctx.k), None


_maxout.register_autograd(_maxout_grad, setup_context=_maxout_setup)


def _params_dict(activation_name: str, params: list[float]) -> dict:
    names = _param_names(activation_name)
    if len(params) != len(names):
        raise _actk.Error(f"actk::bias_activation({activation_name}): params: {len(params)} values for the "
                          f"{len(names)} parameters ({', '.join(names) or 'none'})")
    return dict(zip(names, params))


@torch.library.custom_op("actk::bias_activation", mutates_args=())
def _bias_activation(x: torch.Tensor, bias: torch.Tensor, activation: str, params: list[float]) -> torch.Tensor:
    return _actk.forward_bias(activation, x.contiguous(), bias.contiguous(), **_params_dict(activation, params))


@torch.library.custom_op("actk::bias_activation_backward", mutates_args=())
def _bias_activation_backward(x: torch.Tensor, bias: torch.Tensor, dy: torch.Tensor, activation: str,
                              params: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    return _actk.backward_bias(activation, x.contiguous(), bias.contiguous(), dy.contiguous(),
                               **_params_dict(activation, params))


_bias_activation.register_fake(lambda x, bias, activation, params:
                               torch.empty_like(x, memory_format=torch.contiguous_format))
_bias_activation_backward.register_fake(lambda x, bias, dy, activation, params: (
    torch.empty_like(x, memory_format=torch.contiguous_format),
    torch.empty_like(bias, memory_format=torch.contiguous_format)))


def _bias_setup(ctx, inputs, output):
    x, bias, ctx.activation, ctx.params = inputs
    ctx.save_for_backward(x, bias)


def _bias_grad(ctx, dy):
    x, bias = ctx.saved_tensors
    dx, dbias = _bias_activation_backward(x, bias, dy, ctx.activation, ctx.params)
    return dx, dbias, None, None


_bias_activation.register_autograd(_bias_grad, setup_context=_bias_setup)


# ---- functions --------------------------------------------------------------------------------

def _ordered(name: str, params: dict, call: str) -> list[float]:
    names = _param_names(name)
    for p in params:
        if p not in names:
            raise _actk.Error(f"actk::{call}({name}): {p}: not a parameter of {name} (it reads: "
                              + (", ".join(names) or "none") + ")")
    defaults = dict(_ENTRIES[name]["params"])
    return [float(params.get(p, defaults[p])) for p in names]


def _entry_of(name: str, kind: str, call: str) -> str:
    entry = _ENTRIES.get({"swish": "silu"}.get(name, name))
    if entry is None or entry["kind"] != kind:
        raise _actk.Error(f"actk::{call}({name}): activation: not a{'n' if kind[0] in 'aeiou' else ''} {kind} "
                          "entry of the catalogue (actk.catalogue() lists them)")
    return entry["name"]


def activation(name: str, x: torch.Tensor, **params) -> torch.Tensor:
    """f(x) for an elementwise entry, differentiable: ``activation("gelu", x)``."""
    name = _entry_of(name, "elementwise", "activation")
    return getattr(torch.ops.actk, name)(x, *_ordered(name, params, "activation"))


def gated(name: str, gate: torch.Tensor, up: torch.Tensor, **params) -> torch.Tensor:
    """act(gate) * up for a gated entry: ``gated("swiglu", *x.chunk(2, dim=-1))``."""
    name = _entry_of(name, "gated", "gated")
    return getattr(torch.ops.actk, name)(gate, up, *_ordered(name, params, "gated"))


def prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """torch.nn.functional.prelu's semantics: weight of 1 or x.shape[1] values."""
    return torch.ops.actk.prelu(x, weight)


def maxout(x: torch.Tensor, k: int) -> torch.Tensor:
    """The max over groups of k consecutive elements of the last axis."""
    return torch.ops.actk.maxout(x, k)[0]


def bias_activation(name: str, x: torch.Tensor, bias: torch.Tensor, **params) -> torch.Tensor:
    """f(x + bias), bias along the last axis, in one pass (and dbias in the backward's)."""
    name = _entry_of(name, "elementwise", "bias_activation")
    return torch.ops.actk.bias_activation(x, bias, name, _ordered(name, params, "bias_activation"))


# ---- modules ----------------------------------------------------------------------------------

class Activation(torch.nn.Module):
    """An elementwise entry as a module: ``Activation("leaky_relu", negative_slope=0.2)``."""

    def __init__(self, name: str, **params):
        super().__init__()
        self.name = _entry_of(name, "elementwise", "Activation")
        self.params = _ordered(self.name, params, "Activation")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch.ops.actk, self.name)(x, *self.params)

    def extra_repr(self) -> str:
        return ", ".join([repr(self.name)] + [f"{p}={v}" for p, v in zip(_param_names(self.name), self.params)])


class GELU(Activation):
    """torch.nn.GELU: approximate 'none' (erf) or 'tanh'."""

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise _actk.Error(f"actk::GELU(gelu): approximate: '{approximate}' is neither 'none' nor 'tanh'")
        super().__init__("gelu" if approximate == "none" else "gelu_tanh")


class SiLU(Activation):
    def __init__(self):
        super().__init__("silu")


class ReLU(Activation):
    def __init__(self):
        super().__init__("relu")


class Gated(torch.nn.Module):
    """A gated entry over x = [gate | up] along ``dim`` (the gate first): width 2h -> h."""

    def __init__(self, name: str, dim: int = -1, **params):
        super().__init__()
        self.name = _entry_of(name, "gated", "Gated")
        self.dim = dim
        self.params = _ordered(self.name, params, "Gated")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = x.chunk(2, dim=self.dim)
        return getattr(torch.ops.actk, self.name)(gate, up, *self.params)


class SwiGLU(Gated):
    def __init__(self, dim: int = -1):
        super().__init__("swiglu", dim)


class GeGLU(Gated):
    def __init__(self, dim: int = -1, approximate: str = "none"):
        super().__init__("geglu" if approximate == "none" else "geglu_tanh", dim)


class GLU(torch.nn.Module):
    """torch.nn.GLU: x = [a | b] -> a * sigmoid(b) (the gate is the second half)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=self.dim)
        return torch.ops.actk.glu(b, a)


class PReLU(torch.nn.Module):
    """torch.nn.PReLU: a learnable weight (a Parameter) of 1 or num_parameters channels."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = torch.nn.Parameter(torch.full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.actk.prelu(x, self.weight)


class Maxout(torch.nn.Module):
    """The max over groups of k along the last axis: width w -> w / k."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.actk.maxout(x, self.k)[0]


class BiasActivation(torch.nn.Module):
    """f(x + b) with a learnable bias b (a Parameter) of ``channels`` values along the last axis."""

    def __init__(self, name: str, channels: int, device=None, dtype=None, **params):
        super().__init__()
        self.name = _entry_of(name, "elementwise", "BiasActivation")
        self.params = _ordered(self.name, params, "BiasActivation")
        self.bias = torch.nn.Parameter(torch.zeros(channels, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.actk.bias_activation(x, self.bias, self.name, self.params)
