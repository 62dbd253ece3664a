"""Question 1: the formula proven numerically (tools/q1_check.py), and q1_solution.pdf as
tools/build_q1.py makes it and a grader reads it."""
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import build_q1
import nbtools
from conftest import ROOT, pdf_pages
from make_submission import read_pdf
from q1_check import (
    KERNELS,
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

PDF = ROOT / "q1_solution.pdf"
ODD_NAME = r"Ada L_ovelace & Co #1 $x$ *bold* _u_ @ref <lab> a\b"  # Typst markup, if not escaped


def keywords(path):
    return read_pdf(path).metadata["/Keywords"]


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


def test_formula_matches_central_differences(kernel_case):
    w, b, x = kernel_case
    numeric = numeric_grad(w, b, x)
    scale = np.abs(numeric).max()
    mine = formula(w, loss_grad(layer(w, b, x)))
    np.testing.assert_allclose(mine, numeric, atol=1e-6 * scale)


@pytest.mark.parametrize("name", list(KERNELS))
def test_the_unflipped_kernel_is_wrong(name):
    """The check can fail: without the flip, every kernel used gives another answer."""
    w, b, x = case(name)
    unflipped = circ(w, loss_grad(layer(w, b, x)))
    assert not np.allclose(unflipped, autograd_grad(w, b, x), rtol=1e-3, atol=1e-3)


def test_the_largest_differences_are_rounding_and_truncation():
    worst = largest_differences()
    assert worst["autograd"] < 1e-13
    assert 0 < worst["finite differences"] < 1e-7


def test_committed_pdf_is_current():
    assert keywords(PDF) == f"source-sha256:{build_q1.stamp()}", "run `make q1`"


def test_committed_pdf_has_the_answer_on_page_one():
    text = pdf_pages(PDF)
    assert 1 <= len(text) <= 2
    assert read_pdf(PDF).pages[0].mediabox[2:] == [612, 792]  # US letter
    squashed = re.sub(r"\s", "", text[0])
    assert "∇xE=w̃⊛∇zE" in squashed  # the boxed answer
    assert "∂E∂xk=∑8i=0w8−i∂E∂zk−4+i" in squashed  # its index form


def test_committed_pdf_stands_on_its_own():
    text = " ".join(" ".join(pdf_pages(PDF)).split())
    assert "w̃ ⊛ ∇zE" in text and "w8−i" in text
    for words in ("Answer", "(1)", "Chain rule", "boundaries", "bias is a constant",
                  "automatic differentiation", "finite differences", "five kernels"):
        assert words in text, words
    assert "tools/" not in text and ".py" not in text  # no pointer a marker cannot follow


def test_q1_check_prints_the_numbers_the_pdf_states():
    result = subprocess.run([sys.executable, "tools/q1_check.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    worst = largest_differences()
    assert f"{worst['autograd']:.1e}" in result.stdout
    assert f"{worst['finite differences']:.1e}" in result.stdout
    assert "the unflipped kernel disagrees with autograd for every kernel: True" in result.stdout


def test_committed_pdf_states_the_largest_differences_found():
    text = " ".join(" ".join(pdf_pages(PDF)).split())  # runs of spaces and line ends as one
    stated = [float(m) * 10.0 ** -int(e)
              for m, e in re.findall(r"(\d\.\d) × 10−(\d+)", text)]
    worst = largest_differences()
    assert len(stated) == 2, text
    for value, key in zip(stated, ["autograd", "finite differences"]):
        assert worst[key] / 10 < value < worst[key] * 10, (value, key, worst[key])


def test_committed_pdf_names_the_student_on_page_one():
    name, watiam = nbtools.student()
    first = pdf_pages(PDF)[0]
    assert name in first and watiam in first


def test_q1_rebuilds_for_another_student(tmp_path, monkeypatch):
    """The name goes in as text: characters that mean something to Typst come out as typed."""
    monkeypatch.setattr(nbtools, "student", lambda nb=None: (ODD_NAME, "alovelace"))
    out = tmp_path / "q1.pdf"
    build_q1.build(out)
    assert keywords(out) == f"source-sha256:{build_q1.stamp()}"
    assert f"{ODD_NAME} (WatIAM ID: alovelace)" in pdf_pages(out)[0]
    assert read_pdf(out).metadata["/Author"] == f"{ODD_NAME} (WatIAM ID: alovelace)"


def test_the_q1_build_is_reproducible(tmp_path):
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    build_q1.build(first)
    build_q1.build(second)
    assert first.read_bytes() == second.read_bytes()


def test_a_failed_q1_build_leaves_the_pdf_as_it_was(tmp_path, monkeypatch):
    broken = tmp_path / "q1_solution.typ"
    broken.write_text("#undefined-function-for-this-test()\n")
    monkeypatch.setattr(build_q1, "SOURCE", broken)
    out = tmp_path / "q1.pdf"
    out.write_bytes(b"the PDF from before")
    with pytest.raises(SystemExit, match="typst failed; .*q1.pdf left as it was"
                       "(.|\n)*unknown variable: undefined-function-for-this-test"):
        build_q1.build(out)
    assert out.read_bytes() == b"the PDF from before"


def test_q1_build_without_typst_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "typst", None)  # `import typst` raises ImportError
    out = tmp_path / "q1.pdf"
    out.write_bytes(b"the PDF from before")
    with pytest.raises(SystemExit, match="install it with `pip install typst`"):
        build_q1.build(out)
    assert out.read_bytes() == b"the PDF from before"
