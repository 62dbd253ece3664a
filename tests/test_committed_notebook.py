"""The notebook as committed: one clean top-to-bottom run of its current code, with outputs."""
import re

import pytest

import nbtools


@pytest.fixture(scope="module")
def text(nb):
    return nbtools.stream_text(nb)


def test_saved_after_one_fresh_run_of_the_current_code(nb):
    assert nbtools.run_problems(nb) == []


def test_every_figure_is_there(nb):
    assert nbtools.image_count(nb) == 7


def test_it_trained_on_1024_full_size_digits(text):
    assert "images: 28x28 = 784 pixels" in text
    assert "we train on 1024" in text
    assert "per class: [103, 103, 103, 103, 102, 102, 102, 102, 102, 102]" in text


def test_progress_bar_left_one_clean_line(nb):
    bars = [o.text for c in nbtools.code_cells(nb) for o in c.get("outputs", [])
            if o.output_type == "stream" and "training:" in o.text]
    assert len(bars) == 1 and "\r" not in bars[0]
    assert sum("training:" in line for line in bars[0].splitlines()) == 1
    assert "100%" in bars[0] and "loss=" in bars[0]


def test_saved_results_beat_pca(text):
    table = dict(re.findall(r"^(held-out MSE|held-out 5-NN accuracy)\s+([\d.]+)\s+[\d.]+$",
                            text, flags=re.M))
    ratio = float(re.search(r"autoencoder: ([\d.]+) x that of PCA-2", text).group(1))
    assert ratio <= 0.80
    assert float(table["held-out 5-NN accuracy"]) >= 0.70
