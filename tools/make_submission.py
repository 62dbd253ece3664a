"""Check and collect the hand-in files in submission/.

    python tools/make_submission.py [--out DIR] [--route latex|browser] [--browser PATH]

The notebook's PDF is made as tools/export_pdf.py makes it (LaTeX where it is installed, else a
Chrome, Chromium, Brave or Edge browser); the PDFs are checked with pypdf, so nothing beyond
pip's packages and a browser is needed.

Crowdmark takes q1_solution.pdf and a05_jorchard.pdf; D2L takes a05_jorchard.ipynb. Every file
is checked first, and the folder is replaced only when all checks pass.
"""
import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pypdf

import build_q1
import export_pdf
import nbtools

ROOT = nbtools.ROOT


def read_pdf(path):
    """The PDF opened with pypdf (pure Python: no poppler needed), or SystemExit."""
    try:
        return pypdf.PdfReader(str(path))
    except (OSError, pypdf.errors.PdfReadError) as err:
        raise SystemExit(f"{path} does not open as a PDF: {err}") from None


def pdf_info(path):
    """The page count and the keywords of a PDF, as {"Pages": n, "Keywords": text}."""
    pdf = read_pdf(path)
    return {"Pages": len(pdf.pages), "Keywords": (pdf.metadata or {}).get("/Keywords", "")}


def pdf_image_count(path):
    return sum(len(page.images) for page in read_pdf(path).pages)


def first_page_text(path):
    return read_pdf(path).pages[0].extract_text()


def check_identity(path, name, watiam):
    """SystemExit unless page 1 of the PDF names the student and gives the WatIAM ID."""
    text = " ".join(first_page_text(path).split())
    missing = [what for what in (name, watiam) if " ".join(what.split()) not in text]
    if missing:
        raise SystemExit(f"page 1 of {path.name} lacks {' and '.join(missing)}; set the "
                         f"{nbtools.STUDENT_FORMAT} line in the notebook, then rebuild")


def check_pdf(path, pages, images=0):
    """Page count within pages=(lo, hi) and at least `images` pictures, or SystemExit."""
    info = pdf_info(path)
    n = int(info["Pages"])
    if not pages[0] <= n <= pages[1]:
        raise SystemExit(f"{path.name} has {n} pages; expected {pages[0]} to {pages[1]}")
    found = pdf_image_count(path)
    if found < images:
        raise SystemExit(f"{path.name} holds {found} images; expected at least {images}")
    return info, n, found


def build(out, route=None, browser=None):
    nb = nbtools.load()
    problems = nbtools.structure_problems(nb) + nbtools.run_problems(nb)
    if problems:
        raise SystemExit("the notebook is not ready to hand in (fix it, then run it: "
                         "python tools/run_notebook.py):\n  - "
                         + "\n  - ".join(problems))
    figures = nbtools.image_count(nb)
    q1 = ROOT / "q1_solution.pdf"
    if not q1.is_file():
        raise SystemExit("q1_solution.pdf is missing; build it: python tools/build_q1.py")
    name, watiam = nbtools.student(nb)
    if name == nbtools.PLACEHOLDER_NAME:
        raise SystemExit(nbtools.placeholder_note())
    info, q1_pages, _ = check_pdf(q1, (1, 2))
    if f"source-sha256:{build_q1.stamp((name, watiam))}" not in info.get("Keywords", ""):
        raise SystemExit("q1_solution.pdf was not built from the current tools/q1_solution.typ,"
                         " tools/q1_check.py and student line; rebuild it: "
                         "python tools/build_q1.py")
    check_identity(q1, name, watiam)
    route, browser = export_pdf.choose_route(route, browser)  # before anything is made
    staging = Path(tempfile.mkdtemp(dir=out.parent))  # becomes `out` once all is checked
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # a folder's usual permissions, not mkdtemp's private ones
    try:
        shutil.copy(nbtools.NOTEBOOK, staging)
        shutil.copy(q1, staging)
        pdf = staging / "a05_jorchard.pdf"
        export_pdf.export(nbtools.NOTEBOOK, pdf, route, browser)
        _, nb_pages, nb_images = check_pdf(pdf, (4, 40), images=figures)
        check_identity(pdf, name, watiam)
    except BaseException:
        shutil.rmtree(staging)
        raise
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    rows = [("a05_jorchard.ipynb", f"executed, {figures} figures", "D2L"),
            ("a05_jorchard.pdf", f"{nb_pages} pages, {nb_images} images",
             "Crowdmark (Question 2)"),
            ("q1_solution.pdf", f"{q1_pages} pages", "Crowdmark (Question 1)")]
    print(f"{out}/ is ready, for {name} ({watiam}); a05_jorchard.pdf "
          f"{nbtools.route_taken(route, browser)}:")
    for file, what, where in rows:
        print(f"  {file:<20}{what:<22}-> {where}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "submission")
    nbtools.add_route_options(parser)
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.route, args.browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
