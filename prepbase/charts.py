"""Charts drawn on the server as inline SVG: no chart JavaScript, readable on a phone.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` (named by
`aria-labelledby`), a `viewBox` and `width="100%"` so it scales to the screen, axes with
tick labels, and a legend. Values are hours (floats); the caller turns minutes into
hours. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

WIDTH = 480
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 34, 40
FONT = 13
MAX_X_LABELS = 6
# Distinguishable colours with at least 4.5:1 contrast on white (WCAG AA for text).
COLOURS = ("#1d4ed8", "#047857", "#b45309", "#7c3aed", "#be123c", "#0e7490")


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: its name in the legend and a value per x label."""

    name: str
    values: Sequence[float]


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2, 2.5 or 5 × a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def number(value: float) -> str:
    """12 → "12", 2.5 → "2.5", 0.333 → "0.33"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _f(value: float) -> str:
    """A coordinate to one decimal, without a needless ".0" ("12", "12.5")."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_words(moment: datetime) -> str:
    """ "29 Nov 2026": a point's day in its tooltip and in the chart's description."""
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


class _Frame:
    """The plot area and its scales."""

    def __init__(self, labels: Sequence[str], top: float) -> None:
        self.labels = labels
        self.ticks = nice_ticks(top)
        self.top = self.ticks[-1]
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = HEIGHT - BOTTOM, TOP
        # Bars sit in slots; line points at slot centres too, so both read the same.
        self.slot = (self.x1 - self.x0) / max(len(labels), 1)

    def x(self, index: int) -> float:
        return self.x0 + self.slot * (index + 0.5)

    def y(self, value: float) -> float:
        return self.y0 - (self.y0 - self.y1) * (max(value, 0) / self.top)

    def axes(self, unit: str) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = _f(self.y(tick))
            parts.append(
                f'<line x1="{self.x0}" x2="{self.x1}" y1="{y}" y2="{y}" stroke="#d1d5db" '
                'stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{self.x0 - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">'
                f"{escape(number(tick))}</text>"
            )
        parts.append(
            f'<line class="axis" x1="{self.x0}" x2="{self.x0}" y1="{self.y1}" y2="{self.y0}" '
            'stroke="#374151"/>'
        )
        parts.append(
            f'<line class="axis" x1="{self.x0}" x2="{self.x1}" y1="{self.y0}" y2="{self.y0}" '
            'stroke="#374151"/>'
        )
        parts.append(
            f'<text x="4" y="{TOP - 20}" dominant-baseline="hanging">{escape(unit)}</text>'
        )
        every = max(1, math.ceil(len(self.labels) / MAX_X_LABELS))
        for index, label in enumerate(self.labels):
            if index % every:
                continue
            parts.append(
                f'<text x="{_f(self.x(index))}" y="{self.y0 + 18}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
        return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    x = LEFT
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="{TOP - 26}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{TOP - 20}" dominant-baseline="middle">')
        parts.append(f"{escape(s.name)}</text>")
        x += 16 + int(len(s.name) * FONT * 0.6) + 14
    return parts


def _describe(labels: Sequence[str], series: Sequence[Series], unit: str) -> str:
    """The data in words, for screen readers (the desc element)."""
    if not labels:
        return "No data."
    words = []
    for s in series:
        pairs = ", ".join(
            f"{label}: {number(v)}" for label, v in zip(labels, s.values, strict=False)
        )
        words.append(f"{s.name} ({unit}) — {pairs}.")
    return " ".join(words)


def _svg(chart_id: str, title: str, desc: str, body: list[str], kind: str) -> Markup:
    cid = escape(chart_id)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" id="{cid}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="#111827">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text part is escaped


def _empty(frame: _Frame, labels: Sequence[str]) -> list[str]:
    if labels:
        return []
    middle = (frame.y0 + frame.y1) / 2
    return [
        f'<text x="{(frame.x0 + frame.x1) / 2}" y="{middle}" text-anchor="middle">No data</text>'
    ]


def bar_chart(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "Hours"
) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = max((v for s in series for v in s.values), default=0)
    frame = _Frame(labels, top)
    body = frame.axes(unit) + _legend(series) + _empty(frame, labels)
    group = frame.slot * 0.8
    width = group / max(len(series), 1)
    for index in range(len(labels)):
        left = frame.x(index) - group / 2
        for number_in_group, s in enumerate(series):
            value = s.values[index]
            y = frame.y(value)
            height = frame.y0 - y
            colour = COLOURS[number_in_group % len(COLOURS)]
            body.append(
                f'<rect class="bar" x="{_f(left + width * number_in_group)}" y="{_f(y)}" '
                f'width="{_f(max(width - 1, 1))}" height="{_f(height)}" fill="{colour}">'
                f"<title>{escape(s.name)}, {escape(labels[index])}: "
                f"{escape(number(value))} {escape(unit.lower())}</title></rect>"
            )
    return _svg(chart_id, title, _describe(labels, series, unit), body, "bar")


def line_chart(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "Hours"
) -> Markup:
    """One line per series, a dot per value (each dot has its value as a tooltip)."""
    top = max((v for s in series for v in s.values), default=0)
    frame = _Frame(labels, top)
    body = frame.axes(unit) + _legend(series) + _empty(frame, labels)
    for number_in_series, s in enumerate(series):
        colour = COLOURS[number_in_series % len(COLOURS)]
        points = [(frame.x(i), frame.y(v)) for i, v in enumerate(s.values)]
        if len(points) > 1:
            path = " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
            body.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" '
                'stroke-width="2.5" stroke-linejoin="round"/>'
            )
        for (x, y), label, value in zip(points, labels, s.values, strict=False):
            body.append(
                f'<circle class="point" cx="{_f(x)}" cy="{_f(y)}" r="3.5" fill="{colour}">'
                f"<title>{escape(s.name)}, {escape(label)}: {escape(number(value))} "
                f"{escape(unit.lower())}</title></circle>"
            )
    return _svg(chart_id, title, _describe(labels, series, unit), body, "line")


