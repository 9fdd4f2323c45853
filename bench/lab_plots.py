#!/usr/bin/python3
"""Draws the plots of an `actk lab --json` report, and writes its tables as markdown.

    /usr/bin/python3 bench/lab_plots.py LAB.json [--out DIR]

Writes into DIR (default: the JSON's folder):
  lab.md                 the report's three tables (training, gradient by depth, dead units)
  lab_boundaries.png     the decision regions of each activation's trained spirals net, with the
                         training points
  lab_gradient_depth.png |dL/dW| of the first hidden layer at init against depth, under He init and
                         under N(0, 1), one line per activation (log scale; an overflow is left out)
  lab_dead_units.png     the fraction of dead hidden units over the spirals steps, one panel per
                         (learning rate, bias init), for the activations with any dead unit
Uses matplotlib (Debian's python3-matplotlib, hence /usr/bin/python3); without it only lab.md
is written.
"""
import argparse
import json
import math
import os
import sys

# The activations the line plots name; the others are drawn thin and grey.
HIGHLIGHT = {"identity": "black", "sigmoid": "tab:red", "tanh": "tab:orange", "relu": "tab:blue",
             "leaky_relu": "tab:cyan", "gelu": "tab:green", "silu": "tab:olive", "hardsigmoid": "tab:pink",
             "softsign": "tab:brown", "swiglu": "tab:purple", "relu_squared": "tab:gray", "reglu": "navy",
             "relu6": "goldenrod", "softplus": "darkgreen", "selu": "teal", "prelu": "magenta"}


