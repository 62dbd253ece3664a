"""Reading a05_jorchard.ipynb the way its grader and autotester do.

One place for the notebook rules (checked on the AST of each code cell), for extracting the
import cell and the definition cells, for reading the parameters cell, and for joining the
hand-in with its companion, explore_latent.ipynb. The tests, the runner, the benchmark and the
submission check all use these.
"""
import argparse
import ast
import builtins
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "a05_jorchard.ipynb"
COMPANION = ROOT / "explore_latent.ipynb"  # beyond the assignment; starts by running NOTEBOOK
METADATA_KEY = "a05_run"  # where the runner records what it executed
# the Debian packages of the LaTeX route (Jupyter's Download as PDF); the browser route needs none
PDF_PACKAGES = "texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc"
PDF_TOOLS_HELP = (f"install LaTeX (xelatex) and pandoc: on Debian or Ubuntu the packages "
                  f"{PDF_PACKAGES}; on Windows or macOS MiKTeX or MacTeX, and pandoc")
# the one place for the student's identity: a line of the notebook's first markdown cell
STUDENT_LINE = re.compile(r"\*\*Student:\*\*[ \t]*(?P<name>[^\n(]*?)[ \t]*"
                          r"\(WatIAM ID:[ \t]*(?P<watiam>[A-Za-z0-9]+)\)")
STUDENT_FORMAT = "**Student:** Your Name (WatIAM ID: yourid)"
PLACEHOLDER_NAME = "Your Name"
PDF_LINE = 79  # nbconvert's default LaTeX template wraps code and output beyond 80 characters


def load(path=None):
    return nbformat.read(str(path or NOTEBOOK), as_version=4)


def student(nb=None):
    """The student's name and WatIAM ID, from the first markdown cell's **Student:** line."""
    nb = nb or load()
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    found = STUDENT_LINE.search(first)
    if not found or not found["name"]:
        raise SystemExit("the notebook's first markdown cell needs a line that reads "
                         f"{STUDENT_FORMAT}, with your name and WatIAM ID")
    return found["name"], found["watiam"]


def placeholder_note():
    """What to do while the student line still holds the placeholder name."""
    return (f"the name on the PDFs is still the placeholder {PLACEHOLDER_NAME!r}. Put yours in "
            f"the notebook's first line,\n  {STUDENT_FORMAT}\nthen rebuild the Q1 PDF and the "
            "hand-in: python tools/build_q1.py, then python tools/make_submission.py")


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def parse(cell):
    """The cell's AST, or None when it is not plain Python (a magic or a shell escape)."""
    try:
        return ast.parse(cell.source)
    except SyntaxError:
        return None


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_definition_cell(tree):
    """True when the cell defines functions or classes and holds nothing else."""
    body = tree.body
    return any(isinstance(n, DEFS) for n in body) and all(
        isinstance(n, DEFS) or _is_docstring(n) for n in body)


def imported_names(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _free_names(func):
    """Names a function reads that it neither binds nor receives (a simple, scope-blind view)."""
    bound, loaded = set(), set()
    for node in ast.walk(func):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, DEFS) and node is not func:
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


def structure_problems(nb):
    """Every way the notebook breaks the grader's rules; an empty list when it keeps them all."""
    cells = code_cells(nb)
    if not cells:
        return ["the notebook has no code cells"]
    problems, trees = [], []
    for i, cell in enumerate(cells):
        tree = parse(cell)
        if tree is None:
            problems.append(f"code cell {i} is not plain Python (a magic or shell escape?)")
        elif any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines()):
            problems.append(f"code cell {i} uses a magic or shell escape")
        trees.append(tree)
    first = trees[0]
    if first is None or not first.body or not all(
            isinstance(n, (ast.Import, ast.ImportFrom)) for n in first.body):
        problems.append("the first code cell must hold the imports and nothing else")
    for i, tree in enumerate(trees[1:], start=1):
        if tree is not None and imported_names(tree):
            problems.append(f"code cell {i} imports something; all imports belong in the first")
    defined = set()
    for i, tree in enumerate(trees):
        if tree is None:
            continue
        has_def = any(isinstance(n, DEFS) for n in tree.body)
        if has_def and not is_definition_cell(tree):
            problems.append(f"code cell {i} mixes definitions with other code")
        if has_def:
            defined |= {n.name for n in tree.body if isinstance(n, DEFS)}
    known = defined | (imported_names(first) if first else set()) | set(dir(builtins))
    for i, tree in enumerate(trees):
        if tree is None or not is_definition_cell(tree):
            continue
        for node in tree.body:
            if isinstance(node, DEFS):
                outside = sorted(_free_names(node) - known)
                if outside:
                    problems.append(f"{node.name} (code cell {i}) reads names defined outside "
                                    f"the import and definition cells: {', '.join(outside)}")
    if parameters_cell(nb) is None:
        problems.append("no code cell is tagged 'parameters'")
    return problems


