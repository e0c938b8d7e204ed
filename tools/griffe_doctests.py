"""A griffe extension for the API reference: docstrings' doctests shown as ``pycon`` code blocks.

meterlib's docstrings hold their examples as bare doctests (pytest runs them); Markdown would
render them as prose (and read ``[a][b]`` in their output as a link). This wraps every run of
lines from a ``>>>`` line to the next blank line in a fenced block. mkdocs.yml loads it.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    r"""`text` with each doctest (a ``>>>`` line up to the next blank line) fenced as pycon.

    >>> fence_doctests("Intro.\n\n>>> 1 + 1\n2\n\nAfter.").splitlines()
    ['Intro.', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'After.']
    """
    out: list[str] = []
    indent: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None and (stripped.startswith(">>> ") or stripped == ">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            out.append(f"{indent}```")
            indent = None
        out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctests of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the object's docstring as it is loaded."""
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
