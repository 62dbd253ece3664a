"""Shared fixtures: the notebook, its extracted definitions, and fresh runs of it."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")  # headless; the notebook's own kernels keep their inline backend

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import nbtools  # noqa: E402
import run_notebook  # noqa: E402

# settings small enough for a quick fresh run that still exercises every cell
SMALL = {"img_size": 14, "n_digits": 300, "n_test": 200, "epochs": 25, "batch_size": 64}
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}
# appended to a run: the classes of the 10 training codes nearest to A, B and C
PROBE = """
import json as _json
_z = latent_codes(net, x_train)
_near = {name: t_train[(_z - torch.as_tensor(p).float()).norm(dim=1).argsort()[:10]]
         for name, p in zip('ABC', [a, b, o])}
print('PROBE', _json.dumps({k: v.tolist() for k, v in _near.items()}))
"""


@pytest.fixture(scope="session")
def nb():
    return nbtools.load()


@pytest.fixture(scope="session")
def defs(nb):
    """What the autotester sees: the import cell and the definition cells, run on their own."""
    return nbtools.exec_definitions(nb)


def tree_digest(folder):
    """SHA-256 of every file under folder, keyed by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture
def offline(monkeypatch):
    """Every proxy pointed at a closed port, so no download can succeed."""
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)


def run(parameters=None, env=None, cwd=ROOT, probe=True):
    """The notebook run top to bottom in a fresh kernel, offline, with parameters overridden
    and environment variables set for the kernel; a PROBE cell appended when asked."""
    nb = nbtools.load(Path(cwd) / nbtools.NOTEBOOK.name)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    with patch.dict(os.environ, {**OFFLINE, **(env or {})}):
        os.environ.pop("MPLBACKEND", None)
        run_notebook.execute(nb, cwd, parameters=parameters)
    return nb


def probe(nb):
    """What the PROBE cell printed: the classes of the codes nearest to A, B and C."""
    line = next(x for x in nbtools.stream_text(nb).splitlines() if x.startswith("PROBE "))
    return json.loads(line.split(" ", 1)[1])


@pytest.fixture(scope="session")
def small_run():
    """The notebook with SMALL settings, offline, and whether it changed files/."""
    before = tree_digest(ROOT / "files")
    nb = run(SMALL)
    return {"nb": nb, "files_before": before, "files_after": tree_digest(ROOT / "files")}


def repository_copy(dest):
    """The committed files of the repository, copied to dest (as a fresh clone holds them)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory):
    """A copy of the repository in which `make run` has just run: the notebook executed again,
    full size, on this machine, and saved over the committed one."""
    dest = repository_copy(tmp_path_factory.mktemp("clone"))
    result = subprocess.run([sys.executable, "tools/run_notebook.py"], cwd=dest,
                            capture_output=True, text=True, env={**os.environ, **OFFLINE})
    assert result.returncode == 0, result.stderr[-3000:]
    return dest


def need_tools(*names):
    """Skip when a system tool is missing, except in CI, where it must be there."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        why = (f"{', '.join(missing)} not installed; install the Debian packages "
               f"{nbtools.PDF_PACKAGES}")
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def pdf_text(path, layout=True):
    """The text pdftotext reads from a PDF."""
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def benchmark_medians():
    """The median row of the results table in BENCHMARK.md, by column name."""
    bench = (ROOT / "BENCHMARK.md").read_text()
    columns = re.search(r"^\| seed \| (.*) \|$", bench, flags=re.M).group(1).split(" | ")
    medians = re.search(r"^\| \*\*median\*\* \| (.*) \|$", bench, flags=re.M).group(1)
    return dict(zip(columns, (m.strip("* ") for m in medians.split(" | "))))


# How far one run's numbers may lie from the benchmark's medians over seeds 0-2: the spread
# over six seeds (BENCHMARK.md) plus the 0.01 that another CPU may add.
SEED_TOLERANCE = {"ratio": 0.04, "ae_knn": 0.06}
