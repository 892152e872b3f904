"""The lag history as an SVG line chart, drawn on the server: no chart library, no script."""

from __future__ import annotations

from html import escape

from board_svc.lag import LagSample

WIDTH, HEIGHT, PAD = 640, 200, 32
# Distinct for the colour-blind (Okabe-Ito), each also dashed differently.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "4 4")


def lag_chart(samples: list[LagSample], window_s: float = 120.0) -> str:
    """An ``<svg>`` with one line per group over the last ``window_s`` seconds."""
    groups = sorted({group for sample in samples for group in sample.by_group})
    top = max([1, *(lag for s in samples for lag in s.by_group.values())])
    now = samples[-1].at if samples else 0.0
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(at: float) -> float:
        return PAD + plot_w * (1 - min(now - at, window_s) / window_s)

    def y(lag: int) -> float:
        return PAD + plot_h * (1 - lag / top)

    latest = samples[-1].by_group if samples else {}
    summary = ", ".join(f"{g}: {latest.get(g, 0)}" for g in groups) or "no data yet"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Consumer lag over the last {window_s:.0f} s; now {escape(summary)}">',
        f'<line class="axis" x1="{PAD}" y1="{PAD + plot_h}" x2="{PAD + plot_w}" '
        f'y2="{PAD + plot_h}"/>',
        f'<line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{PAD + plot_h}"/>',
        f'<text class="tick" x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{PAD - 4}" y="{PAD + plot_h + 4}" text-anchor="end">0</text>',
        f'<text class="tick" x="{PAD}" y="{HEIGHT - 8}">-{window_s:.0f} s</text>',
        f'<text class="tick" x="{PAD + plot_w}" y="{HEIGHT - 8}" text-anchor="end">now</text>',
    ]
    for index, group in enumerate(groups):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        points = " ".join(
            f"{x(s.at):.1f},{y(s.by_group.get(group, 0)):.1f}"
            for s in samples
            if now - s.at <= window_s
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}" points="{points}" data-group="{escape(group)}"/>'
        )
        legend_y = PAD + 14 * index
        parts.append(
            f'<text class="legend" x="{PAD + plot_w - 4}" y="{legend_y}" text-anchor="end" '
            f'fill="{colour}">{escape(group)}: {latest.get(group, 0)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
