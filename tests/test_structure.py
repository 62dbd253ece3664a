"""The grader's rules for the notebook, checked on the AST of every cell."""
import ast
import subprocess
import sys

import nbformat
import pytest

import nbtools
from conftest import ROOT


def notebook(*sources, tag_second=True):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if tag_second and len(cells) > 1:
        cells[1].metadata["tags"] = ["parameters"]
    return nbformat.v4.new_notebook(cells=cells)


def test_committed_notebook_keeps_every_rule(nb):
    assert nbtools.structure_problems(nb) == []


def test_imports_only_in_the_first_cell(nb):
    cells = nbtools.code_cells(nb)
    first = nbtools.parse(cells[0])
    assert first.body and all(type(n).__name__ in ("Import", "ImportFrom") for n in first.body)
    for cell in cells[1:]:
        assert not nbtools.imported_names(nbtools.parse(cell)), cell.source[:80]


def test_definition_cells_hold_only_definitions(nb):
    trees = [nbtools.parse(c) for c in nbtools.code_cells(nb)]
    defining = [t for t in trees if any(isinstance(n, nbtools.DEFS) for n in t.body)]
    assert len(defining) >= 7
    assert all(nbtools.is_definition_cell(t) for t in defining)


def test_parts_a_to_e_are_the_top_level_sections_and_nothing_else(nb):
    """In the PDF, each top-level heading is a numbered section: parts A-E are 1-5, and the
    hand-in holds nothing beyond them (the extras live in the companion notebook)."""
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")]
    assert [h[:5] for h in headings] == ["# A. ", "# B. ", "# C. ", "# D. ", "# E. "]
    assert not any(line.startswith("# ") for line in nb.cells[0].source.splitlines()), \
        "the title comes from the notebook's metadata; a heading would repeat it"
    assert nb.metadata["title"].startswith("Assignment 5, Question 2")
    for name in ("plot_latent_map", "knn_accuracy", "evaluate", "show_path", "x_test"):
        assert name not in "".join(c.source for c in nbtools.code_cells(nb)), name


