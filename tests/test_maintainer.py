"""The maintainer's tools: tools/bench.py's report and tools/compat.py's virtual environments."""
import bench
import compat
import nbtools


def test_bench_writes_its_table_between_the_markers(tmp_path, monkeypatch, capsys):
    """Two seeds' rows, as run_all makes them, become the table and the summary in the results
    file, between its markers; the text around them stays."""
    def fake_run_all(seed):
        return {"ratio": 0.70 + seed / 100, "ae_knn": 0.79, "pca_knn": 0.41,
                "choices": "1; 3 and 5",
                "train_s": 20.0, "handin_s": 24.0, "busy_s": 25.0, "same": "yes",
                "cpu": "same / same", "cpu_same": 2, "cpu_right": 2,
                "moved": {key: 0.001 for key in nbtools.CPU_TOLERANCE}}

    monkeypatch.setattr(bench, "run_all", fake_run_all)
    out = tmp_path / "BENCHMARK.md"
    out.write_text(f"before\n{bench.START}\nthe last results\n{bench.END}\nafter\n")
    assert bench.main(["--seeds", "0", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("before\n") and text.endswith("after\n")
    assert "the last results" not in text
    assert "| 1 | 0.710 | 0.790 |" in text and "| **median** | **0.705** | **0.790** |" in text
    assert "- median ae_knn: 0.790 (target >= 0.8): NOT met" in text
    assert "part E chose the same in 4 of 4 runs, and was right for its own plane in 4 of 4" in text


def test_compat_builds_a_windows_venv_once(tmp_path, monkeypatch):
    """Simulated Windows: the venv's Python is Scripts/python.exe (here a script that logs
    its arguments); the stack is installed into it once."""
    monkeypatch.setattr(compat, "WINDOWS", True)
    venv = tmp_path / "venv-old"
    (venv / "Scripts").mkdir(parents=True)
    python = venv / "Scripts" / "python.exe"
    python.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls.log"\n')
    python.chmod(0o755)
    calls = venv / "Scripts" / "calls.log"
    compat.build_venv(venv, "old", "/bin/true")
    assert calls.read_text().split() == ["-m", "pip", "install", "-r", "tools/stacks/old.txt",
                                         "-r", "requirements-tools.txt"]
    compat.build_venv(venv, "old", "/bin/true")  # built: nothing to do the second time
    assert len(calls.read_text().splitlines()) == 1
