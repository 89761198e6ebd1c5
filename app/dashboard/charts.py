"""Charts drawn on the server as SVG: readable without JavaScript, no inline style (the CSP forbids it)."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(points: list[tuple[str, int]], title: str, width: int = 720, height: int = 220) -> Markup:
    """A bar chart of (label, value) points, with a title and description for screen readers.

    Colours come from presentation attributes and the stylesheet's `.chart` rules; pages show the same figures in
    a table beside it, so nothing depends on seeing the picture.
    """
    margin_bottom, margin_top, margin_side = 30, 10, 40
    plot_height = height - margin_bottom - margin_top
    peak = max((value for _, value in points), default=0) or 1
    slot = (width - 2 * margin_side) / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = round(plot_height * value / peak, 1)
        x = round(margin_side + index * slot + slot * 0.1, 1)
        y = round(margin_top + plot_height - bar_height, 1)
        bars.append(
            Markup(
                "<g><title>{label}: {value}</title>"
                '<rect class="chart-bar" x="{x}" y="{y}" width="{w}" height="{h}" fill="currentColor"></rect></g>'
            ).format(label=label, value=value, x=x, y=y, w=round(slot * 0.8, 1), h=bar_height)
        )
    labels = []
    step = max(1, len(points) // 8)
    for index in range(0, len(points), step):
        x = round(margin_side + index * slot + slot / 2, 1)
        labels.append(
            Markup('<text class="chart-label" x="{x}" y="{y}" text-anchor="middle">{label}</text>').format(
                x=x, y=height - 8, label=points[index][0]
            )
        )
    axis = Markup(
        '<text class="chart-label" x="{x}" y="{y}" text-anchor="end">{peak}</text>'
        '<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="currentColor" stroke-width="1"></line>'
    ).format(
        x=margin_side - 4,
        y=margin_top + 10,
        peak=peak,
        x0=margin_side,
        x1=width - margin_side,
        y0=margin_top + plot_height,
    )
    return Markup(
        '<svg class="chart" role="img" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" '
        'aria-labelledby="chart-title"><title id="chart-title">{title}</title>{axis}{bars}{labels}</svg>'
    ).format(
        w=width, h=height, title=escape(title), axis=axis, bars=Markup("").join(bars), labels=Markup("").join(labels)
    )
