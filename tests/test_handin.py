"""What the student hands in: the notebook's PDF made the student's way (Jupyter's "Download as
PDF", nbconvert's default LaTeX template), q1_solution.pdf, and the executed .ipynb."""
import base64
import io
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from PIL import Image

import build_q1
import export_pdf
import make_submission
import nbtools
from conftest import NAME, ROOT, need_tools, pdf_text, repository_copy, set_student

TEXT_WIDTH = 6.5  # inches: letter paper with the template's 1-inch margins
MAX_WIDTH, MAX_HEIGHT = 0.9 * TEXT_WIDTH, 0.9 * 11  # the template's \adjustimage limits


@pytest.fixture(scope="module")
def named_copy(tmp_path_factory):
    """The repository as a student hands it in: a copy with a real name on the student line,
    and q1_solution.pdf rebuilt for it by `make q1`."""
    need_tools("xelatex", "pandoc", "pdfimages", "pdftotext", "pdftoppm")
    dest = repository_copy(tmp_path_factory.mktemp("student"))
    notebook = dest / nbtools.NOTEBOOK.name
    set_student(notebook, NAME)
    assert nbtools.student(nbtools.load(notebook)) == (NAME, "jorchard")
    subprocess.run([sys.executable, "tools/build_q1.py"], cwd=dest, check=True,
                   capture_output=True)
    return dest


@pytest.fixture(scope="module")
def handin(named_copy):
    """`make submission` in that copy: its summary, and the folder it made."""
    result = subprocess.run([sys.executable, "tools/make_submission.py"], cwd=named_copy,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout, named_copy / "submission"


@pytest.fixture(scope="module")
def submission(handin):
    return handin[1]


@pytest.fixture(scope="module")
def nb_pdf(submission):
    return submission / "a05_jorchard.pdf"


def test_the_folder_holds_exactly_the_three_files(submission, named_copy, handin):
    assert sorted(p.name for p in submission.iterdir()) == [
        "a05_jorchard.ipynb", "a05_jorchard.pdf", "q1_solution.pdf"]
    for name in ("a05_jorchard.ipynb", "q1_solution.pdf"):
        assert (submission / name).read_bytes() == (named_copy / name).read_bytes()
    summary = handin[0]
    assert f"for {NAME} (jorchard)" in summary and "-> D2L" in summary
    assert "placeholder" not in summary


def test_refuses_the_placeholder_name_and_says_what_to_do(tmp_path, monkeypatch):
    """A notebook that still says "Your Name": nothing is built, and the message says where the
    name goes and what to run next."""
    notebook = tmp_path / nbtools.NOTEBOOK.name
    notebook.write_bytes(nbtools.NOTEBOOK.read_bytes())
    set_student(notebook, nbtools.PLACEHOLDER_NAME)
    monkeypatch.setattr(nbtools, "NOTEBOOK", notebook)
    out = tmp_path / "submission"
    with pytest.raises(SystemExit, match=r"(?s)placeholder 'Your Name'.*\*\*Student:\*\* Your "
                                         r"Name \(WatIAM ID: yourid\).*tools/build_q1.py.*"
                                         r"tools/make_submission.py"):
        make_submission.main(["--out", str(out)])
    assert not out.exists()


def test_make_pdf_notes_the_placeholder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export_pdf, "export", lambda *args: ("latex", None))
    notebook = tmp_path / nbtools.NOTEBOOK.name
    for name, noted in [(nbtools.PLACEHOLDER_NAME, True), (NAME, False)]:
        notebook.write_bytes(nbtools.NOTEBOOK.read_bytes())
        set_student(notebook, name)
        export_pdf.main([str(notebook), "--out", str(tmp_path / "x.pdf")])
        said = capsys.readouterr().out
        assert ("note: the name on the PDFs is still the placeholder" in said) == noted


def test_notebook_pdf_has_every_figure_and_section(nb_pdf):
    assert make_submission.pdf_image_count(nb_pdf) == nbtools.image_count(nbtools.load())
    lines = [" ".join(line.split()) for line in pdf_text(nb_pdf).splitlines()]
    for heading in ("A. The autoencoder MyAE", "B. Training on 1,024 digits",
                    "C. The latent space", "D. One reconstruction per class",
                    "E. Exploring the latent space"):
        assert heading in lines, heading  # a line of its own: no section number before it
    words = " ".join(lines)
    assert "C = (" in words and "held-out" not in words  # the extras are not handed in
    assert "setcounter" not in words


def test_page_one_has_the_title_once_and_the_student(nb_pdf, submission):
    name, watiam = NAME, "jorchard"
    for pdf in (nb_pdf, submission / "q1_solution.pdf"):
        first = " ".join(make_submission.first_page_text(pdf).split())
        assert name in first and watiam in first, pdf.name
    first = " ".join(make_submission.first_page_text(nb_pdf).split())
    assert first.count("Question 2") == 1


def test_part_b_settings_are_one_line(nb_pdf):
    lines = [line.strip() for line in pdf_text(nb_pdf).splitlines()
             if line.strip().startswith("Adam, lr")]
    assert len(lines) == 1 and "batch size" in lines[0] and "epochs, noise" in lines[0]
    assert "x_train (1024, 784) by class" in pdf_text(nb_pdf)


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


def test_figures_are_sharp_and_show_at_their_size_on_screen(nb):
    """Each figure is stored at twice the resolution of its on-screen size (Jupyter's 'retina'
    format), 200 pixels per inch, with the width and height to show it at in the metadata."""
    outputs = [out for c in nbtools.code_cells(nb) for out in c.get("outputs", [])
               if "image/png" in out.get("data", {})]
    assert len(outputs) == 3
    for out in outputs:
        png = Image.open(io.BytesIO(base64.b64decode(out.data["image/png"])))
        shown = out.metadata["image/png"]
        assert abs(png.width - 2 * shown["width"]) <= 1
        assert abs(png.height - 2 * shown["height"]) <= 1
        assert round(png.info["dpi"][0]) == 200


