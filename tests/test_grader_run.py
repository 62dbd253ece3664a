"""The grader's run: restart the kernel and run every cell, here with small settings, offline."""
import re
import shutil

import pytest
from nbclient.exceptions import CellExecutionError

import nbtools
import run_notebook
from conftest import SMALL


def outputs(nb):
    return [o for c in nbtools.code_cells(nb) for o in c.get("outputs", [])]


def test_every_cell_runs_without_error(small_run):
    nb = small_run["nb"]
    assert not [o for o in outputs(nb) if o.output_type == "error"]
    counts = [c.execution_count for c in nbtools.code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))


def test_the_small_settings_took_effect(small_run):
    text = nbtools.stream_text(small_run["nb"])
    assert "images: 14x14 = 196 pixels" in text
    assert "we train on 300" in text and "25 epochs of 300 digits" in text


def test_every_figure_is_drawn(small_run):
    # loss curve, C scatter, D reconstructions, E decoded points, E stars, map, path
    assert nbtools.image_count(small_run["nb"]) == 7


def test_part_e_and_the_evaluation_print_their_choices(small_run):
    text = nbtools.stream_text(small_run["nb"])
    assert "chosen class:" in text and "A = (" in text and "neighbours by class:" in text
    assert "held-out 5-NN accuracy" in text and "x that of PCA-2" in text


def test_the_run_needed_no_download_and_changed_no_data(small_run):
    assert small_run["files_after"] == small_run["files_before"]


def test_the_notebook_alone_offline_says_what_is_missing(tmp_path, offline):
    """A grader with only the .ipynb from D2L, and no network: the data cell stops with a
    message that names the missing folder, the cause and the fixes, and leaves no folders."""
    alone = tmp_path / "a05_jorchard.ipynb"
    shutil.copy(nbtools.NOTEBOOK, alone)
    nb = nbtools.load(alone)
    with pytest.raises(CellExecutionError) as err:
        run_notebook.execute(nb, tmp_path, parameters=SMALL)
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(err.value))  # without the colours
    assert "RuntimeError: No MNIST digits: there is no folder files/ in" in message
    assert "Connection refused" in message or "urlopen error" in message
    assert "next to the notebook" in message and "internet access" in message
    assert "Traceback" not in message.split("RuntimeError: No MNIST")[1]  # no chained errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a05_jorchard.ipynb"]
    failed = [c for c in nbtools.code_cells(nb)
              if any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "load_mnist(data_root" in failed[0].source  # at the data
