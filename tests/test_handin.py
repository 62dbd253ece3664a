"""The student's hand-in, as tools/build_q1.py, tools/export_pdf.py and tools/make_submission.py
make it: the whole hand-in on each PDF route (LaTeX, as Jupyter's Download as PDF, and a
browser on a laptop without LaTeX), the PDFs as a marker reads them, the refusals that keep a
stale or nameless hand-in out, and where each OS keeps its browser."""
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import export_pdf
import make_submission
import nbtools
from conftest import NAME, WATIAM, figure_ppi, need_tools, pdf_pages, repository_copy, set_student

STEM = f"a05_{WATIAM}"


def browser_binary():
    """The browser program itself, not a launcher script that needs the system's PATH."""
    found = export_pdf.find_browser()
    for path in ["/usr/lib/chromium/chromium", *([os.path.realpath(found)] if found else [])]:
        if os.path.isfile(path) and Path(path).read_bytes()[:2] != b"#!":
            return path
    need_tools("chromium")


@pytest.fixture(scope="module", params=["latex", "browser"])
def handin(request, tmp_path_factory):
    """A student's copy of the repository with a name on the student line: Q1 rebuilt, then
    the hand-in collected. On the browser route the PATH holds a browser and nothing else (no
    LaTeX, pandoc or poppler), as on a laptop."""
    env = dict(os.environ)
    if request.param == "latex":
        need_tools("xelatex", "pandoc")
    else:
        path = tmp_path_factory.mktemp("path")
        (path / "chromium").symlink_to(browser_binary())
        env["PATH"] = str(path)
    dest = repository_copy(tmp_path_factory.mktemp(request.param))
    set_student(dest / nbtools.NOTEBOOK.name, NAME, WATIAM)
    said = ""
    for script in ("tools/build_q1.py", "tools/make_submission.py"):
        result = subprocess.run([sys.executable, script], cwd=dest, env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        said = result.stdout
    return {"route": request.param, "folder": dest / "submission", "said": said,
            "pdf": dest / "submission" / f"{STEM}.pdf"}


def test_the_folder_holds_the_three_files_named_for_the_student(handin):
    folder = handin["folder"]
    assert sorted(p.name for p in folder.iterdir()) == [f"{STEM}.ipynb", f"{STEM}.pdf",
                                                        "q1_solution.pdf"]
    assert nbtools.student(nbtools.load(folder / f"{STEM}.ipynb")) == (NAME, WATIAM)
    assert f"for {NAME} ({WATIAM})" in handin["said"] and "-> D2L" in handin["said"]
    route_words = "made with LaTeX" if handin["route"] == "latex" else "printed by"
    assert route_words in handin["said"]
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # a usual folder, not a private one
    print(f"{handin['route']} route: {STEM}.pdf has {len(pdf_pages(handin['pdf']))} pages")


def test_q1_answers_on_page_one(handin):
    q1 = pdf_pages(handin["folder"] / "q1_solution.pdf")[0]
    assert "⊛" in q1 and "∇" in q1 and "kernel reversed" in q1


def test_a_marker_finds_parts_a_to_e_and_no_browser_footer(handin):
    pages = pdf_pages(handin["pdf"])
    text = "\n".join(pages)
    assert pages[0].count("Question 2") == 1
    for heading in ("A. The autoencoder MyAE", "B. Training on 1,024 digits",
                    "C. The latent space", "D. One reconstruction per class",
                    "E. Exploring the latent space"):
        assert re.search(rf"^\s*{re.escape(heading)}\s*$", text, flags=re.M), heading
    assert "setcounter" not in text and "held-out" not in text  # the extras stay out
    assert "file:" not in text and not re.search(r"(^|\s)\d+/\d+$", text, flags=re.M)


def test_no_code_or_printed_line_is_wrapped_or_cut(handin):
    """Every line of code and of printout is whole on one line of the PDF (after the cell's
    prompt, on its first line)."""
    text = "\n".join(pdf_pages(handin["pdf"])).replace(" ", "")
    for cell in nbtools.code_cells(nbtools.load()):
        for line in "\n".join([cell.source] + [o.text for o in cell.outputs
                                               if "text" in o]).splitlines():
            assert line.replace(" ", "") in text, line


def test_every_figure_is_drawn_at_200_ppi_or_more(handin):
    ppi = figure_ppi(handin["pdf"])
    assert len(ppi) == nbtools.image_count(nbtools.load()) and min(ppi) >= 199, ppi


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """The hand-in notebook copied, with the tools pointed at the copy."""
    notebook = tmp_path / nbtools.NOTEBOOK.name
    notebook.write_bytes(nbtools.NOTEBOOK.read_bytes())
    monkeypatch.setattr(nbtools, "NOTEBOOK", notebook)
    return notebook


@pytest.mark.parametrize("name, watiam", [(nbtools.PLACEHOLDER_NAME, WATIAM),
                                          (NAME, nbtools.PLACEHOLDER_ID)])
def test_a_placeholder_is_refused_with_what_to_do(copy, tmp_path, name, watiam):
    set_student(copy, name, watiam)
    out = tmp_path / "submission"
    with pytest.raises(SystemExit, match=r"(?s)placeholder 'Your Name' or 'yourid'.*"
                                         r"\*\*Student:\*\* Your Name \(WatIAM ID: yourid\)"
                                         r".*tools/build_q1.py"):
        make_submission.main(["--out", str(out)])
    assert not out.exists()


def test_a_quick_trial_run_is_refused(copy, tmp_path):
    """A run with the README's quick-trial settings (here the saved run with its settings cell
    changed and its code digest to match) is current, but not the assignment's full size."""
    nb = nbtools.load(copy)
    nbtools.set_parameters(nb, {"img_size": 14})
    nb.metadata[nbtools.METADATA_KEY]["code_sha256"] = nbtools.source_digest(nb)
    assert nbtools.run_problems(nb) == []
    nbformat.write(nb, str(copy))
    with pytest.raises(SystemExit, match="quick trial: set img_size = 28 and n_digits = 1024"):
        make_submission.main(["--out", str(tmp_path / "submission")])
    assert not (tmp_path / "submission").exists()


def test_a_notebook_that_was_not_run_is_refused_and_the_old_folder_kept(copy, tmp_path):
    nb = nbtools.load(copy)
    for cell in nbtools.code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, str(copy))
    existing = tmp_path / "submission"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not ready to hand in.*tools/run_notebook.py"):
        make_submission.main(["--out", str(existing)])
    assert (existing / "mine.txt").read_text() == "keep me"


