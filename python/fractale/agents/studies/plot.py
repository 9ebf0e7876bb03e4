"""The scaling plot: speedup and efficiency against size, beside their ideal lines, as SVG.

Written by hand (no plotting library): two panels, each with axes, ticks, a grid, the
measured points joined by a line, the ideal as a dashed line, and on the efficiency panel
the study's threshold. When the sizes span a factor of four or more, the size axis (and
the speedup axis) are logarithmic in base 2, as scaling plots usually are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 980, 440
PANEL_WIDTH = 440
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 64, 64
MEASURED, IDEAL, THRESHOLD = "#1f5fbf", "#6b6b6b", "#c0392b"


@dataclass(frozen=True)
class Series:
    sizes: list[int]
    values: list[float]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = max(high - low, 1e-12)
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def powers_of_two(low: float, high: float) -> list[float]:
    return [2.0**k for k in range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)]


def label(value: float) -> str:
    if value >= 1 and float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


class Panel:
    """One chart: maps data to pixels and draws axes, grid and lines into ``parts``."""

    def __init__(
        self,
        left: float,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        log_x: bool,
        log_y: bool,
    ) -> None:
        self.left, self.log_x, self.log_y = left, log_x, log_y
        self.x_range, self.y_range = x_range, y_range
        self.width = PANEL_WIDTH - LEFT - RIGHT
        self.height = HEIGHT - TOP - BOTTOM
        self.parts: list[str] = []

    def _scale(self, value: float, bounds: tuple[float, float], log: bool) -> float:
        low, high = bounds
        if log:
            value, low, high = math.log2(value), math.log2(low), math.log2(high)
        return (value - low) / (high - low) if high > low else 0.5

    def x(self, value: float) -> float:
        return self.left + LEFT + self._scale(value, self.x_range, self.log_x) * self.width

    def y(self, value: float) -> float:
        return TOP + self.height - self._scale(value, self.y_range, self.log_y) * self.height

    def axes(self, x_ticks: list[float], y_ticks: list[float], x_title: str, y_title: str) -> None:
        x0, y0 = self.left + LEFT, TOP + self.height
        for tick in y_ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + self.width}" y2="{y:.1f}" '
                'stroke="#e3e3e3"/>'
                f'<text x="{x0 - 8}" y="{y + 4:.1f}" text-anchor="end">{label(tick)}</text>'
            )
        for tick in x_ticks:
            x = self.x(tick)
            self.parts.append(
                f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{y0}" stroke="#efefef"/>'
                f'<text x="{x:.1f}" y="{y0 + 20}" text-anchor="middle">{label(tick)}</text>'
            )
        self.parts.append(
            f'<rect x="{x0}" y="{TOP}" width="{self.width}" height="{self.height}" '
            'fill="none" stroke="#444"/>'
            f'<text x="{x0 + self.width / 2}" y="{y0 + 44}" text-anchor="middle">'
            f"{escape(x_title)}</text>"
            f'<text transform="translate({self.left + 18},{TOP + self.height / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_title)}</text>'
        )

    def line(self, points: list[tuple[float, float]], color: str, dash: str = "") -> None:
        path = " ".join(f"{self.x(px):.1f},{self.y(py):.1f}" for px, py in points)
        style = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{style}/>'
        )

    def dots(self, points: list[tuple[float, float]], color: str) -> None:
        for px, py in points:
            self.parts.append(
                f'<circle cx="{self.x(px):.1f}" cy="{self.y(py):.1f}" r="4.5" fill="{color}"/>'
            )

    def legend(self, entries: list[tuple[str, str, str]], *, bottom: bool = False) -> None:
        """Line samples and names in the top-left corner (or bottom-left, where the data
        of that panel leaves room)."""
        x = self.left + LEFT + 10
        y = TOP + self.height - 18 * len(entries) + 6 if bottom else TOP + 16
        for text, color, dash in entries:
            style = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{color}" '
                f'stroke-width="2"{style}/>'
                f'<text x="{x + 32}" y="{y}">{escape(text)}</text>'
            )
            y += 18


def scaling_svg(
    title: str, dimension: str, speedup: Series, efficiency: Series, threshold: float
) -> str:
    """The two-panel plot of a scaling study."""
    sizes = speedup.sizes
    s0, s_max = sizes[0], sizes[-1]
    log = s_max / s0 >= 4
    ideal_high = s_max / s0
    x_range: tuple[float, float]
    x_ticks: list[float]
    if log:
        x_range = (s0 / 1.25, s_max * 1.25)
        x_ticks = [float(size) for size in sizes]
    else:
        pad = (s_max - s0) * 0.08
        x_range = (s0 - pad, s_max + pad)
        x_ticks = [float(size) for size in sizes]
    top = max(ideal_high, max(speedup.values)) * (1.25 if log else 1.12)
    if log:
        bottom = min(1.0, min(speedup.values)) / 1.25
        y_ticks = [tick for tick in powers_of_two(bottom, top) if bottom <= tick <= top]
        left_panel = Panel(0, x_range, (bottom, top), True, True)
    else:
        y_ticks = nice_ticks(0, top)
        left_panel = Panel(0, x_range, (0, max(y_ticks[-1], top)), False, False)
    left_panel.axes(x_ticks, y_ticks, f"{dimension}", "speedup")
    left_panel.line([(s0, 1.0), (s_max, ideal_high)], IDEAL, "7 5")
    points = list(zip(map(float, sizes), speedup.values))
    left_panel.line(points, MEASURED)
    left_panel.dots(points, MEASURED)
    left_panel.legend([("measured", MEASURED, ""), ("ideal (linear)", IDEAL, "7 5")])

    eff_top = max(1.1, max(efficiency.values) * 1.1)
    eff_ticks = nice_ticks(0, eff_top)
    right_panel = Panel(PANEL_WIDTH + 60, x_range, (0, max(eff_ticks[-1], eff_top)), log, False)
    right_panel.axes(x_ticks, eff_ticks, f"{dimension}", "parallel efficiency")
    right_panel.line([(x_range[0], 1.0), (x_range[1], 1.0)], IDEAL, "7 5")
    right_panel.line([(x_range[0], threshold), (x_range[1], threshold)], THRESHOLD, "2 4")
    eff_points = list(zip(map(float, efficiency.sizes), efficiency.values))
    right_panel.line(eff_points, MEASURED)
    right_panel.dots(eff_points, MEASURED)
    right_panel.legend(
        [
            ("measured", MEASURED, ""),
            ("ideal (1.0)", IDEAL, "7 5"),
            (f"threshold ({threshold:g})", THRESHOLD, "2 4"),
        ],
        bottom=True,
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="13">\n'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>\n'
        f'<text x="{WIDTH / 2}" y="30" text-anchor="middle" font-size="17" font-weight="bold">'
        f"{escape(title)}</text>\n" + "\n".join(left_panel.parts + right_panel.parts) + "\n</svg>\n"
    )
