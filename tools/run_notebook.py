"""Execute the notebook top to bottom in a fresh kernel and save it with its outputs.

The notebook on disk is replaced only after every cell ran without error, so a failed run
never destroys the saved one.

    python tools/run_notebook.py [NOTEBOOK] [--out PATH]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from traitlets.config import Config

import nbtools


def set_parameters(nb, parameters):
    """Override values of the cell tagged 'parameters', as papermill would."""
    nbtools.parameters_cell(nb).source += "".join(f"\n{k} = {v!r}" for k, v in parameters.items())


def execute(nb, cwd, parameters=None, timeout=900, kernel="python3"):
    """Run nb in place in a fresh kernel started in cwd, with parameters overridden."""
    if parameters:
        set_parameters(nb, parameters)
    with tempfile.TemporaryDirectory() as sockets:
        config = Config()
        if os.name == "posix":  # local sockets, not TCP: private, and the kernel does not warn
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(sockets, "kernel")
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False,
                                config=config, resources={"metadata": {"path": str(cwd)}})
        client.execute()
    # keep the last state of a progress bar, as Jupyter shows it, not every redraw
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.metadata[nbtools.METADATA_KEY] = {"code_sha256": nbtools.source_digest(nb)}
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=nbtools.NOTEBOOK)
    parser.add_argument("--out", type=Path, help="where to save (default: over the input)")
    args = parser.parse_args(argv)
    out = args.out or args.notebook
    nb = nbtools.load(args.notebook)
    problems = nbtools.structure_problems(nb)
    if problems:
        print("not running: the notebook breaks the grader's rules:", file=sys.stderr)
        print("\n".join("  - " + p for p in problems), file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        execute(nb, args.notebook.resolve().parent)
    except CellExecutionError as err:
        print(f"the run failed; {out} was left as it was.\n{err}", file=sys.stderr)
        return 1
    tmp = out.with_name(out.name + ".tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)
    print(f"ran {len(nbtools.code_cells(nb))} code cells in {time.perf_counter() - start:.1f} s;"
          f" saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
