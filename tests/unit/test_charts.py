"""Server-side SVG charts: the map of proportional circles, and week labels that stay readable."""
from __future__ import annotations

import re

import pytest

from hpsmart.charts import MapPoint, Series, bubble_map, column_chart


def circles(svg: str) -> list[tuple[float, float, float]]:
    return [tuple(float(v) for v in m) for m in re.findall(r'<circle cx="([^"]+)" cy="([^"]+)" r="([^"]+)"', svg)]


def test_map_circles_are_proportional_placed_and_linked():
    points = [MapPoint("Phường <Lê Chân>", 20.85, 106.68, 100, "/inbox/?unit=1&date_from=2026-11-01"),
              MapPoint("Phường Hồng Bàng", 20.87, 106.66, 25),
              MapPoint("Xã trống", 20.90, 106.70, 0)]
    svg = bubble_map(points, title="Bản đồ", chart_id="m", legend_title="Số phản ánh", labelled=1)
    assert "<Lê Chân>" not in svg and "&lt;Lê Chân&gt;" in svg  # text is escaped
    assert svg.count("<a ") == 1 and 'href="/inbox/?unit=1&amp;date_from=2026-11-01"' in svg
    assert 'aria-label="Phường &lt;Lê Chân&gt;: 100"' in svg
    (x1, y1, r1), (x2, y2, r2) = circles(svg)[:2]  # the larger first, so the smaller is drawn on top
    assert (r2 / r1) ** 2 == pytest.approx(25 / 100, rel=0.01)  # area proportional to the value
    assert x2 < x1 and y2 < y1  # west and north of the first: left and up
    assert "Xã trống" not in svg  # nothing to draw for 0
    assert svg.count("Phường Hồng Bàng (") == 0 and "Phường &lt;Lê Chân&gt; (100)" in svg  # only the largest named
    assert 'role="group"' in svg and "km</text>" in svg  # links inside, and a scale bar


def test_an_empty_map_has_its_title_only():
    svg = bubble_map([], title="Bản đồ", chart_id="m", legend_title="Số phản ánh")
    assert "<circle" not in svg and "Bản đồ" in svg


def test_week_labels_take_two_lines_and_thin_out_when_crowded():
    few = column_chart(["Tuần 44\n27/10–02/11", "Tuần 45\n03/11–09/11"], [Series("Nhận", [3, 1234])],
                       title="Theo tuần", chart_id="w")
    assert few.count("<tspan") == 4 and ">27/10–02/11</tspan>" in few
    assert ">1.234</text>" in few  # numbers in the locale (Vietnamese outside a request)
    year = column_chart([f"Tuần {i}\n01/01–07/01" for i in range(1, 54)], [Series("Nhận", [5] * 53)],
                        title="Theo tuần", chart_id="y")
    labelled = re.findall(r">(Tuần \d+)</tspan>", year)
    assert 1 < len(labelled) < 53 and labelled[0] == "Tuần 1"
    with pytest.raises(ValueError):
        column_chart(["a", "b"], [Series("x", [1])], title="t", chart_id="e")
