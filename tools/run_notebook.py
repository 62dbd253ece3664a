"""Execute notebooks top to bottom, each in a fresh kernel, and save them with their outputs.

Without arguments it runs the hand-in, a05_jorchard.ipynb, then its companion,
explore_latent.ipynb (which runs the hand-in again as its first step). The hand-in must keep
the grader's rules, or it is not run. A notebook on disk is replaced only after every one of
its cells ran without error, so a failed run never destroys the saved one.

    python tools/run_notebook.py [NOTEBOOK ...] [--out PATH]
"""
import os
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from traitlets.config import Config

import nbtools


def set_parameters(nb, parameters):
    """Override values of the cell tagged 'parameters', as papermill would."""
    nbtools.parameters_cell(nb).source += "".join(f"\n{k} = {v!r}" for k, v in parameters.items())


def execute(nb, cwd, parameters=None, timeout=900, kernel="python3", timing=False):
    """Run nb in place in a fresh kernel started in cwd, with parameters overridden; with
    timing, each cell's metadata records when it started and ended."""
    if parameters:
        set_parameters(nb, parameters)
    with tempfile.TemporaryDirectory() as sockets:
        config = Config()
        if os.name == "posix":  # local sockets, not TCP: private, and the kernel does not warn
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(sockets, "kernel")
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=timing,
                                config=config, resources={"metadata": {"path": str(cwd)}})
        client.execute()
    CoalesceStreamsPreprocessor().preprocess(nb, {})  # one output per cell, as Jupyter shows it
    nb.metadata[nbtools.METADATA_KEY] = {"code_sha256": nbtools.source_digest(nb),
                                         "machine": nbtools.machine()}
    return nb


def run_and_save(notebook, out):
    """Run one notebook and save it to out; 0 when it ran, 1 (and out untouched) when not."""
    nb = nbtools.load(notebook)
    problems = [] if notebook.name == nbtools.COMPANION.name else nbtools.structure_problems(nb)
    if problems:
        print(f"not running {notebook}: it breaks the grader's rules:", file=sys.stderr)
        print("\n".join("  - " + p for p in problems), file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        execute(nb, notebook.resolve().parent)
    except CellExecutionError as err:
        print(f"the run failed; {out} was left as it was.\n{err}", file=sys.stderr)
        return 1
    tmp = out.with_name(out.name + ".tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)
    print(f"ran {len(nbtools.code_cells(nb))} code cells in {time.perf_counter() - start:.1f} s;"
          f" saved {out}", flush=True)
    return 0


def main(argv=None):
    args = nbtools.notebooks_and_out(__doc__.splitlines()[0],
                                     "where to save one notebook (default: over it)", argv)
    for notebook in args.notebooks:
        if run_and_save(notebook, args.out or notebook):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
