"""CUDA tensors through actk (torch's CUDA tensors): results bit-identical to the cpu backend
for f32/f16/bf16, on torch's current stream, and autograd on the device. Skipped by name
without a CUDA device (ctest reports the file as skipped)."""
import pytest

torch = pytest.importorskip("torch")

import actk  # noqa: E402
import actk.torch as at  # noqa: E402

_available, _why = actk.backend_available("cuda")
if not (_available and torch.cuda.is_available()):
    pytest.skip(f"no CUDA device ({_why or 'torch sees none'})", allow_module_level=True)

ELEMENTWISE = [e["name"] for e in actk.catalogue("elementwise")]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_cuda_gives_the_cpu_bits(name, dtype):
    g = torch.Generator().manual_seed(1)
    x = ((torch.rand(1 << 16, generator=g) * 2 - 1) * 12).to(dtype)
    dy = (torch.rand(1 << 16, generator=g) * 2 - 1).to(dtype)
    for call in (lambda t, d: actk.forward(name, t), lambda t, d: actk.backward(name, t, d)):
        cpu = call(x, dy)
        cuda = call(x.cuda(), dy.cuda())
        assert cuda.is_cuda
        torch.testing.assert_close(cuda.cpu(), cpu, rtol=0, atol=0, equal_nan=True)


def test_runs_on_the_current_stream():
    x = torch.randn(1 << 22, device="cuda")
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        side.wait_stream(torch.cuda.current_stream())
        y = actk.forward("gelu", x)
        z = at.activation("gelu", y)
    side.synchronize()
    torch.testing.assert_close(z, torch.nn.functional.gelu(torch.nn.functional.gelu(x)))


def test_autograd_on_the_device():
    x = torch.randn(64, 32, device="cuda", dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: at.gated("swiglu", *t.chunk(2, dim=-1)), (x,))
    w = torch.full((32,), 0.25, device="cuda", dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(at.prelu, (x, w))


def test_a_cuda_array_on_the_cpu_backend_is_an_error():
    with pytest.raises(actk.Error, match="CUDA array given to the cpu backend"):
        actk.forward("gelu", torch.ones(4, device="cuda"), backend="cpu")
