"""examples/notebook.ipynb runs top to bottom in a real kernel, offline, and draws its chart."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import matplotlib.image
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def run_notebook(path: Path, workdir: Path) -> Any:
    """The notebook at `path` executed with the ``python3`` kernel (this environment's)."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # untyped
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": workdir}}
    ).execute()
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example notebook, executed once for this module (a cell error fails here)."""
    return run_notebook(NOTEBOOK, tmp_path_factory.mktemp("notebook"))


def outputs(notebook: Any, kind: str) -> list[Any]:
    """Every output of the notebook's code cells holding data of MIME type `kind`."""
    return [
        output.data[kind]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if kind in output.get("data", {})
    ]


def test_the_notebook_runs_without_errors(executed: Any) -> None:
    """Every code cell ran, in order, and none produced an error output."""
    cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    errors = [output for cell in cells for output in cell.outputs if output.output_type == "error"]
    assert errors == []


def test_the_notebook_shows_frames_and_tables(executed: Any) -> None:
    """Frames and the summary list render as HTML tables; the priced what-if is among them."""
    tables = outputs(executed, "text/html")
    assert len(tables) >= 6
    assert any("hourly (today)" in table and "raw" in table for table in tables)
    assert any("<caption>" in table and "mtrusg" not in table for table in tables)


def test_the_notebook_draws_its_chart(executed: Any) -> None:
    """The chart cell's output is a PNG image of a real size."""
    (chart,) = outputs(executed, "image/png")
    image = matplotlib.image.imread(io.BytesIO(base64.b64decode(chart)), format="png")
    height, width = image.shape[:2]
    assert width > 400 and height > 150
