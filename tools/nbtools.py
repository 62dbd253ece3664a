"""What the tools and tests know about the notebooks: the grader's rules, cells by their tag
(`tagged`), the student line, whether a saved run is one clean run of the current code, and a
run's results (`results` reads the lines of PRINTED).

    python tools/nbtools.py    # the hand-in's size: code lines, part E, words, longest function
"""
import ast
import builtins
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "a05_jorchard.ipynb"
COMPANION = ROOT / "explore_latent.ipynb"  # beyond the assignment; starts by running NOTEBOOK
METADATA_KEY = "a05_run"  # where the runner records what it executed
PAPERMILL_TAG = "injected-parameters"  # papermill's cell of the parameters it was given
STUDENT_LINE = re.compile(r"\*\*Student:\*\*[ \t]*(?P<name>[^\n(]*?)[ \t]*"
                          r"\(WatIAM ID:[ \t]*(?P<watiam>[A-Za-z0-9]+)\)")
STUDENT_FORMAT = "**Student:** Your Name (WatIAM ID: yourid)"
PLACEHOLDER_NAME, PLACEHOLDER_ID = "Your Name", "yourid"
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def load(path=None):
    return nbformat.read(str(path or NOTEBOOK), as_version=4)


def student(nb=None):
    """The student's name and WatIAM ID, from the first markdown cell's **Student:** line."""
    first = next((c.source for c in (nb or load()).cells if c.cell_type == "markdown"), "")
    found = STUDENT_LINE.search(first)
    if not found or not found["name"]:
        raise SystemExit("the notebook's first markdown cell needs a line that reads "
                         f"{STUDENT_FORMAT}, with your name and WatIAM ID")
    return found["name"], found["watiam"]


def placeholder(nb=None):
    """Whether the student line still holds the placeholder name or WatIAM ID."""
    return bool({PLACEHOLDER_NAME, PLACEHOLDER_ID} & set(student(nb)))


def placeholder_note():
    """What to do while the student line still holds a placeholder."""
    return (f"the student line still holds the placeholder {PLACEHOLDER_NAME!r} or "
            f"{PLACEHOLDER_ID!r}. Put your name and WatIAM ID in the notebook's first line,\n  "
            f"{STUDENT_FORMAT}\nthen rebuild the Q1 PDF and the hand-in: "
            "python tools/build_q1.py, then python tools/make_submission.py")


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def tagged(nb, tag):
    """The code cell with this tag, or None."""
    return next((c for c in code_cells(nb) if tag in c.metadata.get("tags", [])), None)


def parameters(nb=None):
    """The values set in the cell tagged 'parameters' (the notebook's settings)."""
    import torch  # the cell chooses the device with it

    values = {}
    exec(tagged(nb or load(), "parameters").source, {"torch": torch}, values)
    return values


def set_parameters(nb, values):
    """Override settings with assignments appended to the 'parameters' cell."""
    tagged(nb, "parameters").source += "".join(f"\n{k} = {v!r}" for k, v in values.items())


def parse(cell):
    """The cell's syntax tree, or None when it is not plain Python (a magic, a shell escape)."""
    try:
        return ast.parse(cell.source)
    except SyntaxError:
        return None


