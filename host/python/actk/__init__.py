"""actk: neural-network activation kernels for CUDA and the CPU, over any array.

Every call takes arrays of float32, float64, float16 or bfloat16: NumPy arrays (bfloat16 as
ml_dtypes.bfloat16), torch tensors on the CPU or a CUDA device, CuPy arrays, or anything else
that speaks DLPack or the buffer protocol. Outputs are allocated like the first input (same
kind, device and dtype) unless passed in with ``out=``; passing an input as ``out`` computes in
place. CUDA arrays run on their framework's current stream (torch, CuPy) unless ``stream=`` (a
``cudaStream_t`` as an int, or an object with ``cuda_stream`` or ``ptr``) says otherwise; the
call returns once the work is enqueued, as any CUDA op does.

Inputs must be C-contiguous (the gated calls take one half of a ``[gate | up]`` array as it is:
rows a fixed stride apart); anything else raises :class:`Error`, as does every bad argument.
Nothing is written when a call raises. Parameters are keywords named as in
``torch.nn.functional`` (``negative_slope``, ``alpha``, ``beta``, ``threshold``, ``min_val``,
``max_val``) plus ``sigmoid_scale`` and ``limit``; ``catalogue()`` lists which entry reads which.
"""
from __future__ import annotations

import math

from . import _actk
from ._actk import Error

__version__ = _actk.__version__
__all__ = [
    "Error", "catalogue", "backend_available", "supports_backward_from_output",
    "forward", "backward", "backward_from_output", "forward_backward",
    "prelu_forward", "prelu_backward", "maxout_forward", "maxout_backward",
    "gated_forward", "gated_backward", "forward_bias", "backward_bias",
]

_CATALOGUE = {entry["name"]: entry for entry in _actk.catalogue()}
_SYNONYMS = {"swish": "silu"}


def catalogue(kind: str | None = None) -> list[dict]:
    """The catalogue's entries, in order: dicts of name, kind ('elementwise', 'prelu', 'maxout',
    'gated'), params (a list of (name, default)), from_output ('always', 'never',
    'when_param_positive') and gate (a gated entry's activation of the gate)."""
    return [dict(e) for e in _CATALOGUE.values() if kind is None or e["kind"] == kind]


def backend_available(backend: str) -> tuple[bool, str]:
    """(whether ``backend`` can run here, why not)."""
    return _actk.backend_available(backend)


def supports_backward_from_output(activation: str, **params) -> bool:
    """Whether ``backward_from_output`` is valid for ``activation`` with these parameters."""
    return _actk.supports_backward_from_output(activation, params)


# ---- arrays -----------------------------------------------------------------------------------

def _is_torch(a) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")


def _is_numpy_bf16(a) -> bool:
    dtype = getattr(a, "dtype", None)
    return getattr(dtype, "name", None) == "bfloat16" and type(a).__module__ == "numpy"


class _Call:
    """One call's arrays in the form the extension takes, its stream and its options."""

    def __init__(self, name: str, activation: str, params: dict, stream, backend: str):
        self.name, self.activation = name, activation
        self.params, self.backend = params, backend
        self.stream = stream
        self.raw_bf16 = False
        self._device = None  # torch's CUDA device of the call, to make it current

    def fail(self, argument: str, reason: str):
        raise Error(f"actk::{self.name}({self.activation}): {argument}: {reason}")

    def array(self, a, argument: str, floating: bool = True):
        """The object handed to the extension for ``a`` (``floating``: data, not indices)."""
        if a is None:
            return None
        if _is_torch(a):
            import torch.utils.dlpack

            if a.is_cuda:
                self._device = a.device
                if self.stream is None:
                    import torch.cuda

                    self.stream = torch.cuda.current_stream(a.device).cuda_stream
            return torch.utils.dlpack.to_dlpack(a.detach())
        if _is_numpy_bf16(a):
            self.raw_bf16 = True
            import numpy

            return a.view(numpy.uint16)
        dtype = getattr(a, "dtype", None)
        if floating and type(a).__module__ == "numpy" and getattr(dtype, "kind", "f") != "f":
            self.fail(argument, f"unsupported dtype {dtype}: actk takes float32, float64, float16 and bfloat16")
        if self.stream is None and type(a).__module__.startswith("cupy"):
            import cupy

            self.stream = cupy.cuda.get_current_stream().ptr
        return a

    def out(self, a, argument: str, floating: bool = True):
        """``array`` for an output: it must be writable."""
        if a is not None and not getattr(getattr(a, "flags", None), "writeable", True):
            self.fail(argument, "the output array is read-only")
        return self.array(a, argument, floating)

    def run(self, function, *args, accumulate: bool = False):
        stream = self.stream
        if stream is None:
            stream = 0
        elif not isinstance(stream, int):
            stream = getattr(stream, "cuda_stream", None) or getattr(stream, "ptr", None) or 0
        kwargs = dict(params=self.params, accumulate=accumulate, backend=self.backend, stream=stream,
                      raw_bf16=self.raw_bf16)
        if self._device is not None:
            import torch.cuda

            with torch.cuda.device(self._device):
                return function(*args, **kwargs)
        return function(*args, **kwargs)