# --- a balance over real time ---------------------------------------------------------

TIME_TOP = 52  # room for a visible heading above the legend line
DAY_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364)  # days between date labels


@dataclass(frozen=True)
class TimeSeries:
    """One line over time: its legend name and (moment, value) points, oldest first."""

    name: str
    points: Sequence[tuple[datetime, float]]


def day_ticks(first: date, last: date, most: int = MAX_X_LABELS) -> list[date]:
    """At most `most` evenly spaced days from `first` to `last` for the time axis's
    labels: whole days, so several entries of one day share one label."""
    span = max((last - first).days, 0)
    step = next((d for d in DAY_STEPS if span // d + 1 <= most), DAY_STEPS[-1])
    return [first + timedelta(days=n) for n in range(0, span + 1, step)]


def time_chart(
    chart_id: str,
    title: str,
    heading: str,
    series: Sequence[TimeSeries],
    zone: ZoneInfo,
    until: datetime | None = None,
    unit: str = "Hours",
) -> Markup:
    """Lines on a real time axis: each point sits where its moment falls between the
    first day and `until` (or the last point), so three changes on one day are one day
    apart from nothing, not three ticks. A value holds until the next point (a balance
    is a staircase). `heading` is drawn above the chart (which package it is)."""
    moments = [moment for s in series for moment, _ in s.points]
    top_value = max((v for s in series for _, v in s.points), default=0)
    ticks = nice_ticks(top_value)
    top = ticks[-1]
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT - 8, HEIGHT - BOTTOM, TIME_TOP
    body: list[str] = [
        f'<text class="chart-heading" x="4" y="4" dominant-baseline="hanging" '
        f'font-weight="600" font-size="{FONT + 2}">{escape(heading)}</text>'
    ]
    if not moments:
        body.append(
            f'<text x="{(x0 + x1) / 2}" y="{(y0 + y1) / 2}" text-anchor="middle">No data</text>'
        )
        return _svg(chart_id, title, "No data.", body, "time")
    first_day = min(moments).astimezone(zone).date()
    end = max([*moments, *([until] if until else [])])
    last_day = end.astimezone(zone).date()
    start = datetime.combine(first_day, time(), tzinfo=zone)
    stop = max(datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone), end)
    span = (stop - start).total_seconds()

    def x(moment: datetime) -> float:
        return x0 + (x1 - x0) * ((moment - start).total_seconds() / span)

    def y(value: float) -> float:
        return y0 - (y0 - y1) * (max(value, 0) / top)

    for tick in ticks:
        body.append(
            f'<line x1="{x0}" x2="{x1}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" stroke="#d1d5db"/>'
            f'<text x="{x0 - 6}" y="{_f(y(tick))}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(number(tick))}</text>"
        )
    body.append(f'<line class="axis" x1="{x0}" x2="{x0}" y1="{y1}" y2="{y0}" stroke="#374151"/>')
    body.append(f'<line class="axis" x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#374151"/>')
    body.append(f'<text x="4" y="{y1 - 10}">{escape(unit)}</text>')
    for day in day_ticks(first_day, last_day):
        at = _f(x(datetime.combine(day, time(), tzinfo=zone)))
        body.append(
            f'<line class="day-tick" x1="{at}" x2="{at}" y1="{y0}" y2="{y0 + 4}" stroke="#374151"/>'
            f'<text class="day-label" x="{at}" y="{y0 + 18}" text-anchor="middle">'
            f"{day.day} {day.strftime('%b')}</text>"
        )
    legend_x = LEFT + 60
    unit_words = escape(unit.lower())
    described = []
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        name = escape(s.name)
        if len(series) > 1:
            body.append(
                f'<rect x="{legend_x}" y="{y1 - 20}" width="12" height="12" fill="{colour}"/>'
                f'<text x="{legend_x + 16}" y="{y1 - 14}" dominant-baseline="middle">'
                f"{name}</text>"
            )
            legend_x += 16 + int(len(s.name) * FONT * 0.6) + 14
        # Each point's coordinates and words are worked out once (a page draws a chart
        # per package: this loop is most of its cost).
        xs = [_f(x(moment)) for moment, _ in s.points]
        ys = [_f(y(value)) for _, value in s.points]
        days = [_day_words(moment.astimezone(zone)) for moment, _ in s.points]
        values = [number(value) for _, value in s.points]
        described.append(
            f"{s.name} ({unit}) — "
            + ", ".join(f"{day}: {value}" for day, value in zip(days, values, strict=True))
            + "."
        )
        if not s.points:
            continue
        ends = [*xs[1:], _f(x(end))]
        steps = " ".join(f"{a},{b} {c},{b}" for a, b, c in zip(xs, ys, ends, strict=True))
        body.append(
            f'<polyline class="line" points="{steps}" fill="none" stroke="{colour}" '
            'stroke-width="2.5" stroke-linejoin="round"/>'
        )
        body.extend(
            f'<circle class="point" cx="{a}" cy="{b}" r="3" fill="{colour}"><title>{name}, '
            f"{day}: {value} {unit_words}</title></circle>"
            for a, b, day, value in zip(xs, ys, days, values, strict=True)
        )
    desc = " ".join(described)
    return _svg(chart_id, title, desc, body, "time")