def definition_cells(cells):
    """The cells among these that hold only definitions."""
    return [c for c in cells if (t := parse(c)) and is_definition_cell(t)]


def definitions_source(nb):
    """The import cell and every definition cell, as the autotester extracts them."""
    cells = code_cells(nb)
    return "\n\n".join(c.source for c in [cells[0], *definition_cells(cells[1:])])


def exec_definitions(nb=None, companion=None):
    """A fresh namespace holding only what the import and definition cells create; with a
    companion, its definition cells are run on top (it has no import cell of its own)."""
    nb = nb or load()
    namespace = {"__name__": "a05_definitions"}
    exec(compile(definitions_source(nb), "a05_jorchard.ipynb (definitions)", "exec"), namespace)
    if companion is not None:
        source = "\n\n".join(c.source for c in definition_cells(code_cells(companion)))
        exec(compile(source, f"{COMPANION.name} (definitions)", "exec"), namespace)
    return namespace


def parameters_cell(nb):
    """The code cell tagged 'parameters', or None."""
    return next((c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])), None)


def parameters(nb=None):
    """The values set in the cell tagged 'parameters'."""
    values = {}
    exec(parameters_cell(nb or load()).source, {}, values)
    return values


PAPERMILL_TAG = "injected-parameters"  # papermill's cell of the parameters it was given


def source_digest(nb):
    """SHA-256 of all code cells' sources, to tell whether saved outputs belong to this code.
    A cell that papermill injected is left out, so that a papermill run of the same code (with
    other parameters) keeps the digest the runner recorded."""
    h = hashlib.sha256()
    for cell in code_cells(nb):
        if PAPERMILL_TAG in cell.metadata.get("tags", []):
            continue
        h.update(cell.source.encode() + b"\0")
    return h.hexdigest()


def run_problems(nb):
    """How a saved notebook fails to be one clean top-to-bottom run of its current code."""
    problems = []
    cells = code_cells(nb)
    counts = [c.get("execution_count") for c in cells]
    if counts != list(range(1, len(cells) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(cells)} from one fresh run")
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"code cell {i} holds an error: {out.get('ename')}")
            if out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                problems.append(f"code cell {i} printed a traceback")
    recorded = nb.metadata.get(METADATA_KEY, {}).get("code_sha256")
    if recorded != source_digest(nb):
        problems.append("the saved outputs do not come from the current code")
    return problems


def stream_text(nb):
    """Everything the code cells printed, in order."""
    return "".join(o.text for c in code_cells(nb) for o in c.get("outputs", [])
                   if o.output_type == "stream")


def answers(text):
    """What a run printed, less what depends on the machine and its load: every time in
    seconds (the notebooks print none, but a cell added to a run may)."""
    return re.sub(r"\b\d+(\.\d+)? s\b", "<time> s", text)


NUMBER = r"(-?[\d.]+)"
RESULTS = {  # what the notebook prints: the answers of part E and the comparison with PCA
    "class": r"^class (\d+): ends ",  # the first such line is the chosen class
    "A and B": rf"^A = \({NUMBER}, {NUMBER}\), B = \({NUMBER}, {NUMBER}\)$",
    "overlap": r"^classes (\d+) and (\d+): ",  # the first such line is the chosen pair
    "C": rf"^C = \({NUMBER}, {NUMBER}\), neighbours ",
    "training MSE": rf"^training MSE +{NUMBER} +{NUMBER}$",
    "held-out MSE": rf"^held-out MSE +{NUMBER} +{NUMBER}$",
    "5-NN": rf"^held-out 5-NN accuracy +{NUMBER} +{NUMBER}$",
    "ratio": rf"^held-out MSE of the autoencoder: {NUMBER} x that of PCA-2$",
}


def results(text):
    """The answers a run of the hand-in and its companion printed, as numbers: the chosen
    class, A, B, the overlapping classes, C (from the hand-in), and the autoencoder's and PCA's
    errors and 5-NN accuracies (from the companion)."""
    found = {}
    for key, pattern in RESULTS.items():
        match = re.search(pattern, text, flags=re.M)
        if match is None:
            raise ValueError(f"the run did not print its {key} line")
        found[key] = [float(v) for v in match.groups()]
    ab, pair = found["A and B"], found["overlap"]
    return {"class": int(found["class"][0]), "A": ab[:2], "B": ab[2:],
            "overlap": (int(pair[0]), int(pair[1])), "C": found["C"],
            "ae_train_mse": found["training MSE"][0], "pca_train_mse": found["training MSE"][1],
            "ae_test_mse": found["held-out MSE"][0], "pca_test_mse": found["held-out MSE"][1],
            "ae_knn": found["5-NN"][0], "pca_knn": found["5-NN"][1],
            "ratio": found["ratio"][0]}