def test_a_q1_pdf_built_for_another_name_is_refused(copy, tmp_path):
    set_student(copy, NAME, WATIAM)  # q1_solution.pdf was built for the committed line
    with pytest.raises(SystemExit, match="q1_solution.pdf was not built .* tools/build_q1.py"):
        make_submission.main(["--out", str(tmp_path / "submission")])
    with pytest.raises(SystemExit, match=f"page 1 of q1_solution.pdf lacks {NAME} and {WATIAM}"):
        make_submission.check_pdf(nbtools.ROOT / "q1_solution.pdf", NAME, WATIAM)


def test_a_failed_export_leaves_the_pdf_as_it_was(tmp_path):
    broken = tmp_path / "broken-browser"
    broken.write_text("#!/bin/sh\necho 'cannot print' >&2\nexit 3\n")
    broken.chmod(0o755)
    pdf = tmp_path / "a05.pdf"
    pdf.write_bytes(b"the PDF from before")
    with pytest.raises(SystemExit, match="(?s)the export failed; .* left as it was.*cannot "
                                         "print"):
        export_pdf.export(nbtools.NOTEBOOK, pdf, "browser", str(broken))
    assert pdf.read_bytes() == b"the PDF from before"


def test_make_pdf_notes_the_placeholder(copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export_pdf, "export", lambda *args: ("latex", None))
    for name, noted in [(nbtools.PLACEHOLDER_NAME, True), (NAME, False)]:
        set_student(copy, name, WATIAM)
        export_pdf.main([str(copy), "--out", str(tmp_path / "x.pdf")])
        assert ("still holds the placeholder" in capsys.readouterr().out) == noted


