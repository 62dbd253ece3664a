"""A student's first ten minutes: tools/install.py, the Makefile's `help` and `lab`, the
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

import install
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


def test_a_failed_install_says_what_failed_and_is_not_taken_for_finished(tmp_path):
    """pip cannot reach any package here, so step 2 fails: the installer names the step and
    the command to run again, and leaves no .installed stamp for make to trust."""
    empty = tmp_path / "no-packages"
    empty.mkdir()
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty),
           "PIP_CONSTRAINT": "", "PIP_CONFIG_FILE": os.devnull}
    venv = tmp_path / "venv"
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "install.py"), "--venv",
                             str(venv)], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "==> [1/3] creating" in result.stdout and "==> [2/3] installing PyTorch" in result.stdout
    assert "stopped at step 2 of 3" in result.stderr
    assert f"run the same command again: python3 tools/install.py --venv {venv}" in result.stderr
    assert (venv / "bin" / "python").exists() and not (venv / ".installed").exists()


FAKE_PYTHON = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls.log"
"""


def fake_windows_venv(venv):
    """A venv laid out the Windows way, whose Scripts/python.exe only logs its arguments."""
    scripts = venv / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_text(FAKE_PYTHON)
    (scripts / "python.exe").chmod(0o755)
    return scripts / "calls.log"


def test_the_installer_uses_a_windows_venv_layout(tmp_path, monkeypatch, capsys):
    """Simulated Windows: the venv's Python is Scripts/python.exe, not bin/python; every pip
    step runs with it, and the constraints file pins the versions."""
    monkeypatch.setattr(install, "WINDOWS", True)
    assert install.venv_python(tmp_path) == tmp_path / "Scripts" / "python.exe"
    venv = tmp_path / "venv"
    calls = fake_windows_venv(venv)
    assert install.main(["--venv", str(venv), "--tools"]) == 0
    steps = calls.read_text().splitlines()
    assert len(steps) == 2 and all(s.startswith("-m pip install") for s in steps)
    assert "constraints.txt torch torchvision" in steps[0]
    assert steps[1].endswith("requirements-tools.txt")
    assert (venv / ".installed").exists()
    assert f"Its Python: {venv / 'Scripts' / 'python.exe'}" in capsys.readouterr().out


def test_a_windows_venv_without_its_python_gets_the_installers_message(tmp_path, monkeypatch):
    """Where the venv's Python is missing (a broken or foreign venv), the installer says which
    step stopped and the command to run again, instead of a raw traceback."""
    monkeypatch.setattr(install, "WINDOWS", True)
    monkeypatch.setattr(sys, "executable", "/bin/true")  # "creates" the venv, makes nothing
    with pytest.raises(SystemExit) as err:
        install.main(["--venv", str(tmp_path / "venv")])
    message = str(err.value)
    assert "stopped at step 2 of 3" in message
    assert f"run the same command again: python tools/install.py --venv {tmp_path / 'venv'}" \
        in message


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
        assert "tools/install.py --venv .venv" in planned
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


def test_every_file_and_tool_the_docs_name_exists():
    docs = "".join((ROOT / name).read_text() for name in ("README.md", "CONTRIBUTING.md",
                                                          "BENCHMARK.md", "files/README.md"))
    named = set(re.findall(r"\b((?:tools|tests)/[\w./-]+\.(?:py|txt|typ)|[\w-]+\.txt)\b", docs))
    assert {"tools/install.py", "tools/run_notebook.py", "requirements-tools.txt"} <= named
    for name in named:
        assert (ROOT / name).is_file(), name


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
        re.split(r"[<>=]", line)[0] for line in tools}
    for line in requirement_lines("requirements-dev.txt")[1:]:
        assert re.split(r"[<>=]", line)[0] in pins, line  # the make route pins all it installs
