"""The documentation site: every page in the nav, a strict offline build, doctests as code."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
NAV_ENTRY = re.compile(r"^\s+- [^:]+: (?P<page>\S+\.md)$", re.MULTILINE)
EXTERNAL_ASSET = re.compile(r"<(?:script|img)[^>]+src=\"https?://|<link[^>]+href=\"https?://")


def nav_pages() -> list[str]:
    """The Markdown files mkdocs.yml's nav lists, in order."""
    return NAV_ENTRY.findall((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    """docs/*.md and the nav are the same set of pages, each once."""
    pages = nav_pages()
    assert len(pages) == len(set(pages))
    assert set(pages) == {path.name for path in (ROOT / "docs").glob("*.md")}


def test_the_site_builds_strictly_and_offline(tmp_path: Path) -> None:
    """The strict build succeeds, and no built page loads a script or style from the web."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pages = list(tmp_path.rglob("*.html"))
    assert len(pages) >= len(nav_pages())
    for page in pages:
        assert not EXTERNAL_ASSET.search(page.read_text(encoding="utf-8")), page
    reference = (tmp_path / "reference" / "index.html").read_text(encoding="utf-8")
    assert "meterlib.notebook" in reference and "usage_frame" in reference


def griffe_doctests() -> ModuleType:
    """tools/griffe_doctests.py, the extension mkdocs.yml loads by path."""
    spec = importlib.util.spec_from_file_location(
        "griffe_doctests", ROOT / "tools" / "griffe_doctests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_doctests_are_fenced_as_code() -> None:
    """Each run from a >>> line to a blank line is fenced, indented as it is; prose is not."""
    fence = griffe_doctests().fence_doctests
    text = "Summary.\n\n    >>> f([1])\n    [a][b]\n\nMore.\n>>> g()"
    assert fence(text).splitlines() == [
        "Summary.",
        "",
        "    ```pycon",
        "    >>> f([1])",
        "    [a][b]",
        "    ```",
        "",
        "More.",
        "```pycon",
        ">>> g()",
        "```",
    ]
    assert fence("No examples here.\n\nNone.") == "No examples here.\n\nNone."
