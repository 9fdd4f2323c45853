#!/usr/bin/env python3
"""Static checks of the CUDA kernels' PTX, for machines without a GPU.

  check_ptx.py vectors FILE.ptx...
      Fails unless every kernel has a loop (its main loop) whose every global load and store is a
      128-bit vector instruction (ld.global*.v4.f32|b32|u32 or .v2.f64|b64|u64, and the matching
      st), with at least one of each. Scalar loads from a module-scope table (the normal tail's
      coefficients: an address computed from the table's symbol) are lookups, not data traffic,
      and are allowed there.
  check_ptx.py approx FILE.ptx...
      Fails if a kernel that computes in f32 (a functor or type argument `<float>` in its name)
      uses an f32 approximation instruction (ex2/lg2/tanh/sin/cos/rsqrt/rcp/sqrt/div .approx,
      div.full) or calls a libdevice function (__nv_*): the shared math computes e^x, log1p and
      the rest from +, x, fma, IEEE division/sqrt and bit operations, so that the host can prove
      the device's bits. f64 instructions stay allowed (the f64 functors, and the gated forward's
      double slow path, keep libdevice).
  check_ptx.py spills --ptxas PTXAS --arch sm_XX [--max-registers N] FILE.ptx...
      Runs `ptxas -v` on each file and fails unless every kernel reports 0 bytes of spill stores
      and 0 bytes of spill loads. --max-registers caps every kernel's registers (a .maxnreg
      directive): the self-test uses it to show that spills are caught.

Both print one line per kernel and a summary; the exit status is 0 only when every kernel passes.
"""
import argparse
import collections
import re
import shutil
import os
import subprocess
import sys
import tempfile

VECTOR = r"\.(?:v4\.(?:f32|b32|u32)|v2\.(?:f64|b64|u64))"
VECTOR_LOAD = re.compile(r"\bld\.global(?:\.[a-z0-9]+)*?" + VECTOR + r"\b")
VECTOR_STORE = re.compile(r"\bst\.global(?:\.[a-z0-9]+)*?" + VECTOR + r"\b")
ENTRY = re.compile(r"^\.(?:visible|weak)?\s*\.entry\s+([A-Za-z0-9_$]+)\s*\(", re.M)
LABEL = re.compile(r"^(\$[A-Za-z0-9_]+):", re.M)
BRANCH = re.compile(r"\bbra(?:\.uni)?\s+(\$[A-Za-z0-9_]+)\s*;")
ANY_GLOBAL = re.compile(r"\b(?:ld|st)\.global[.a-z0-9]*")
TABLE = re.compile(r"^\.global\s+(?:\.align\s+\d+\s+)?\.[a-z0-9]+\s+([A-Za-z0-9_$]+)\s*\[", re.M)
TABLE_ADDRESS = re.compile(r"\bmov\.u64\s+(%rd\d+),\s*([A-Za-z0-9_$]+)\s*;")
ADDRESS_SUM = re.compile(r"\badd\.s64\s+(%rd\d+),\s*(%rd\d+),\s*(%rd\d+)\s*;")
SCALAR_LOAD = re.compile(r"\bld\.global(?:\.nc)?\.(?:f32|b32|u32)\s+%\w+,\s*\[(%rd\d+)(?:\+-?\d+)?\]")
APPROX_F32 = re.compile(r"\b(?:(?:ex2|lg2|tanh|sin|cos|rsqrt|rcp|sqrt|div)\.approx|div\.full)(?:\.ftz)?\.f32\b"
                        r"|\bcall(?:\.uni)?\b[^;]*\b__nv_[a-z0-9_]+")
SPILLS = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
COMPILING = re.compile(r"Compiling entry function '([^']+)'")


def demangle(names):
    """Readable kernel names when c++filt is there, else the mangled ones."""
    tool = shutil.which("c++filt")
    if not tool or not names:
        return {n: n for n in names}
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    if len(out) != len(names):
        return {n: n for n in names}
    return {n: short_name(d) for n, d in zip(names, out)}


PASSES = ["forward", "backward", "backward_from_output", "forward_backward"]


def short_name(demangled):
    """elementwise_kernel<backward, true, Gelu<double>, double> from the full signature."""
    name = demangled.removeprefix("void ")
    if name.endswith(")"):  # drop the parameter list: from the '(' that matches the last ')'
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break
    name = re.sub(r"\(actk::Pass\)(\d)", lambda m: PASSES[int(m.group(1))], name)
    return name.replace("actk::cuda::detail::", "").replace("actk::math::", "")


def kernels(text):
    """(name, body) of every entry function of a PTX file."""
    starts = [(m.start(), m.group(1)) for m in ENTRY.finditer(text)]
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        yield name, text[start:end]


def table_registers(body, tables):
    """The 64-bit registers of a kernel that hold an address inside one of the module's tables:
    the table's symbol moved into a register, plus offsets added to such a register."""
    found = set()
    for m in TABLE_ADDRESS.finditer(body):
        if m.group(2) in tables:
            found.add(m.group(1))
    grew = True
    while grew:  # a fixed point: sums may be written before their operands in the text (loops)
        grew = False
        for m in ADDRESS_SUM.finditer(body):
            if m.group(1) not in found and (m.group(2) in found or m.group(3) in found):
                found.add(m.group(1))
                grew = True
    return found


