"""A plot of latency percentiles against offered rate, as SVG, without a plotting library."""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 720, 420, 70, 50, 30, 170
LABELS = {"chat": "chat", "chat2": "chat, 2+2", "naive": "naive", "bare": "bare"}
"""``chat2``: the chat on two gateway nodes and two agent workers."""
SERIES = [
    ("chat", "p50", "#1f77b4", ""),
    ("chat", "p99", "#1f77b4", "6 4"),
    ("chat2", "p50", "#2ca02c", ""),
    ("chat2", "p99", "#2ca02c", "6 4"),
    ("naive", "p50", "#ff7f0e", ""),
    ("naive", "p99", "#ff7f0e", "6 4"),
    ("bare", "p50", "#d62728", ""),
    ("bare", "p99", "#d62728", "6 4"),
]


def latency_plot(results: list[dict[str, Any]], workload: str) -> str:
    """Send → receive latency (log scale) of ``workload`` runs by offered rate, the chat
    beside the naive pipeline and the bare broadcaster; a run that lost or doubled anything is
    drawn hollow."""
    runs = [r for r in results if r["workload"].get("name") == workload and r.get("latency_ms")]
    rates = sorted({r["workload"]["rate"] for r in runs}) or [1.0]
    values = [r["latency_ms"][q] for r in runs for q in ("p50", "p99")] or [1.0]
    low, high = math.log10(max(min(values), 0.5)), math.log10(max(values) * 1.5)
    high = max(high, low + 1)

    def x(rate: float) -> float:
        span = math.log10(rates[-1] / rates[0]) or 1
        return LEFT + (WIDTH - LEFT - RIGHT) * math.log10(rate / rates[0]) / span

    def y(ms: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (math.log10(max(ms, 0.5)) - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="14">Send → receive latency, {workload} '
        "(groups × members), by offered rate</text>",
    ]
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        ms = 10**exponent
        if low <= exponent <= high:
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(ms):.1f}" y2="{y(ms):.1f}" '
                'stroke="#ddd"/>'
                f'<text x="{LEFT - 8}" y="{y(ms) + 4:.1f}" text-anchor="end">{ms:g} ms</text>'
            )
    for rate in rates:
        parts.append(
            f'<text x="{x(rate):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{rate:g}/s</text>"
        )
    for n, (target, quantile, colour, dash) in enumerate(SERIES):
        points = sorted(
            (r["workload"]["rate"], r["latency_ms"][quantile], r["lost"] + r["duplicates"] == 0)
            for r in runs
            if r["target"] == target
        )
        if not points:
            continue
        path = " ".join(f"{x(rate):.1f},{y(ms):.1f}" for rate, ms, _ in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"/>'
        )
        for rate, ms, clean in points:
            fill = colour if clean else "white"
            parts.append(
                f'<circle cx="{x(rate):.1f}" cy="{y(ms):.1f}" r="4" fill="{fill}" '
                f'stroke="{colour}"/>'
            )
        label_y = TOP + 20 * n + 10
        parts.append(
            f'<line x1="{WIDTH - RIGHT + 15}" x2="{WIDTH - RIGHT + 45}" y1="{label_y}" '
            f'y2="{label_y}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            f'<text x="{WIDTH - RIGHT + 52}" y="{label_y + 4}">{LABELS[target]} {quantile}</text>'
        )
    parts.append(
        f'<text x="{WIDTH - RIGHT + 15}" y="{TOP + 20 * len(SERIES) + 20}" fill="#555">'
        "hollow: lost or</text>"
        f'<text x="{WIDTH - RIGHT + 15}" y="{TOP + 20 * len(SERIES) + 35}" fill="#555">'
        "doubled deliveries</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
