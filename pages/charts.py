"""Charts for staff pages, drawn on the server by pygal as SVG and shown as images: no script reaches the
browser and nothing is fetched from elsewhere. A chart is a picture of the table printed under it, which
is what screen readers read."""

from __future__ import annotations

import pygal
from pygal.style import Style

STYLE = Style(
    font_family='"Noto Sans CJK SC", "Source Han Sans SC", sans-serif',
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#767676",
    colors=("#1f5fa8", "#b35c00", "#1e6b34", "#8b1a1a"),
    title_font_size=20,
    label_font_size=16,
    major_label_font_size=16,
    legend_font_size=16,
    value_font_size=15,
)


def bar_chart(
    title: str, labels: list[str], series: dict[str, list[float]], horizontal: bool = False, counts: bool = True
) -> str:
    """The chart as an SVG ``data:`` URI: one bar per label for each named series (a legend when there are several).
    Counts get whole-number scales; horizontal bars get room for their labels, which pygal measures as if
    every character were Latin (a Chinese character is nearly twice as wide)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    widest = max((len(label) for label in labels), default=0)
    chart = kind(
        style=STYLE,
        title=title,
        js=[],
        width=560,
        height=max(320, 48 * len(labels) + 140) if horizontal else 360,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        print_values=True,
        truncate_label=-1,
        x_label_rotation=0 if horizontal or len(labels) < 5 else 30,
        margin=16,
        margin_left=16 + (int(0.5 * widest * STYLE.label_font_size) if horizontal else 0),
    )
    chart.x_labels = labels
    if counts:
        top = max((max(values, default=0) for values in series.values()), default=0)
        step = max(1, -(-int(top) // 8))
        chart.y_labels = list(range(0, int(top) + step + 1, step))
    for name, values in series.items():
        chart.add(name, values)
    return chart.render_data_uri()
