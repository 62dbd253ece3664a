"""Create a virtual environment and install what the notebooks and the tools need, saying what
each step does.

    python tools/install.py [--venv .venv] [--tools]

The same on Linux, macOS and Windows (where the environment's Python is
.venv\\Scripts\\python.exe). By default it installs requirements-dev.txt; --tools only what runs
and exports the notebooks (requirements-tools.txt); both with constraints.txt's versions. The
environment is marked finished (.installed in it) only when every step has succeeded, so a
failed install is never taken for a finished one: the same command again carries on.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED_GB = 7  # the full install on Linux, with PyTorch's CUDA libraries, takes about 6 GB
WINDOWS = os.name == "nt"  # venvs there keep their Python in Scripts\, not bin/


def venv_python(venv):
    """The Python of a virtual environment: Scripts\\python.exe on Windows, bin/python
    elsewhere."""
    return Path(venv) / ("Scripts/python.exe" if WINDOWS else "bin/python")


def this_command(argv):
    """The command that ran this installer, to name when it has to be run again."""
    return " ".join(["python" if WINDOWS else "python3", "tools/install.py", *argv])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--tools", action="store_true",
                        help="only what runs and exports the notebooks, not the tests or Lab")
    args = parser.parse_args(argv)
    again = this_command(argv)
    if sys.version_info < (3, 11):
        sys.exit(f"this project needs Python 3.11 or newer, and {sys.executable} is "
                 f"{sys.version.split()[0]}. Run the installer with a newer Python, for "
                 "example: python3.11 tools/install.py (on Windows: py -3.11 tools/install.py)")
    venv, stamp = args.venv, args.venv / ".installed"
    python = str(venv_python(venv))
    stamp.unlink(missing_ok=True)
    free = shutil.disk_usage(venv.parent if venv.parent.exists() else ROOT).free / 1e9
    if free < NEEDED_GB:
        print(f"warning: {free:.1f} GB free here; the install needs about {NEEDED_GB} GB")
    pins = ["-c", str(ROOT / "constraints.txt")]
    wanted = ROOT / ("requirements-tools.txt" if args.tools else "requirements-dev.txt")
    steps = [
        (f"creating {venv} with Python {sys.version.split()[0]}",
         [sys.executable, "-m", "venv", str(venv)]),
        ("installing PyTorch and torchvision: the big step. On Linux and Windows PyPI's build "
         "brings NVIDIA's CUDA libraries: about 3 GB to download, 5.4 GB on disk",
         [python, "-m", "pip", "install", "--progress-bar", "on", *pins, "torch",
          "torchvision"]),
        (f"installing the rest: {wanted.name}",
         [python, "-m", "pip", "install", "--progress-bar", "on", *pins, "-r", str(wanted)]),
    ]
    start = time.perf_counter()
    for number, (what, command) in enumerate(steps, start=1):
        print(f"==> [{number}/{len(steps)}] {what}", flush=True)
        try:
            failed = subprocess.run(command).returncode != 0
        except OSError as err:  # the venv's Python missing or not runnable
            print(f"{command[0]}: {err}", file=sys.stderr)
            failed = True
        if failed:
            sys.exit(f"\nthe install stopped at step {number} of {len(steps)}, "
                     f"{what.split(':')[0]}. The lines above say why: often the network, or "
                     f"disk space. To retry, run the same command again: {again}\nIt carries on"
                     f" where it stopped. To start over, delete {venv} first.")
    stamp.touch()
    print(f"==> {venv} is ready ({(time.perf_counter() - start) / 60:.1f} minutes). Its Python:"
          f" {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
