"""Run the notebooks on another library stack and compare the printout with the committed run's.

    python tools/compat.py [--stack old|mid|pinned] [--python PYTHON]

Builds (once) .venv-STACK with the stack's versions (tools/stacks/old.txt: torch 2.2; mid.txt:
torch 2.5; pinned: constraints.txt, in .venv), runs the hand-in and the companion's extras there,
saves the run to build/compat-STACK.ipynb and compares its printout with the committed run's:
the same, or measures within nbtools.CPU_TOLERANCE. The old and mid stacks are 3 GB each.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import nbformat

import nbtools

ROOT = nbtools.ROOT
STACKS = {"old": ["-r", "tools/stacks/old.txt"], "mid": ["-r", "tools/stacks/mid.txt"],
          "pinned": ["-c", "constraints.txt"]}

WINDOWS = os.name == "nt"  # where a venv keeps its Python in Scripts\, not bin/


def venv_python(venv):
    return venv / ("Scripts/python.exe" if WINDOWS else "bin/python")


def build_venv(venv, stack, python):
    """venv with the stack and the tools; nothing to do when its stamp says it has them."""
    wanted = [*STACKS[stack], "-r", "requirements-tools.txt"]
    stamp = "".join((ROOT / name).read_text() for name in wanted[1::2])
    if (venv / ".stack").is_file() and (venv / ".stack").read_text() == stamp:
        return
    print(f"==> installing the {stack} stack into {venv} (PyTorch's downloads are large)",
          flush=True)
    if not venv_python(venv).exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv_python(venv)), "-m", "pip", "install", *wanted], cwd=ROOT, check=True)
    (venv / ".stack").write_text(stamp)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=sorted(STACKS), default="old")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python that creates the venv (3.11 or newer)")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)  # used inside the venv
    args = parser.parse_args(argv)
    if args.run:  # inside the stack's venv: the hand-in and the extras in its kernel, saved
        from run_notebook import run_with_extras
        return nbformat.write(run_with_extras(probe=False), str(args.run))
    venv = ROOT / (".venv" if args.stack == "pinned" else f".venv-{args.stack}")
    build_venv(venv, args.stack, args.python)
    out = ROOT / "build" / f"compat-{args.stack}.ipynb"
    out.parent.mkdir(exist_ok=True)
    subprocess.run([str(venv_python(venv)), __file__, "--run", str(out)], check=True)
    nb, committed = nbtools.load(out), nbtools.load(nbtools.COMPANION)
    torch = nb.metadata[nbtools.METADATA_KEY]["machine"]["torch"]
    if nbtools.stream_text(nb) == nbtools.stream_text(committed):
        print(f"torch {torch}: the committed printout, exactly (run saved in {out})")
        return 0
    problems = nbtools.differences(nbtools.results(nb), nbtools.results(committed),
                                   nbtools.CPU_TOLERANCE)
    print(f"torch {torch}: another printout, as on another CPU, with the measures "
          f"{'beyond' if problems else 'within'} the tolerances (run saved in {out})")
    print("\n".join(f"  {p}" for p in problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
