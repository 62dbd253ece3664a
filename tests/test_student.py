"""A student's first ten minutes: the Makefile's `venv`, `help` and `lab`, the
requirements files, and docs that name only files that exist."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import nbtools
from conftest import ROOT

README = (ROOT / "README.md").read_text()


def make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                          capture_output=True, text=True, **kw)


def test_make_help_lists_every_command_of_the_readme_and_the_makefile():
    listed = set(re.findall(r"^  make (\S+)", make("help").stdout, flags=re.M))
    in_readme = set(re.findall(r"\bmake ([a-z0-9]+)\b", README))
    phony = set(re.search(r"^\.PHONY: (.*)$", (ROOT / "Makefile").read_text(),
                          flags=re.M).group(1).split())
    assert in_readme <= listed, in_readme - listed
    assert phony == listed, phony ^ listed


def test_a_failed_install_is_not_taken_for_finished(tmp_path):
    """pip can reach no package here, so `make venv` stops with pip's error and leaves no
    .installed stamp: the next make command would install again instead of trusting the venv."""
    empty = tmp_path / "no-packages"
    empty.mkdir()
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty),
           "PIP_CONFIG_FILE": os.devnull}
    venv = tmp_path / "venv"
    result = make("venv", f"VENV={venv}", env=env)
    assert result.returncode != 0
    assert "ERROR: " in result.stderr and "*** " in result.stderr, result.stderr  # pip, then make
    assert (venv / "bin" / "python").exists() and not (venv / ".installed").exists()
    assert "pip install" in make("-n", "run", f"VENV={venv}", env=env).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_the_notebook_from_the_venv():
    """make lab opens the notebook in JupyterLab from .venv. Where .venv is not built (a plain
    python -m pytest in a fresh clone), the test builds nothing: it checks what make lab would
    run, then serves the notebook with the same command from this environment."""
    port, token = free_port(), "a05-test"
    args = f"--no-browser --allow-root --port={port} --IdentityProvider.token={token}"
    command = ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"]
    if not (ROOT / ".venv" / ".installed").exists():
        planned = make("-n", "lab", f"LAB_ARGS={args}").stdout  # -n: prints, runs nothing
        assert "-m venv .venv" in planned
        assert f"{ROOT}/.venv/bin/jupyter lab {args} {nbtools.NOTEBOOK.name}" in planned
        command = [sys.executable, "-m", "jupyterlab", *args.split(), nbtools.NOTEBOOK.name]
    lab = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{port}/api/contents/{nbtools.NOTEBOOK.name}?content=0&token={token}"
    try:
        for _ in range(120):
            try:
                with opener.open(url, timeout=2) as reply:
                    assert b'"type": "notebook"' in reply.read().replace(b'":"', b'": "')
                    break
            except OSError:
                assert lab.poll() is None, lab.stderr.read()
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within a minute")
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)


def test_running_a_notebook_prints_no_kernel_warning(tmp_path):
    """make run, make test and make bench start kernels through run_notebook.execute."""
    script = ("import sys, nbformat; sys.path.insert(0, 'tools'); import run_notebook\n"
              "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(6 * 7)')])\n"
              f"run_notebook.execute(nb, {str(tmp_path)!r})\n"
              "print(nb.cells[0].outputs[0].text, end='')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"
    assert "WARNING" not in result.stderr and "without encryption" not in result.stderr, \
        result.stderr


def test_every_file_the_docs_name_exists():
    """Each .py, .txt, .typ, .ipynb and .md file named, at the root or in tools/, tests/ or
    files/; a05_abc.ipynb is the README's example of a hand-in's name."""
    docs = "".join((ROOT / name).read_text() for name in ("README.md", "CONTRIBUTING.md",
                                                          "BENCHMARK.md", "files/README.md"))
    named = set(re.findall(r"(?<![\w/.<-])((?:[\w.-]+/)*[\w-]+\.(?:py|txt|typ|ipynb|md))\b",
                           docs)) - {"a05_abc.ipynb"}
    assert {"tools/run_notebook.py", "requirements-tools.txt", "test_q1.py"} <= named
    for name in named:
        assert any((ROOT / folder / name).is_file() for folder in (".", "tools", "tests",
                                                                   "files")), name


def requirement_lines(name):
    return [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()
            if line.split("#")[0].strip()]


def test_requirements_keep_an_installed_pytorch_and_the_pins_live_apart():
    """requirements.txt gives lower bounds only, so pip keeps a PyTorch 2.2 or newer that is
    already there; the exact versions of our own runs are in constraints.txt; running the
    notebooks needs neither JupyterLab, pytest, ruff nor mlxtend."""
    notebook = requirement_lines("requirements.txt")
    assert {re.split(r"[<>=!~]", line)[0] for line in notebook} >= {"torch", "torchvision",
                                                                    "numpy", "matplotlib"}
    assert all(">=" in line and "==" not in line and "<" not in line for line in notebook)
    pins = dict(line.split("==") for line in requirement_lines("constraints.txt"))
    assert {"torch", "torchvision", "numpy", "matplotlib"} <= set(pins)
    tools = requirement_lines("requirements-tools.txt")
    assert tools[0] == "-r requirements.txt"
    assert not {"jupyterlab", "pytest", "ruff", "mlxtend", "tqdm"} & {
        re.split(r"[<>=]", line)[0] for line in notebook + tools}
    for name in ("requirements.txt", "requirements-tools.txt", "requirements-dev.txt"):
        for line in requirement_lines(name):  # constraints.txt pins each one named
            assert line.startswith("-r ") or re.split(r"[<>=]", line)[0] in pins, line