def test_every_figure_is_embedded_at_200_ppi_or_more(nb_pdf):
    listing = subprocess.run(["pdfimages", "-list", str(nb_pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    ppi = [(int(row.split()[12]), int(row.split()[13])) for row in listing
           if row.split()[2] == "image"]
    assert len(ppi) == 3 and all(min(p) >= 200 for p in ppi), ppi


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
    shares = [empty_share(p) for p in pages[:-1]]
    assert sum(s > 0.4 for s in shares) <= 1, [f"{s:.0%}" for s in shares]


def test_a_marker_reads_at_most_8_pages_and_part_e_on_one(nb_pdf):
    """Part E's printed points and its figure (the stars and the decoded images) share a page,
    so a marker never turns a page to match them."""
    pages = int(make_submission.pdf_info(nb_pdf)["Pages"])
    assert pages <= 8
    listing = subprocess.run(["pdfimages", "-list", str(nb_pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    figures = [int(row.split()[0]) for row in listing if row.split()[2] == "image"]
    printed = [p for p in range(1, pages + 1)
               if "C = (" in pdf_text(nb_pdf, pages=(p, p))]
    assert len(figures) == 3 and printed == [figures[2]], (printed, figures)


def test_no_definition_and_no_printout_is_split_over_a_page_break(nb_pdf):
    """Every line of each definition cell, and of each cell's printout, is on one page."""
    pages = [pdf_text(nb_pdf, pages=(p, p)).replace(" ", "")
             for p in range(1, int(make_submission.pdf_info(nb_pdf)["Pages"]) + 1)]
    nb = nbtools.load()
    blocks = [c.source for c in nbtools.definition_cells(nbtools.code_cells(nb))]
    blocks += [o.text for c in nbtools.code_cells(nb) for o in c.outputs if "text" in o]
    for block in blocks:
        lines = [line.replace(" ", "") for line in block.splitlines() if line.strip()]
        assert any(all(line in page for line in lines) for page in pages), lines[0]


def test_the_companion_exports_too(tmp_path):
    """explore_latent.ipynb, not handed in, still exports the student's way."""
    need_tools("xelatex", "pandoc", "pdftotext")
    pdf = tmp_path / "explore_latent.pdf"
    assert export_pdf.export(nbtools.COMPANION, pdf, "latex") == ("latex", None)
    words = " ".join(pdf_text(pdf).split())
    assert "not part of the hand-in" in words and "held-out MSE of the autoencoder" in words
    assert make_submission.pdf_image_count(pdf) == 2


def test_empty_share_sees_a_half_empty_page(tmp_path):
    """The measure itself: a page marked down to the middle of its text area is half empty."""
    page = np.full((220, 170), 255, dtype=np.uint8)
    page[20:110, 30:140] = 0
    Image.fromarray(page).save(tmp_path / "half.png")
    assert empty_share(tmp_path / "half.png") == pytest.approx(0.5, abs=0.02)


def test_refuses_a_notebook_that_was_not_run(tmp_path, monkeypatch):
    nb = nbtools.load()
    for cell in nbtools.code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    stale = tmp_path / "a05_jorchard.ipynb"
    nbformat.write(nb, str(stale))
    monkeypatch.setattr(nbtools, "NOTEBOOK", stale)
    existing = tmp_path / "submission"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not ready to hand in.*tools/run_notebook.py"):
        make_submission.main(["--out", str(existing)])
    assert (existing / "mine.txt").read_text() == "keep me"


def test_refuses_pdfs_without_the_student(tmp_path, monkeypatch):
    q1 = ROOT / "q1_solution.pdf"
    with pytest.raises(SystemExit, match="page 1 of q1_solution.pdf lacks Ada Lovelace and "
                                         "alovelace"):
        make_submission.check_identity(q1, "Ada Lovelace", "alovelace")
    make_submission.check_identity(q1, *nbtools.student())  # the real one passes
    stamp = build_q1.stamp()
    monkeypatch.setattr(nbtools, "student", lambda nb=None: ("Ada Lovelace", "alovelace"))
    out = tmp_path / "submission"
    with pytest.raises(SystemExit, match="q1_solution.pdf was not built .* tools/build_q1.py"):
        make_submission.main(["--out", str(out)])  # a new name makes the Q1 PDF stale
    monkeypatch.setattr(build_q1, "stamp", lambda student=None: stamp)
    with pytest.raises(SystemExit, match="page 1 of q1_solution.pdf lacks Ada Lovelace"):
        make_submission.main(["--out", str(out)])  # and its page 1 is checked too
    assert not out.exists()


def test_a_failed_export_leaves_the_pdf_as_it_was(tmp_path):
    need_tools("xelatex", "pandoc")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "**Student:** Ada (WatIAM ID: ada)\n\n\\undefinedcommandforthistest")])
    nb.metadata[nbtools.METADATA_KEY] = {"code_sha256": nbtools.source_digest(nb)}
    notebook, out = tmp_path / "broken.ipynb", tmp_path / "broken.pdf"
    nbformat.write(nb, str(notebook))
    out.write_bytes(b"the PDF from before")
    with pytest.raises(SystemExit, match="the export failed; .*broken.pdf left as it was"):
        export_pdf.export(notebook, out)
    assert out.read_bytes() == b"the PDF from before"
