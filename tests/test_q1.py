"""Question 1, proven numerically (tools/q1_check.py), and q1_solution.pdf as a grader reads it."""
import re

import numpy as np
import pytest
import torch

import build_q1
import make_submission
import nbtools
from conftest import ROOT, need_tools, pdf_text
from q1_check import (
    KERNELS,
    N,
    autograd_grad,
    case,
    circ,
    conv1d,
    formula,
    largest_differences,
    layer,
    loss_grad,
    numeric_grad,
)

EDGES = [0, 1, 2, 3, 46, 47, 48, 49]


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def kernel_case(request):
    return case(request.param)


def test_conv1d_is_the_assignments_operator(kernel_case):
    w, b, x = kernel_case
    np.testing.assert_allclose(conv1d(w, b, torch.tensor(x)).numpy(), layer(w, b, x), atol=1e-12)


def test_formula_matches_autograd(kernel_case):
    w, b, x = kernel_case
    mine, auto = formula(w, loss_grad(layer(w, b, x))), autograd_grad(w, b, x)
    np.testing.assert_allclose(mine, auto, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mine[EDGES], auto[EDGES], rtol=1e-10, atol=1e-10)


def test_formula_matches_central_differences(kernel_case):
    w, b, x = kernel_case
    numeric = numeric_grad(w, b, x)
    scale = np.abs(numeric).max()
    mine = formula(w, loss_grad(layer(w, b, x)))
    np.testing.assert_allclose(mine, numeric, atol=1e-6 * scale)
    np.testing.assert_allclose(mine[EDGES], numeric[EDGES], atol=1e-6 * scale)


@pytest.mark.parametrize("name", list(KERNELS))
def test_the_unflipped_kernel_is_wrong(name):
    """The check can fail: without the flip, every kernel used gives another answer."""
    w, b, x = case(name)
    unflipped = circ(w, loss_grad(layer(w, b, x)))
    assert not np.allclose(unflipped, autograd_grad(w, b, x), rtol=1e-3, atol=1e-3)


def test_bias_does_not_enter_the_formula():
    """The bias shifts z, and so dE/dz, but the map from dE/dz to dE/dx ignores it."""
    w = KERNELS["random"]
    dz = np.random.default_rng(2).normal(size=N)
    xt = torch.zeros(N, dtype=torch.float64, requires_grad=True)
    for b in (0.0, 5.0):
        xt.grad = None
        (conv1d(w, b, xt) * torch.tensor(dz)).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), formula(w, dz), atol=1e-12)


def test_matrix_form_transpose_is_the_flipped_convolution():
    w = KERNELS["random"]
    W = np.array([circ(w, e) for e in np.eye(N)]).T  # column k is the response to x = e_k
    Wf = np.array([circ(w[::-1], e) for e in np.eye(N)]).T
    np.testing.assert_allclose(W.T, Wf, atol=1e-12)


def test_the_largest_differences_are_rounding_and_truncation():
    worst = largest_differences()
    assert worst["autograd"] < 1e-13
    assert 0 < worst["finite differences"] < 1e-7


def test_committed_pdf_is_current():
    need_tools("pdfinfo")
    info = make_submission.pdf_info(ROOT / "q1_solution.pdf")
    assert f"source-sha256:{build_q1.stamp()}" in info["Keywords"], "run `make q1`"
    assert 1 <= int(info["Pages"]) <= 2


def test_committed_pdf_stands_on_its_own():
    need_tools("pdftotext")
    text = pdf_text(ROOT / "q1_solution.pdf", layout=False)
    assert "w̃ ⊛ ∇z E" in text and "w8−i" in text
    for words in ("The question", "(1)", "flipped kernel convolved with the", "Chain rule",
                  "boundaries", "bias drops out", "matrix form", "automatic differentiation",
                  "finite differences", "Five kernels"):
        assert words in text, words
    assert "tests/" not in text and ".py" not in text  # no pointers a grader cannot follow


def test_committed_pdf_states_the_largest_differences_found():
    need_tools("pdftotext")
    text = pdf_text(ROOT / "q1_solution.pdf", layout=False).replace("\n", " ")
    stated = [float(m) * 10.0 ** -int(e)
              for m, e in re.findall(r"(\d\.\d) × 10−(\d+) against", text)]
    worst = largest_differences()
    assert len(stated) == 2, text
    for value, key in zip(stated, ["autograd", "finite differences"]):
        assert worst[key] / 10 < value < worst[key] * 10, (value, key, worst[key])


def test_committed_pdf_names_the_student_on_page_one():
    need_tools("pdftotext")
    name, watiam = nbtools.student()
    first = pdf_text(ROOT / "q1_solution.pdf", layout=False).split("\f")[0]
    assert name in first and watiam in first


def test_q1_rebuilds_for_another_student(tmp_path, monkeypatch):
    need_tools("xelatex", "pdfinfo", "pdftotext")
    monkeypatch.setattr(nbtools, "student", lambda nb=None: ("Ada L_ovelace & Co", "alovelace"))
    out = tmp_path / "q1.pdf"
    build_q1.build(out)
    assert build_q1.stamp() in make_submission.pdf_info(out)["Keywords"]
    assert "Ada L_ovelace & Co" in pdf_text(out, layout=False).split("\f")[0]
