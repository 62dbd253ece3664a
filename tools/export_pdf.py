"""Export the executed notebook to PDF the way Jupyter's "Download as PDF" does (LaTeX route).

    python tools/export_pdf.py [NOTEBOOK] [--out PDF]

Refuses a notebook that was not saved straight after one clean run of its current code, and
replaces the PDF only when the export succeeds.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbtools


def export(notebook, out):
    notebook, out = Path(notebook), Path(out)
    problems = nbtools.run_problems(nbtools.load(notebook))
    if problems:
        raise SystemExit(f"{notebook} is not ready to export ({'; '.join(problems)}); "
                         "run `make run` first")
    missing = [t for t in ("xelatex", "pandoc") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not found; install the Debian packages "
                         f"{nbtools.PDF_PACKAGES}")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nbconvert", "--to", "pdf", "--output-dir", tmp,
               "--output", out.stem, str(notebook)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        built = Path(tmp) / (out.stem + ".pdf")
        if result.returncode != 0 or not built.is_file():
            raise SystemExit(f"the export failed; {out} left as it was:\n{result.stderr[-3000:]}")
        shutil.copy(built, out.with_name(out.name + ".tmp"))
        os.replace(out.with_name(out.name + ".tmp"), out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=nbtools.NOTEBOOK)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    out = export(args.notebook, args.out or args.notebook.with_suffix(".pdf"))
    print(f"wrote {out}")
    if nbtools.student(nbtools.load(args.notebook))[0] == nbtools.PLACEHOLDER_NAME:
        print(f"note: {nbtools.placeholder_note()}")


if __name__ == "__main__":
    main()
