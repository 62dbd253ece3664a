"""What the student hands in: the notebook as a PDF, q1_solution.pdf, and the executed .ipynb."""
import re

import nbformat
import pytest

import make_submission
import nbtools
from conftest import ROOT, need_tools, pdf_text


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    need_tools("xelatex", "pandoc", "pdfinfo", "pdfimages", "pdftotext", "pdftoppm")
    out = tmp_path_factory.mktemp("handin") / "submission"
    make_submission.main(["--out", str(out)])
    return out


def test_the_folder_holds_exactly_the_three_files(submission):
    assert sorted(p.name for p in submission.iterdir()) == [
        "a05_jorchard.ipynb", "a05_jorchard.pdf", "q1_solution.pdf"]
    assert (submission / "a05_jorchard.ipynb").read_bytes() == nbtools.NOTEBOOK.read_bytes()
    assert (submission / "q1_solution.pdf").read_bytes() == (ROOT / "q1_solution.pdf").read_bytes()


def test_notebook_pdf_has_every_figure_and_section(submission):
    pdf = submission / "a05_jorchard.pdf"
    assert make_submission.pdf_image_count(pdf) == nbtools.image_count(nbtools.load())
    words = pdf_text(pdf)
    for heading in ("A. The autoencoder", "B. Training", "C. The latent space",
                    "D. One reconstruction per class", "E. Exploring the latent space",
                    "How good is the embedding?"):
        assert heading in words, heading
    assert "chosen class:" in words and "held-out 5-NN accuracy" in words


def test_markdown_math_renders(submission):
    words = pdf_text(submission / "a05_jorchard.pdf")
    assert "⊛" in words  # \circledast in the Question 1 note
    assert "$" not in "".join(line for line in words.splitlines() if "⊛" in line)


def test_progress_bar_is_one_clean_line(submission):
    lines = [line for line in pdf_text(submission / "a05_jorchard.pdf").splitlines()
             if "training:" in line]
    assert len(lines) == 1 and "100%" in lines[0]


def test_code_stays_on_the_page(submission):
    """No code line is cut at the right margin: long lines wrap onto a continuation line
    (marked ↪, a broken space as ␣), so once joined every source line's end is in the text."""
    words = re.sub(r"␣?\n\s*↪", "", pdf_text(submission / "a05_jorchard.pdf")).replace(" ", "")
    for cell in nbtools.code_cells(nbtools.load()):
        for line in cell.source.splitlines():
            tail = line.strip().replace(" ", "")[-12:]
            assert tail in words, line


def test_refuses_a_notebook_that_was_not_run(tmp_path, monkeypatch):
    need_tools("pdfinfo", "pdfimages")
    nb = nbtools.load()
    for cell in nbtools.code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    stale = tmp_path / "a05_jorchard.ipynb"
    nbformat.write(nb, str(stale))
    monkeypatch.setattr(nbtools, "NOTEBOOK", stale)
    existing = tmp_path / "submission"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not ready to hand in.*make run"):
        make_submission.main(["--out", str(existing)])
    assert (existing / "mine.txt").read_text() == "keep me"
