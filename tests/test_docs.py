"""Every ```python block in README.md and docs/*.md runs, so the docs cannot drift from the code.

Each file's blocks run in order in one fresh module namespace, inside an empty working directory
(examples that write files leave nothing behind). Blocks fenced with another language (``sh``,
``text``, none) are shown to readers but not run.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from meterlib.aggregation import formula_names, unregister_aggregation

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ``python`` fenced blocks of a Markdown text as (line of their first line, source).

    The language is the first word of the fence's info string; indented fences (inside lists)
    are dedented by the fence's own indentation.
    """
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        opening = _FENCE.fullmatch(lines[number])
        number += 1
        if opening is None:
            continue
        indent, fence = opening["indent"], opening["fence"]
        words = opening["info"].split()
        first, body = number + 1, []
        while True:
            if number == len(lines):
                raise ValueError(f"the fence opened on line {first - 1} is never closed")
            closing = _FENCE.fullmatch(lines[number])
            number += 1
            if (
                closing is not None
                and closing["fence"].startswith(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[number - 1]
            body.append(line.removeprefix(indent))
        if words and words[0] == "python":
            blocks.append((first, "\n".join(body) + "\n"))
    return blocks


def test_only_python_blocks_are_collected() -> None:
    """Blocks fenced as sh, text or with no language are skipped; python ones keep their order."""
    text = (
        "# Title\n```sh\nmake test\n```\n"
        "```python\nx = 1\n```\n"
        "```\nnot code\n```\n"
        "- item\n\n  ```python\n  y = x + 1\n  ```\n"
        "~~~text\n```python\nnested = True\n```\n~~~\n"
    )
    assert python_blocks(text) == [(6, "x = 1\n"), (14, "y = x + 1\n")]


def test_an_unclosed_fence_is_an_error() -> None:
    """A block whose fence never closes fails loudly instead of being silently skipped."""
    with pytest.raises(ValueError, match="line 2"):
        python_blocks("text\n```python\nx = 1\n")


def test_readme_has_a_runnable_quickstart() -> None:
    """The README's quickstart is a python block, so this suite runs it."""
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_doc_code_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file's python blocks run in order without error and leave the formula registry clean."""
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    monkeypatch.chdir(tmp_path)
    name = "meterlib_docs_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    formulas = formula_names()
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses and pickle look modules up
    try:
        for first, source in blocks:
            # padded so that tracebacks point at the Markdown file's own line numbers
            exec(compile("\n" * (first - 1) + source, str(path), "exec"), module.__dict__)
        assert formula_names() == formulas, "the docs must unregister the formulas they add"
    finally:
        for leftover in set(formula_names()) - set(formulas):
            unregister_aggregation(leftover)
