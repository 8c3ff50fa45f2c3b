"""Charts drawn on the server as SVG: no script, no library. Pure: values in, markup out.

`hourly_bars` draws hits per hour as stacked bars (inbound below, outbound above), with
the busiest hour's figure on the axis and a `<title>` per bar, so a screen reader or a
hover says each hour's figures. Every text in it is escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 180
MARGIN_LEFT = 36
MARGIN_BOTTOM = 20


@dataclass(frozen=True, slots=True)
class Bar:
    hour: dt.datetime
    inbound: int
    outbound: int


def hourly_bars(bars: Sequence[Bar], label: str, inbound_text: str,
                outbound_text: str) -> Markup:
    """An SVG bar chart of `bars` (oldest first); `label` names it for assistive technology."""
    plot_w, plot_h = WIDTH - MARGIN_LEFT, HEIGHT - MARGIN_BOTTOM
    peak = max((b.inbound + b.outbound for b in bars), default=0) or 1
    step = plot_w / max(len(bars), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(label)}</title>",
             f'<line x1="{MARGIN_LEFT}" y1="{plot_h}" x2="{WIDTH}" y2="{plot_h}" '
             'stroke="#7b8594"/>',
             f'<text x="{MARGIN_LEFT - 4}" y="10" text-anchor="end">{peak}</text>',
             f'<text x="{MARGIN_LEFT - 4}" y="{plot_h}" text-anchor="end">0</text>']
    for n, bar in enumerate(bars):
        x = MARGIN_LEFT + n * step + step * 0.1
        width = max(step * 0.8, 1)
        inbound_h = plot_h * bar.inbound / peak
        outbound_h = plot_h * bar.outbound / peak
        when = bar.hour.strftime("%Y-%m-%d %H:00")
        tip = escape(f"{when} UTC: {inbound_text} {bar.inbound}, {outbound_text} {bar.outbound}")
        parts.append(f"<g><title>{tip}</title>")
        if bar.inbound:
            parts.append(f'<rect class="bar-block" x="{x:.1f}" y="{plot_h - inbound_h:.1f}" '
                         f'width="{width:.1f}" height="{inbound_h:.1f}"/>')
        if bar.outbound:
            parts.append(f'<rect class="bar-warn" x="{x:.1f}" '
                         f'y="{plot_h - inbound_h - outbound_h:.1f}" width="{width:.1f}" '
                         f'height="{outbound_h:.1f}"/>')
        parts.append("</g>")
    if bars:
        for n in (0, len(bars) - 1):
            anchor = "start" if n == 0 else "end"
            x = MARGIN_LEFT + (n + (0 if n == 0 else 1)) * step
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 4}" text-anchor="{anchor}">'
                         f'{escape(bars[n].hour.strftime("%d %b %H:00"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (built above from escaped text and numbers)