def vector_loops(body, tables=frozenset()):
    """The loops (a label and a later branch back to it) of a kernel that access global memory
    with 128-bit loads and stores only (table lookups aside), with the instructions found in them."""
    labels = {m.group(1): m.start() for m in LABEL.finditer(body)}
    in_table = table_registers(body, tables)
    found = []
    for branch in BRANCH.finditer(body):
        start = labels.get(branch.group(1))
        if start is None or start > branch.start():
            continue  # a forward branch
        loop = body[start:branch.end()]
        loads = [m.group(0) for m in VECTOR_LOAD.finditer(loop)]
        stores = [m.group(0) for m in VECTOR_STORE.finditer(loop)]
        accesses = ANY_GLOBAL.findall(loop)
        lookups = [m for m in SCALAR_LOAD.finditer(loop) if m.group(1) in in_table]
        if loads and stores and len(accesses) == len(loads) + len(stores) + len(lookups):
            found.append(loads + stores)
    return found


def check_vectors(files):
    failures, total = [], 0
    instructions = collections.Counter()
    entries = []
    for path in files:
        with open(path) as f:
            text = f.read()
        tables = frozenset(TABLE.findall(text))
        entries += [(path, name, body, tables) for name, body in kernels(text)]
    names = demangle([name for _, name, _, _ in entries])
    for path, name, body, tables in entries:
        total += 1
        loops = vector_loops(body, tables)
        if loops:
            for loop in loops:
                instructions.update(loop)
            print(f"ok    {names[name]}: its main loop loads and stores 128 bits at a time")
        else:
            failures.append(names[name])
            print(f"FAIL  {names[name]} ({path}): no loop that loads and stores 128 bits at a time")
    return summary(total - len(failures), total, "kernels vectorized; instructions in their loops: "
                   + ", ".join(f"{k} x{v}" for k, v in sorted(instructions.items())), "no kernels found")


def check_approx(files):
    failures, checked, total = [], 0, 0
    for path in files:
        with open(path) as f:
            entries = list(kernels(f.read()))
        names = demangle([name for name, _ in entries])
        for name, body in entries:
            total += 1
            if "<float>" not in names[name]:
                continue  # f64 compute: libdevice's double functions are allowed
            checked += 1
            found = collections.Counter(m.group(0) for m in APPROX_F32.finditer(body))
            if found:
                failures.append(names[name])
                print(f"FAIL  {names[name]} ({path}): " + ", ".join(f"{k} x{v}" for k, v in sorted(found.items())))
            else:
                print(f"ok    {names[name]}: no f32 approximation or libdevice call")
    return summary(checked - len(failures), checked, f"f32 kernels (of {total}) free of f32 approximations",
                   "no f32 kernels found")


def summary(passed, total, what, empty):
    """The last line of a check, and its exit status: 1 when nothing was checked or any failed."""
    if total == 0:
        print(f"FAIL  {empty}")
        return 1
    print(f"{passed} of {total} {what}")
    return 0 if passed == total else 1


def run_ptxas(ptxas, arch, path, max_registers):
    if not max_registers:
        return subprocess.run([ptxas, "-v", f"-arch={arch}", path, "-o", os.devnull], capture_output=True, text=True)
    with open(path) as f:
        text = re.sub(r"^(\.maxntid[^\n]*)$", rf"\1\n.maxnreg {max_registers}", f.read(), flags=re.M)
    with tempfile.NamedTemporaryFile("w", suffix=".ptx") as capped:
        capped.write(text)
        capped.flush()
        return subprocess.run([ptxas, "-v", f"-arch={arch}", capped.name, "-o", os.devnull],
                              capture_output=True, text=True)


def check_spills(files, ptxas, arch, max_registers):
    failures, total = [], 0
    for path in files:
        run = run_ptxas(ptxas, arch, path, max_registers)
        if run.returncode != 0:
            print(f"FAIL  ptxas failed on {path}:\n{run.stderr}")
            return 1
        current = None
        reports = []
        for line in run.stderr.splitlines():
            m = COMPILING.search(line)
            if m:
                current = m.group(1)
                continue
            m = SPILLS.search(line)
            if m and current:
                reports.append((current, int(m.group(1)), int(m.group(2))))
                current = None
        names = demangle([r[0] for r in reports])
        for name, stores, loads in reports:
            total += 1
            status = "ok  " if stores == 0 and loads == 0 else "FAIL"
            if status == "FAIL":
                failures.append(names[name])
            print(f"{status}  {names[name]}: {stores} bytes spill stores, {loads} bytes spill loads ({arch})")
    return summary(total - len(failures), total, f"kernels without spills on {arch}", "no kernels found")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="check", required=True)
    vectors = sub.add_parser("vectors")
    vectors.add_argument("files", nargs="+")
    approx = sub.add_parser("approx")
    approx.add_argument("files", nargs="+")
    spills = sub.add_parser("spills")
    spills.add_argument("--ptxas", required=True)
    spills.add_argument("--arch", required=True)
    spills.add_argument("--max-registers", type=int, default=0)
    spills.add_argument("files", nargs="+")
    args = parser.parse_args()
    # CTest passes the $<TARGET_OBJECTS:...> list as one argument, its items separated by ';'.
    args.files = [f for arg in args.files for f in arg.split(";") if f]
    if args.check == "vectors":
        return check_vectors(args.files)
    if args.check == "approx":
        return check_approx(args.files)
    return check_spills(args.files, args.ptxas, args.arch, args.max_registers)


if __name__ == "__main__":
    sys.exit(main())
