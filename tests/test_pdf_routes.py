"""The two routes to the notebook's PDF: LaTeX (Jupyter's Download as PDF) where it is
installed, and a browser the student already has where it is not; the whole hand-in on a
laptop with neither LaTeX, pandoc nor poppler; and a papermill run accepted for export."""
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import nbformat
import pytest

import export_pdf
import make_submission
import nbtools
from conftest import NAME, need_tools, repository_copy, set_student

BROWSER_BINARIES = ["/usr/lib/chromium/chromium", "/opt/google/chrome/chrome"]


def real_browser():
    """The browser binary itself (not a launcher script that needs the system's PATH)."""
    found = export_pdf.find_browser()
    for path in [*BROWSER_BINARIES, *([os.path.realpath(found)] if found else [])]:
        if os.path.isfile(path) and not Path(path).read_bytes()[:2] == b"#!":
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("no Chromium; install the Debian package chromium")
    pytest.skip("no Chromium-family browser here")


def path_without_pdf_tools(tmp_path, browser):
    """A PATH that holds the browser and nothing else: no xelatex, pandoc or pdf* programs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "chromium").symlink_to(browser)
    return str(folder)


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    """A student's laptop: the repository with a real name on the student line, and a PATH
    with a browser but no LaTeX, pandoc or poppler; Q1 rebuilt, then the hand-in collected."""
    browser = real_browser()
    dest = repository_copy(tmp_path_factory.mktemp("laptop"))
    set_student(dest / nbtools.NOTEBOOK.name, NAME)
    env = {**os.environ, "PATH": path_without_pdf_tools(tmp_path_factory.mktemp("path"),
                                                          browser)}
    said = []
    for script in ("tools/build_q1.py", "tools/make_submission.py"):
        result = subprocess.run([sys.executable, script], cwd=dest, env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        said.append(result.stdout)
    return dest / "submission", said


def test_the_laptop_hands_in_the_three_files(laptop):
    submission, said = laptop
    assert sorted(p.name for p in submission.iterdir()) == [
        "a05_jorchard.ipynb", "a05_jorchard.pdf", "q1_solution.pdf"]
    assert f"for {NAME} (jorchard)" in said[1] and "printed by" in said[1]
    umask = os.umask(0)
    os.umask(umask)
    assert submission.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's drwx------


def test_both_pdfs_name_the_student_on_page_one(laptop):
    submission, _ = laptop
    for name in ("a05_jorchard.pdf", "q1_solution.pdf"):
        first = " ".join(make_submission.first_page_text(submission / name).split())
        assert NAME in first and "jorchard" in first, name


def test_q1_answer_is_on_page_one(laptop):
    first = make_submission.first_page_text(laptop[0] / "q1_solution.pdf")
    assert "⊛" in first and "∇" in first and "flipped" in first


def pdf_lines(path):
    """Every line of text in the PDF, spaces removed (pypdf's extraction)."""
    return {line.replace(" ", "") for page in make_submission.read_pdf(path).pages
            for line in page.extract_text().splitlines()}


def test_no_code_line_is_cut_off_or_wrapped(laptop):
    """Each line of code and of printout is whole on one line of the browser's PDF: none runs
    off the page's edge, and none is broken in two."""
    lines = pdf_lines(laptop[0] / "a05_jorchard.pdf")
    nb = nbtools.load(laptop[0] / "a05_jorchard.ipynb")
    for cell in nbtools.code_cells(nb):
        texts = [cell.source] + [o.text for o in cell.outputs if "text" in o]
        for line in "\n".join(texts).splitlines():
            if line.strip():
                assert line.replace(" ", "") in lines, line


def test_the_browser_pdf_reads_like_the_latex_one(laptop):
    """At most 10 pages, no browser header or footer (no date, file path or page count), the
    title on top, and every figure at 200 pixels per inch or more, as in the LaTeX route."""
    pdf = laptop[0] / "a05_jorchard.pdf"
    pages = make_submission.read_pdf(pdf).pages
    assert len(pages) <= 10
    text = "\n".join(page.extract_text() for page in pages)
    text = unicodedata.normalize("NFKC", text)  # the footer's "file:" comes with a ligature
    assert "file:" not in text  # the footer's address of the page
    assert not re.search(r"(^|\s)\d+/\d+$", text, flags=re.M)  # nor its "1/8"
    assert pages[0].extract_text().startswith("Assignment 5, Question 2")
    assert make_submission.pdf_image_count(pdf) == 3
    need_tools("pdfimages")
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    ppi = [min(int(row.split()[12]), int(row.split()[13])) for row in listing
           if row.split()[2] == "image"]
    assert len(ppi) == 3 and min(ppi) >= 199, ppi


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
    assert export_pdf.find_browser() == chrome  # a per-user Chrome comes first


def test_chrome_edge_and_brave_are_found_where_macos_installs_them(no_path, monkeypatch):
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


def test_a_browser_on_path_comes_first(no_path, monkeypatch):
    monkeypatch.setattr(export_pdf, "PLATFORM", "win32")
    monkeypatch.setenv("PROGRAMFILES", str(no_path / "pf"))
    fake_program(no_path / "pf/Microsoft/Edge/Application/msedge.exe")
    brave = fake_program(no_path / "empty/brave")
    assert export_pdf.find_browser() == brave


def test_latex_is_the_default_where_it_is_installed(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: f"/bin/{name}")
    assert export_pdf.choose_route() == ("latex", None)
    assert export_pdf.choose_route("browser", sys.executable) == ("browser", sys.executable)


def test_without_latex_the_browser_prints_it(no_path, monkeypatch):
    chrome = fake_program(no_path / "empty/google-chrome")
    assert export_pdf.choose_route() == ("browser", chrome)
    with pytest.raises(SystemExit, match="xelatex, pandoc not found.*MiKTeX.*leave out "
                                         "--route latex"):
        export_pdf.choose_route("latex")


@pytest.mark.parametrize("platform, fix", [
    ("win32", "Microsoft Edge comes with Windows 10 and 11"),
    ("darwin", "Install Google Chrome, Microsoft Edge or Brave"),
    ("linux", "sudo apt-get install chromium"),
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


def test_a_failed_run_leaves_the_pdf_and_submission_as_they_were(no_path, monkeypatch,
                                                                  tmp_path):
    """With no route, make_submission stops before it makes anything; with a browser that
    fails, the export leaves the PDF there as it was."""
    out = tmp_path / "submission"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    monkeypatch.setattr(export_pdf, "LINUX_PATHS", [])
    monkeypatch.setattr(make_submission, "check_pdf",
                        lambda *a, **k: ({"Keywords": "source-sha256:"}, 1, 0))
    monkeypatch.setattr(make_submission, "check_identity", lambda *a: None)
    monkeypatch.setattr(nbtools, "student", lambda nb=None: (NAME, "jorchard"))
    monkeypatch.setattr(make_submission.build_q1, "stamp", lambda student=None: "")
    with pytest.raises(SystemExit, match="no way to make a PDF here"):
        make_submission.main(["--out", str(out)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "submission"]
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    broken = no_path / "broken-browser"
    broken.write_text("#!/bin/sh\necho 'cannot print' >&2\nexit 3\n")
    broken.chmod(0o755)
    pdf = tmp_path / "a05_jorchard.pdf"
    pdf.write_bytes(b"the PDF from before")
    with pytest.raises(SystemExit, match="(?s)the export failed; .* left as it was.*cannot "
                                         "print"):
        export_pdf.export(nbtools.NOTEBOOK, pdf, "browser", str(broken))
    assert pdf.read_bytes() == b"the PDF from before"


def test_the_browser_is_run_headless_with_no_header_and_a_throwaway_profile(tmp_path,
                                                                            monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        Path(next(a for a in cmd if a.startswith("--print-to-pdf=")).split("=", 1)[1]) \
            .write_bytes(b"%PDF-1.4")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    browser = r"C:\Program Files\Google\Chrome\Application\chrome.exe"
    pdf = tmp_path / "out.pdf"
    assert export_pdf.browser_pdf(nbtools.NOTEBOOK, pdf, browser)[0]
    cmd = calls[0]
    assert cmd[0] == browser and "--headless" in cmd and "--no-pdf-header-footer" in cmd
    assert any(a.startswith("--user-data-dir=") for a in cmd) and cmd[-1].startswith("file:")
    html = pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert "@page { size: letter" in html and "setcounter" not in html


@pytest.mark.slow
def test_a_papermill_run_is_exported_and_an_edited_one_refused(tmp_path):
    """papermill runs the hand-in with other parameters and adds its own cell of them; that
    run still belongs to the current code, so it exports. Edit a cell and it is refused, with
    the command to run given once."""
    out = tmp_path / "run.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", str(nbtools.NOTEBOOK),
                             str(out), "-p", "seed", "1", "-p", "epochs", "40"],
                            cwd=nbtools.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    nb = nbtools.load(out)
    injected = [c for c in nbtools.code_cells(nb) if nbtools.PAPERMILL_TAG in c.metadata.tags]
    assert len(injected) == 1 and "epochs = 40" in injected[0].source
    assert "40 epochs" in nbtools.stream_text(nb)
    assert nbtools.run_problems(nb) == [] and nbtools.structure_problems(nb) == []
    export_pdf.export(out, tmp_path / "run.pdf", "browser", real_browser())
    assert make_submission.pdf_info(tmp_path / "run.pdf")["Pages"] >= 4
    nbtools.code_cells(nb)[-1].source += "\nprint('edited')"
    nbformat.write(nb, str(out))
    with pytest.raises(SystemExit) as err:
        export_pdf.export(out, tmp_path / "edited.pdf")
    assert "do not come from the current code" in str(err.value)
    assert str(err.value).count("tools/run_notebook.py") == 1
