"""Build q1_solution.pdf from tools/q1_solution.tex with xelatex.

The source's SHA-256 goes into the PDF's keywords, so a test can tell whether the committed
PDF was built from the current source. The PDF is replaced only when the build succeeds.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbtools

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "q1_solution.tex"
PDF = ROOT / "q1_solution.pdf"


def source_sha256(path=SOURCE):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out=PDF):
    if shutil.which("xelatex") is None:
        sys.exit(f"xelatex not found; install the Debian packages {nbtools.PDF_PACKAGES}")
    digest = source_sha256()
    env = dict(os.environ, SOURCE_DATE_EPOCH="1732406400", FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(SOURCE, tmp)
        cmd = ["xelatex", "-interaction=nonstopmode", "-halt-on-error",
               rf"\def\sourcesha{{{digest}}}\input{{{SOURCE.name}}}"]
        result = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        built = Path(tmp) / "q1_solution.pdf"
        if result.returncode != 0 or not built.is_file():
            sys.exit(f"xelatex failed; {out} left as it was:\n{result.stdout[-3000:]}")
        shutil.copy(built, out.with_name(out.name + ".tmp"))
        os.replace(out.with_name(out.name + ".tmp"), out)
    print(f"built {out} from {SOURCE.relative_to(ROOT)} (sha256 {digest[:12]})")


if __name__ == "__main__":
    build()
