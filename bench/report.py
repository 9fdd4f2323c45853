#!/usr/bin/python3
"""Turns actk-bench JSON (and optionally `actk validate --json`) into a markdown report and plots.

    /usr/bin/python3 bench/report.py BENCH.json [MORE.json ...] [--validate VALIDATE.json] [--out DIR]

Several files are read as one run (the context is the first file's): actk-bench's, and
bench/torch_peer.py's PyTorch rows, which give each cuda row a vs_torch (the torch row's time over
the cuda row's; timed in its own process of the same session, not in the same iterations).

Writes DIR/report.md and, per (pass, dtype) found:
  DIR/gbps_<pass>_<dtype>.png      GB/s against n, one panel per activation, one line per backend,
                                   the copy roofline dashed
  DIR/roofline_<pass>_<dtype>.png  fraction of the same-run copy bandwidth (vs_copy) per
                                   activation at the largest n, one bar per backend
Benchmark names read <pass>/<activation>/<dtype>/<backend>/<n>. Uses matplotlib (Debian's
python3-matplotlib, hence /usr/bin/python3); without it the markdown is still written.
"""
import argparse
import collections
import json
import math
import os
import sys

# Peers drawn in a fixed colour each, so that plots compare at a glance.
COLOURS = {"cuda": "tab:green", "cpu": "tab:blue", "copy": "black", "copy_kernel": "dimgray",
           "onednn": "tab:orange", "cudnn": "tab:red", "thrust": "tab:purple", "textbook": "tab:brown",
           "reference": "tab:gray", "launch": "lightgray", "torch": "tab:olive"}
ROOFLINES = ("copy", "copy_kernel", "launch")


def load_rows(path):
    """Rows of a Google Benchmark JSON file, keyed by the parts of their names."""
    with open(path) as f:
        data = json.load(f)
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        parts = b["name"].split("/")
        if len(parts) < 5:
            continue
        pass_, activation, dtype, backend, n = parts[:5]
        n = int(n.split("_")[0])
        row = {"pass": pass_, "activation": activation, "dtype": dtype, "backend": backend, "n": n,
               "skipped": b.get("error_occurred", False) or b.get("skipped", False),
               "message": b.get("error_message", "")}
        if not row["skipped"]:
            row["gbps"] = b.get("bytes_per_second", 0.0) / 1e9
            row["time_us"] = b.get("real_time", 0.0) * {"ns": 1e-3, "us": 1, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
            for key, value in b.items():
                if key.startswith("vs_"):
                    row[key] = value
        rows.append(row)
    return data.get("context", {}), rows


def add_torch_ratios(rows):
    """vs_torch on each cuda row that has a torch row of the same pass, activation, dtype and n."""
    key = lambda r: (r["pass"], r["activation"], r["dtype"], r["n"])
    torch = {key(r): r for r in rows if r["backend"] == "torch" and not r["skipped"]}
    for r in rows:
        peer = torch.get(key(r))
        if r["backend"] == "cuda" and not r["skipped"] and peer:
            r["vs_torch"] = peer["time_us"] / r["time_us"]


def fmt(value, digits=2):
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown(context, rows, validation):
    out = ["# actk benchmark report", ""]
    if context:
        keys = ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "library_build_type")
        out += ["| context | |", "|---|---|"] + [f"| {k} | {context[k]} |" for k in keys if k in context] + [""]
    groups = collections.defaultdict(dict)
    skipped = collections.Counter()
    for r in rows:
        if r["skipped"]:
            skipped[(r["backend"], r["message"])] += 1
            continue
        groups[(r["pass"], r["dtype"], r["n"], r["activation"])][r["backend"]] = r
    backends = sorted({r["backend"] for r in rows if not r["skipped"]}, key=lambda b: (b in ROOFLINES, b))
    peers = sorted({k for r in rows for k in r if k.startswith("vs_") and k not in ("vs_copy", "vs_launch")})
    for (pass_, dtype) in sorted({(k[0], k[1]) for k in groups}):
        for n in sorted({k[2] for k in groups if k[:2] == (pass_, dtype)}):
            out += [f"## {pass_}, {dtype}, n = {n}", "",
                    "GB/s per backend; vs_copy = copy time / row time (1.0 = at the roofline); "
                    + ", ".join(f"{p} = {p[3:]} time / row time" for p in peers) + ".", ""]
            header = ["activation"] + [f"{b} GB/s" for b in backends] + \
                     [f"{b} vs_copy" for b in backends if b not in ROOFLINES] + \
                     [f"{fast} {p}" for fast in ("cpu", "cuda") if fast in backends for p in peers]
            out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for activation in sorted({k[3] for k in groups if k[:3] == (pass_, dtype, n)}):
                cells = groups[(pass_, dtype, n, activation)]
                line = [activation] + [fmt(cells[b]["gbps"], 1) if b in cells else "–" for b in backends]
                line += [fmt(cells[b].get("vs_copy")) if b in cells else "–" for b in backends if b not in ROOFLINES]
                line += [fmt(cells[fast].get(p)) if fast in cells else "–"
                         for fast in ("cpu", "cuda") if fast in backends for p in peers]
                out.append("| " + " | ".join(line) + " |")
            out.append("")
    if skipped:
        out += ["## Skipped rows", "", "| backend | reason | rows |", "|---|---|---|"]
        out += [f"| {b} | {m} | {c} |" for (b, m), c in sorted(skipped.items())] + [""]
    if validation:
        results = validation.get("results", [])
        failed = [r for r in results if r.get("status") != "PASS"]
        out += ["## Validation", "",
                f"{len(results)} rows, {len(failed)} failed: **{validation.get('status', '?')}**.", ""]
        for name, b in validation.get("backends", {}).items():
            out.append(f"- backend {name}: " + ("available" if b.get("available") else f"not run: {b.get('reason')}"))
        worst = collections.defaultdict(float)
        for r in results:
            key = (r["backend"], r["dtype"], r["pass"])
            worst[key] = max(worst[key], r.get("max_ulp", 0))
        out += ["", "| backend | dtype | pass | worst max_ulp over activations |", "|---|---|---|---|"]
        out += [f"| {b} | {d} | {p} | {fmt(u, 0)} |" for (b, d, p), u in sorted(worst.items())]
        if failed:
            out += ["", "Failed rows:", ""] + [f"- {r['activation']} {r['dtype']} {r['pass']} {r['backend']}: "
                                              f"{r.get('max_ulp')} ulp" for r in failed]
        out.append("")
    return "\n".join(out)


