"""The grader's run: restart the kernel and run every cell, small and full size, offline, on a
quiet and a busy CPU and with another CPU's instruction set; and the companion notebook, run as
it is, on top of the hand-in."""
import os
import platform
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

import nbtools
import run_notebook
from conftest import ROOT, SMALL, label_covers, label_overlaps, probe, run

BUSY_LOOP = "import time\nend = time.time() + 300\nwhile time.time() < end:\n    pass"


def outputs(nb):
    return [o for c in nbtools.code_cells(nb) for o in c.get("outputs", [])]


def test_every_cell_runs_without_error(small_run):
    nb = small_run["nb"]
    assert not [o for o in outputs(nb) if o.output_type == "error"]
    counts = [c.execution_count for c in nbtools.code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))


def test_the_small_settings_took_effect(small_run):
    text = nbtools.stream_text(small_run["nb"])
    assert "x_train (300, 196) by class" in text
    assert "Adam, lr 0.004, betas (0.9, 0.98), batch size 64, 25 epochs, noise 0.5" in text
    assert "epoch 25: loss" in text
    assert "held-out MSE" in text


def test_every_figure_is_drawn(small_run):
    # the hand-in's C scatter, D reconstructions and E points; the companion's map and path
    assert nbtools.image_count(small_run["nb"]) == 5
    assert label_overlaps(small_run["nb"]) == (0, 2)
    assert label_covers(small_run["nb"]) == 0


def test_part_e_and_the_comparison_print_their_results(small_run):
    found = nbtools.results(nbtools.stream_text(small_run["nb"]))
    assert found["class"] in range(10) and len(set(found["overlap"])) == 2
    assert 0 < found["ae_test_mse"] < 1 and 0 < found["ae_knn"] <= 1


def test_the_run_needed_no_download_and_changed_no_data(small_run):
    assert small_run["files_after"] == small_run["files_before"]


@pytest.mark.slow
def test_a_busy_cpu_changes_no_answer(small_run):
    """With one busy process per CPU, as on a shared grading server, the run prints exactly
    the same answers as on the quiet machine: the notebook always trains on one thread."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(cpus)]
    try:
        busy = run(SMALL, extras=True)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    quiet = nbtools.answers(nbtools.stream_text(small_run["nb"]))
    assert nbtools.answers(nbtools.stream_text(busy)) == quiet


@pytest.mark.slow
def test_another_cpu_trains_another_solution_with_the_same_measures():
    """Under two instruction sets (AVX2, and the oldest x86 path) the arithmetic differs in its
    last bits and training makes two different solutions: their measures must agree within
    nbtools.CPU_TOLERANCE, and each run's part E must be right for its own plane (A and B
    inside their class, C where its two classes mix). 14-pixel images keep it quick; the
    1,024 digits and all the epochs keep it a real run."""
    if not re.search(r"x86|amd64|i\d86", platform.machine(), re.I):
        pytest.skip("the instruction sets forced here are x86's")
    settings = {"img_size": 14}
    first, second = (run(settings, env, extras=True) for env in nbtools.OTHER_CPUS.values())
    a, b = (nbtools.results(nbtools.stream_text(nb)) for nb in (first, second))
    assert first.metadata[nbtools.METADATA_KEY]["machine"] != second.metadata[
        nbtools.METADATA_KEY]["machine"]
    assert nbtools.differences(a, b, nbtools.CPU_TOLERANCE) == []
    for nb, found in [(first, a), (second, b)]:
        near = probe(nb)
        assert near["A"].count(found["class"]) >= 8 and near["B"].count(found["class"]) >= 8
        assert min(near["C"].count(c) for c in found["overlap"]) >= 3, near["C"]


def test_the_notebook_alone_offline_says_what_is_missing(tmp_path, offline):
    """A grader with only the .ipynb from D2L, and no network: the data cell stops with one
    line that names the missing folder and the fixes, and leaves no folders behind."""
    alone = tmp_path / "a05_jorchard.ipynb"
    shutil.copy(nbtools.NOTEBOOK, alone)
    nb = nbtools.load(alone)
    with pytest.raises(CellExecutionError) as err:
        run_notebook.execute(nb, tmp_path, parameters=SMALL)
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(err.value))  # without the colours
    line = next(x for x in message.splitlines() if x.startswith("RuntimeError: no MNIST"))
    assert "in files/" in line and "next to it" in line and "run online" in line
    assert "Error downloading" in line and " [...]). Put the folder" in line  # cut at a word
    assert "Traceback" not in message.split("RuntimeError: no MNIST")[1]  # no chained errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a05_jorchard.ipynb"]
    failed = [c for c in nbtools.code_cells(nb)
              if any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "load_mnist(data_root" in failed[0].source  # at the data


def test_a_failed_run_leaves_the_saved_notebook_as_it_was(tmp_path, capsys):
    cells = [nbformat.v4.new_code_cell("import math"), nbformat.v4.new_code_cell("n = 1"),
             nbformat.v4.new_code_cell("print(math.sqrt(-n))")]
    cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path / "a05_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    before = path.read_bytes()
    assert run_notebook.main([str(path)]) == 1
    assert path.read_bytes() == before
    assert f"the run failed; {path} was left as it was" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a05_test.ipynb"]


def test_the_companion_runs_the_hand_in_then_adds_its_extras(tmp_path, offline):
    """explore_latent.ipynb as a student opens it, next to the hand-in (here with the small
    settings) and files/: a fresh kernel, offline; it prints the hand-in's answers, draws only
    its own two figures, and compares with PCA."""
    handin = nbtools.load()
    run_notebook.set_parameters(handin, {**SMALL, "data_root": str(ROOT / "files")})
    nbformat.write(handin, str(tmp_path / nbtools.NOTEBOOK.name))
    companion = nbtools.load(nbtools.COMPANION)
    run_notebook.execute(companion, tmp_path)
    text = nbtools.stream_text(companion)
    found = nbtools.results(text)
    assert "x_train (300, 196)" in text and found["class"] in range(10)
    assert 0 < found["ratio"] < 2 and 0 < found["ae_knn"] <= 1
    assert nbtools.image_count(companion) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [nbtools.NOTEBOOK.name]
