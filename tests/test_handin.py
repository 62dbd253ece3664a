"""What the student hands in: the notebook's PDF made the student's way (Jupyter's "Download as
PDF", nbconvert's default LaTeX template), q1_solution.pdf, and the executed .ipynb."""
import base64
import io
import subprocess

import nbformat
import numpy as np
import pytest
from PIL import Image

import build_q1
import make_submission
import nbtools
from conftest import ROOT, need_tools, pdf_text

TEXT_WIDTH = 6.5  # inches: letter paper with the template's 1-inch margins
MAX_WIDTH, MAX_HEIGHT = 0.9 * TEXT_WIDTH, 0.9 * 11  # the template's \adjustimage limits


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    need_tools("xelatex", "pandoc", "pdfinfo", "pdfimages", "pdftotext", "pdftoppm")
    out = tmp_path_factory.mktemp("handin") / "submission"
    make_submission.main(["--out", str(out)])
    return out


@pytest.fixture(scope="module")
def nb_pdf(submission):
    return submission / "a05_jorchard.pdf"


def test_the_folder_holds_exactly_the_three_files(submission):
    assert sorted(p.name for p in submission.iterdir()) == [
        "a05_jorchard.ipynb", "a05_jorchard.pdf", "q1_solution.pdf"]
    assert (submission / "a05_jorchard.ipynb").read_bytes() == nbtools.NOTEBOOK.read_bytes()
    assert (submission / "q1_solution.pdf").read_bytes() == (ROOT / "q1_solution.pdf").read_bytes()


def test_notebook_pdf_has_every_figure_and_section(nb_pdf):
    assert make_submission.pdf_image_count(nb_pdf) == nbtools.image_count(nbtools.load())
    words = " ".join(pdf_text(nb_pdf).split())
    for heading in ("1 A. The autoencoder", "2 B. Training", "3 C. The latent space",
                    "4 D. One reconstruction per class", "5 E. Exploring the latent space",
                    "How good is the embedding?"):
        assert heading in words, heading
    assert "chosen class:" in words and "held-out 5-NN accuracy" in words


def test_page_one_has_the_title_once_and_the_student(nb_pdf, submission):
    name, watiam = nbtools.student()
    for pdf in (nb_pdf, submission / "q1_solution.pdf"):
        first = " ".join(make_submission.first_page_text(pdf).split())
        assert name in first and watiam in first, pdf.name
    first = " ".join(make_submission.first_page_text(nb_pdf).split())
    assert first.count("Question 2") == 1


def test_markdown_math_renders(nb_pdf):
    words = pdf_text(nb_pdf)
    assert "⊛" in words  # \circledast in the Question 1 note
    assert "$" not in "".join(line for line in words.splitlines() if "⊛" in line)


def test_progress_bar_is_one_clean_line(nb_pdf):
    lines = [line for line in pdf_text(nb_pdf).splitlines() if "training:" in line]
    assert len(lines) == 1 and "100%" in lines[0]


def test_no_code_line_wraps(nb_pdf):
    """The template marks a code line it had to break with ↪ (and a broken space with ␣)."""
    text = pdf_text(nb_pdf)
    assert "↪" not in text and "␣" not in text
    words = text.replace(" ", "")
    for cell in nbtools.code_cells(nbtools.load()):
        for line in cell.source.splitlines():
            assert line.replace(" ", "") in words, line


def png_sizes(nb):
    """(width, height) in inches of every figure the notebook holds, from pixels and dpi."""
    sizes = []
    for cell in nbtools.code_cells(nb):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                png = Image.open(io.BytesIO(base64.b64decode(out.data["image/png"])))
                dpi = png.info.get("dpi", (72, 72))[0]
                sizes.append((png.width / dpi, png.height / dpi, dpi))
    return sizes


def test_every_figure_prints_at_least_0_7_of_its_size(nb_pdf):
    """The template shrinks a figure to 0.9 of the text width; text drawn at matplotlib's
    10 pt then prints at 10 pt times the scale, so 0.7 keeps it at 7 pt or more."""
    sizes = png_sizes(nbtools.load())
    listing = subprocess.run(["pdfimages", "-list", str(nb_pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    placed = [float(row.split()[12]) for row in listing if row.split()[2] == "image"]
    assert len(placed) == len(sizes)
    for (width, height, dpi), ppi in zip(sizes, placed):
        scale = min(1, MAX_WIDTH / width, MAX_HEIGHT / height)
        assert scale >= 0.7, f"a {width:.1f} x {height:.1f} in figure prints at {scale:.2f}"
        assert dpi / ppi == pytest.approx(scale, rel=0.03)  # the PDF agrees


def empty_share(page):
    """The share of a page's text area, below its last mark, that is blank."""
    a = np.asarray(Image.open(page).convert("L"))
    top, bottom = a.shape[0] // 11, a.shape[0] * 10 // 11  # 1-inch margins, page number out
    marked = np.flatnonzero((a[top:bottom] < 200).any(1))
    return 1 - (marked.max() + 1 if len(marked) else 0) / (bottom - top)


def test_at_most_one_page_before_the_end_is_mostly_empty(nb_pdf, tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "20", str(nb_pdf), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) <= 24
    shares = [empty_share(p) for p in pages[:-1]]
    assert sum(s > 0.4 for s in shares) <= 1, [f"{s:.0%}" for s in shares]


def test_empty_share_sees_a_half_empty_page(tmp_path):
    """The measure itself: a page marked down to the middle of its text area is half empty."""
    page = np.full((220, 170), 255, dtype=np.uint8)
    page[20:110, 30:140] = 0
    Image.fromarray(page).save(tmp_path / "half.png")
    assert empty_share(tmp_path / "half.png") == pytest.approx(0.5, abs=0.02)


def test_refuses_a_notebook_that_was_not_run(tmp_path, monkeypatch):
    need_tools("pdfinfo", "pdfimages", "pdftotext")
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


def test_refuses_pdfs_without_the_student(tmp_path, monkeypatch):
    need_tools("pdfinfo", "pdfimages", "pdftotext")
    q1 = ROOT / "q1_solution.pdf"
    with pytest.raises(SystemExit, match="page 1 of q1_solution.pdf lacks Ada Lovelace and "
                                         "alovelace"):
        make_submission.check_identity(q1, "Ada Lovelace", "alovelace")
    make_submission.check_identity(q1, *nbtools.student())  # the real one passes
    stamp = build_q1.stamp()
    monkeypatch.setattr(nbtools, "student", lambda nb=None: ("Ada Lovelace", "alovelace"))
    out = tmp_path / "submission"
    with pytest.raises(SystemExit, match="q1_solution.pdf was not built .* run `make q1`"):
        make_submission.main(["--out", str(out)])  # a new name makes the Q1 PDF stale
    monkeypatch.setattr(build_q1, "stamp", lambda student=None: stamp)
    with pytest.raises(SystemExit, match="page 1 of q1_solution.pdf lacks Ada Lovelace"):
        make_submission.main(["--out", str(out)])  # and its page 1 is checked too
    assert not out.exists()