def _entry(call: str, activation: str, kinds: tuple[str, ...], params: dict) -> str:
    name = _SYNONYMS.get(activation, activation)
    entry = _CATALOGUE.get(name)
    if entry is None:
        raise Error(f"actk::{call}({activation}): activation: unknown activation (actk.catalogue() lists them)")
    if entry["kind"] not in kinds:
        raise Error(f"actk::{call}({activation}): activation: a {entry['kind']} entry; this call takes "
                    + " or ".join(kinds) + " entries")
    known = [p for p, _ in entry["params"]]
    for p in params:
        if p not in known:
            raise Error(f"actk::{call}({activation}): {p}: not a parameter of {name} (it reads: "
                        + (", ".join(known) or "none") + ")")
    return name


def _empty(like, shape, dtype=None):
    """An uninitialized array of the same kind, device and dtype as ``like``."""
    dtype = like.dtype if dtype is None else dtype
    if _is_torch(like):
        import torch

        return torch.empty(shape, dtype=dtype, device=like.device)
    if type(like).__module__ == "numpy" or not hasattr(like, "__array_namespace__"):
        import numpy

        return numpy.empty(shape, dtype=dtype)
    return like.__array_namespace__().empty(shape, dtype=dtype)


def _int32(like):
    if _is_torch(like):
        import torch

        return torch.int32
    if type(like).__module__ == "numpy" or not hasattr(like, "__array_namespace__"):
        import numpy

        return numpy.int32
    return like.__array_namespace__().int32


def _outputs(out, count: int, call: str, activation: str):
    if out is None:
        return (None,) * count
    if count == 1:
        return (out,)
    if not isinstance(out, (tuple, list)) or len(out) != count:
        raise Error(f"actk::{call}({activation}): out: a tuple of {count} arrays expected")
    return tuple(out)


def _shape(a) -> tuple[int, ...]:
    return tuple(int(s) for s in a.shape)


# ---- elementwise ------------------------------------------------------------------------------

def forward(activation: str, x, *, out=None, backend: str = "auto", stream=None, **params):
    """y = f(x)."""
    name = _entry("forward", activation, ("elementwise",), params)
    y = _empty(x, _shape(x)) if out is None else out
    c = _Call("forward", name, params, stream, backend)
    c.run(_actk.forward, name, c.array(x, "x"), c.out(y, "y"))
    return y


def backward(activation: str, x, dy, *, out=None, accumulate: bool = False, backend: str = "auto",
             stream=None, **params):
    """dx = dy * f'(x) (``accumulate``: dx += ..., into ``out``)."""
    name = _entry("backward", activation, ("elementwise",), params)
    dx = _empty(x, _shape(x)) if out is None else out
    c = _Call("backward", name, params, stream, backend)
    c.run(_actk.backward, name, c.array(x, "x"), c.array(dy, "dy"), c.out(dx, "dx"), accumulate=accumulate)
    return dx


