"""The grader's run of a05_jorchard.ipynb (restart the kernel, run every cell), offline: small
and quick, with the network in float64 (a stand-in for a GPU), on a busy CPU, with other CPUs'
instruction sets, and with only the .ipynb; the companion as a student opens it; and
tools/run_notebook.py, which saves a run only when it succeeded."""
import platform
import re
import shutil

import nbformat
import pytest
import torch
from nbclient.exceptions import CellExecutionError

import nbtools
import run_notebook
from conftest import ROOT, SMALL, run


def test_every_cell_runs_and_draws_its_figures(small_run):
    nb = small_run["nb"]
    counts = [c.execution_count for c in nbtools.code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))
    assert nbtools.image_count(nb) == 5  # parts C, D and E; the companion's map and path
    found = nbtools.results(nb)
    assert found["x_train"] == (300, 196) and found["epochs"] == [25]


def test_part_e_is_right_for_the_plane_it_drew(small_run):
    """A and B lie inside their class, C where its two classes meet, by a count of their
    nearest codes made apart from the notebook's own."""
    found = nbtools.results(small_run["nb"])
    assert nbtools.part_e_problems(found) == []
    assert [found["near"]["C"].count(c) for c in found["overlap"]] == list(found["C split"])


def test_the_run_leaves_files_as_it_found_them(small_run):
    """Run offline, the notebook reads files/ and writes nothing there (torchvision could)."""
    assert not small_run["files_changed"]


def test_every_tensor_goes_to_the_networks_device():
    """No GPU here: `device` set to float64 stands in for one. Every tensor a cell hands to the
    network must be moved with .to(device), or PyTorch stops the run with a dtype error, as it
    would with a device error on a GPU. (Arithmetic between float32 and float64 gives float64
    quietly, so the noise in `train` is checked in half precision, by the autotester's test.)"""
    nb = run({**SMALL, "device": torch.float64})
    assert nbtools.image_count(nb) == 5


@pytest.mark.slow
def test_a_busy_cpu_changes_nothing_printed(small_run):
    """With every CPU busy, as on a shared grading server, the run prints exactly what it
    printed on the quiet machine: the notebook always adds up on one thread."""
    with nbtools.busy_cpus():
        busy = run(SMALL)
    assert nbtools.stream_text(busy) == nbtools.stream_text(small_run["nb"])


@pytest.mark.slow
def test_other_cpus_keep_the_measures_and_part_e_right():
    """Under two other instruction sets the arithmetic differs in its last bits, and training
    can make two different solutions: their measures agree within nbtools.CPU_TOLERANCE, and
    each run's part E is right for its own plane. 14-pixel images keep it quick; the 1,024 digits
    and all the epochs keep it a real run."""
    if not re.search(r"x86|amd64|i\d86", platform.machine(), re.I):
        pytest.skip("the instruction sets forced here are x86's")
    runs = [nbtools.results(run({"img_size": 14}, env))
            for env in nbtools.OTHER_CPUS.values()]
    assert nbtools.differences(*runs, nbtools.CPU_TOLERANCE) == []
    assert [nbtools.part_e_problems(found) for found in runs] == [[], []]


def test_the_notebook_alone_offline_stops_at_the_data(tmp_path, offline):
    """A grader with only the .ipynb from D2L and no network: torchvision's own error, at the
    cell that loads MNIST, after the markdown that names the folder it needs."""
    shutil.copy(nbtools.NOTEBOOK, tmp_path)
    nb = nbtools.load(tmp_path / nbtools.NOTEBOOK.name)
    with pytest.raises(CellExecutionError, match="Error downloading"):
        run_notebook.execute(nb, tmp_path, parameters=SMALL)
    failed = next(i for i, c in enumerate(nb.cells)
                  if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert "datasets.MNIST(" in nb.cells[failed].source
    prose = [c.source for c in nb.cells[:failed] if c.cell_type == "markdown"]
    assert "`files/`" in prose[-1]


@pytest.mark.parametrize("n", [1, -1])
def test_a_run_is_saved_only_when_every_cell_succeeded(tmp_path, capsys, n):
    cells = [nbformat.v4.new_code_cell("import math"), nbformat.v4.new_code_cell(f"n = {n}"),
             nbformat.v4.new_code_cell("print(math.sqrt(n))")]
    cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path / "a05_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    before = path.read_bytes()
    assert run_notebook.main([str(path)]) == (0 if n > 0 else 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a05_test.ipynb"]
    if n > 0:  # saved with its output
        assert nbtools.stream_text(nbtools.load(path)) == "1.0\n"
    else:  # left as it was
        assert path.read_bytes() == before
        assert f"the run failed; {path} was left as it was" in capsys.readouterr().err


def test_the_companion_runs_the_hand_in_then_adds_its_extras(tmp_path, offline):
    """explore_latent.ipynb as a student opens it, beside the hand-in (here with the small
    settings): it prints the hand-in's answers, draws only its own two figures, and compares
    the autoencoder with PCA."""
    handin = nbtools.load()
    nbtools.set_parameters(handin, {**SMALL, "data_root": str(ROOT / "files")})
    nbformat.write(handin, str(tmp_path / nbtools.NOTEBOOK.name))
    companion = nbtools.load(nbtools.COMPANION)
    run_notebook.execute(companion, tmp_path)
    found = nbtools.results(companion)
    assert found["class"] in range(10) and 0 < found["ratio"] < 2 and 0 < found["ae_knn"] <= 1
    assert nbtools.image_count(companion) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [nbtools.NOTEBOOK.name]
