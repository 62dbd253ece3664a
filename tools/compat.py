"""Run the notebooks on another library stack and compare their answers with the committed run.

    python tools/compat.py [--stack old|mid|pinned] [--venv DIR] [--python PYTHON]

Builds (once) a virtual environment with the stack's versions (tools/stacks/old.txt: torch 2.2
with NumPy 1.26; tools/stacks/mid.txt: torch 2.5 with NumPy 1.26 and Matplotlib 3.9; pinned:
constraints.txt, as the project's own .venv has it), runs the hand-in and the companion's
extras unchanged in a kernel from it, saves the run to build/compat-STACK.ipynb, and compares
its printout with the committed run's: the same exactly, or, where the stack's arithmetic
differs, measures within the tolerances allowed between CPUs (nbtools.CPU_TOLERANCE). The old and
mid stacks are downloads of about 3 GB each, so this is not part of the test suite.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch

import nbformat

import nbtools
from install import venv_python
from run_notebook import execute

ROOT = nbtools.ROOT
STACKS = {  # what pip installs for each stack
    "old": ["-r", str(ROOT / "tools" / "stacks" / "old.txt")],
    "mid": ["-r", str(ROOT / "tools" / "stacks" / "mid.txt")],
    "pinned": ["-c", str(ROOT / "constraints.txt"), "-r", str(ROOT / "requirements.txt")],
}
KERNEL = "a05-compat"


def stack_text(stack):
    """Everything the stack's install reads, to tell whether a venv still matches it."""
    return "".join(Path(a).read_text() for a in STACKS[stack] if not a.startswith("-"))


def build_venv(venv, stack, python):
    stamp = venv / ".stack"
    if stamp.is_file() and stamp.read_text() == stack_text(stack):
        return
    print(f"==> installing the {stack} stack into {venv} (PyTorch's downloads are large)",
          flush=True)
    if not venv_python(venv).exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv_python(venv)), "-m", "pip", "install", *STACKS[stack]], check=True)
    stamp.write_text(stack_text(stack))


def versions(venv):
    code = ("import sys, torch, torchvision, numpy, matplotlib; print(' '.join(["
            "'Python ' + sys.version.split()[0], 'torch ' + torch.__version__, "
            "'torchvision ' + torchvision.__version__, 'numpy ' + numpy.__version__, "
            "'matplotlib ' + matplotlib.__version__]))")
    return subprocess.run([str(venv_python(venv)), "-c", code], capture_output=True,
                          text=True, check=True).stdout.strip()


def kernel_spec(venv):
    """A Jupyter kernel spec that starts the Python of venv."""
    return {"argv": [str(venv_python(venv.resolve())), "-m", "ipykernel_launcher", "-f",
                     "{connection_file}"],
            "display_name": "a05 on another stack", "language": "python"}


def run(venv):
    """The hand-in and the companion's extras, executed in a kernel from venv."""
    nb = nbtools.with_extras(nbtools.load())
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps(kernel_spec(venv)))
        path = os.pathsep.join(filter(None, [tmp, os.environ.get("JUPYTER_PATH")]))
        with patch.dict(os.environ, {"JUPYTER_PATH": path}):
            execute(nb, ROOT, kernel=KERNEL)
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=sorted(STACKS), default="old")
    parser.add_argument("--venv", type=Path, help="default: .venv-STACK (.venv for pinned)")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python that creates the venv (3.11 or newer)")
    args = parser.parse_args(argv)
    venv = args.venv or ROOT / (".venv" if args.stack == "pinned" else f".venv-{args.stack}")
    build_venv(venv, args.stack, args.python)
    stack = versions(venv)
    print(f"==> running the notebooks on {stack}", flush=True)
    nb = run(venv)
    out = ROOT / "build" / f"compat-{args.stack}.ipynb"
    out.parent.mkdir(exist_ok=True)
    nbformat.write(nb, str(out))
    committed = nbtools.load(nbtools.COMPANION)
    if nbtools.stream_text(nb) == nbtools.stream_text(committed):
        print(f"the committed printout, exactly, on {stack} (run saved in {out})")
        return 0
    problems = nbtools.differences(nbtools.results(nb), nbtools.results(committed),
                                   nbtools.CPU_TOLERANCE)
    if problems:
        print(f"the measures differ beyond the tolerances on {stack} (run saved in {out}):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"another printout on {stack}, as on another CPU, with the measures within the "
          f"tolerances (run saved in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
