"""Shared fixtures and helpers: the hand-in, its extracted definitions, runs of it, PDF readers."""
import hashlib
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from unittest.mock import patch

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")  # headless; the notebooks' own kernels keep their inline backend

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import make_submission  # noqa: E402
import nbtools  # noqa: E402
import run_notebook  # noqa: E402

# settings small enough for a quick run that still takes every cell
SMALL = {"img_size": 14, "n_digits": 300, "epochs": 25, "batch_size": 64}
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}
NAME, WATIAM = "Ada Lovelace", "alovelace"  # a student who has put their name in


@pytest.fixture(scope="session")
def nb():
    return nbtools.load()


def exec_definitions(nb):
    """What the autotester sees: a fresh namespace holding only what the import cell and the
    cells that hold nothing but definitions create."""
    cells = nbtools.code_cells(nb)
    namespace = {"__name__": "a05_definitions"}
    for cell in [cells[0], *[c for c in cells[1:] if (t := nbtools.parse(c))
                             and nbtools.is_definition_cell(t)]]:
        exec(compile(cell.source, "notebook cell", "exec"), namespace)
    return namespace


@pytest.fixture(scope="session")
def defs(nb):
    """What the autotester sees: the import cell and the definition cells, run on their own."""
    return exec_definitions(nb)


@pytest.fixture
def offline(monkeypatch):
    """Every proxy pointed at a closed port, so no download can succeed."""
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)


def tree_digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def run(parameters=None, env=None):
    """The hand-in and the companion's extras run offline (run_notebook.run_with_extras)."""
    with patch.dict(os.environ):
        os.environ.pop("MPLBACKEND", None)  # the kernel keeps its inline backend
        return run_notebook.run_with_extras(parameters, {**OFFLINE, **(env or {})})


@pytest.fixture(scope="session")
def small_run():
    """The hand-in and the companion's extras with SMALL settings, offline, and whether the
    run changed files/."""
    before = tree_digest(ROOT / "files")
    nb = run(SMALL)
    return {"nb": nb, "files_changed": tree_digest(ROOT / "files") != before}


def repository_copy(dest):
    """The repository's tracked files as they are now, copied to dest, as a fresh clone holds
    them; without git (a downloaded zip), every file but .venv*, submission/, build/ and caches."""
    if not (ROOT / ".git").exists():
        return shutil.copytree(ROOT, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".venv*", "submission", "build", "__pycache__", ".*_cache"))
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def set_student(path, name, watiam):
    """Put name and WatIAM ID on the student line of the notebook at path."""
    nb = nbtools.load(path)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    first.source = nbtools.STUDENT_LINE.sub(f"**Student:** {name} (WatIAM ID: {watiam})",
                                            first.source, count=1)
    nbformat.write(nb, str(path))


def need_tools(*names):
    """Skip when a system program is missing, except in CI, where it must be there."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        why = f"{', '.join(missing)} not installed (see CONTRIBUTING.md, 'The tests')"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def pdf_pages(path):
    """The text of each page of a PDF, as pypdf reads it, with ligatures and math letters made
    plain (NFKC: "ﬁ" as "fi", 𝐱 as x)."""
    return [unicodedata.normalize("NFKC", page.extract_text())
            for page in make_submission.read_pdf(path).pages]


def figure_ppi(path):
    """For each image drawn in the PDF: its pixels per inch across, as placed on the page."""
    found = []
    for page in make_submission.read_pdf(path).pages:
        xobjects = page["/Resources"].get_object().get("/XObject", {})

        def visit(operator, operands, matrix, _text_matrix, xobjects=xobjects):
            if operator == b"Do" and operands[0] in xobjects:
                image = xobjects[operands[0]].get_object()
                if image.get("/Subtype") == "/Image":
                    found.append(image["/Width"] / (abs(matrix[0]) / 72))
        page.extract_text(visitor_operand_before=visit)
    return found
