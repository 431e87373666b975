"""Small inline SVG charts drawn on the server (no JavaScript, no CDN). Each title is an HTML caption above its
chart, so a long signal name wraps instead of being cut off at the chart's edge."""

from __future__ import annotations

import datetime as dt
from html import escape

from django.utils.safestring import SafeString, mark_safe


def _figure(label: str, svg: str) -> SafeString:
    return mark_safe(f'<figure class="chart"><figcaption class="chart-title">{label}</figcaption>{svg}</figure>')


def _empty(label: str, width: int, height: int) -> SafeString:
    svg = f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="{label}">'
    svg += '<text x="8" y="20">no data</text></svg>'
    return _figure(label, svg)


def line_chart(points: list[tuple[dt.datetime, float]], *, title: str, width: int = 320, height: int = 110) -> SafeString:
    pad_l, pad_r, pad_t, pad_b = 38, 8, 8, 18
    label = escape(title)
    if not points:
        return _empty(label, width, height)
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    n = len(points)
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = pad_t + inner_h * (1 - (v - lo) / (hi - lo))
        return round(x, 1), round(y, 1)

    coords = [xy(i, v) for i, v in enumerate(values)]
    path = " ".join(f"{x},{y}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="2.5"><title>{escape(t.strftime("%Y-%m-%d %H:%M"))}: {v:.4g}</title></circle>'
        for (x, y), (t, v) in zip(coords, points, strict=True)
    )
    first, last = points[0][0].strftime("%m-%d %H:%M"), points[-1][0].strftime("%m-%d %H:%M")
    svg = (
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<line class="axis" x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{height - pad_b}"/>'
        f'<line class="axis" x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}"/>'
        f'<text class="tick" x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end">{hi:.3g}</text>'
        f'<text class="tick" x="{pad_l - 4}" y="{height - pad_b}" text-anchor="end">{lo:.3g}</text>'
        f'<text class="tick" x="{pad_l}" y="{height - 4}">{escape(first)}</text>'
        f'<text class="tick" x="{width - pad_r}" y="{height - 4}" text-anchor="end">{escape(last)}</text>'
        f'<polyline class="series" points="{path}"/>{dots}</svg>'
    )
    return _figure(label, svg)


def bar_chart(rows: list[tuple[str, float]], *, title: str, width: int = 320, height: int = 110, max_value: float = 1.0) -> SafeString:
    label = escape(title)
    if not rows:
        return _empty(label, width, height)
    pad_t, pad_b = 8, 18
    slot = (width - 10) / len(rows)
    bars = []
    for i, (name, value) in enumerate(rows):
        h = (height - pad_t - pad_b) * (value / max_value if max_value else 0)
        x = 5 + i * slot
        bars.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{height - pad_b - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{escape(name)}: {value:.3g}</title></rect>"
        )
    first, last = escape(rows[0][0]), escape(rows[-1][0])
    return _figure(
        label,
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f"{''.join(bars)}"
        f'<text class="tick" x="5" y="{height - 4}">{first}</text>'
        f'<text class="tick" x="{width - 5}" y="{height - 4}" text-anchor="end">{last}</text></svg>',
    )
