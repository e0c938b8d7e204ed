"""Look at the docs and the notebook as a user would: PNGs of built pages and of the chart.

``make screenshots`` (after ``make docs``) runs this. It serves ``site/`` on a loopback port,
has headless Chromium render pages to PNG, and executes ``examples/notebook.ipynb`` (nbclient,
the ``python3`` kernel) to save the chart it draws. Everything stays offline. Chromium is the
Debian package ``chromium``; run as root, the script installs it with apt-get when it is
missing.

    python tools/screenshots.py [--out build/screenshots] [PAGE ...]

PAGE is a path under the site (default: the home page, Concepts, its diagram, Notebooks);
``--height`` makes the window taller, to see more of a page.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["", "concepts/", "img/pre-aggregation.svg", "notebooks/"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The Chromium executable; installed with apt-get first when missing and run as root."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("chromium is not installed: apt-get install chromium (as root)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=environment)
    found = shutil.which("chromium")
    if not found:
        sys.exit("apt-get installed chromium, but it is not on PATH")
    return found


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free loopback port for the block; its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing."""


def screenshot(browser: str, url: str, target: Path, *, height: int = 1000) -> None:
    """Render `url` in headless Chromium (a fresh profile, 1280 pixels wide) to PNG `target`."""
    with tempfile.TemporaryDirectory(prefix="meterlib-chromium-") as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--window-size=1280,{height}",
                f"--user-data-dir={profile}",
                f"--screenshot={target}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not target.exists():
        sys.exit(f"chromium wrote no screenshot of {url}")


def notebook_chart(target: Path) -> None:
    """Execute the example notebook and write the first PNG it outputs (its chart) to `target`."""
    import nbformat  # noqa: PLC0415 -- test-extra tools, only needed here
    from nbclient import NotebookClient  # noqa: PLC0415

    notebook = nbformat.read(  # type: ignore[no-untyped-call]  # nbformat is untyped
        ROOT / "examples" / "notebook.ipynb", as_version=4
    )
    with tempfile.TemporaryDirectory() as workdir:
        NotebookClient(
            notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": workdir}}
        ).execute()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            image = output.get("data", {}).get("image/png")
            if image:
                target.write_bytes(base64.b64decode(image))
                return
    sys.exit("the notebook drew no chart")


def main() -> None:
    """Render the pages and the chart; print where each PNG went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=PAGES, help="paths under site/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--height", type=int, default=1000, help="window height in pixels")
    options = parser.parse_args()
    site = ROOT / "site"
    if not (site / "index.html").exists():
        sys.exit("site/ is not built: run make docs first")
    options.out.mkdir(parents=True, exist_ok=True)
    browser = chromium()
    with serving(site) as base:
        for page in options.pages:
            name = page.strip("/").replace("/", "-").replace(".", "-") or "home"
            target = options.out / f"docs-{name}.png"
            screenshot(browser, base + page, target, height=options.height)
            print(target)
    chart = options.out / "notebook-chart.png"
    notebook_chart(chart)
    print(chart)


if __name__ == "__main__":
    main()
