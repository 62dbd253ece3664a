"""Question 1: the formula proven numerically (tools/q1_check.py), and q1_solution.pdf as
tools/build_q1.py makes it and a grader reads it."""
import contextlib
import io
import re
import runpy
import sys

import numpy as np
import pytest
import torch

import build_q1
import nbtools
from conftest import ROOT, pdf_pages
from make_submission import read_pdf

PDF = ROOT / "q1_solution.pdf"
ODD_NAME = r"Ada L_ovelace & Co #1 $x$ *bold* _u_ @ref <lab> a\b"  # Typst markup, if not escaped
PRINTED = r"^(\w+) kernel: largest difference from autograd (\S+)$"


def keywords(path):
    return read_pdf(path).metadata["/Keywords"]


@pytest.fixture(scope="module")
def check():
    """tools/q1_check.py run in this process (build_q1 runs it in its own): what it defines,
    and what it prints. It sets torch's default dtype and seed; both are put back for the
    tests that follow."""
    printed, dtype = io.StringIO(), torch.get_default_dtype()
    with torch.random.fork_rng(), contextlib.redirect_stdout(printed):
        found = runpy.run_path(str(build_q1.CHECK))
    torch.set_default_dtype(dtype)
    return found, dict(re.findall(PRINTED, printed.getvalue(), flags=re.M))


def test_conv_is_the_assignments_operator(check):
    """np.convolve with the kernel reversed, cut to 50 outputs: sum_i w_i x_(j-4+i), with x
    zero outside 0..49."""
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=9), rng.normal(size=50)
    mine = check[0]["conv"](torch.tensor(w), torch.tensor(x)).numpy()
    np.testing.assert_allclose(mine, np.convolve(x, w[::-1], "same"), atol=1e-12)


def test_the_flipped_kernel_agrees_with_autograd_and_the_unflipped_does_not(check):
    printed = check[1]
    assert float(printed["flipped"]) < 1e-12 and float(printed["unflipped"]) > 1


def test_the_formula_agrees_with_central_differences(check):
    """Apart from autograd: the script's layer and loss, differentiated numerically."""
    g = check[0]
    w, b, x, conv = g["w"], g["b"], g["x"].detach(), g["conv"]

    def loss(v):
        z = b + conv(w, v)
        return float((torch.sin(z) + z**2 / 2).sum())

    h = 1e-6
    numeric = torch.tensor([(loss(x + h * e) - loss(x - h * e)) / (2 * h)
                            for e in torch.eye(50, dtype=torch.float64)], dtype=torch.float64)
    formula = conv(w.flip(0), g["dE_dz"])
    torch.testing.assert_close(formula, numeric, atol=1e-6 * numeric.abs().max(), rtol=0)


def test_committed_pdf_is_current():
    assert keywords(PDF) == f"source-sha256:{build_q1.stamp()}", "run python tools/build_q1.py"


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
    for words in ("Answer", "(1)", "Chain rule", "edges", "bias is a constant",
                  "automatic differentiation", "It prints"):
        assert words in text, words
    assert "tools/" not in text and ".py" not in text  # no pointer a marker cannot follow


def test_committed_pdf_shows_the_check_and_what_it_printed(check):
    text = " ".join(" ".join(pdf_pages(PDF)).split())
    assert "return torch.stack([sum(w[i] * v[j + i]" in text  # the code that ran
    shown = dict(re.findall(PRINTED.strip("^$"), text))
    assert float(shown["flipped"]) < 1e-12  # its last digits are the CPU's rounding
    assert shown["unflipped"] == check[1]["unflipped"]


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
