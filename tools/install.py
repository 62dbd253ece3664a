"""Create .venv and install what the notebook and the tools need, saying what each step does.

    python3 tools/install.py [--venv .venv]

Each step prints a line before it starts, and pip shows its own progress. The environment is
marked finished (.venv/.installed) only when every step has succeeded, so a failed or
interrupted install is never taken for a finished one: run it again and it carries on.
"""
import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED_GB = 7  # the full install on Linux, with PyTorch's CUDA libraries, takes about 6 GB


def pins(names, path=ROOT / "requirements.txt"):
    """The lines of requirements.txt that pin these packages."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line.split("==")[0] in names]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    args = parser.parse_args(argv)
    venv, stamp = args.venv, args.venv / ".installed"
    python = str(venv / "bin" / "python")
    if sys.version_info < (3, 11):
        sys.exit(f"this project needs Python 3.11 or newer, and {sys.executable} is "
                 f"{sys.version.split()[0]}; run make with PYTHON=python3.11 (or newer)")
    stamp.unlink(missing_ok=True)
    free = shutil.disk_usage(venv.parent if venv.parent.exists() else ROOT).free / 1e9
    if free < NEEDED_GB:
        print(f"warning: {free:.1f} GB free here; the install needs about {NEEDED_GB} GB")
    torch = pins({"torch", "torchvision"})
    steps = [
        (f"creating {venv} with Python {sys.version.split()[0]}",
         [sys.executable, "-m", "venv", str(venv)]),
        ("installing PyTorch and torchvision: the big step. On Linux PyPI's build brings "
         "NVIDIA's CUDA libraries: about 3 GB to download, 5.4 GB on disk",
         [python, "-m", "pip", "install", "--progress-bar", "on", *torch]),
        ("installing the rest: Jupyter, matplotlib, the test and PDF tools",
         [python, "-m", "pip", "install", "--progress-bar", "on", "-r",
          str(ROOT / "requirements-dev.txt")]),
    ]
    start = time.perf_counter()
    for number, (what, command) in enumerate(steps, start=1):
        print(f"==> [{number}/{len(steps)}] {what}", flush=True)
        if subprocess.run(command).returncode != 0:
            sys.exit(f"\nthe install stopped at step {number} of {len(steps)}, {what.split(':')[0]}"
                     ". The lines above say why: often the network, or disk space. Run the "
                     f"same make command again to retry; it carries on where it stopped. To "
                     f"start over, delete {venv} first.")
    stamp.touch()
    print(f"==> {venv} is ready ({(time.perf_counter() - start) / 60:.1f} minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