def plots(rows, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib not found (Debian: python3-matplotlib); plots skipped", file=sys.stderr)
        return []
    written = []
    live = [r for r in rows if not r["skipped"]]
    for (pass_, dtype) in sorted({(r["pass"], r["dtype"]) for r in live}):
        sel = [r for r in live if r["pass"] == pass_ and r["dtype"] == dtype]
        activations = sorted({r["activation"] for r in sel})
        cols = min(6, len(activations))
        rows_n = math.ceil(len(activations) / cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.6 * rows_n), squeeze=False, sharey=True)
        for ax, activation in zip(axes.flat, activations):
            by_backend = collections.defaultdict(list)
            for r in sel:
                if r["activation"] == activation:
                    by_backend[r["backend"]].append((r["n"], r["gbps"]))
            for backend, points in sorted(by_backend.items()):
                if backend == "launch":
                    continue
                points.sort()
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=".",
                        linestyle="--" if backend in ROOFLINES else "-", color=COLOURS.get(backend), label=backend)
            ax.set_xscale("log", base=2)
            ax.set_title(activation, fontsize=9)
            ax.grid(True, alpha=0.3)
        for ax in list(axes.flat)[len(activations):]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right")
        fig.suptitle(f"{pass_}, {dtype}: GB/s against n (dashed: copy roofline)")
        fig.supxlabel("elements")
        fig.supylabel("GB/s")
        fig.tight_layout(rect=(0, 0, 0.93, 0.95))
        path = os.path.join(out_dir, f"gbps_{pass_}_{dtype}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

        largest = max(r["n"] for r in sel)
        at = [r for r in sel if r["n"] == largest and "vs_copy" in r and r["backend"] not in ROOFLINES]
        backends = sorted({r["backend"] for r in at})
        if not at:
            continue
        fig, ax = plt.subplots(figsize=(max(8, 0.6 * len(activations)), 4))
        width = 0.8 / len(backends)
        for i, backend in enumerate(backends):
            values = {r["activation"]: r["vs_copy"] for r in at if r["backend"] == backend}
            ax.bar([j + i * width for j in range(len(activations))], [values.get(a, 0) for a in activations],
                   width=width, color=COLOURS.get(backend), label=backend)
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(activations))])
        ax.set_xticklabels(activations, rotation=45, ha="right")
        ax.set_ylabel("fraction of copy bandwidth")
        ax.set_title(f"{pass_}, {dtype}, n = {largest}: fraction of the same-run copy roofline")
        ax.legend()
        fig.tight_layout()
        path = os.path.join(out_dir, f"roofline_{pass_}_{dtype}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", nargs="+",
                        help="actk-bench --benchmark_out=FILE --benchmark_out_format=json output (and torch_peer.py's)")
    parser.add_argument("--validate", help="actk validate --json output")
    parser.add_argument("--out", default="report", help="output folder (default: report)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    context, rows = load_rows(args.bench[0])
    for path in args.bench[1:]:
        rows += load_rows(path)[1]
    add_torch_ratios(rows)
    validation = None
    if args.validate:
        with open(args.validate) as f:
            validation = json.load(f)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(markdown(context, rows, validation))
    written = plots(rows, args.out)
    print(f"report: {len(rows)} benchmark rows -> {os.path.join(args.out, 'report.md')}"
          + (f" and {len(written)} plots" if written else ""))


if __name__ == "__main__":
    main()
