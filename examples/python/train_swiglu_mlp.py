"""A transformer's MLP block with SwiGLU from actk, trained on the CPU.

    x -> LayerNorm -> Linear(d, 2h) -> SwiGLU (actk) -> Linear(h, d) -> + x

The block learns to map random inputs to the outputs of a fixed random "teacher" block; the loss
falls, and the gradients match those of the same block written with torch.nn.functional. Run:

    PYTHONPATH=build/default/python python3 examples/python/train_swiglu_mlp.py   # build tree
    python3 examples/python/train_swiglu_mlp.py                                  # after pip install .
"""
import sys

try:
    import torch
except ImportError:
    print("skipped: torch is not installed")
    sys.exit(0)

import actk.torch as at


class SwiGLUBlock(torch.nn.Module):
    def __init__(self, d: int, hidden: int, swiglu: torch.nn.Module):
        super().__init__()
        self.norm = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, 2 * hidden, bias=False)  # [gate | up]
        self.swiglu = swiglu
        self.down = torch.nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return x + self.down(self.swiglu(self.up(self.norm(x))))


class TorchSwiGLU(torch.nn.Module):
    """The same op in torch.nn.functional: silu(gate) * up, the gate first."""

    def forward(self, x):
        gate, up = x.chunk(2, dim=-1)
        return torch.nn.functional.silu(gate) * up


def main():
    torch.manual_seed(0)
    d, hidden, batch, steps = 64, 172, 256, 300
    model = SwiGLUBlock(d, hidden, at.SwiGLU())
    teacher = SwiGLUBlock(d, hidden, TorchSwiGLU()).requires_grad_(False)

    # One step of actk's block and of the same block in torch.nn.functional give the same gradients.
    twin = SwiGLUBlock(d, hidden, TorchSwiGLU())
    twin.load_state_dict(model.state_dict())
    x = torch.randn(batch, d)
    for block in (model, twin):
        block.zero_grad()
        torch.nn.functional.mse_loss(block(x), teacher(x)).backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7, msg=f"gradient of {name}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(steps):
        x = torch.randn(batch, d)
        loss = torch.nn.functional.mse_loss(model(x), teacher(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    print(f"loss: {first:.5f} -> {last:.5f} ({first / last:.1f}x lower)")
    if not last < first / 4:
        sys.exit("the loss did not fall fourfold")


if __name__ == "__main__":
    main()
