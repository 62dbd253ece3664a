"""Build q1_solution.pdf from tools/q1_solution.typ with Typst (the `typst` package from PyPI).

The student's name and WatIAM ID come from the notebook's **Student:** line, and the numerical
check's printout from running tools/q1_check.py (the PDF shows that script and what it printed);
they go into the document as sys.inputs, which Typst sets as plain text. A stamp, the SHA-256 of
the source, the check script and the student line, goes into the PDF's keywords, so
tools/make_submission.py and the tests can tell whether the PDF is current. The PDF carries no
date and uses only the fonts inside the typst package, so the same inputs give the same bytes.
The PDF is replaced only when the build succeeds.
"""
import argparse
import hashlib
import subprocess
import sys

import nbtools

ROOT = nbtools.ROOT
SOURCE = ROOT / "tools" / "q1_solution.typ"
CHECK = ROOT / "tools" / "q1_check.py"
PDF = ROOT / "q1_solution.pdf"


def stamp(student=None):
    """SHA-256 of the source, the numerical check and the student line."""
    name, watiam = student or nbtools.student()
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), CHECK.read_bytes(), f"{name}\0{watiam}".encode()):
        h.update(part + b"\0")
    return h.hexdigest()


def build(out=PDF):
    try:
        import typst
    except ImportError:
        sys.exit("the typst package is missing; install it with `pip install typst`")
    name, watiam = nbtools.student()
    check = subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True)
    if check.returncode:
        sys.exit(f"{CHECK} failed; {out} left as it was:\n{check.stderr}")
    inputs = {"name": name, "watiam": watiam, "sourcesha": stamp((name, watiam)),
              "output": check.stdout.rstrip()}
    try:
        pdf = typst.compile(str(SOURCE), root=str(SOURCE.parent), sys_inputs=inputs,
                            ignore_system_fonts=True)
    except typst.TypstError as error:
        sys.exit(f"typst failed; {out} left as it was:\n{error.diagnostic or error}")
    nbtools.write_atomic(out, pdf)
    print(f"built {out} for {name} ({watiam}); stamp {inputs['sourcesha'][:12]}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    build()