@pytest.fixture
def no_path(tmp_path, monkeypatch):
    """An empty PATH, so that only the OS's install folders can hold a browser."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return tmp_path


def fake_program(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_edge_and_chrome_are_found_where_windows_installs_them(no_path, monkeypatch):
    monkeypatch.setattr(export_pdf, "PLATFORM", "win32")
    for folder, place in [("PROGRAMFILES", "pf"), ("PROGRAMFILES(X86)", "pf86"),
                          ("LOCALAPPDATA", "local")]:
        monkeypatch.setenv(folder, str(no_path / place))
    assert export_pdf.find_browser() is None
    edge = fake_program(no_path / "pf86/Microsoft/Edge/Application/msedge.exe")
    assert export_pdf.find_browser() == edge  # every Windows 10 and 11 has it
    chrome = fake_program(no_path / "local/Google/Chrome/Application/chrome.exe")
    assert export_pdf.find_browser() == chrome  # a Chrome comes first
    brave = fake_program(no_path / "empty/brave")
    assert export_pdf.find_browser() == brave  # and one on PATH before any


def test_edge_and_brave_are_found_where_macos_installs_them(no_path, monkeypatch):
    monkeypatch.setattr(export_pdf, "PLATFORM", "darwin")
    monkeypatch.setenv("HOME", str(no_path / "home"))
    monkeypatch.setattr(export_pdf, "MAC_FOLDERS", [str(no_path / "Applications"),
                                                    "~/Applications"])
    assert export_pdf.find_browser() is None
    brave = fake_program(no_path / "home/Applications/Brave Browser.app/Contents/MacOS/"
                                   "Brave Browser")
    assert export_pdf.find_browser() == brave
    edge = fake_program(no_path / "Applications/Microsoft Edge.app/Contents/MacOS/"
                                  "Microsoft Edge")
    assert export_pdf.find_browser() == edge


def test_latex_where_installed_else_a_browser(no_path, monkeypatch):
    chrome = fake_program(no_path / "empty/google-chrome")
    assert export_pdf.choose_route() == ("browser", chrome)
    with pytest.raises(SystemExit, match="xelatex, pandoc not found.*MiKTeX.*leave out "
                                         "--route latex"):
        export_pdf.choose_route("latex")
    for program in ("xelatex", "pandoc"):
        fake_program(no_path / "empty" / program)
    assert export_pdf.choose_route() == ("latex", None)
    assert export_pdf.choose_route("browser") == ("browser", chrome)


@pytest.mark.parametrize("platform, fix", [
    ("win32", "Microsoft Edge comes with Windows 10 and 11"),
    ("darwin", "Install Google Chrome, Microsoft Edge or Brave"),
    ("linux", "sudo apt-get install chromium; Ubuntu: sudo snap install chromium"),
])
def test_with_neither_route_one_message_names_the_fix_for_this_os(no_path, monkeypatch,
                                                                   platform, fix):
    monkeypatch.setattr(export_pdf, "PLATFORM", platform)
    monkeypatch.setattr(export_pdf, "LINUX_PATHS", [])
    monkeypatch.setattr(export_pdf, "MAC_FOLDERS", [])
    for folder in export_pdf.WINDOWS_FOLDERS:
        monkeypatch.delenv(folder, raising=False)
    with pytest.raises(SystemExit) as err:
        export_pdf.choose_route()
    message = str(err.value)
    assert message.startswith("no way to make a PDF here") and fix in message
    assert "--browser PATH" in message and "\n" not in message


@pytest.mark.slow
def test_a_papermill_run_is_exported_and_an_edited_one_refused(tmp_path):
    """papermill runs the hand-in with other settings and adds a cell of them; that run still
    belongs to the current code, so it exports. Edit a cell and it is refused."""
    out = tmp_path / "run.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", str(nbtools.NOTEBOOK),
                             str(out), "-p", "seed", "1", "-p", "epochs", "40"],
                            cwd=nbtools.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    nb = nbtools.load(out)
    assert "40 epochs" in nbtools.results(nb)["settings"] and nbtools.run_problems(nb) == []
    export_pdf.export(out, tmp_path / "run.pdf", "browser", browser_binary())
    assert "40 epochs" in "".join(pdf_pages(tmp_path / "run.pdf"))
    nbtools.code_cells(nb)[-1].source += "\nprint('edited')"
    nbformat.write(nb, str(out))
    with pytest.raises(SystemExit, match="do not come from the current code"):
        export_pdf.export(out, tmp_path / "edited.pdf")
