"""Server-side SVG charts, readable printed in black and white.

The same SVG serves the dashboard (inline in the page) and the PDF report
(inline in the document WeasyPrint lays out). Series are told apart by fill
patterns (solid, hatching, dots, cross-hatching, outline) and every bar carries
its value as text, so no information depends on colour. Charts contain only the
figures given to them; all text is escaped.

Numbers are written in the current locale (:func:`hpsmart.i18n.format_number`:
``1.234`` and ``79%`` in Vietnamese, ``1,234`` in English; the PDF forces Vietnamese).

Units: ``width``/``height`` are SVG user units (CSS pixels; 96 per inch). The
SVG scales to its container (``width: 100%``) with its aspect ratio kept.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .i18n import format_number, format_rate

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
        return format_rate(value / 100, 0)
    return format_number(value, 0 if float(value).is_integer() else 1)


def _label(x: float, y: float, label: str, limit: int, *, size: float = 10, anchor: str = "middle") -> str:
    """An axis label; lines separated by "\n" go one under the other, each cut to ``limit``."""
    lines = str(label).split("\n")
    if len(lines) == 1:
        return _text(x, y, _short(lines[0], limit), size=size, anchor=anchor)
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size + 2}">{escape(_short(line, limit))}</tspan>'
                    for i, line in enumerate(lines))
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="#000">'
            f'{spans}</text>')


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

    :param labels: the x-axis labels; ``"\n"`` starts a second line. When they do not
        fit under their group, only every n-th group is labelled (with room for the
        whole text); values too wide for their bar are left out (the tables give them).
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
    line_count = max([len(str(label).split("\n")) for label in labels] + [1])
    top, bottom, left, right = 44, 24 + 12 * line_count, 12, 12
    height += 12 * (line_count - 1)
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
    bar_w = max(min(36.0, (group_w - 8) / max(len(series), 1)), 2.0)
    longest = max([len(line) for label in labels for line in str(label).split("\n")] + [1])
    step = max(1, math.ceil(longest * 5.6 / group_w))  # 5.6: width of a character at size 10
    max_chars = max(int(group_w * step / 5.6), 3)
    for i, label in enumerate(labels):
        group_x = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            value = float(s.values[i] or 0)
            h = (plot_h - 14) * value / peak if peak else 0
            x = group_x + j * bar_w
            parts.append(_rect(chart_id, x, baseline - h, bar_w - 2, h, patterns[j]))
            shown = _format(value, percent)
            if len(shown) * 5.6 <= max(bar_w + 4, group_w / len(series)):
                parts.append(_text(x + (bar_w - 2) / 2, baseline - h - 3, shown, size=10, anchor="middle"))
        if step == 1:
            parts.append(_label(left + i * group_w + group_w / 2, baseline + 15, label, max_chars))
        elif i % step == 0:  # a label that spans several groups starts at its own
            parts.append(_label(left + i * group_w + 1, baseline + 15, label, max_chars, anchor="start"))
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


# --- the map of reports by ward/commune -------------------------------------------------------

@dataclass(frozen=True)
class MapPoint:
    """One circle of ``bubble_map``: ``label`` (a place's name), its position
    (``latitude``/``longitude``, WGS84 degrees), ``value`` (>= 0; the circle's area is
    proportional to it), ``href`` (the circle links there; None: no link) and
    ``description`` (the circle's tooltip and accessible name; default "label: value")."""

    label: str
    latitude: float
    longitude: float
    value: float
    href: str | None = None
    description: str | None = None


#: Kilometres in a degree of latitude (and of longitude at the equator), for the scale bar.
KM_PER_DEGREE = 111.32


def _nice(value: float) -> float:
    """The largest of 1, 2, 5 × 10^k that is <= ``value`` (``value`` > 0)."""
    power = 10 ** math.floor(math.log10(value))
    for step in (5, 2, 1):
        if step * power <= value:
            return step * power
    return power


def _boxes_overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def bubble_map(points: Sequence[MapPoint], *, title: str, chart_id: str, legend_title: str, width: float = 640,
               max_height: float = 460, max_radius: float = 26, min_radius: float = 3, labelled: int = 8,
               scale_label: str = "km") -> Markup:
    """Proportional circles on a plain background: where the reports are, and how many.

    Positions use an equirectangular projection centred on the points (longitude
    scaled by the cosine of the mean latitude), fitted to ``width`` and at most
    ``max_height``; no base map is drawn. A circle's area is proportional to its
    value (radius ``max_radius`` for the largest, at least ``min_radius``); large
    circles are drawn first, so smaller ones stay visible and clickable on top.
    Readable in black and white: grey translucent discs with a black outline, the
    ``labelled`` largest named ("name (value)") where the name does not cover
    another, a legend of three reference circles and a scale bar.

    Every circle (and its name) is a link when ``href`` is set, named by
    ``description`` for screen readers and as a tooltip; the SVG is a group of
    links (``role="group"``), not an image. The page should also give the same
    figures as a table: small circles are hard to hit on a touch screen.

    :param legend_title: text before the reference circles (e.g. "Reports received").
    :param scale_label: unit written after the scale bar's length.
    :returns: the SVG as ``Markup``; an empty ``points`` gives an SVG with the title only.
    """
    points = [p for p in points if p.value > 0]
    pad, top, legend_h = max_radius + 4, 30, 2 * max_radius + 14
    plot_w = width - 2 * pad
    if points:
        mean_lat = sum(p.latitude for p in points) / len(points)
        x_factor = math.cos(math.radians(mean_lat))
        xs = [p.longitude * x_factor for p in points]
        ys = [-p.latitude for p in points]
        span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
        scale = min(plot_w / span_x if span_x else math.inf, (max_height - top - legend_h - 2 * pad) / span_y
                    if span_y else math.inf)
        if math.isinf(scale):  # one place, or all in one spot
            scale = plot_w / 0.1
        plot_h = span_y * scale
        offset_x = pad + (plot_w - span_x * scale) / 2
    else:
        xs, ys, scale, plot_h, offset_x = [], [], 1.0, 0.0, pad
    height = top + 2 * pad + plot_h + legend_h
    min_x, min_y = (min(xs), min(ys)) if points else (0.0, 0.0)
    peak = max([p.value for p in points] + [1])

    def radius(value: float) -> float:
        return max(max_radius * math.sqrt(value / peak), min_radius)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart map" role="group" '
        f'aria-labelledby="{escape(chart_id)}-t" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" font-family="{FONT_FAMILY}">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        _text(8, 18, title, size=13, weight="bold"),
        f'<rect x="1" y="{top - 4}" width="{width - 2:.0f}" height="{2 * pad + plot_h + 8:.1f}" fill="none" '
        'stroke="#999" stroke-width="0.8"/>',
    ]
    placed = [((x - min_x) * scale + offset_x, top + pad + (y - min_y) * scale, p)
              for x, y, p in zip(xs, ys, points)]
    placed.sort(key=lambda item: -item[2].value)
    names = {id(p) for _, _, p in placed[:labelled]}
    boxes: list[tuple] = [(cx - radius(p.value), cy - radius(p.value), cx + radius(p.value), cy + radius(p.value))
                          for cx, cy, p in placed[:labelled]]
    for cx, cy, p in placed:
        r = radius(p.value)
        description = p.description or f"{p.label}: {_format(p.value, False)}"
        label = ""
        if id(p) in names:
            text = f"{p.label} ({_format(p.value, False)})"
            w, h = len(text) * 6.0, 13
            for lx, ly, anchor in ((cx + r + 3, cy + 4, "start"), (cx - r - 3, cy + 4, "end"),
                                   (cx, cy - r - 4, "middle"), (cx, cy + r + 12, "middle")):
                x0 = lx if anchor == "start" else lx - w if anchor == "end" else lx - w / 2
                box = (x0, ly - h + 3, x0 + w, ly + 3)
                own = (cx - r, cy - r, cx + r, cy + r)
                if 0 <= box[0] and box[2] <= width and top <= box[1] and box[3] <= top + 2 * pad + plot_h and \
                        not any(_boxes_overlap(box, other) for other in boxes if other != own):
                    boxes.append(box)
                    label = (f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="{anchor}" fill="#000" '
                             f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(text)}</text>')
                    break
        circle = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#8c8c8c" fill-opacity="0.45" '
                  f'stroke="#000" stroke-width="1"/>')
        inner = f"<title>{escape(description)}</title>{circle}{label}"
        if p.href:
            parts.append(f'<a href="{escape(p.href)}" aria-label="{escape(description)}">{inner}</a>')
        else:
            parts.append(f"<g>{inner}</g>")
    # Legend: three reference circles, and a scale bar.
    legend_y = top + 2 * pad + plot_h + 10
    if points:
        parts.append(_text(8, legend_y + 2 * max_radius - 4, legend_title, size=11))
        values = []
        for v in (_nice(peak), _nice(peak / 4), _nice(peak / 16)):
            if v not in values and v >= 1:
                values.append(v)
        x = 8 + len(legend_title) * 6.0 + 12
        bottom = legend_y + 2 * max_radius
        for v in values:
            r = radius(v)
            parts.append(f'<circle cx="{x + r:.1f}" cy="{bottom - r:.1f}" r="{r:.1f}" fill="#8c8c8c" '
                         'fill-opacity="0.45" stroke="#000" stroke-width="1"/>')
            parts.append(_text(x + 2 * r + 4, bottom - r + 4, _format(v, False), size=11))
            x += 2 * r + 14 + 7 * len(_format(v, False))
        km_per_px = KM_PER_DEGREE / scale
        bar_km = _nice(km_per_px * 120) if km_per_px * 120 >= 0.1 else None
        if bar_km:
            bar_px = bar_km / km_per_px
            x0 = width - 12 - bar_px
            parts.append(f'<path d="M{x0:.1f},{bottom - 6:.1f} v6 h{bar_px:.1f} v-6" fill="none" stroke="#000" '
                         'stroke-width="1.5"/>')
            parts.append(_text(x0 + bar_px / 2, bottom - 10, f"{_format(bar_km, False)} {scale_label}", size=11,
                               anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["FONT_FAMILY", "KM_PER_DEGREE", "MapPoint", "PATTERNS", "Series", "bar_chart", "bubble_map",
           "column_chart"]
