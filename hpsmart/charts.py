"""Server-side SVG charts, readable printed in black and white.

The same SVG serves the dashboard (inline in the page) and the PDF report
(inline in the document WeasyPrint lays out). Series are told apart by fill
patterns (solid, hatching, dots, cross-hatching, outline) and every bar carries
its value as text, so no information depends on colour. Charts contain only the
figures given to them; all text is escaped.

Units: ``width``/``height`` are SVG user units (CSS pixels; 96 per inch). The
SVG scales to its container (``width: 100%``) with its aspect ratio kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Fill patterns, in the order series use them by default.
PATTERNS = ("solid", "hatch", "dots", "cross", "outline")

FONT_FAMILY = "Liberation Serif, Times New Roman, serif"


@dataclass(frozen=True)
class Series:
    """One data series: ``name`` (legend text), ``values`` (numbers >= 0, one per
    label), ``pattern`` (one of ``PATTERNS``; None picks by position)."""

    name: str
    values: Sequence[float]
    pattern: str | None = None


def _defs(chart_id: str) -> str:
    p = escape(chart_id)
    return (
        "<defs>"
        f'<pattern id="{p}-hatch" patternUnits="userSpaceOnUse" width="6" height="6">'
        '<rect width="6" height="6" fill="#fff"/>'
        '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#000" stroke-width="1.2"/></pattern>'
        f'<pattern id="{p}-dots" patternUnits="userSpaceOnUse" width="5" height="5">'
        '<rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1.1" fill="#000"/></pattern>'
        f'<pattern id="{p}-cross" patternUnits="userSpaceOnUse" width="6" height="6">'
        '<rect width="6" height="6" fill="#fff"/>'
        '<path d="M0,3 h6 M3,0 v6" stroke="#000" stroke-width="1"/></pattern>'
        "</defs>"
    )


def _fill(chart_id: str, pattern: str) -> str:
    if pattern == "solid":
        return "#222"
    if pattern == "outline":
        return "#fff"
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}")
    return f"url(#{escape(chart_id)}-{pattern})"


def _rect(chart_id: str, x: float, y: float, w: float, h: float, pattern: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{_fill(chart_id, pattern)}" stroke="#000" stroke-width="0.8"/>')


def _text(x: float, y: float, content, *, size: float = 11, anchor: str = "start", weight: str = "normal") -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{bold} '
            f'fill="#000">{escape(str(content))}</text>')


def _short(label: str, limit: int) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _format(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.0f}%"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _series_patterns(series: Sequence[Series]) -> list[str]:
    return [s.pattern or PATTERNS[i % len(PATTERNS)] for i, s in enumerate(series)]


def _legend(chart_id: str, series: Sequence[Series], patterns: list[str], x: float, y: float) -> list[str]:
    parts = []
    for s, pattern in zip(series, patterns):
        parts.append(_rect(chart_id, x, y - 9, 14, 10, pattern))
        parts.append(_text(x + 19, y, s.name, size=11))
        x += 32 + 6.2 * len(str(s.name))
    return parts


def _open(chart_id: str, width: float, height: float, title: str) -> list[str]:
    t = escape(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="{FONT_FAMILY}">',
        f'<title id="{escape(chart_id)}-t">{t}</title>',
        _defs(chart_id),
    ]


def column_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, chart_id: str,
                 width: float = 640, height: float = 260, percent: bool = False) -> Markup:
    """Vertical grouped bars: one group per label (e.g. per week), one bar per series.

    :param labels: the x-axis labels (short: they are cut to fit the group).
    :param series: one or more ``Series`` with ``len(labels)`` values each.
    :param title: the chart's accessible title (also its first line of text).
    :param chart_id: unique within the page/document (pattern ids derive from it).
    :param percent: values are percentages (0..100): the axis goes to 100.
    :returns: the SVG as ``Markup``.
    :raises ValueError: a series of the wrong length or an unknown pattern.
    """
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError("each series needs one value per label")
    patterns = _series_patterns(series)
    top, bottom, left, right = 44, 36, 12, 12
    plot_h = height - top - bottom
    plot_w = width - left - right
    peak = 100.0 if percent else max([v for s in series for v in s.values] + [1])
    parts = _open(chart_id, width, height, title)
    parts.append(_text(left, 16, title, size=13, weight="bold"))
    parts += _legend(chart_id, series, patterns, left, 34)
    baseline = top + plot_h
    parts.append(f'<line x1="{left}" y1="{baseline:.1f}" x2="{width - right}" y2="{baseline:.1f}" '
                 'stroke="#000" stroke-width="1"/>')
    n = max(len(labels), 1)
    group_w = plot_w / n
    bar_w = min(36.0, (group_w - 8) / max(len(series), 1))
    max_chars = max(int(group_w / 6), 3)
    for i, label in enumerate(labels):
        group_x = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            value = float(s.values[i] or 0)
            h = (plot_h - 14) * value / peak if peak else 0
            x = group_x + j * bar_w
            parts.append(_rect(chart_id, x, baseline - h, bar_w - 2, h, patterns[j]))
            parts.append(_text(x + (bar_w - 2) / 2, baseline - h - 3, _format(value, percent), size=10,
                               anchor="middle"))
        parts.append(_text(left + i * group_w + group_w / 2, baseline + 15, _short(label, max_chars), size=10,
                           anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, chart_id: str,
              width: float = 640, stacked: bool = False, percent: bool = False, label_width: float = 210,
              row_height: float = 22) -> Markup:
    """Horizontal bars: one row per label (e.g. per category or agency).

    :param stacked: stack the series in one bar per row (e.g. on time + late),
        each segment labelled with its value when it is wide enough; else one
        bar per series per row.
    :param label_width: room for the row labels (longer labels are cut with "…").
    :param percent: values are percentages: the axis goes to 100.
    :returns: the SVG as ``Markup``; its height follows the number of rows.
    :raises ValueError: a series of the wrong length or an unknown pattern.
    """
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError("each series needs one value per label")
    patterns = _series_patterns(series)
    top, left, right = 46, 8, 40
    per_row = row_height if stacked else row_height * max(len(series), 1) * 0.8 + 6
    height = top + per_row * max(len(labels), 1) + 10
    plot_x = left + label_width
    plot_w = width - plot_x - right
    if stacked:
        totals = [sum(float(s.values[i] or 0) for s in series) for i in range(len(labels))]
        peak = 100.0 if percent else max(totals + [1])
    else:
        peak = 100.0 if percent else max([float(v or 0) for s in series for v in s.values] + [1])
    parts = _open(chart_id, width, height, title)
    parts.append(_text(left, 16, title, size=13, weight="bold"))
    parts += _legend(chart_id, series, patterns, left, 36)
    parts.append(f'<line x1="{plot_x:.1f}" y1="{top - 4}" x2="{plot_x:.1f}" y2="{height - 8:.1f}" '
                 'stroke="#000" stroke-width="1"/>')
    max_chars = int(label_width / 6.3)
    for i, label in enumerate(labels):
        y = top + i * per_row
        parts.append(_text(plot_x - 6, y + per_row / 2 + 2, _short(label, max_chars), size=11, anchor="end"))
        if stacked:
            x = plot_x
            bar_h = row_height - 6
            for j, s in enumerate(series):
                value = float(s.values[i] or 0)
                w = plot_w * value / peak if peak else 0
                parts.append(_rect(chart_id, x, y + 2, w, bar_h, patterns[j]))
                if value and w >= 22:
                    # White box behind the number keeps it legible on any pattern.
                    text_x = x + w / 2
                    parts.append(f'<rect x="{text_x - 11:.1f}" y="{y + 4:.1f}" width="22" height="{bar_h - 4:.1f}" '
                                 'fill="#fff"/>')
                    parts.append(_text(text_x, y + bar_h - 1, _format(value, percent), size=10, anchor="middle"))
                x += w
            total = sum(float(s.values[i] or 0) for s in series)
            parts.append(_text(x + 4, y + bar_h - 1, _format(total, percent), size=10))
        else:
            bar_h = row_height * 0.8 - 4
            for j, s in enumerate(series):
                value = float(s.values[i] or 0)
                w = plot_w * value / peak if peak else 0
                by = y + 3 + j * (bar_h + 2)
                parts.append(_rect(chart_id, plot_x, by, w, bar_h, patterns[j]))
                parts.append(_text(plot_x + w + 4, by + bar_h - 3, _format(value, percent), size=10))
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["FONT_FAMILY", "PATTERNS", "Series", "bar_chart", "column_chart"]
