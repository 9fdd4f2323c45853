#!/usr/bin/env python3
"""PyTorch's activations as the GPU peer of actk-bench's cuda rows, written in actk-bench's JSON.

    python3 bench/torch_peer.py --out torch_peer.json [--sizes 16,20,24,26] [--dtypes f32,f16,bf16]

Rows are named <pass>/<activation>/<dtype>/torch/<n>, like actk-bench's, for the elementwise
activations of actk's catalogue that PyTorch has:
  forward   the functional call a PyTorch user makes (torch.nn.functional.gelu(x), ...)
  backward  the ATen kernel that autograd runs for it (aten.gelu_backward(dy, x), ...): one
            kernel, as actk's backward. sigmoid and tanh take their output, as autograd does.
softsign (a composite of several kernels in PyTorch) and identity are left out. Each row's
counters are actk-bench's: bytes_per_second (the pass's bytes: 2n elements forward, 3n backward)
and vs_copy, the time of a device-to-device copy of the same bytes (torch's copy_) over the
row's time, both timed with CUDA events in the same iterations. bench/report.py reads this file
beside actk-bench's and gives the cuda rows a vs_torch column. Inputs hold the bytes actk-bench's
do (0x3c in every byte), so both branch the same way.
"""
import argparse
import datetime
import json
import platform
import statistics

import torch
import torch.nn.functional as F

aten = torch.ops.aten

# actk's catalogue defaults (actk list).
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def passes(name):
    """(forward(x), backward(x, y, dy)) for an activation of actk's catalogue, or None."""
    table = {
        "sigmoid": (torch.sigmoid, lambda x, y, dy: aten.sigmoid_backward(dy, y)),
        "tanh": (torch.tanh, lambda x, y, dy: aten.tanh_backward(dy, y)),
        "relu": (torch.relu, lambda x, y, dy: aten.threshold_backward(dy, x, 0)),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.01),
                       lambda x, y, dy: aten.leaky_relu_backward(dy, x, 0.01, False)),
        "elu": (lambda x: F.elu(x, 1.0), lambda x, y, dy: aten.elu_backward(dy, 1.0, 1.0, 1.0, False, x)),
        "selu": (F.selu, lambda x, y, dy: aten.elu_backward(dy, SELU_ALPHA, SELU_SCALE, 1.0, False, x)),
        "celu": (lambda x: F.celu(x, 1.0), lambda x, y, dy: aten.elu_backward(dy, 1.0, 1.0, 1.0, False, x)),
        "gelu": (F.gelu, lambda x, y, dy: aten.gelu_backward(dy, x)),
        "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                      lambda x, y, dy: aten.gelu_backward(dy, x, approximate="tanh")),
        "silu": (F.silu, lambda x, y, dy: aten.silu_backward(dy, x)),
        "softplus": (lambda x: F.softplus(x, 1.0, 20.0), lambda x, y, dy: aten.softplus_backward(dy, x, 1.0, 20.0)),
        "mish": (F.mish, lambda x, y, dy: aten.mish_backward(dy, x)),
        "hardtanh": (lambda x: F.hardtanh(x, -1.0, 1.0), lambda x, y, dy: aten.hardtanh_backward(dy, x, -1.0, 1.0)),
        "relu6": (F.relu6, lambda x, y, dy: aten.hardtanh_backward(dy, x, 0.0, 6.0)),
        "hardsigmoid": (F.hardsigmoid, lambda x, y, dy: aten.hardsigmoid_backward(dy, x)),
        "hardswish": (F.hardswish, lambda x, y, dy: aten.hardswish_backward(dy, x)),
    }
    return table.get(name)


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "celu", "gelu", "gelu_tanh", "silu",
               "softplus", "mish", "hardtanh", "relu6", "hardsigmoid", "hardswish")
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def timed_ms(work, reps, device):
    """Milliseconds per run of `work` over `reps` runs, from CUDA events (wall clock on the CPU)."""
    if device.type == "cuda":
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            work()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) / reps
    begin = datetime.datetime.now()
    for _ in range(reps):
        work()
    return (datetime.datetime.now() - begin).total_seconds() * 1e3 / reps


def row(activation, pass_, dtype, n, iterations, device):
    forward, backward = passes(activation)
    element = torch.empty((), dtype=DTYPES[dtype]).element_size()
    x, dy = (torch.empty(n, dtype=DTYPES[dtype], device=device) for _ in range(2))
    for t in (x, dy):
        t.view(torch.uint8).fill_(0x3C)
    y = forward(x)
    arrays = 2 if pass_ == "forward" else 3
    # The copy baseline moves the pass's bytes, half read and half written, as actk-bench's does.
    half = arrays * n // 2
    copy_in = torch.empty(half, dtype=DTYPES[dtype], device=device)
    copy_dst = torch.empty(half, dtype=DTYPES[dtype], device=device)
    work = (lambda: forward(x)) if pass_ == "forward" else (lambda: backward(x, y, dy))
    copy = lambda: copy_dst.copy_(copy_in)
    reps = max(1, min(200, (1 << 24) // n))
    work()  # first runs: kernels loaded, the allocator warm
    copy()
    times, copies = [], []
    for _ in range(iterations):
        times.append(timed_ms(work, reps, device))
        copies.append(timed_ms(copy, reps, device))
    ms, copy_ms = statistics.median(times), statistics.median(copies)
    return {
        "name": f"{pass_}/{activation}/{dtype}/torch/{n}",
        "run_name": f"{pass_}/{activation}/{dtype}/torch/{n}",
        "run_type": "iteration",
        "iterations": iterations,
        "real_time": ms * 1e3,
        "cpu_time": ms * 1e3,
        "time_unit": "us",
        "bytes_per_second": arrays * n * element / (ms * 1e-3),
        "vs_copy": copy_ms / ms,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--sizes", default="16,20,24,26", help="log2 of the element counts (default 16,20,24,26)")
    parser.add_argument("--dtypes", default="f32,f16,bf16")
    parser.add_argument("--activations", default=",".join(ACTIVATIONS))
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per row (median)")
    parser.add_argument("--device", default="cuda", help="cuda (the peer), or cpu to try the script without a GPU")
    args = parser.parse_args()
    device = torch.device(args.device)
    benchmarks = []
    with torch.no_grad():
        for pass_ in ("forward", "backward"):
            for activation in args.activations.split(","):
                for dtype in args.dtypes.split(","):
                    for log2 in (int(s) for s in args.sizes.split(",")):
                        benchmarks.append(row(activation, pass_, dtype, 1 << log2, args.iterations, device))
    context = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host_name": platform.node(),
        "executable": "bench/torch_peer.py",
        "torch_version": torch.__version__,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
    }
    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)
    print(f"torch_peer: {len(benchmarks)} rows -> {args.out}")


if __name__ == "__main__":
    main()
