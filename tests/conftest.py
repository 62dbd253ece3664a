"""Shared fixtures: the notebooks, their extracted definitions, and fresh runs of them."""
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
_z = net.encode(x_train).detach().cpu()
_near = {name: t_train[(_z - torch.as_tensor(p).float()).norm(dim=1).argsort()[:10]]
         for name, p in zip('ABC', [A, B, C])}
print('PROBE', _json.dumps({k: v.tolist() for k, v in _near.items()}))
_points = {'A': A, 'B': B, 'C': C}
_figs = [plot_points(net, x_train, t_train, _points)]
if 'plot_latent_map' in dir():
    _figs.append(plot_latent_map(net, x_train, t_train))
_overlaps, _covered = 0, 0
for _fig in _figs:
    _fig.canvas.draw()
    _r = _fig.canvas.get_renderer()
    for _ax in _fig.axes:
        _boxes = [_t.get_window_extent(_r) for _t in _ax.texts]
        _overlaps += sum(_p.overlaps(_q) for _i, _p in enumerate(_boxes)
                         for _q in _boxes[_i + 1:])
    if _fig is _figs[0]:  # part E: a letter covers neither its star nor its point's 10 nearest
        _ax = _fig.axes[0]
        for _t in _ax.texts:
            _p = torch.as_tensor(_points[_t.get_text()]).float()
            _box = _t.get_window_extent(_r)
            _covered += sum(_box.contains(*_ax.transData.transform(_q.tolist()))
                            for _q in [_p, *_z[(_z - _p).norm(dim=1).argsort()[:10]]])
    plt.close(_fig)
print('LABEL OVERLAPS', _overlaps, 'IN', len(_figs), 'FIGURES')
print('LABELS COVER', _covered, 'OF THEIR POINTS AND NEIGHBOURS')
"""


@pytest.fixture(scope="session")
def nb():
    return nbtools.load()


@pytest.fixture(scope="session")
def defs(nb):
    """What the autotester sees: the import cell and the definition cells, run on their own."""
    return nbtools.exec_definitions(nb)


@pytest.fixture(scope="session")
def extras(nb):
    """The hand-in's definitions with the companion's definitions run on top of them."""
    return nbtools.exec_definitions(nb, nbtools.load(nbtools.COMPANION))


def tree_digest(folder):
    """SHA-256 of every file under folder, keyed by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture
def offline(monkeypatch):
    """Every proxy pointed at a closed port, so no download can succeed."""
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)


def run(parameters=None, env=None, cwd=ROOT, probe=True, extras=False):
    """The hand-in run top to bottom in a fresh kernel, offline, with parameters overridden
    and environment variables set for the kernel; with extras, the companion's cells run after
    it in the same kernel; a PROBE cell appended when asked."""
    nb = nbtools.load(Path(cwd) / nbtools.NOTEBOOK.name)
    if extras:
        nb = nbtools.with_extras(nb)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    with patch.dict(os.environ, {**OFFLINE, **(env or {})}):
        os.environ.pop("MPLBACKEND", None)
        run_notebook.execute(nb, cwd, parameters=parameters)
    return nb


def label_covers(nb):
    """What the PROBE cell found: how many stars and nearest codes lie under part E's letters."""
    line = next(x for x in nbtools.stream_text(nb).splitlines() if x.startswith("LABELS COVER"))
    return int(line.split()[2])


def probe(nb):
    """What the PROBE cell printed: the classes of the codes nearest to A, B and C."""
    line = next(x for x in nbtools.stream_text(nb).splitlines() if x.startswith("PROBE "))
    return json.loads(line.split(" ", 1)[1])


def label_overlaps(nb):
    """What the PROBE cell found: (overlapping label pairs, figures checked) in part E's figure
    and, in a run with the extras, the map."""
    line = next(x for x in nbtools.stream_text(nb).splitlines()
                if x.startswith("LABEL OVERLAPS"))
    return int(line.split()[2]), int(line.split()[4])


@pytest.fixture(scope="session")
def small_run():
    """The hand-in and the companion's extras with SMALL settings, offline, and whether the
    run changed files/."""
    before = tree_digest(ROOT / "files")
    nb = run(SMALL, extras=True)
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


NAME = "Ada Lovelace"  # a student who has put their name in


def set_student(path, name):
    """Put name on the student line of the notebook at path."""
    nb = nbtools.load(path)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    line = nbtools.STUDENT_LINE.search(first.source)
    first.source = (first.source[:line.start("name")] + name
                    + first.source[line.end("name"):])
    nbformat.write(nb, str(path))


def need_tools(*names):
    """Skip when a system tool is missing, except in CI, where it must be there."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        why = (f"{', '.join(missing)} not installed; install the Debian packages "
               f"{nbtools.PDF_PACKAGES} poppler-utils chromium")
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def pdf_text(path, layout=True, pages=None):
    """The text pdftotext reads from a PDF, or from its pages (first, last)."""
    span = ["-f", str(pages[0]), "-l", str(pages[1])] if pages else []
    args = ["pdftotext", *(["-layout"] if layout else []), *span, str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def benchmark_medians():
    """The median row of the results table in BENCHMARK.md, by column name."""
    bench = (ROOT / "BENCHMARK.md").read_text()
    columns = re.search(r"^\| seed \| (.*) \|$", bench, flags=re.M).group(1).split(" | ")
    medians = re.search(r"^\| \*\*median\*\* \| (.*) \|$", bench, flags=re.M).group(1)
    return dict(zip(columns, (m.strip("* ") for m in medians.split(" | "))))


def benchmark_other_cpus():
    """What BENCHMARK.md records of the runs as on other CPUs: how many of them chose as the
    quiet runs did, and the largest change of each measure."""
    bench = (ROOT / "BENCHMARK.md").read_text()
    same = re.search(r"^- another CPU: part E chose the same in (\d+) of (\d+) runs$", bench,
                     flags=re.M)
    moved = re.search(r"^- another CPU, largest change: ratio ([\d.]+), 5-NN ([\d.]+), "
                      r"held-out MSE ([\d.]+) ", bench, flags=re.M)
    return {"same": (int(same[1]), int(same[2])),
            "moved": dict(zip(("ratio", "ae_knn", "ae_test_mse"), map(float, moved.groups())))}


# How far one run's numbers may lie from the benchmark's medians over seeds 0-5: the spread
# over six seeds (BENCHMARK.md) plus what another CPU may add.
SEED_TOLERANCE = {"ratio": 0.04, "ae_knn": 0.06}