def is_definition_cell(tree):
    """True when the cell defines functions or classes and nothing else (docstrings aside)."""
    return any(isinstance(n, DEFS) for n in tree.body) and all(
        isinstance(n, DEFS) or (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
        for n in tree.body)


def imported_names(tree):
    return {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def free_names(func):
    """Names a function reads that it neither binds nor receives (a scope-blind view)."""
    bound, loaded = set(), set()
    for node in ast.walk(func):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, DEFS) and node is not func:
            bound.add(node.name)
    return loaded - bound


def structure_problems(nb):
    """Every way the notebook breaks the grader's rules or lacks its 'parameters' cell; or []."""
    cells = code_cells(nb)
    if not cells:
        return ["the notebook has no code cells"]
    trees = [parse(c) for c in cells]
    problems = [f"code cell {i} is not plain Python (a magic or shell escape?)"
                for i, t in enumerate(trees) if t is None]
    first = trees[0]
    if first is None or not first.body or not all(
            isinstance(n, (ast.Import, ast.ImportFrom)) for n in first.body):
        problems.append("the first code cell must hold the imports and nothing else")
    problems += [f"code cell {i} imports something; all imports belong in the first"
                 for i, t in enumerate(trees[1:], start=1) if t and imported_names(t)]
    problems += [f"code cell {i} mixes definitions with other code"
                 for i, t in enumerate(trees) if t and any(isinstance(n, DEFS) for n in t.body)
                 and not is_definition_cell(t)]
    definitions = [n for t in trees if t and is_definition_cell(t) for n in t.body
                   if isinstance(n, DEFS)]
    known = {n.name for n in definitions} | imported_names(first or ast.Module([], []))
    for node in definitions:
        outside = sorted(free_names(node) - known - set(dir(builtins)))
        if outside:
            problems.append(f"{node.name} reads names defined outside the import and "
                            f"definition cells: {', '.join(outside)}")
    if tagged(nb, "parameters") is None:
        problems.append("no code cell is tagged 'parameters'")
    return problems


def source_digest(nb):
    """SHA-256 of the code cells' sources, to tell whether saved outputs belong to this code.
    A cell that papermill injected is left out, so a papermill run of the same code (with other
    settings) keeps the digest."""
    h = hashlib.sha256()
    for cell in code_cells(nb):
        if PAPERMILL_TAG not in cell.metadata.get("tags", []):
            h.update(cell.source.encode() + b"\0")
    return h.hexdigest()


def run_problems(nb):
    """Why a saved notebook is not one clean run of its code, by counts, errors and digest."""
    cells = code_cells(nb)
    counts = [c.get("execution_count") for c in cells]
    problems = [] if counts == list(range(1, len(cells) + 1)) else [
        f"execution counts are {counts}, not 1..{len(cells)} from one fresh run"]
    problems += [f"code cell {i} holds an error: {out.get('ename')}"
                 for i, c in enumerate(cells) for out in c.get("outputs", [])
                 if out.output_type == "error"]
    if nb.metadata.get(METADATA_KEY, {}).get("code_sha256") != source_digest(nb):
        problems.append("the saved outputs do not come from the current code")
    return problems


def stream_text(nb):
    """Everything the code cells printed, in order."""
    return "".join(o.text for c in code_cells(nb) for o in c.get("outputs", [])
                   if o.output_type == "stream")


def image_count(nb):
    return sum("image/png" in out.get("data", {})
               for c in code_cells(nb) for out in c.get("outputs", []))


NUMBER = r"(-?[\d.]+)"
PRINTED = {  # the printed lines that carry a run's results: the hand-in's, then the companion's
    "x_train": r"^x_train \((\d+), (\d+)\) by class \[([\d, ]+)\]$",
    "settings": r"^Adam, lr (.*)$",
    "epochs": r"^epoch (\d+), current weights: MSE [\d.]+$",
    "averaged": rf"^averaged weights: MSE {NUMBER}$",
    "A and B": rf"^A \[.*\] and B \[.*\]: two (\d+)s, {NUMBER} apart$",
    "C": r"^C \[.*\]: (\d+) of its 10 nearest codes are (\d+)s, (\d+) are (\d+)s$",
    "decoded": r"^decoded A, B, C: nearest training digits (\d+), (\d+), (\d+)$",
    "training MSE": rf"^training MSE +{NUMBER} +{NUMBER}$",
    "held-out MSE": rf"^held-out MSE +{NUMBER} +{NUMBER}$",
    "5-NN": rf"^held-out 5-NN accuracy +{NUMBER} +{NUMBER}$",
}
COMPANION_LINES = ("training MSE", "held-out MSE", "5-NN")  # printed where the extras ran
# appended to a run: the classes of the 10 training codes nearest to A, B and C, found anew
PROBE = """
_d = torch.cdist(z.cpu(), z.cpu())
_near = {k: t_train[_d[i].argsort()[1:11]].tolist() for k, i in zip('ABC', (a, b, c))}
print('PROBE', __import__('json').dumps(_near))
"""


def results(nb):
    """A run's results, read from the lines of PRINTED that it printed (the companion's only
    where it ran), and with PROBE appended, the classes of the codes nearest to A, B and C."""
    text = stream_text(nb)
    lines = {key: re.findall(pattern, text, flags=re.M) for key, pattern in PRINTED.items()}
    missing = [key for key, found in lines.items() if not found and key not in COMPANION_LINES]
    if missing:
        raise ValueError(f"the run printed no line like {PRINTED[missing[0]]!r} "
                         "(nbtools.PRINTED): has the notebook's printout changed?")
    rows, pixels, classes = lines["x_train"][0]
    cls, distance = lines["A and B"][0]
    row = {"x_train": (int(rows), int(pixels)), "by class": [int(n) for n in classes.split(",")],
           "settings": "Adam, lr " + lines["settings"][0],
           "epochs": [int(e) for e in lines["epochs"]], "averaged": float(lines["averaged"][0]),
           "class": int(cls), "AB distance": float(distance)}
    split = [int(v) for v in lines["C"][0]]
    row.update({"overlap": (split[1], split[3]), "C split": (split[0], split[2]),
                "decoded": [int(v) for v in lines["decoded"][0]]})
    if lines["5-NN"]:
        (ae_train, _), (ae_test, pca_test), (ae_knn, pca_knn) = (
            map(float, lines[key][0]) for key in COMPANION_LINES)
        row.update({"ae_train_mse": ae_train, "ae_test_mse": ae_test, "pca_test_mse": pca_test,
                    "ae_knn": ae_knn, "pca_knn": pca_knn, "ratio": ae_test / pca_test})
    probe = re.search(r"^PROBE (.*)$", text, flags=re.M)
    if probe:
        row["near"] = json.loads(probe[1])
    return row


def part_e_problems(row):
    """How part E's points fail the rule on their own plane, by the PROBE's count of the codes
    nearest to them: A and B with 9 or more of their class, C with 3 or more of each of its
    two classes. [] when they keep it."""
    near, problems = row["near"], []
    for name in "AB":
        if near[name].count(row["class"]) < 9:
            problems.append(f"{name}'s neighbours are {near[name]}, not 9 of class {row['class']}")
    if min(near["C"].count(k) for k in row["overlap"]) < 3:
        problems.append(f"C's neighbours are {near['C']}, not 3 each of {row['overlap']}")
    return problems


def write_atomic(path, data):
    """Write bytes to path through a temporary file, so a failed write leaves what was there."""
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# PyTorch's and MKL's instruction sets held down, as on an AVX2-only CPU and on an old x86
OTHER_CPUS = {"AVX2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
              "oldest": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}}
