"""Export executed notebooks to PDF, by Jupyter's "Download as PDF" (LaTeX) or by a browser.

    python tools/export_pdf.py [NOTEBOOK ...] [--out PDF] [--route latex|browser] [--browser PATH]

Without arguments it exports the hand-in and its companion. The latex route is Jupyter's
Download as PDF (xelatex and pandoc; the default where both are installed); the browser route
prints nbconvert's HTML with a Chrome, Chromium, Brave or Edge the machine has. A notebook that
is not one clean run of its code is refused; a PDF is replaced only when its export succeeds.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbconvert import HTMLExporter

import nbtools

PLATFORM = sys.platform  # 'win32', 'darwin' or 'linux'; the tests simulate the others
BROWSER_NAMES = ["google-chrome", "google-chrome-stable", "chromium", "chromium-browser", "chrome",
                 "brave-browser", "brave", "microsoft-edge", "microsoft-edge-stable", "msedge"]
# where each OS's installers put the browsers (Windows: under these folders of the environment)
WINDOWS_FOLDERS = ["PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA"]
WINDOWS_PATHS = ["Google/Chrome/Application/chrome.exe",
                 "Microsoft/Edge/Application/msedge.exe",
                 "BraveSoftware/Brave-Browser/Application/brave.exe",
                 "Chromium/Application/chrome.exe"]
MAC_FOLDERS = ["/Applications", "~/Applications"]
MAC_APPS = ["Google Chrome.app/Contents/MacOS/Google Chrome",
            "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
            "Brave Browser.app/Contents/MacOS/Brave Browser",
            "Chromium.app/Contents/MacOS/Chromium"]
LINUX_PATHS = ["/usr/bin/chromium", "/usr/bin/google-chrome", "/snap/bin/chromium",
               "/opt/google/chrome/chrome", "/opt/microsoft/msedge/msedge",
               "/opt/brave.com/brave/brave"]
# the Debian packages of the LaTeX route (Jupyter's Download as PDF)
LATEX_PACKAGES = "texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc"
# Letter paper with 0.75-inch margins. Code at 8.5 pt fits 79 columns of any monospace font in
# the text width, and wraps rather than running off the page if a line is longer. Cells and
# printouts are not split over a page break unless longer than a page. Figures are stored at 200
# pixels per inch (the notebook's figure.dpi); a CSS pixel is 1/96 inch, so a zoom of 0.48
# prints them at their size, as the LaTeX route does.
PRINT_CSS = """
<style>
@page { size: letter; margin: 0.75in; }
@media print {
  :root { --jp-code-font-size: 8.5pt; --jp-code-line-height: 1.3; --jp-code-padding: 3px;
          --jp-content-font-size1: 10pt; --jp-cell-prompt-width: 40pt;
          --jp-notebook-padding: 0; --jp-cell-padding: 2px; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  .jp-OutputArea-child, .jp-RenderedImage, .jp-InputArea, .jp-CodeCell { break-inside: avoid; }
  .jp-MarkdownCell { break-after: avoid; }  /* a sentence stays with the code it introduces */
  .jp-InputPrompt, .jp-OutputPrompt { font-size: 7pt !important; }
  .jp-RenderedImage img { zoom: 0.48; max-width: 100%; height: auto; }
  .jp-RenderedHTMLCommon h1 { font-size: 15pt; margin-top: 14pt; }
  .a05-title { font-size: 16pt; font-weight: bold; text-align: center; margin: 0 0 12pt; }
}
</style>
"""


def latex_missing():
    return [t for t in ("xelatex", "pandoc") if shutil.which(t) is None]


def browser_candidates():
    """The usual install paths of Chrome, Edge, Brave and Chromium on this OS."""
    if PLATFORM == "win32":
        return [str(Path(os.environ[folder]) / path) for path in WINDOWS_PATHS
                for folder in WINDOWS_FOLDERS if os.environ.get(folder)]
    if PLATFORM == "darwin":
        return [str(Path(folder).expanduser() / app) for folder in MAC_FOLDERS
                for app in MAC_APPS]
    return LINUX_PATHS


def find_browser():
    """A Chromium-family browser on PATH or where this OS's installers put it, or None."""
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in browser_candidates() if os.path.isfile(path)), None)


def no_route_message():
    """What to install, for this OS, when no route asked for can run."""
    fix = {"win32": "Microsoft Edge comes with Windows 10 and 11 (reinstall it if it was "
                    "removed), or install Google Chrome",
           "darwin": "install Google Chrome, Microsoft Edge or Brave (or MacTeX and pandoc)",
           }.get(PLATFORM, "install Chromium (Debian: sudo apt-get install chromium; "
                           "Ubuntu: sudo snap install chromium), or LaTeX and pandoc: "
                           f"{LATEX_PACKAGES}")
    return (f"no way to make a PDF here: no Chrome, Chromium, Brave or Edge browser was found, "
            f"and LaTeX is missing or not chosen. {fix[0].upper() + fix[1:]}, then run the same "
            "command again; a browser in an unusual place can be named with --browser PATH")


