"""Build q1_solution.pdf from tools/q1_solution.tex with xelatex.

The student's name and WatIAM ID come from the notebook's **Student:** line, and the largest
differences of the numerical check from tools/q1_check.py. A stamp, the SHA-256 of everything
the PDF is built from, goes into the PDF's keywords, so tools/make_submission.py and the tests can
tell whether the PDF is current. The PDF is replaced only when the build succeeds.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbtools
import q1_check

ROOT = nbtools.ROOT
SOURCE = ROOT / "tools" / "q1_solution.tex"
PDF = ROOT / "q1_solution.pdf"
LATEX_SPECIALS = {c: "\\" + c for c in "&%$#_{}"} | {
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def stamp(student=None):
    """SHA-256 of the source, the numerical check and the student line."""
    name, watiam = student or nbtools.student()
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), Path(q1_check.__file__).read_bytes(),
                 f"{name}\0{watiam}".encode()):
        h.update(part + b"\0")
    return h.hexdigest()


def latex_escape(text):
    return "".join(LATEX_SPECIALS.get(c, c) for c in text)


def scientific(x):
    """x as LaTeX math, e.g. 3.0 \\times 10^{-16}."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def build(out=PDF):
    if shutil.which("xelatex") is None:
        sys.exit(f"xelatex not found; {nbtools.PDF_TOOLS_HELP}")
    name, watiam = nbtools.student()
    worst = q1_check.largest_differences()
    macros = {"sourcesha": stamp((name, watiam)), "studentname": latex_escape(name),
              "watiam": latex_escape(watiam), "autogradmax": scientific(worst["autograd"]),
              "finitemax": scientific(worst["finite differences"]),
              "finitestep": scientific(q1_check.STEP).replace(r"1.0 \times ", "")}
    defs = "".join(rf"\def\{k}{{{v}}}" for k, v in macros.items())
    env = dict(os.environ, SOURCE_DATE_EPOCH="1732406400", FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(SOURCE, tmp)
        cmd = ["xelatex", "-interaction=nonstopmode", "-halt-on-error",
               rf"{defs}\input{{{SOURCE.name}}}"]
        result = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        built = Path(tmp) / "q1_solution.pdf"
        if result.returncode != 0 or not built.is_file():
            sys.exit(f"xelatex failed; {out} left as it was:\n{result.stdout[-3000:]}")
        shutil.copy(built, out.with_name(out.name + ".tmp"))
        os.replace(out.with_name(out.name + ".tmp"), out)
    print(f"built {out} for {name} ({watiam}); stamp {macros['sourcesha'][:12]}")


if __name__ == "__main__":
    build()
