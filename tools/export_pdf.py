"""Export executed notebooks to PDF the way Jupyter's "Download as PDF" does (LaTeX route).

    python tools/export_pdf.py [NOTEBOOK ...] [--out PDF]

Without arguments it exports the hand-in (a05_jorchard.pdf, for Crowdmark) and its companion
(explore_latent.pdf, not handed in). Refuses a notebook that was not saved straight after one
clean run of its current code, and replaces a PDF only when its export succeeds.
"""
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
                         "run it first: python tools/run_notebook.py")
    missing = [t for t in ("xelatex", "pandoc") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not found; {nbtools.PDF_TOOLS_HELP}")
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
    args = nbtools.notebooks_and_out(__doc__.splitlines()[0],
                                     "where to write one notebook's PDF", argv)
    for notebook in args.notebooks:
        out = export(notebook, args.out or notebook.with_suffix(".pdf"))
        print(f"wrote {out}")
    handin = next((n for n in args.notebooks if n.name == nbtools.NOTEBOOK.name), None)
    if handin and nbtools.student(nbtools.load(handin))[0] == nbtools.PLACEHOLDER_NAME:
        print(f"note: {nbtools.placeholder_note()}")


if __name__ == "__main__":
    main()