def choose_route(route=None, browser=None):
    """('latex', None) or ('browser', its path): the route asked for, or LaTeX where it is
    installed and a browser where not."""
    if route in (None, "latex") and not latex_missing():
        return "latex", None
    if route == "latex":
        raise SystemExit(f"{', '.join(latex_missing())} not found; install LaTeX (xelatex) "
                         f"and pandoc: on Debian or Ubuntu the packages {LATEX_PACKAGES}; on "
                         "Windows or macOS MiKTeX or MacTeX, and pandoc. Or leave out --route "
                         "latex, to print with a browser instead")
    browser = browser or find_browser()
    if browser is None or not os.path.isfile(browser):
        raise SystemExit(f"browser {browser} not found" if browser else no_route_message())
    return "browser", browser


def latex_pdf(notebook, pdf):
    """notebook to pdf with nbconvert's default LaTeX template (Download as PDF)."""
    cmd = [sys.executable, "-m", "nbconvert", "--to", "pdf", "--output-dir", str(pdf.parent),
           "--output", pdf.stem, str(notebook)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    return result.returncode == 0 and pdf.is_file(), result.stderr[-3000:]


def print_html(notebook, html):
    """The notebook as nbconvert's HTML, with the print stylesheet and its title on top."""
    nb = nbtools.load(notebook)
    body, _ = HTMLExporter(exclude_raw=True).from_notebook_node(nb)
    title = nb.metadata.get("title", notebook.stem)
    body = body.replace("</head>", PRINT_CSS + "</head>", 1)
    start = body.index(">", body.index("<body")) + 1
    body = body[:start] + f'\n<div class="a05-title">{title}</div>\n' + body[start:]
    html.write_text(body, encoding="utf-8")


def browser_pdf(notebook, pdf, browser):
    """notebook to pdf: its HTML printed by the browser, headless, in a throwaway profile."""
    html = pdf.with_suffix(".html")
    print_html(notebook, html)
    cmd = [browser, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--disable-extensions", "--disable-background-networking", "--disable-sync",
           "--disable-component-update", f"--user-data-dir={pdf.parent / 'profile'}",
           "--no-pdf-header-footer", "--print-to-pdf-no-header", f"--print-to-pdf={pdf}",
           html.as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium will not start as root with its sandbox
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"{browser}: {err}"
    return result.returncode == 0 and pdf.is_file(), result.stderr[-3000:]


def export(notebook, out, route=None, browser=None):
    """Write notebook's PDF to out by the route asked for (or the default); returns the route
    taken and, for the browser route, the browser."""
    notebook, out = Path(notebook), Path(out)
    problems = nbtools.run_problems(nbtools.load(notebook))
    if problems:
        raise SystemExit(f"{notebook} is not ready to export: {'; '.join(problems)}. Run it "
                         "first: python tools/run_notebook.py")
    route, browser = choose_route(route, browser)
    # beside out, as Ubuntu's snap browsers cannot see /tmp; Windows ones may hold their profile
    with tempfile.TemporaryDirectory(dir=out.parent, ignore_cleanup_errors=True) as tmp:
        built = Path(tmp) / (out.stem + ".pdf")
        if route == "latex":
            ok, log = latex_pdf(notebook, built)
        else:
            ok, log = browser_pdf(notebook, built, browser)
        if not ok:
            raise SystemExit(f"the export failed; {out} left as it was:\n{log}")
        nbtools.write_atomic(out, built.read_bytes())
    return route, browser


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=[nbtools.NOTEBOOK, nbtools.COMPANION])
    parser.add_argument("--out", type=Path, help="where to write one notebook's PDF")
    add_route_options(parser)
    args = parser.parse_args(argv)
    if args.out and len(args.notebooks) != 1:
        parser.error("--out takes one notebook")
    for notebook in args.notebooks:
        out = args.out or notebook.with_suffix(".pdf")
        route, browser = export(notebook, out, args.route, args.browser)
        print(f"wrote {out}, {route_taken(route, browser)}")
    handin = next((n for n in args.notebooks if n.name == nbtools.NOTEBOOK.name), None)
    if handin and nbtools.placeholder(nbtools.load(handin)):
        print(f"note: {nbtools.placeholder_note()}")


if __name__ == "__main__":
    main()
