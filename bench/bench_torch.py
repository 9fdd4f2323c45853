#!/usr/bin/env python3
"""actk's PyTorch operators (actk.torch) against torch.nn.functional on the same tensors.

    PYTHONPATH=build/default/python python3 bench/bench_torch.py --out torch_ops.json \\
        [--device cpu|cuda] [--sizes 20,24,26] [--dtypes f32,bf16]

Rows are named <pass>/<op>/<dtype>/<impl>/<n>, impl `actk` (torch.ops.actk.*, through actk.torch's
functions) or `torch` (what a PyTorch user writes: F.gelu(x), F.silu(gate) * up, F.gelu(x + b)):
  forward           y = op(x), under torch.no_grad()
  forward_backward  y = op(x), then torch.autograd.grad(y, inputs, dy): autograd runs each
                    side's own backward (actk's backward kernels; ATen's, or the composite's)
The ops: the elementwise entries PyTorch has (bench/torch_peer.py's table, catalogue defaults),
swiglu and geglu over [gate | up] halves, prelu with one weight per channel, and gelu after a
per-channel bias; 2-D tensors of 1024 columns. Each row has bytes_per_second, from the bytes
a fused pass moves (elementwise: 2n forward, 5n forward+backward; gated 3n and 8n; prelu and
bias as elementwise), the same for both impls, and the actk rows have vs_torch: torch's time
over actk's, from timings interleaved in the same iterations (above 1: actk is faster). Times
are the median of --iterations runs: wall clock on the CPU, CUDA events on a GPU.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import ACTIVATIONS, DTYPES, passes, timed_ms  # noqa: E402

import actk.torch as at  # noqa: E402

COLUMNS = 1024


def ops(device, dtype):
    """name -> (make_inputs(n) -> inputs, actk(*inputs), torch(*inputs), bytes per output element)."""
    def rows(n):
        return torch.empty(n // COLUMNS, COLUMNS, device=device, dtype=dtype)

    def filled(t, scale=4.0):
        return t.uniform_(-scale, scale)

    table = {}
    for name in ACTIVATIONS:
        table[name] = (lambda n: (filled(rows(n)),), (lambda name: lambda x: at.activation(name, x))(name),
                       passes(name)[0], (2, 5))
    table["swiglu"] = (lambda n: (filled(rows(n)), filled(rows(n))), lambda g, u: at.gated("swiglu", g, u),
                       lambda g, u: F.silu(g) * u, (3, 8))
    table["geglu"] = (lambda n: (filled(rows(n)), filled(rows(n))), lambda g, u: at.gated("geglu", g, u),
                      lambda g, u: F.gelu(g) * u, (3, 8))
    table["prelu"] = (lambda n: (filled(rows(n)), torch.full((COLUMNS,), 0.25, device=device, dtype=dtype)),
                      at.prelu, F.prelu, (2, 5))
    table["bias_gelu"] = (lambda n: (filled(rows(n)), filled(torch.empty(COLUMNS, device=device, dtype=dtype), 1.0)),
                          lambda x, b: at.bias_activation("gelu", x, b), lambda x, b: F.gelu(x + b), (2, 5))
    return table


def measure(op, dtype_name, n, pass_, iterations, device):
    dtype = DTYPES[dtype_name]
    make, actk_op, torch_op, elements = ops(device, dtype)[op]
    inputs = make(n)
    dy = torch.empty(n // COLUMNS, COLUMNS, device=device, dtype=dtype).uniform_(-1, 1)
    if pass_ == "forward":
        def work(f):
            def run():
                with torch.no_grad():
                    f(*inputs)
            return run
    else:
        leaves = [t.detach().requires_grad_() for t in inputs]

        def work(f):
            def run():
                torch.autograd.grad(f(*leaves), leaves, dy)
            return run
    runs = {"actk": work(actk_op), "torch": work(torch_op)}
    reps = max(1, min(50, (1 << 22) // n))
    for run in runs.values():
        run()  # first runs: the allocator warm, the ops registered
    times = {impl: [] for impl in runs}
    for _ in range(iterations):
        for impl, run in runs.items():
            times[impl].append(timed_ms(run, reps, device))
    ms = {impl: statistics.median(t) for impl, t in times.items()}
    moved = elements[0 if pass_ == "forward" else 1] * n * torch.empty((), dtype=dtype).element_size()
    out = []
    for impl in runs:
        name = f"{pass_}/{op}/{dtype_name}/{impl}/{n}"
        row = {"name": name, "run_name": name, "run_type": "iteration", "iterations": iterations,
               "real_time": ms[impl] * 1e3, "cpu_time": ms[impl] * 1e3, "time_unit": "us",
               "bytes_per_second": moved / (ms[impl] * 1e-3)}
        if impl == "actk":
            row["vs_torch"] = ms["torch"] / ms["actk"]
        out.append(row)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", default="20,24", help="log2 of the element counts (default 20,24)")
    parser.add_argument("--dtypes", default="f32,bf16")
    parser.add_argument("--ops", default=None, help="comma-separated (default: all)")
    parser.add_argument("--passes", default="forward,forward_backward")
    parser.add_argument("--iterations", type=int, default=7, help="timed iterations per row (median)")
    args = parser.parse_args()
    device = torch.device(args.device)
    names = args.ops.split(",") if args.ops else list(ops(device, torch.float32))
    benchmarks = []
    for pass_ in args.passes.split(","):
        for op in names:
            for dtype in args.dtypes.split(","):
                for log2 in (int(s) for s in args.sizes.split(",")):
                    pair = measure(op, dtype, 1 << log2, pass_, args.iterations, device)
                    benchmarks += pair
                    a, t = pair
                    print(f"{a['name']:<44} {a['real_time']:10.1f} us  {a['bytes_per_second'] / 1e9:6.1f} GB/s  "
                          f"torch {t['real_time']:10.1f} us  vs_torch {a['vs_torch']:.2f}", flush=True)
    context = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host_name": platform.node(),
        "executable": "bench/bench_torch.py",
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "num_cpus": os.cpu_count(),
    }
    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)
    print(f"bench_torch: {len(benchmarks)} rows -> {args.out}")


if __name__ == "__main__":
    main()
