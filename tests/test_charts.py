"""The SVG chart builder (prepbase/charts.py): well-formed, labelled, scaled, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prepbase.charts import (
    Series,
    TimeSeries,
    bar_chart,
    day_ticks,
    line_chart,
    nice_ticks,
    number,
    time_chart,
)
from prepbase.reports import balance_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_nice_ticks_cover_the_top_value_with_round_steps():
    assert nice_ticks(10) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert nice_ticks(0.3) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(0) == [0, 1]


def test_number_drops_needless_decimals():
    assert (number(12.0), number(2.5), number(1 / 3), number(-0.0)) == ("12", "2.5", "0.33", "0")


def test_bar_chart_is_accessible_scalable_svg_with_axes():
    root = parse(
        bar_chart(
            "flow",
            "Hours per week",
            ["5 Jan", "12 Jan", "19 Jan"],
            [Series("Sold", [10, 0, 5]), Series("Used", [2, 3.5, 0])],
        )
    )
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 480 260" and root.get("width") == "100%"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "flow-title flow-desc"
    assert root.find(f"{SVG}title").text == "Hours per week"
    desc = root.find(f"{SVG}desc").text
    assert "Sold (Hours) — 5 Jan: 10, 12 Jan: 0, 19 Jan: 5." in desc
    assert "Used (Hours) — 5 Jan: 2, 12 Jan: 3.5, 19 Jan: 0." in desc
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 6
    # the tallest bar (10 h) reaches the top tick (10); a zero bar has no height
    heights = [float(b.get("height")) for b in bars]
    assert max(heights) == 220 - 34 and heights[2] == 0
    assert [b.find(f"{SVG}title").text for b in bars][:2] == [
        "Sold, 5 Jan: 10 hours",
        "Used, 5 Jan: 2 hours",
    ]
    labels = texts(root)
    assert {"0", "2.5", "5", "7.5", "10"} <= set(labels)  # y axis
    assert {"5 Jan", "12 Jan", "19 Jan"} <= set(labels)  # x axis
    assert {"Sold", "Used", "Hours"} <= set(labels)  # legend and unit
    assert len([ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "axis"]) == 2


def test_line_chart_draws_a_point_per_value_and_thins_x_labels():
    labels = [f"W{i}" for i in range(12)]
    root = parse(line_chart("rem", "Remaining", labels, [Series("Remaining", list(range(12)))]))
    assert len(root.findall(f"{SVG}polyline")) == 1
    assert len(root.findall(f"{SVG}circle")) == 12
    shown = [t for t in texts(root) if t.startswith("W")]
    assert shown == ["W0", "W2", "W4", "W6", "W8", "W10"]  # at most 6, evenly spaced


def test_chart_text_is_escaped():
    markup = str(bar_chart("x", "<script>alert(1)</script>", ['A&B "q"'], [Series("<b>", [1])]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "<script>alert(1)</script>"
    assert "<b>" in texts(root)


def test_empty_chart_says_no_data():
    root = parse(line_chart("e", "Nothing", [], [Series("Remaining", [])]))
    assert "No data" in texts(root)
    assert root.find(f"{SVG}desc").text == "No data."


# --- a balance over real time (issue 16) ----------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")


def at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=NEW_YORK).astimezone(UTC)


def points_x(root: ET.Element) -> list[float]:
    return [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]


def test_time_chart_places_entries_by_when_they_happened():
    # three entries on 28 Nov (morning, noon, evening), one on 1 Nov
    history = [(at(1, 9), 24.0), (at(28, 9), 22.0), (at(28, 12), 21.0), (at(28, 18), 20.0)]
    root = parse(
        time_chart(
            "c",
            "Growth Package",
            "Growth Package · started 1 Nov 2026",
            [TimeSeries("Remaining Hrs", history)],
            NEW_YORK,
            until=at(29, 10),
        )
    )
    xs = points_x(root)
    assert xs == sorted(xs)
    # the three entries of one day lie within one day's width of each other...
    day_labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "day-label"]
    label_x = [float(t.get("x")) for t in day_labels]
    one_day = (label_x[1] - label_x[0]) / 7  # labels a week apart over four weeks
    assert xs[3] - xs[1] < one_day
    # ...and four weeks from the first one
    assert xs[1] - xs[0] > 25 * one_day
    # one label per day shown, never a repeated day
    names = [t.text for t in day_labels]
    assert len(names) == len(set(names)) <= 6
    assert names[0] == "1 Nov"


def test_time_chart_is_headed_by_the_package_and_steps_between_entries():
    history = [(at(2, 9), 10.0), (at(5, 9), 8.0)]
    root = parse(
        time_chart(
            "c",
            "SAT Intensive: remaining hours",
            "SAT Intensive · started 2 Nov 2026",
            [TimeSeries("Remaining Hrs", history)],
            NEW_YORK,
            until=at(9, 9),
        )
    )
    heading = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-heading")
    assert heading.text == "SAT Intensive · started 2 Nov 2026"
    [line] = root.iter(f"{SVG}polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    # a staircase: 10 h from 2 Nov until 5 Nov, then 8 h until `until`
    assert points[0][1] == points[1][1] and points[1][0] == points[2][0]
    assert points[2][1] == points[3][1] > points[0][1]
    assert "2 Nov 2026: 10" in root.find(f"{SVG}desc").text


def test_two_packages_of_one_name_get_charts_told_apart_by_their_start():
    first = balance_chart(
        1, "Growth Package", [(at(1, 9), 1440)], "America/New_York", date(2026, 6, 21), at(29, 9)
    )
    second = balance_chart(
        2, "Growth Package", [(at(22, 9), 1440)], "America/New_York", date(2026, 9, 22), at(29, 9)
    )
    headings = [
        next(t.text for t in parse(c).iter(f"{SVG}text") if t.get("class") == "chart-heading")
        for c in (first, second)
    ]
    assert headings == [
        "Growth Package · started 21 Jun 2026",
        "Growth Package · started 22 Sep 2026",
    ]


def test_time_chart_without_entries_says_no_data():
    root = parse(time_chart("c", "T", "H", [TimeSeries("Remaining Hrs", [])], NEW_YORK))
    assert "No data" in texts(root)


def test_day_ticks_are_whole_days_at_most_six():
    assert day_ticks(date(2026, 11, 28), date(2026, 11, 28)) == [date(2026, 11, 28)]
    ticks = day_ticks(date(2026, 1, 1), date(2026, 12, 31))
    assert len(ticks) <= 6 and ticks[0] == date(2026, 1, 1)