def test_a_model_solution_is_short(nb):
    """What a marker reads: at most 220 lines of code, 50 of them in part E, and 500 words of
    prose, and no function or method longer than 25 lines."""
    code = nbtools.code_cells(nb)
    assert sum(len(c.source.splitlines()) for c in code) <= 220
    part_e = nb.cells[next(i for i, c in enumerate(nb.cells) if c.source.startswith("# E.")):]
    assert sum(len(c.source.splitlines()) for c in part_e if c.cell_type == "code") <= 50
    assert sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown") <= 500
    for cell in code:
        for node in ast.walk(nbtools.parse(cell)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 25, node.name


def test_helpers_are_defined_before_they_are_used(nb):
    """A reader meets every function of the notebook before the first line that calls it."""
    defined, seen = {}, set()
    for i, cell in enumerate(nbtools.code_cells(nb)):
        for node in nbtools.parse(cell).body:
            if isinstance(node, nbtools.DEFS):
                defined.setdefault(node.name, i)
    for i, cell in enumerate(nbtools.code_cells(nb)):
        for node in ast.walk(nbtools.parse(cell)):
            called = node.func.id if isinstance(node, ast.Call) and isinstance(
                node.func, ast.Name) else None
            if called in defined:
                assert defined[called] <= i, f"{called} is called in cell {i} before its cell"
                seen.add(called)
    assert {"plot_latent", "plot_reconstructions", "pick_latent_points", "plot_points"} <= seen


def test_the_companion_builds_on_the_hand_in_without_copying_it(nb):
    """explore_latent.ipynb starts by running the hand-in, then only adds: none of its
    definitions repeats a name the hand-in defines."""
    companion = nbtools.load(nbtools.COMPANION)
    cells = nbtools.code_cells(companion)
    assert cells[0].source.splitlines()[:2] == ["%%capture --no-stdout figures",
                                                 "%run a05_jorchard.ipynb"]
    handin_names = set(nbtools.exec_definitions(nb)) - {"__name__", "__builtins__"}
    for cell in cells[1:]:
        tree = nbtools.parse(cell)
        assert tree is not None, cell.source[:60]
        for node in tree.body:
            if isinstance(node, nbtools.DEFS):
                assert node.name not in handin_names, node.name
    assert "not part of the hand-in" in companion.cells[0].source


def test_headings_are_numbered_once(nb):
    """The headings carry the parts' letters. nbconvert's LaTeX would number them again, so a
    raw cell with no format (the only kind that Download as PDF passes to LaTeX) switches
    LaTeX's section numbers off; it comes before the first heading."""
    raw = [i for i, c in enumerate(nb.cells) if c.cell_type == "raw"]
    assert len(raw) == 1 and "\\setcounter{secnumdepth}{0}" in nb.cells[raw[0]].source
    assert not nb.cells[raw[0]].metadata.get("raw_mimetype")
    first_heading = next(i for i, c in enumerate(nb.cells) if c.source.startswith("# "))
    assert raw[0] < first_heading


def test_the_student_line_is_at_the_top(nb):
    name, watiam = nbtools.student(nb)
    assert watiam == "jorchard" and name
    assert nb.cells[0].source.startswith("**Student:**")


@pytest.mark.parametrize("source", ["Student: Ann (WatIAM ID: ann)", "**Student:** (WatIAM ID: x)",
                                    "**Student:** Ann", "# Title"])
def test_a_missing_student_line_is_explained(source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
    with pytest.raises(SystemExit, match=r"\*\*Student:\*\* Your Name \(WatIAM ID: yourid\)"):
        nbtools.student(nb)


def test_code_and_printed_lines_fit_the_pdf_page(nb):
    """nbconvert's LaTeX template wraps lines longer than 80 characters; keep them within 79."""
    for cell in nbtools.code_cells(nb):
        for line in cell.source.splitlines():
            assert len(line) <= nbtools.PDF_LINE, line
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                assert len(line) <= nbtools.PDF_LINE, line


def test_no_cell_runs_over_a_page(nb):
    """About 55 code lines fill a page of the PDF; a cell stays well within it."""
    for cell in nbtools.code_cells(nb):
        assert len(cell.source.splitlines()) <= 40, cell.source[:60]


def test_each_script_cell_has_narrative(nb):
    """Every run of code cells starts after a markdown cell that explains it."""
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown"
    runs = sum(1 for a, b in zip(kinds, kinds[1:]) if a == "markdown" and b == "code")
    code = kinds.count("code")
    assert runs >= code * 0.6, f"{runs} explained runs for {code} code cells"


def test_parameters_are_the_assignments(nb):
    p = nbtools.parameters(nb)
    assert p["img_size"] == 28 and p["n_digits"] == 1024
    assert 8 <= p["batch_size"] <= 256
    assert p["epochs"] >= 100


@pytest.mark.parametrize("sources, expected", [
    (["x = 1", "y = 2"], "first code cell must hold the imports"),
    (["import os", "y = 2", "import sys"], "imports something"),
    (["import os", "y = 2", "def f():\n    return 1\nf()"], "mixes definitions"),
    (["import os", "y = 2", "%matplotlib inline"], "not plain Python"),
    (["import os", "y = 2", "!pip install torch"], "not plain Python"),
    (["import os", "img_size = 2", "def f():\n    return img_size"], "img_size"),
    (["import os", "dev = 2", "class A:\n    def g(self):\n        return dev"], "dev"),
])
def test_checker_catches_broken_rules(sources, expected):
    problems = nbtools.structure_problems(notebook(*sources))
    assert any(expected in p for p in problems), problems


def test_checker_accepts_self_contained_definitions():
    nb = notebook("import os", "n = 2",
                  'def f(a, b=1):\n    """Doc."""\n    c = [i for i in range(a)]\n'
                  "    return os.sep, c, g(b), len(c)",
                  "def g(x):\n    try:\n        return x\n    except ValueError as err:\n"
                  "        raise RuntimeError() from err")
    assert nbtools.structure_problems(nb) == []


def test_the_autotester_extracts_the_imports_and_pure_definition_cells():
    nb = notebook("import math", "n = 3  # parameters",
                  "def area(r):\n    return math.pi * r * r",
                  "print(area(n))",  # a script cell
                  "def twice(x):\n    return 2 * x\nvalue = twice(4)",  # mixed
                  'class Box:\n    """A box."""\n\n    def __init__(self, side):\n'
                  "        self.side = side")
    source = nbtools.definitions_source(nb)
    assert "n = 3" not in source and "print(" not in source and "twice" not in source
    namespace = nbtools.exec_definitions(nb)
    assert namespace["area"](1.0) == pytest.approx(3.14159, rel=1e-5)
    assert namespace["Box"](2).side == 2
    assert {"n", "twice", "value"}.isdisjoint(namespace)


def test_checker_wants_a_parameters_cell():
    assert "no code cell is tagged 'parameters'" in nbtools.structure_problems(
        notebook("import os", "n = 2", tag_second=False))


@pytest.mark.parametrize("args", [[], ["--line-length", str(nbtools.PDF_LINE), nbtools.NOTEBOOK,
                                     nbtools.COMPANION]],
                         ids=["everything", "notebooks at the PDF's width"])
def test_ruff_is_clean(args):
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *args], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