# PyTorch's and MKL's instruction sets held down, as on an AVX2-only CPU and on the oldest x86
OTHER_CPUS = {"AVX2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
              "oldest": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}}

# How far the measures of two runs of the same code may differ when their arithmetic differs
# in its last bits (another CPU's instruction set, a GPU). Training magnifies such differences
# until the two networks are different solutions: the plane is drawn differently, so part E's
# points and even its choices can differ, and only the measures stay close. `make bench`
# measures the largest change over seeds 0-5 under two other instruction sets (BENCHMARK.md,
# "Another CPU gives another solution"); these limits sit above it, and a test checks that they
# still do.
CPU_TOLERANCE = {"ratio": 0.04, "ae_knn": 0.04, "ae_test_mse": 0.0025, "pca_knn": 0.001,
                 "pca_test_mse": 0.001}


def differences(run, reference, tolerance=None):
    """Where two runs' results (from `results`) disagree; [] when they agree. Without a
    tolerance every answer must be the same (one machine and software); with one, such as
    CPU_TOLERANCE, only the measures it names are compared, each within its limit."""
    if tolerance is None:
        return [f"{key}: {run[key]} against {reference[key]}" for key in reference
                if run[key] != reference[key]]
    return [f"{key}: {run[key]} against {reference[key]} (allowed {limit})"
            for key, limit in tolerance.items() if abs(run[key] - reference[key]) > limit]


def machine():
    """What decides the last bits of a run's arithmetic here: the processor and its vector
    instructions, the instruction sets forced on PyTorch and MKL, PyTorch's version, and
    whether a GPU is present."""
    cpu = {"name": platform.processor() or platform.machine()}
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as info:
            fields = dict(line.split(":", 1) for line in info.read().split("\n\n")[0]
                          .splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        vector = sorted(f for f in fields.get("flags", "").split()
                        if f.startswith(("sse", "avx", "amx", "fma")))
        cpu = {"name": fields.get("model name"), "vendor": fields.get("vendor_id"),
               "family": fields.get("cpu family"), "model": fields.get("model"),
               "vector": " ".join(vector)}
    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = None
    gpu = os.path.exists("/proc/driver/nvidia/gpus") or shutil.which("nvidia-smi") is not None
    forced = {k: os.environ.get(k) for k in ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")}
    return {"cpu": cpu, "arch": platform.machine(), "torch": torch, "gpu": gpu, **forced}


def add_route_options(parser):
    """--route and --browser, for the tools that make the notebook's PDF."""
    parser.add_argument("--route", choices=["latex", "browser"],
                        help="how to make the PDF (default: latex where LaTeX and pandoc are "
                             "installed, else browser)")
    parser.add_argument("--browser", help="the browser to print with (default: the first "
                                          "Chrome, Chromium, Brave or Edge found)")


def route_taken(route, browser):
    """The route an export took, as the tools report it."""
    return "made with LaTeX, as Download as PDF" if route == "latex" else f"printed by {browser}"


def notebooks_and_out(description, out_help, argv=None, routes=False):
    """The command line the runner and the exporter share: notebooks (default: the hand-in,
    then the companion) and --out for a single one; with routes, the exporter's --route and
    --browser."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("notebooks", nargs="*", type=Path, default=[NOTEBOOK, COMPANION])
    parser.add_argument("--out", type=Path, help=out_help)
    if routes:
        add_route_options(parser)
    args = parser.parse_args(argv)
    if args.out and len(args.notebooks) != 1:
        parser.error("--out takes one notebook")
    return args


def with_extras(handin, companion=None):
    """One notebook: the cells of the hand-in, then the companion's cells after its first code
    cell (the one that runs the hand-in). Run in one kernel, it gives what running the companion
    gives, with every hand-in cell's outputs (and timings) of its own."""
    companion = companion or load(COMPANION)
    first = companion.cells.index(code_cells(companion)[0])
    joined = nbformat.v4.new_notebook(metadata=handin.metadata)
    extras = [nbformat.from_dict({**cell, "id": f"extra-{cell.get('id', i)}"})
              for i, cell in enumerate(companion.cells[first + 1:])]
    joined.cells = [*handin.cells, *extras]
    return joined


def image_count(nb):
    return sum("image/png" in out.get("data", {})
               for c in code_cells(nb) for out in c.get("outputs", []))
