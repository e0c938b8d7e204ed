"""Charts: rendered to PNG with Agg, their lines carrying the usage they show."""

from __future__ import annotations

import io

import matplotlib.image
import numpy as np
import pytest
from matplotlib import colors, pyplot
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from meterlib import Meter, Metering
from meterlib import plot as charts

DAY_8 = "2026-03-08T00:00:00Z"
DAY_11 = "2026-03-11T00:00:00Z"


def png(ax: Axes) -> np.ndarray:
    """The axes' figure rendered to PNG bytes (Agg) and read back as an RGBA array."""
    buffer = io.BytesIO()
    figure = ax.figure
    assert isinstance(figure, Figure)
    figure.savefig(buffer, format="png", dpi=50)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer.seek(0)
    image: np.ndarray = matplotlib.image.imread(buffer, format="png")
    return image


def ys(line: Line2D) -> list[float]:
    """A line's y values as floats."""
    values: list[float] = np.asarray(line.get_ydata(), dtype=float).tolist()
    return values


def xs(line: Line2D) -> list[str]:
    """A line's x values (UTC datetime64) as ISO strings."""
    return [str(moment) for moment in np.asarray(line.get_xdata())]


@pytest.fixture
def used(m: Metering, meter: Meter) -> Metering:
    """cus_1 uses 4 on 10 March, cus_2 uses 1.5 on 9 March."""
    m.record("api", customer="cus_1", value=4)
    m.record("api", customer="cus_2", value="1.5", timestamp="2026-03-09T06:00:00Z")
    return m


def test_usage_draws_a_step_line_per_customer(used: Metering, meter: Meter) -> None:
    """One line per customer: a point per window start plus the range's end, last value held."""
    ax = charts.usage(used, meter.id, DAY_8, DAY_11)
    lines = {str(line.get_label()): line for line in ax.get_lines()}
    assert sorted(lines) == ["cus_1", "cus_2"]
    assert ys(lines["cus_1"]) == [0.0, 0.0, 4.0, 4.0]
    assert ys(lines["cus_2"]) == [0.0, 1.5, 0.0, 0.0]
    days = xs(lines["cus_1"])
    assert days == [
        "2026-03-08T00:00:00",
        "2026-03-09T00:00:00",
        "2026-03-10T00:00:00",
        "2026-03-11T00:00:00",
    ]
    assert lines["cus_1"].get_drawstyle() == "steps-post"
    assert ax.get_title() == "API calls: sum per day (UTC)"
    assert ax.get_legend() is not None


def test_the_chart_renders_to_a_png_with_its_lines_in_colour(used: Metering, meter: Meter) -> None:
    """The PNG has the figure's size and pixels of each line's colour (not a blank image)."""
    ax = charts.usage(used, meter.id, DAY_8, DAY_11)
    image = png(ax)
    figure = ax.figure
    assert isinstance(figure, Figure)
    width, height = figure.get_size_inches() * 50
    assert image.shape[:2] == (round(height), round(width))
    for line in ax.get_lines():
        red, green, blue, _ = colors.to_rgba(line.get_color())
        close = np.all(np.abs(image[:, :, :3] - (red, green, blue)) < 0.08, axis=2)
        assert close.sum() > 20, f"{line.get_label()}'s colour is missing from the PNG"


def test_usage_in_a_zone_reads_local_days(used: Metering, meter: Meter) -> None:
    """With a timezone the lines start at the zone's midnights and the title names the zone."""
    ax = charts.usage(
        used,
        meter.id,
        "2026-03-09T00:00:00-04:00",
        "2026-03-11T00:00:00-04:00",
        customers=["cus_2"],
        timezone="America/New_York",
    )
    (line,) = ax.get_lines()
    assert xs(line)[:2] == ["2026-03-09T04:00:00", "2026-03-10T04:00:00"]
    assert ys(line) == [1.5, 0.0, 0.0]
    assert ax.get_title().endswith("(America/New_York)")


def test_usage_draws_on_the_axes_it_is_given(used: Metering, meter: Meter) -> None:
    """Given ax=, the chart is drawn there and that Axes is returned."""
    _, mine = pyplot.subplots()
    assert charts.usage(used, meter.id, DAY_8, DAY_11, ax=mine) is mine
    assert len(mine.get_lines()) == 2
    assert len(pyplot.get_fignums()) == 1


def test_a_summary_lists_plot_is_its_values(used: Metering, meter: Meter) -> None:
    """list.plot() draws one step line of every page's aggregated values over their windows."""
    listed = used.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time="2026-03-10T10:00:00Z",
        end_time="2026-03-10T14:00:00Z",
        value_grouping_window="hour",
        limit=2,
    )
    ax = listed.plot(label="cus_1")
    (line,) = ax.get_lines()
    assert ys(line) == [0.0, 0.0, 4.0, 0.0, 0.0]
    assert xs(line)[-1] == "2026-03-10T14:00:00"
    assert line.get_label() == "cus_1"
    assert png(ax).shape[2] == 4
