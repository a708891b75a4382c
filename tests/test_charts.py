"""The models page's SVG charts (annotations/charts.py): one marker per point, N x N cells, names escaped."""
from __future__ import annotations

import re

import pytest

from annotations import charts


def test_a_line_chart_has_one_marker_per_epoch_and_one_path_through_them():
    points = [charts.Point(e, 1.0 / e, partial=e == 5) for e in range(1, 6)]
    svg = charts.line_chart(points, title="loss", y_label="loss", best_x=3)
    assert svg.count('<circle class="point') == 5 and svg.count('class="point partial"') == 1
    [d] = re.findall(r'<path class="series" d="([^"]+)"', svg)
    assert len(re.findall(r"[ML]", d)) == 5
    assert 'class="best"' in svg and 'data-points="5"' in svg


def test_a_line_chart_without_points_says_so():
    assert "no data" in charts.line_chart([], title="t", y_label="y")


def test_bars_scale_to_the_value_and_a_missing_value_reads_na():
    svg = charts.bar_chart([("a", 1.0), ("b", 0.5), ("c", None)], title="IoU", width=340)
    widths = [float(w) for w in re.findall(r'<rect class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(2 * widths[1], abs=0.1)
    assert "n/a" in svg


def test_a_confusion_heatmap_has_n_by_n_cells_shaded_by_the_share_of_the_row():
    svg = charts.confusion_heatmap(["bg", "cat"], [[90, 10], [0, 0]])
    cells = re.findall(r'<rect class="cell( diagonal)?"[^>]*fill-opacity="([\d.]+)" data-count="(\d+)"', svg)
    assert len(cells) == 4 and [c[2] for c in cells] == ["90", "10", "0", "0"]
    assert float(cells[0][1]) > float(cells[1][1]) and cells[0][0] == " diagonal"
    with pytest.raises(ValueError, match="2 x 2"):
        charts.confusion_heatmap(["a", "b"], [[1, 2]])


def test_names_from_users_are_escaped():
    svg = charts.confusion_heatmap(['<script>"x"', "b"], [[1, 0], [0, 1]])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
