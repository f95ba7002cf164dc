"""The HTML page's SVG charts, drawn by hand: every label and attribute escaped, the same text on every machine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from propfee.domain.models import Language
from propfee.reports.formats.values import _clip, _percent, _printable
from propfee.reports.formats.words import _WORDS

_CHANNEL_ORDER = ("sms", "email", "letter", "call", "visit", "legal_review")
_COLOURS = {
    "bar": "#1f6fb2",
    "back": "#ef6c00",
    "sent": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#8a8f98",
    "grid": "#d5dbe1",
}
_FONT = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif"


def _n(number: float) -> str:
    """A coordinate, the same text for the same number on every machine."""
    return f"{number:.1f}".removesuffix(".0")


def _attrs(**attributes: object) -> str:
    return " ".join(
        f'{name.rstrip("_").replace("_", "-")}="{escape(_printable(value))}"' for name, value in attributes.items()
    )


def _tag(name: str, content: str = "", **attributes: object) -> str:
    """An SVG element; `content` is markup already escaped, attribute values are escaped here."""
    opening = f"<{name} {_attrs(**attributes)}" if attributes else f"<{name}"
    return f"{opening}>{content}</{name}>" if content else f"{opening}/>"


def _text(label: object, **attributes: object) -> str:
    return _tag("text", str(escape(_printable(label))), **attributes)


def _title(label: object, **attributes: object) -> str:
    return _tag("title", str(escape(_printable(label))), **attributes)


def _svg(chart_id: str, title: str, width: float, height: float, parts: list[str]) -> Markup:
    head = _tag(
        "svg",
        _title(title, id=f"{chart_id}-title") + "".join(parts),
        xmlns="http://www.w3.org/2000/svg",
        id=chart_id,
        # as wide as the page lets it be, never wider: the drawing scales with its viewBox
        width="100%",
        viewBox=f"0 0 {_n(width)} {_n(height)}",
        preserveAspectRatio="xMinYMin meet",
        role="img",
        aria_labelledby=f"{chart_id}-title",
        font_family=_FONT,
        font_size="12",
    )
    # every label and attribute above went through escape(): the finished SVG is safe to embed as is
    return Markup(head)  # noqa: S704  # nosec B704


def rate_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Horizontal bars: each community's collection rate of the current period, 0-100%."""
    words = _WORDS[language]
    communities = list(summary["communities"])
    # narrow enough that a phone shows it near its own size (it scales to the width)
    label_width, left, plot, row_height, top = 26, 180.0, 240.0, 24.0, 28.0
    width = left + plot + 60
    height = top + row_height * max(len(communities), 1) + 26
    bottom = height - 22
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = left + plot * tick / 100
        parts.append(_tag("line", x1=_n(x), y1=_n(top - 6), x2=_n(x), y2=_n(bottom), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{tick}%", x=_n(x), y=_n(bottom + 15), text_anchor="middle", fill="#555"))
    for index, community in enumerate(communities):
        name = str(community["name"])
        fraction = community["current_period"]["collection_rate"]
        y = top + row_height * index
        shown = _percent(fraction, words)
        bar = (
            _tag(
                "rect",
                x=_n(left),
                y=_n(y + 4),
                width=_n(plot * min(max(fraction, 0.0), 1.0)),
                height=_n(row_height - 8),
                fill=_COLOURS["bar"],
            )
            if fraction is not None
            else ""
        )
        end = left + (plot * min(max(fraction, 0.0), 1.0) if fraction is not None else 0)
        parts.append(
            _tag(
                "g",
                _title(f"{name}: {shown}")
                + _text(_clip(name, label_width), x=_n(left - 8), y=_n(y + row_height / 2 + 4), text_anchor="end")
                + bar
                + _text(shown, x=_n(end + 6), y=_n(y + row_height / 2 + 4), fill="#222"),
                class_="bar",
            )
        )
    if not communities:
        parts.append(_text(words["no_bills"], x=_n(left + plot / 2), y=_n(top + 16), text_anchor="middle"))
    return _svg("chart-rate", words["rate_chart"], width, height, parts)


def _axis_top(value: int, ticks: int = 4) -> int:
    """The top of a count axis with `ticks` whole-number steps of 1, 2, 2.5 or 5 times a power of ten."""
    needed = max(-(-value // ticks), 1)
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale // 2, 5 * scale):
            if step >= needed:
                return step * ticks
        scale *= 10


def reminder_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Grouped bars: messages sent and failed by channel, and the reminders skipped (which have no channel)."""
    words = _WORDS[language]
    reminders = summary["totals"]["reminders"]
    sent, failed = dict(reminders["sent"]), dict(reminders["failed"])
    channels = sorted(
        set(sent) | set(failed),
        key=lambda c: (_CHANNEL_ORDER.index(c) if c in _CHANNEL_ORDER else len(_CHANNEL_ORDER), c),
    )
    groups: list[tuple[str, list[tuple[str, int]]]] = [
        (words.get(c, c), [("sent", sent.get(c, 0)), ("failed", failed.get(c, 0))]) for c in channels
    ]
    groups.append((words["all_channels"], [("skipped", sum(reminders["skipped"].values()))]))
    top_value = _axis_top(max((count for _, bars in groups for _, count in bars), default=0))
    left, top, bar_width, gap, plot_height = 48.0, 34.0, 30.0, 28.0, 180.0
    group_widths = [bar_width * len(bars) for _, bars in groups]
    width = max(left + sum(group_widths) + gap * (len(groups) + 1) + 10, 360.0)
    bottom = top + plot_height
    height = bottom + 40
    parts = []
    for step in range(5):
        value = top_value * step / 4
        y = bottom - plot_height * step / 4
        parts.append(_tag("line", x1=_n(left), y1=_n(y), x2=_n(width - 10), y2=_n(y), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{value:g}", x=_n(left - 6), y=_n(y + 4), text_anchor="end", fill="#555"))
    for index, status in enumerate(("sent", "failed", "skipped")):
        x = left + 110 * index
        parts.append(_tag("rect", x=_n(x), y="8", width="12", height="12", fill=_COLOURS[status]))
        parts.append(_text(words[status], x=_n(x + 16), y="18"))
    x = left + gap
    for (label, bars), group_width in zip(groups, group_widths, strict=True):
        drawn = []
        for offset, (status, count) in enumerate(bars):
            bar_height = plot_height * count / top_value
            bar_x = x + bar_width * offset
            drawn.append(
                _tag(
                    "g",
                    _title(f"{label} {words[status]}: {count}")
                    + _tag(
                        "rect",
                        x=_n(bar_x + 2),
                        y=_n(bottom - bar_height),
                        width=_n(bar_width - 4),
                        height=_n(bar_height),
                        fill=_COLOURS[status],
                    )
                    + _text(count, x=_n(bar_x + bar_width / 2), y=_n(bottom - bar_height - 4), text_anchor="middle"),
                )
            )
        drawn.append(_text(_clip(label, 14), x=_n(x + group_width / 2), y=_n(bottom + 18), text_anchor="middle"))
        parts.append(_tag("g", "".join(drawn), class_="group"))
        x += group_width + gap
    if not any(count for _, bars in groups for _, count in bars):
        parts.append(_text(words["no_reminders"], x=_n(width / 2), y=_n(top + plot_height / 2), text_anchor="middle"))
    return _svg("chart-reminders", words["reminder_chart"], width, height, parts)


def trend_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Two lines over the days of the trend: the current period's collection rate and the back arrears'."""
    words = _WORDS[language]
    rows = list(summary["totals"].get("trend", ()))
    left, top, plot_width, plot_height = 48.0, 34.0, 340.0, 170.0
    width, bottom = left + plot_width + 20, top + plot_height
    height = bottom + 40
    parts = []
    for tick in (0, 25, 50, 75, 100):
        y = bottom - plot_height * tick / 100
        parts.append(_tag("line", x1=_n(left), y1=_n(y), x2=_n(left + plot_width), y2=_n(y), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{tick}%", x=_n(left - 6), y=_n(y + 4), text_anchor="end", fill="#555"))
    lines = (("collection_rate", words["current_rate"], "bar"), ("back_arrears_rate", words["back_rate"], "back"))
    for index, (_, label, colour) in enumerate(lines):
        x = left + 150 * index
        parts.append(_tag("rect", x=_n(x), y="8", width="12", height="12", fill=_COLOURS[colour]))
        parts.append(_text(label, x=_n(x + 16), y="18"))
    step = plot_width / max(len(rows) - 1, 1)
    for key, label, colour in lines:
        points = [
            (left + step * i, bottom - plot_height * min(max(row[key], 0.0), 1.0), row)
            for i, row in enumerate(rows)
            if row[key] is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y, _ in points)
            parts.append(_tag("polyline", points=path, fill="none", stroke=_COLOURS[colour], stroke_width="2"))
        for x, y, row in points:
            tip = f"{row['date']} {label}: {_percent(row[key], words)}"
            parts.append(_tag("circle", _title(tip), cx=_n(x), cy=_n(y), r="3", fill=_COLOURS[colour]))
    for i, row in enumerate(rows):
        last = len(rows) - 1
        # a few dates along the axis, always the first and the last (and none close enough to overlap it)
        if i in (0, last) or (i % 7 == 0 and last - i >= 4):
            parts.append(_text(row["date"][5:], x=_n(left + step * i), y=_n(bottom + 18), text_anchor="middle"))
    if not rows:
        parts.append(_text(words["no_trend"], x=_n(left + plot_width / 2), y=_n(top + 60), text_anchor="middle"))
    return _svg("chart-trend", words["trend_chart"], width, height, parts)
