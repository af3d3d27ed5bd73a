"""The SVG chart builder (prepbase/charts.py): well-formed, labelled, scaled, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from prepbase.charts import Series, bar_chart, line_chart, nice_ticks, number

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
