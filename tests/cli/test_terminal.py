"""The progress bar: drawn in a real pseudo-terminal, absent when the output is piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import METERLIB, csv_rows, run


def read_all(fd: int, child: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
    """Everything the child writes to the terminal, until it exits and the terminal drains."""
    output, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65_536)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not chunk:
                break
            output += chunk
        elif child.poll() is not None:
            break
    return output


def test_the_progress_bar_is_drawn_on_a_terminal_and_not_in_a_pipe(
    store: str, meter: str, tmp_path: Path
) -> None:
    """In a pty, import draws Rich's bar with rows/s and rejects; piped, none of it appears."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(30_000, bad_every=1_000))
    controller, terminal = pty.openpty()
    environment = {
        **os.environ,
        "METERLIB_STORE": store,
        "COLUMNS": "160",
        "TERM": "xterm",
        "PYTHONIOENCODING": "utf-8",
        "LC_ALL": "C.UTF-8",
    }
    environment.pop("NO_COLOR", None)
    with subprocess.Popen(
        [str(METERLIB), "import", str(path)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment,
        close_fds=True,
    ) as child:
        os.close(terminal)
        shown = read_all(controller, child).decode("utf-8", "replace")
        child.wait(timeout=60)
    os.close(controller)
    assert child.returncode == 1  # 30 rows rejected
    assert "rows/s" in shown and "rejected" in shown
    assert "━" in shown  # the bar itself
    assert "\x1b[" in shown  # drawn with terminal control sequences
    piped = run("import", str(path), store=store)  # the same rows again, now all duplicates
    assert piped.returncode == 1
    assert "rows/s" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stdout + piped.stderr
    assert "duplicates" in piped.stdout
