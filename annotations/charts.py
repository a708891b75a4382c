"""Server-rendered SVG charts for the models page: a line chart (loss or validation metric per
epoch), horizontal bars (per-class IoU) and a confusion-matrix heat map.

Plain strings of SVG with presentation attributes only, styled by classes in
static/annotations/models.css: no script, no inline style, so the page needs neither
'unsafe-inline' nor a chart library. Every name that comes from users is escaped. No torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fmt(value: float) -> str:
    """A value as a tick or tooltip reads it: 3 significant digits, no exponent for the usual range."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2e}"


def _ticks(lo: float, hi: float, count: int = 4) -> tuple[float, float, list[float]]:
    """A range that covers [lo, hi] on round steps, and its ticks."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        lo, hi = lo - (abs(lo) * 0.1 or 0.5), hi + (abs(hi) * 0.1 or 0.5)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    ticks, t = [], start
    while t <= end + step / 2:
        ticks.append(round(t, 12))
        t += step
    return start, end, ticks


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    partial: bool = False  # an epoch the budget cut short


def line_chart(
    points: Sequence[Point], *, title: str, y_label: str, x_label: str = "epoch", name: str = "series",
    y_range: tuple[float, float] | None = None, best_x: float | None = None,
    width: int = 340, height: int = 190,
) -> SafeString:
    """One series as a path with a marker per point (a tooltip each); `best_x` draws a marker line."""
    left, right, top, bottom = 48, 12, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="chart line-chart" data-chart="{escape(name)}" data-points="{len(points)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text class="chart-title" x="{left}" y="14">{escape(title)}</text>']
    if not points:
        parts.append(f'<text class="empty" x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle">no data</text></svg>')
        return mark_safe("".join(parts))
    xs, ys = [p.x for p in points], [p.y for p in points]
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    y_lo, y_hi, y_ticks = _ticks(*(y_range or (min(ys), max(ys))))

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def sy(y: float) -> float:
        return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h

    for t in y_ticks:
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{_num(sy(t))}" y2="{_num(sy(t))}"/>'
                     f'<text class="tick" x="{left - 4}" y="{_num(sy(t) + 3)}" text-anchor="end">{_fmt(t)}</text>')
    step = max(1, math.ceil(len(points) / 8))
    for p in points[::step]:
        parts.append(f'<text class="tick" x="{_num(sx(p.x))}" y="{top + plot_h + 14}" text-anchor="middle">{_fmt(p.x)}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
                 f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>'
                 f'<text class="axis-label" x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>'
                 f'<text class="axis-label" transform="translate(11 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    if best_x is not None and x_lo <= best_x <= x_hi:
        parts.append(f'<line class="best" x1="{_num(sx(best_x))}" x2="{_num(sx(best_x))}" y1="{top}" y2="{top + plot_h}">'
                     f'<title>best {escape(x_label)}: {_fmt(best_x)}</title></line>')
    d = " ".join(f'{"M" if i == 0 else "L"}{_num(sx(p.x))},{_num(sy(p.y))}' for i, p in enumerate(points))
    parts.append(f'<path class="series" d="{d}"/>')
    for p in points:
        css = "point partial" if p.partial else "point"
        note = " (cut short by the budget)" if p.partial else ""
        parts.append(f'<circle class="{css}" cx="{_num(sx(p.x))}" cy="{_num(sy(p.y))}" r="3">'
                     f'<title>{escape(x_label)} {_fmt(p.x)}: {escape(y_label)} {_fmt(p.y)}{note}</title></circle>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(values: Sequence[tuple[str, float | None]], *, title: str, value_max: float = 1.0,
              width: int = 340, name: str = "bars") -> SafeString:
    """Horizontal bars, one per (label, value) in [0, value_max]; None reads "n/a" (no bar)."""
    label_w, value_w, row_h, top = 110, 44, 18, 22
    bar_w = width - label_w - value_w
    height = top + row_h * max(1, len(values)) + 6
    parts = [f'<svg class="chart bar-chart" data-chart="{escape(name)}" data-bars="{len(values)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text class="chart-title" x="0" y="14">{escape(title)}</text>']
    for i, (label, value) in enumerate(values):
        y = top + i * row_h
        parts.append(f'<text class="tick" x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(_clip(label, 16))}'
                     f'<title>{escape(label)}</title></text>'
                     f'<rect class="track" x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 5}"/>')
        if value is None:
            parts.append(f'<text class="tick muted" x="{label_w + bar_w + 4}" y="{y + 12}">n/a</text>')
            continue
        length = max(0.0, min(1.0, value / value_max)) * bar_w
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{_num(length)}" height="{row_h - 5}">'
                     f'<title>{escape(label)}: {value:.3f}</title></rect>'
                     f'<text class="tick" x="{label_w + bar_w + 4}" y="{y + 12}">{value:.3f}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def confusion_heatmap(classes: Sequence[str], counts: Sequence[Sequence[int]], *, title: str = "Confusion matrix",
                      name: str = "confusion") -> SafeString:
    """N x N cells, rows = truth, columns = prediction; a cell's shade is its share of the row
    (so each truth class reads as where its pixels went), its tooltip the pixel count."""
    n = len(classes)
    if n == 0 or len(counts) != n or any(len(row) != n for row in counts):
        raise ValueError(f"a confusion matrix of {n} classes needs {n} x {n} counts")
    cell = max(8, min(40, 320 // n))
    label_w = 96
    top = 22 + 80  # title, then the rotated column labels
    width, height = label_w + n * cell + 12, top + n * cell + 24
    show_text = cell >= 28
    parts = [f'<svg class="chart confusion" data-chart="{escape(name)}" data-classes="{n}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text class="chart-title" x="0" y="14">{escape(title)}</text>',
             f'<text class="axis-label" x="{label_w + n * cell / 2}" y="{top + n * cell + 16}" text-anchor="middle">predicted</text>',
             f'<text class="axis-label" x="{label_w - 6}" y="{top - 6}" text-anchor="end">truth ↓</text>']
    for j, label in enumerate(classes):
        x = label_w + j * cell + cell / 2
        parts.append(f'<text class="tick" transform="translate({_num(x + 3)} {top - 4}) rotate(-50)">{escape(_clip(label, 14))}</text>')
    for i, (label, row) in enumerate(zip(classes, counts)):
        y = top + i * cell
        total = sum(row)
        parts.append(f'<text class="tick" x="{label_w - 6}" y="{_num(y + cell / 2 + 3)}" text-anchor="end">{escape(_clip(label, 14))}</text>')
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            diagonal = " diagonal" if i == j else ""
            parts.append(
                f'<rect class="cell{diagonal}" x="{label_w + j * cell}" y="{y}" width="{cell}" height="{cell}" '
                f'fill-opacity="{0.04 + 0.96 * share:.3f}" data-count="{int(count)}">'
                f'<title>truth {escape(label)}, predicted {escape(classes[j])}: {int(count):,} px ({share:.1%} of the row)</title></rect>'
            )
            if show_text:
                css = "cell-text dark" if share > 0.5 else "cell-text"
                parts.append(f'<text class="{css}" x="{label_w + j * cell + cell / 2}" y="{_num(y + cell / 2 + 4)}" '
                             f'text-anchor="middle">{round(share * 100)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
