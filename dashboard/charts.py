"""Charts as server-rendered SVG: no script, no CDN, readable at a glance (and printable).

``bars`` draws one bar per label, stacked when a value is a tuple of parts; every bar has a
<title> (its label and numbers), so hovering tells the figure."""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Calm, distinguishable colours (colour-blind safe: Okabe & Ito), in part order.
COLOURS = ("#0072B2", "#E69F00", "#D55E00", "#009E73", "#CC79A7", "#56B4E9")


def bars(
    points: Sequence[tuple[str, int | Sequence[int]]],
    *,
    parts: Sequence[str] = (),
    height: int = 140,
    bar_width: int = 18,
    label_every: int | None = None,
) -> SafeString:
    """``points``: (label, value or (part values...)). ``parts`` names the stacked parts."""
    values = [tuple(v) if isinstance(v, Sequence) else (v,) for _, v in points]
    top = max((sum(v) for v in values), default=0) or 1
    gap, pad_top, pad_bottom, pad_left = 4, 14, 18, 30
    width = pad_left + len(points) * (bar_width + gap)
    every = label_every or (1 if len(points) <= 7 else max(2, -(-len(points) // 7)))
    chart = height - pad_top - pad_bottom
    out = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="{pad_top - 2}" font-size="10" fill="currentColor">{top}</text>',
        f'<line x1="{pad_left - 2}" y1="{height - pad_bottom}" x2="{width}" '
        f'y2="{height - pad_bottom}" stroke="currentColor" stroke-opacity="0.3"/>',
    ]
    for index, ((label, _), parts_of) in enumerate(zip(points, values, strict=True)):
        x = pad_left + index * (bar_width + gap)
        y = height - pad_bottom
        names = parts or [""] * len(parts_of)
        figures = (
            f"{name} {value}" if name else str(value)
            for name, value in zip(names, parts_of, strict=False)
        )
        tip = escape(f"{label}: " + ", ".join(figures))
        out.append(f"<g><title>{tip}</title>")
        for part, value in enumerate(parts_of):
            h = round(chart * value / top)
            y -= h
            if h:
                out.append(f'<rect x="{x}" y="{y}" width="{bar_width}" height="{h}" '
                           f'fill="{COLOURS[part % len(COLOURS)]}"/>')  # fmt: skip
        out.append("</g>")
        if index % every == 0:
            out.append(f'<text x="{x}" y="{height - 4}" font-size="9" fill="currentColor">'
                       f"{escape(label)}</text>")  # fmt: skip
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text in it is escaped above


def legend(parts: Sequence[str]) -> SafeString:
    items = "".join(
        f'<span class="legend-item"><span class="swatch" style="background:'
        f'{COLOURS[i % len(COLOURS)]}"></span>{escape(name)}</span>'
        for i, name in enumerate(parts)
    )
    return mark_safe(items)  # noqa: S308 - escaped above
