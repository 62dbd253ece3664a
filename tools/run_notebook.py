"""Run notebooks top to bottom, each in a fresh kernel, and save them with their outputs.

    python tools/run_notebook.py [NOTEBOOK ...]

Without arguments it runs the hand-in, a05_jorchard.ipynb, then its companion,
explore_latent.ipynb. The hand-in must keep the grader's rules, or it is not run. A notebook
on disk is replaced only after all its cells ran without error.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from traitlets.config import Config

import nbtools


def execute(nb, cwd, parameters=None, timing=False):
    """Run nb in place in a fresh kernel started in cwd, with parameters overridden; with
    timing, each cell's metadata records when it started and ended."""
    if parameters:  # needs a 'parameters' cell; without parameters nb runs as it is
        nbtools.set_parameters(nb, parameters)
    with tempfile.TemporaryDirectory() as sockets:
        config = Config()
        if os.name == "posix":  # local sockets, not TCP: private, and the kernel does not warn
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(sockets, "kernel")
        NotebookClient(nb, timeout=900, record_timing=timing, config=config,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    CoalesceStreamsPreprocessor().preprocess(nb, {})  # printed text merged, as Jupyter shows it
    nb.metadata[nbtools.METADATA_KEY] = {"code_sha256": nbtools.source_digest(nb),
                                         "machine": nbtools.machine()}
    return nb


def run_with_extras(parameters=None, env=None, probe=True, timing=False):
    """The hand-in, then the companion's extras, in one fresh kernel, with parameters overridden
    and env set for the kernel; with probe, nbtools.PROBE at the end."""
    nb = nbtools.with_extras(nbtools.load())
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(nbtools.PROBE))
    with patch.dict(os.environ, env or {}):
        return execute(nb, nbtools.ROOT, parameters, timing=timing)


def run_and_save(notebook):
    """Run one notebook and save it over itself; 0 when it ran, 1 (the file untouched) when
    not."""
    nb = nbtools.load(notebook)
    problems = [] if notebook.name == nbtools.COMPANION.name else nbtools.structure_problems(nb)
    if problems:
        print(f"not running {notebook}: it breaks the rules the grader and the tools rely on:\n  - "
              + "\n  - ".join(problems), file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        execute(nb, notebook.resolve().parent)
    except CellExecutionError as err:
        print(f"the run failed; {notebook} was left as it was.\n{err}", file=sys.stderr)
        return 1
    nbtools.write_atomic(notebook, (nbformat.writes(nb) + "\n").encode())
    print(f"ran {len(nbtools.code_cells(nb))} code cells in {time.perf_counter() - start:.1f} s;"
          f" saved {notebook}", flush=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=[nbtools.NOTEBOOK, nbtools.COMPANION])
    args = parser.parse_args(argv)
    return next((1 for notebook in args.notebooks if run_and_save(notebook)), 0)  # 1: stopped


if __name__ == "__main__":
    sys.exit(main())