def markdown(report):
    o = report["options"]
    backends = ["cpu", "cuda"]
    out = [f"{o['points']} points per data set; {o['depth']} hidden layers of {o['width']} units, He init; full-batch "
           f"SGD, lr {o['learning_rate']:g}, momentum {o['momentum']:g}; {o['steps']} steps on the spirals, "
           f"{o['easy_steps']} on xor and circles; seed {o['seed']}.", ""]
    out += [f"| activation | spirals | xor | circles | steps to loss {o['target_loss']:g} | final loss | mean activation "
            "| same-sign dW rows | " + " | ".join(f"ms/step {b}" for b in backends) + " |",
            "|---|" + "---:|" * (7 + len(backends))]
    for r in report["results"]:
        times = {t["backend"]: f"{1e3 * t['seconds_per_step']:.3f}" for t in r["step_times"]}
        acc = r["accuracy"]
        out.append(f"| {r['activation']} | {100 * acc['spirals']:.1f}% | {100 * acc['xor']:.1f}% | "
                   f"{100 * acc['circles']:.1f}% | {r['steps_to_target'] if r['steps_to_target'] >= 0 else '-'} | "
                   f"{r['final_loss']:.4f} | {r['mean_activation']:.3f} | {r['same_sign_fraction']:.2f} | "
                   + " | ".join(times.get(b, "-") for b in backends) + " |")
    inits = [g["init"] for g in report["results"][0]["gradient_norms"]]
    out += ["", f"Norm of dL/dW of the first hidden layer at init (geometric mean of {o['gradient_seeds']} nets):", "",
            "| activation | " + " | ".join(f"{i} d{d}" for i in inits for d in o["depths"]) + " |",
            "|---|" + "---:|" * (len(inits) * len(o["depths"]))]
    for r in report["results"]:
        cells = []
        for g in r["gradient_norms"]:
            for d in g["by_depth"]:
                v = d["layers"][0]
                cells.append("overflow" if v is None else f"{v:.2e}")
        out.append(f"| {r['activation']} | " + " | ".join(cells) + " |")
    configs = [(d["learning_rate"], d["bias_init"]) for d in report["results"][0]["dead"]]
    out += ["", f"Dead hidden units after {o['steps']} spirals steps (mean of {o['dead_seeds']} nets; the largest "
            "fraction during the runs in parentheses; diverged runs, left out of the mean, after /):", "",
            "| activation | " + " | ".join(f"lr {lr:g}, bias {b:g}" for lr, b in configs) + " |",
            "|---|" + "---:|" * len(configs)]
    for r in report["results"]:
        cells = []
        for d in r["dead"]:
            if not d["fraction"]:
                cells.append("diverged")
                continue
            cell = f"{100 * d['fraction'][-1]:.1f}% ({100 * max(d['fraction']):.1f}%)"
            cells.append(cell + (f" /{d['diverged_runs']}" if d["diverged_runs"] else ""))
        out.append(f"| {r['activation']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def boundaries(report, plt, path):
    results = report["results"]
    grid = report["options"]["grid"]
    extent = report["options"]["grid_extent"]
    xs = report["spirals"]["x"]
    labels = report["spirals"]["label"]
    cols = 6
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.35 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, r in zip(axes.flat, results):
        cells = [[int(r["boundary"][i * grid + j]) for j in range(grid)] for i in range(grid)]
        ax.imshow(cells, extent=(-extent, extent, -extent, extent), cmap="coolwarm", alpha=0.35, vmin=0, vmax=1)
        ax.scatter(xs[0::2], xs[1::2], c=labels, cmap="coolwarm", s=1.5, vmin=0, vmax=1)
        ax.set_title(f"{r['activation']} {100 * r['accuracy']['spirals']:.0f}%", fontsize=8)
    fig.suptitle("Decision regions of the trained spirals nets (accuracy on the training points)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gradient_depth(report, plt, path):
    depths = report["options"]["depths"]
    inits = [g["init"] for g in report["results"][0]["gradient_norms"]]
    fig, axes = plt.subplots(1, len(inits), figsize=(6 * len(inits), 4.6), squeeze=False)
    for ax, init in zip(axes.flat, inits):
        for r in report["results"]:
            by_depth = next(g for g in r["gradient_norms"] if g["init"] == init)["by_depth"]
            points = [(d["depth"], d["layers"][0]) for d in by_depth if d["layers"][0] is not None and d["layers"][0] > 0]
            if not points:
                continue
            colour = HIGHLIGHT.get(r["activation"])
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    color=colour or "lightgray", linewidth=1.6 if colour else 0.8, zorder=3 if colour else 1,
                    label=r["activation"] if colour else None)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("|dL/dW| of the first hidden layer at init")
        ax.set_title(f"init: {init}")
        ax.grid(True, which="major", alpha=0.3)
    axes.flat[0].legend(fontsize=7, ncol=2)
    fig.suptitle("Gradient reaching the first layer against depth (geometric mean of "
                 f"{report['options']['gradient_seeds']} nets; grey: the other activations)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def dead_units(report, plt, path):
    configs = [(d["learning_rate"], d["bias_init"]) for d in report["results"][0]["dead"]]
    fig, axes = plt.subplots(1, len(configs), figsize=(4.2 * len(configs), 3.8), squeeze=False, sharey=True)
    for ax, (lr, bias) in zip(axes.flat, configs):
        for r in report["results"]:
            run = next(d for d in r["dead"] if d["learning_rate"] == lr and d["bias_init"] == bias)
            if not run["fraction"] or (max(run["fraction"]) == 0 and r["activation"] != "leaky_relu"):
                continue
            ax.plot(run["steps"], [100 * f for f in run["fraction"]], label=r["activation"],
                    color=HIGHLIGHT.get(r["activation"]), linewidth=1.4)
        ax.set_title(f"lr {lr:g}, hidden bias init {bias:g}", fontsize=9)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes.flat[0].set_ylabel("dead hidden units (%)")
    fig.suptitle(f"Dead units over training on the spirals (mean of {report['options']['dead_seeds']} nets; "
                 "activations with none left out, leaky_relu shown)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report")
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    out = args.out or os.path.dirname(os.path.abspath(args.report))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "lab.md"), "w") as f:
        f.write(markdown(report))
    print(f"lab_plots: wrote {os.path.join(out, 'lab.md')}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("lab_plots: matplotlib not found (Debian: python3-matplotlib, sh cmake/install-deps.sh)")
    for name, draw in (("lab_boundaries.png", boundaries), ("lab_gradient_depth.png", gradient_depth),
                       ("lab_dead_units.png", dead_units)):
        draw(report, plt, os.path.join(out, name))
        print(f"lab_plots: wrote {os.path.join(out, name)}")


if __name__ == "__main__":
    main()
