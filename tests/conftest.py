"""Shared fixtures: the notebook, its extracted definitions, and one small fresh run."""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import matplotlib
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


@pytest.fixture(scope="session")
def small_run():
    """The notebook run top to bottom in a fresh kernel with SMALL settings and no network."""
    before = tree_digest(ROOT / "files")
    nb = nbtools.load()
    with patch.dict(os.environ, OFFLINE):
        os.environ.pop("MPLBACKEND", None)
        run_notebook.execute(nb, ROOT, parameters=SMALL)
    return {"nb": nb, "files_before": before, "files_after": tree_digest(ROOT / "files")}


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
