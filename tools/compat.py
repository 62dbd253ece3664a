"""Run the notebook on an older stack and compare its answers with the committed run.

    python tools/compat.py [--venv .venv-compat] [--python python3.11]

Builds (once) a virtual environment with the versions in tools/requirements-compat.txt (torch
2.2, torchvision 0.17, numpy 1.26, matplotlib 3.7: a download of a few GB), runs the notebook
unchanged in a kernel from it, saves the run to build/compat.ipynb, and compares its answers with
the committed notebook's: part E's choices must be the same, and the points and numbers within
the tolerances of nbtools.differences (those allowed between CPUs).
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
from run_notebook import execute

ROOT = nbtools.ROOT
REQUIREMENTS = ROOT / "tools" / "requirements-compat.txt"
KERNEL = "a05-compat"


def build_venv(venv, python):
    stamp = venv / ".installed"
    if stamp.is_file() and stamp.read_text() == REQUIREMENTS.read_text():
        return
    print(f"==> creating {venv} with the older stack (a download of a few GB)", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-r",
                    str(REQUIREMENTS)], check=True)
    stamp.write_text(REQUIREMENTS.read_text())


def versions(venv):
    code = ("import sys, torch, torchvision, numpy, matplotlib; print(' '.join(["
            "'Python ' + sys.version.split()[0], 'torch ' + torch.__version__, "
            "'torchvision ' + torchvision.__version__, 'numpy ' + numpy.__version__, "
            "'matplotlib ' + matplotlib.__version__]))")
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, check=True).stdout.strip()


def run(venv):
    """The notebook executed in a kernel from venv, with JUPYTER_PATH pointing at its spec."""
    nb = nbtools.load()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(venv.resolve() / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                     "{connection_file}"],
            "display_name": "a05 on the older stack", "language": "python"}))
        path = os.pathsep.join(filter(None, [tmp, os.environ.get("JUPYTER_PATH")]))
        with patch.dict(os.environ, {"JUPYTER_PATH": path}):
            execute(nb, ROOT, kernel=KERNEL)
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-compat")
    parser.add_argument("--python", default="python3")
    args = parser.parse_args(argv)
    build_venv(args.venv, args.python)
    stack = versions(args.venv)
    print(f"==> running the notebook on {stack}", flush=True)
    nb = run(args.venv)
    out = ROOT / "build" / "compat.ipynb"
    out.parent.mkdir(exist_ok=True)
    nbformat.write(nb, str(out))
    older = nbtools.results(nbtools.stream_text(nb))
    committed = nbtools.results(nbtools.stream_text(nbtools.load()))
    problems = nbtools.differences(older, committed)
    if problems:
        print(f"the answers differ on {stack} (run saved in {out}):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"the same choices, and numbers within the tolerances, on {stack} as in the "
          f"committed run: class {older['class']}, overlap of {older['overlap']}, "
          f"ratio {older['ratio']}, 5-NN {older['ae_knn']} (run saved in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
