"""The grader's rules for a05_jorchard.ipynb, as tools/nbtools.py checks them on each cell's
syntax tree, and the layout a marker relies on: parts A-E as the sections, lines that fit the
PDF, the student line first, the companion adding to the hand-in without copying it."""
import ast
import subprocess
import sys

import nbformat
import pytest

import nbtools
from conftest import ROOT, exec_definitions


def notebook(*sources, tag_second=True):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if tag_second and len(cells) > 1:
        cells[1].metadata["tags"] = ["parameters"]
    return nbformat.v4.new_notebook(cells=cells)


def test_the_hand_in_keeps_every_rule(nb):
    assert nbtools.structure_problems(nb) == []


@pytest.mark.parametrize("sources, expected", [
    (["x = 1", "y = 2"], "first code cell must hold the imports"),
    (["import os", "y = 2", "import sys"], "imports something"),
    (["import os", "y = 2", "def f():\n    return 1\nf()"], "mixes definitions"),
    (["import os", "y = 2", "%matplotlib inline"], "not plain Python"),
    (["import os", "y = 2", "!pip install torch"], "not plain Python"),
    (["import os", "img_size = 2", "def f():\n    return img_size"], "img_size"),
    (["import os", "dev = 2", "class A:\n    def g(self):\n        return dev"], "dev"),
])
def test_the_checker_catches_each_broken_rule(sources, expected):
    problems = nbtools.structure_problems(notebook(*sources))
    assert any(expected in p for p in problems), problems


def test_the_checker_wants_a_parameters_cell():
    assert "no code cell is tagged 'parameters'" in nbtools.structure_problems(
        notebook("import os", "n = 2", tag_second=False))


def test_the_autotester_gets_the_imports_and_the_pure_definition_cells():
    nb = notebook("import math", "n = 3",
                  'def area(r):\n    """Doc."""\n    return math.pi * r * r',
                  "print(area(n))",  # a script cell
                  "def twice(x):\n    return 2 * x\nvalue = twice(4)")  # a mixed cell
    namespace = exec_definitions(nb)
    assert namespace["area"](1.0) == pytest.approx(3.14159, rel=1e-5)
    assert {"n", "twice", "value"}.isdisjoint(namespace)


def test_the_imports_are_the_courses_packages(nb):
    """An autotester's environment may hold only torch, torchvision, matplotlib, numpy and
    tqdm (matplotlib_inline, say, would stop its import cell)."""
    tree = nbtools.parse(nbtools.code_cells(nb)[0])
    modules = {(node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
               for node in tree.body for alias in node.names}
    assert modules - set(sys.stdlib_module_names) <= {"torch", "torchvision", "matplotlib",
                                                      "numpy", "tqdm"}


def test_parts_a_to_e_are_the_sections_and_the_title_is_set(nb):
    headings = [line[:5] for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")]
    assert headings == ["# A. ", "# B. ", "# C. ", "# D. ", "# E. "]
    assert nb.metadata["title"].startswith("Assignment 5, Question 2")
    assert nb.cells[0].source.startswith("**Student:**")


def test_the_settings_are_the_assignments(nb):
    p = nbtools.parameters(nb)
    assert (p["img_size"], p["n_digits"]) == (28, 1024)
    assert 8 <= p["batch_size"] <= 256 and p["epochs"] >= 100


@pytest.mark.parametrize("path", [nbtools.NOTEBOOK, nbtools.COMPANION], ids=lambda p: p.name)
def test_code_and_printed_lines_fit_the_pdf(path):
    """nbconvert's LaTeX template wraps lines longer than 80 characters; 79 fit."""
    for cell in nbtools.code_cells(nbtools.load(path)):
        lines = cell.source.splitlines() + [
            line for out in cell.get("outputs", []) for line in out.get("text", "").splitlines()]
        assert [line for line in lines if len(line) > 79] == []


def test_the_companion_builds_on_the_hand_in_without_copying_it(defs):
    companion = nbtools.load(nbtools.COMPANION)
    cells = nbtools.code_cells(companion)
    assert "%run a05_jorchard.ipynb" in cells[0].source.splitlines()
    assert "not part of the hand-in" in companion.cells[0].source
    for tree in map(nbtools.parse, cells[1:]):
        assert not {n.name for n in tree.body if isinstance(n, nbtools.DEFS)} & set(defs)


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