# How far the measures of two runs may differ when their arithmetic differs in its last bits
# (another CPU, a GPU): training turns that into another solution, so only the measures stay
# close. `make bench` measures the largest change under OTHER_CPUS; these limits sit above it.
CPU_TOLERANCE = {"ratio": 0.04, "ae_knn": 0.04, "ae_test_mse": 0.0025}


def differences(run, reference, tolerance):
    """Where two runs' measures differ by more than the tolerance allows; [] when none does."""
    return [f"{key}: {run[key]} against {reference[key]} (allowed {limit})"
            for key, limit in tolerance.items() if abs(run[key] - reference[key]) > limit]


VECTOR = ("sse", "avx", "amx", "fma")  # the instruction-set extensions PyTorch's kernels use


def machine():
    """What decides the last bits of a run's arithmetic: the CPU and its vector instructions,
    the instruction sets forced on PyTorch and MKL, PyTorch's version, and a GPU."""
    cpu = {"name": platform.processor() or platform.machine()}
    if os.path.isfile("/proc/cpuinfo"):  # Linux: the first CPU's model and vector extensions
        first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
        fields = dict(re.findall(r"^(model name|flags)\s*: (.*)$", first, flags=re.M))
        vector = [f for f in fields.get("flags", "").split() if f.startswith(VECTOR)]
        cpu = {"name": fields.get("model name"), "vector": " ".join(sorted(vector))}
    gpu = os.path.exists("/proc/driver/nvidia/gpus") or shutil.which("nvidia-smi") is not None
    return {"cpu": cpu, "arch": platform.machine(), "gpu": gpu,
            "torch": importlib.metadata.version("torch"),
            **{k: os.environ.get(k) for k in OTHER_CPUS["AVX2"]}}


def usable_cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@contextlib.contextmanager
def busy_cpus():
    """Every usable CPU kept busy by a process of its own, as on a shared grading server."""
    loop = "import time\nend = time.time() + 900\nwhile time.time() < end:\n    pass"
    loops = [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(usable_cpus())]
    try:
        yield
    finally:
        for process in loops:
            process.kill()
            process.wait()


def with_extras(handin, companion=None):
    """The hand-in's cells, then the companion's after its first code cell (which runs it)."""
    companion = companion or load(COMPANION)
    first = companion.cells.index(code_cells(companion)[0])
    joined = nbformat.v4.new_notebook(metadata=handin.metadata)
    joined.cells = [*handin.cells, *[nbformat.from_dict({**cell, "id": f"extra-{i}"})
                                     for i, cell in enumerate(companion.cells[first + 1:])]]
    return joined


def size(nb):
    """The hand-in's size: code lines (all, part E's), words of prose, the longest function."""
    part_e = next(i for i, c in enumerate(nb.cells) if c.source.startswith("# E."))
    lines = [len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code"]
    functions = {n.name: n.end_lineno - n.lineno + 1 for c in code_cells(nb)
                 for n in ast.walk(parse(c)) if isinstance(n, ast.FunctionDef)}
    longest = max(functions, key=functions.get)
    return {"code lines": sum(lines),
            "part E code lines": sum(len(c.source.splitlines()) for c in nb.cells[part_e:]
                                     if c.cell_type == "code"),
            "words of prose": sum(len(c.source.split()) for c in nb.cells
                                  if c.cell_type == "markdown"),
            "longest function": f"{longest}, {functions[longest]} lines"}


if __name__ == "__main__":
    for key, value in size(load()).items():
        print(f"{key}: {value}")
    print(f"README words: {len((ROOT / 'README.md').read_text().split())}")