def backward_from_output(activation: str, y, dy, *, out=None, accumulate: bool = False, backend: str = "auto",
                         stream=None, **params):
    """dx = dy * f'(x) from y = f(x), where the catalogue allows it (supports_backward_from_output)."""
    name = _entry("backward_from_output", activation, ("elementwise",), params)
    dx = _empty(y, _shape(y)) if out is None else out
    c = _Call("backward_from_output", name, params, stream, backend)
    c.run(_actk.backward_from_output, name, c.out(y, "y"), c.array(dy, "dy"), c.out(dx, "dx"),
          accumulate=accumulate)
    return dx


def forward_backward(activation: str, x, dy, *, out=None, accumulate: bool = False, backend: str = "auto",
                     stream=None, **params):
    """(y, dx) in one sweep; ``out`` is a (y, dx) pair."""
    name = _entry("forward_backward", activation, ("elementwise",), params)
    y, dx = _outputs(out, 2, "forward_backward", name)
    y = _empty(x, _shape(x)) if y is None else y
    dx = _empty(x, _shape(x)) if dx is None else dx
    c = _Call("forward_backward", name, params, stream, backend)
    c.run(_actk.forward_backward, name, c.array(x, "x"), c.array(dy, "dy"), c.out(y, "y"), c.out(dx, "dx"),
          accumulate=accumulate)
    return y, dx


# ---- structured -------------------------------------------------------------------------------

def _prelu_shape(x, channel_axis: int, call: str):
    shape = _shape(x)
    if len(shape) < 2:  # torch: no channel axis below two dimensions
        return max(1, math.prod(shape)), 1, 1
    axis = channel_axis % len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def prelu_forward(x, weight, *, out=None, channel_axis: int = 1, backend: str = "auto", stream=None):
    """y = x > 0 ? x : w_c x, w of 1 or x.shape[channel_axis] values (torch's PReLU: axis 1)."""
    y = _empty(x, _shape(x)) if out is None else out
    rows, channels, inner = _prelu_shape(x, channel_axis, "prelu_forward")
    c = _Call("prelu_forward", "prelu", {}, stream, backend)
    c.run(_actk.prelu_forward, c.array(x, "x"), c.array(weight, "weight"), c.out(y, "y"), rows, channels, inner)
    return y


def prelu_backward(x, weight, dy, *, out=None, accumulate: bool = False, channel_axis: int = 1,
                   backend: str = "auto", stream=None):
    """(dx, dweight); dweight is summed deterministically. ``out`` is a (dx, dweight) pair."""
    dx, dweight = _outputs(out, 2, "prelu_backward", "prelu")
    dx = _empty(x, _shape(x)) if dx is None else dx
    dweight = _empty(weight, _shape(weight)) if dweight is None else dweight
    rows, channels, inner = _prelu_shape(x, channel_axis, "prelu_backward")
    c = _Call("prelu_backward", "prelu", {}, stream, backend)
    c.run(_actk.prelu_backward, c.array(x, "x"), c.array(weight, "weight"), c.array(dy, "dy"), c.out(dx, "dx"),
          c.out(dweight, "dweight"), rows, channels, inner, accumulate=accumulate)
    return dx, dweight


def _maxout_width(a, k: int, call: str) -> int:
    shape = _shape(a)
    if not shape:
        raise Error(f"actk::{call}(maxout): x: a 0-d array has no last axis to group")
    return shape[-1]


def maxout_forward(x, k: int, *, out=None, return_indices: bool = False, backend: str = "auto", stream=None):
    """The max over groups of k along the last axis: y, or (y, int32 indices) with return_indices."""
    width = _maxout_width(x, k, "maxout_forward")
    groups = width // k if k > 0 and width % k == 0 else 0
    shape = _shape(x)[:-1] + (groups,)
    if out is None:
        y = _empty(x, shape)
        indices = _empty(x, shape, _int32(x)) if return_indices else None
    else:
        y, indices = _outputs(out, 2, "maxout_forward", "maxout") if return_indices else (out, None)
    c = _Call("maxout_forward", "maxout", {}, stream, backend)
    c.run(_actk.maxout_forward, c.array(x, "x"), c.out(y, "y"), c.out(indices, "indices", floating=False), width, k)
    return (y, indices) if return_indices else y


