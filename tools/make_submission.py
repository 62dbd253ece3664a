"""Check the hand-in and collect its three files in submission/, named after the student.

    python tools/make_submission.py [--out DIR] [--route latex|browser] [--browser PATH]

With the WatIAM ID `id` on the notebook's student line, submission/ gets a05_id.ipynb (for
D2L), a05_id.pdf and q1_solution.pdf (for Crowdmark). The notebook's PDF is made as
tools/export_pdf.py makes it; the PDFs are checked with pypdf. The folder is replaced only when
every check passes.
"""
import argparse
import shutil
import sys
from pathlib import Path

import pypdf

import build_q1
import export_pdf
import nbtools


def read_pdf(path):
    """The PDF opened with pypdf, or SystemExit."""
    try:
        return pypdf.PdfReader(str(path))
    except (OSError, pypdf.errors.PdfReadError) as err:
        raise SystemExit(f"{path} does not open as a PDF: {err}") from None


def check_pdf(path, name, watiam, images=0):
    """The PDF's page count, or SystemExit unless page 1 names the student and it holds at least
    `images` pictures."""
    pdf = read_pdf(path)
    first = " ".join(pdf.pages[0].extract_text().split())
    missing = [what for what in (name, watiam) if " ".join(what.split()) not in first]
    if missing:
        raise SystemExit(f"page 1 of {path.name} lacks {' and '.join(missing)}; set the "
                         f"{nbtools.STUDENT_FORMAT} line in the notebook, then rebuild")
    found = sum(len(page.images) for page in pdf.pages)
    if found < images:
        raise SystemExit(f"{path.name} holds {found} images; expected {images}")
    return len(pdf.pages)


def build(out, route=None, browser=None):
    nb = nbtools.load()
    problems = nbtools.structure_problems(nb) + nbtools.run_problems(nb)
    if problems:
        raise SystemExit("the notebook is not ready to hand in (fix it, then run it: "
                         "python tools/run_notebook.py):\n  - " + "\n  - ".join(problems))
    if not {"img_size": 28, "n_digits": 1024}.items() <= nbtools.parameters(nb).items():
        raise SystemExit("the run was a quick trial: set img_size = 28 and n_digits = 1024 as the"
                         " assignment asks, then run it: python tools/run_notebook.py")
    name, watiam = nbtools.student(nb)
    if nbtools.placeholder(nb):
        raise SystemExit(nbtools.placeholder_note())
    q1 = nbtools.ROOT / "q1_solution.pdf"
    if not q1.is_file():
        raise SystemExit("q1_solution.pdf is missing; build it: python tools/build_q1.py")
    if read_pdf(q1).metadata.get("/Keywords") != f"source-sha256:{build_q1.stamp()}":
        raise SystemExit("q1_solution.pdf was not built from the current tools/q1_solution.typ,"
                         " tools/q1_check.py and student line; run python tools/build_q1.py")
    q1_pages = check_pdf(q1, name, watiam)
    route, browser = export_pdf.choose_route(route, browser)  # before anything is made
    staging = out.with_name(out.name + ".partial")  # becomes `out` once all is checked
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    stem = f"a05_{watiam}"
    try:
        shutil.copy(nbtools.NOTEBOOK, staging / f"{stem}.ipynb")
        shutil.copy(q1, staging)
        export_pdf.export(nbtools.NOTEBOOK, staging / f"{stem}.pdf", route, browser)
        pages = check_pdf(staging / f"{stem}.pdf", name, watiam, nbtools.image_count(nb))
    except BaseException:
        shutil.rmtree(staging)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    print(f"{out}/ is ready, for {name} ({watiam}); {stem}.pdf "
          f"{export_pdf.route_taken(route, browser)}:\n  {stem}.ipynb -> D2L\n  {stem}.pdf "
          f"({pages} pages) -> Crowdmark, Question 2\n  q1_solution.pdf ({q1_pages} pages) "
          "-> Crowdmark, Question 1")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=nbtools.ROOT / "submission")
    export_pdf.add_route_options(parser)
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.route, args.browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
