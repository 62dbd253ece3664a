"""Build q1_solution.pdf from tools/q1_solution.typ with Typst (the `typst` package from PyPI).

The student's name and WatIAM ID come from the notebook's **Student:** line, and the largest
differences of the numerical check from tools/q1_check.py; they go into the document as
sys.inputs, which Typst sets as plain text. A stamp, the SHA-256 of everything the PDF is built
from, goes into the PDF's keywords, so tools/make_submission.py and the tests can tell whether
the PDF is current. The PDF carries no date and uses only the fonts inside the typst package, so
the same inputs give the same bytes. The PDF is replaced only when the build succeeds.
"""
import hashlib
import sys
from pathlib import Path

import nbtools
import q1_check

ROOT = nbtools.ROOT
SOURCE = ROOT / "tools" / "q1_solution.typ"
PDF = ROOT / "q1_solution.pdf"


def stamp(student=None):
    """SHA-256 of the source, the numerical check and the student line."""
    name, watiam = student or nbtools.student()
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), Path(q1_check.__file__).read_bytes(),
                 f"{name}\0{watiam}".encode()):
        h.update(part + b"\0")
    return h.hexdigest()


def build(out=PDF):
    try:
        import typst
    except ImportError:
        sys.exit("the typst package is missing; install it with `pip install typst`")
    name, watiam = nbtools.student()
    worst = q1_check.largest_differences()
    inputs = {"name": name, "watiam": watiam, "sourcesha": stamp((name, watiam)),
              "autogradmax": f"{worst['autograd']:.1e}",
              "finitemax": f"{worst['finite differences']:.1e}",
              "step": f"{q1_check.STEP:.1e}"}
    try:
        pdf = typst.compile(str(SOURCE), root=str(SOURCE.parent), sys_inputs=inputs,
                            ignore_system_fonts=True)
    except typst.TypstError as error:
        sys.exit(f"typst failed; {out} left as it was:\n{error.diagnostic or error}")
    nbtools.write_atomic(out, pdf)
    print(f"built {out} for {name} ({watiam}); stamp {inputs['sourcesha'][:12]}")


if __name__ == "__main__":
    build()