def maxout_backward(dy, k: int, *, x=None, indices=None, out=None, accumulate: bool = False,
                    backend: str = "auto", stream=None):
    """dx: dy routed to each group's arg-max, from ``indices`` (maxout_forward's) or from ``x``."""
    if x is None and indices is None:
        raise Error("actk::maxout_backward(maxout): x: give x or the forward's indices")
    shape = _shape(dy)[:-1] + (_shape(dy)[-1] * k,) if _shape(dy) else (k,)
    if x is not None:
        shape = _shape(x)
    dx = _empty(dy, shape) if out is None else out
    c = _Call("maxout_backward", "maxout", {}, stream, backend)
    c.run(_actk.maxout_backward, c.array(x, "x"), c.array(indices, "indices", floating=False), c.array(dy, "dy"), c.out(dx, "dx"),
          shape[-1], k, accumulate=accumulate)
    return dx


def gated_forward(activation: str, gate, up, *, out=None, backend: str = "auto", stream=None, **params):
    """y = act(gate) * up for a gated entry (glu, reglu, geglu, geglu_tanh, swiglu, swiglu_clamped,
    quick_geglu). gate and up may be the two halves of one array, ``x[..., :h]`` and ``x[..., h:]``."""
    name = _entry("gated_forward", activation, ("gated",), params)
    y = _empty(gate, _shape(gate)) if out is None else out
    c = _Call("gated_forward", name, params, stream, backend)
    c.run(_actk.gated_forward, name, c.array(gate, "gate"), c.array(up, "up"), c.out(y, "y"))
    return y


def gated_backward(activation: str, gate, up, dy, *, out=None, accumulate: bool = False, backend: str = "auto",
                   stream=None, **params):
    """(dgate, dup) in one sweep; ``out`` is a (dgate, dup) pair (may be gate and up: in place)."""
    name = _entry("gated_backward", activation, ("gated",), params)
    dgate, dup = _outputs(out, 2, "gated_backward", name)
    dgate = _empty(gate, _shape(gate)) if dgate is None else dgate
    dup = _empty(up, _shape(up)) if dup is None else dup
    c = _Call("gated_backward", name, params, stream, backend)
    c.run(_actk.gated_backward, name, c.array(gate, "gate"), c.array(up, "up"), c.array(dy, "dy"),
          c.out(dgate, "dgate"), c.out(dup, "dup"), accumulate=accumulate)
    return dgate, dup


def forward_bias(activation: str, x, bias, *, out=None, backend: str = "auto", stream=None, **params):
    """y = f(x + bias), bias broadcast along the last axis (its length)."""
    name = _entry("forward_bias", activation, ("elementwise",), params)
    y = _empty(x, _shape(x)) if out is None else out
    c = _Call("forward_bias", name, params, stream, backend)
    c.run(_actk.forward_bias, name, c.array(x, "x"), c.array(bias, "bias"), c.out(y, "y"))
    return y


def backward_bias(activation: str, x, bias, dy, *, out=None, accumulate: bool = False, backend: str = "auto",
                  stream=None, **params):
    """(dx, dbias): dx = dy * f'(x + bias) and dbias its sum over rows (deterministic)."""
    name = _entry("backward_bias", activation, ("elementwise",), params)
    dx, dbias = _outputs(out, 2, "backward_bias", name)
    dx = _empty(x, _shape(x)) if dx is None else dx
    dbias = _empty(bias, _shape(bias)) if dbias is None else dbias
    c = _Call("backward_bias", name, params, stream, backend)
    c.run(_actk.backward_bias, name, c.array(x, "x"), c.array(bias, "bias"), c.array(dy, "dy"), c.out(dx, "dx"),
          c.out(dbias, "dbias"), accumulate=accumulate)
    return dx, dbias
