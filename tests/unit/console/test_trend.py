"""The collection-rate trend's geometry: a point per day with a rate, oldest left, higher rates higher up, the axis
rounded out to tenths; and the receive flow's opt-out marker names only the flags a message switched on."""

from __future__ import annotations

from datetime import date, timedelta

from propfee.aws.feedback import opted_out_by
from propfee.console.trend import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, trend
from propfee.domain.day_snapshot import DaySnapshot
from tests.support import unit


def snapshot(day: int, paid: int, billed: int = 100000) -> DaySnapshot:
    d = date(2026, 11, day)
    return DaySnapshot(community_id="C01", day=d, period="2026-11", billed_fen=billed, paid_fen=paid,
                       cohort_day=d - timedelta(days=7))  # fmt: skip


def test_points_span_the_width_by_day_and_the_axis_rounds_out_to_tenths():
    chart = trend([snapshot(11, 58500), snapshot(1, 41000), snapshot(6, 50000), snapshot(7, 0, billed=0)])
    assert [p.day.day for p in chart.points] == [1, 6, 11]  # sorted; the day with nothing billed has no rate
    assert (chart.low, chart.high) == (0.4, 0.6)
    xs = [p.x for p in chart.points]
    assert xs[0] == LEFT and xs[-1] == WIDTH - RIGHT and xs[1] == LEFT + (WIDTH - LEFT - RIGHT) / 2
    ys = [p.y for p in chart.points]
    assert TOP <= ys[2] < ys[1] < ys[0] <= HEIGHT - BOTTOM
    assert [rate for rate, _y in chart.gridlines] == [0.4, 0.5, 0.6]
    assert chart.polyline.split()[0] == f"{LEFT:.1f},{ys[0]:.1f}"


def test_one_day_or_a_flat_rate_still_draws_inside_the_box_and_none_draws_nothing():
    one = trend([snapshot(3, 50000)])
    assert len(one.points) == 1 and one.low < 0.5 < one.high and LEFT < one.points[0].x < WIDTH - RIGHT
    flat = trend([snapshot(3, 100000), snapshot(4, 100000)])
    assert flat.high == 1.0 and flat.low == 0.9 and all(p.y == TOP for p in flat.points)
    assert trend([]).points == () and trend([]).first is None


def test_the_opt_out_marker_names_the_flags_a_message_switched_on_for_an_owner():
    before = unit("C01-B01-0101")
    owner = before.owners[0]
    after = before.model_copy(update={"owners": (owner.model_copy(update={"sms_opt_out": True}),)})

    class Answer:  # the part of feedback.responses.Response the marker reads
        units_after = (after,)

    assert opted_out_by(before, Answer()) == ["sms_opt_out"]  # type: ignore[arg-type]
    assert opted_out_by(after, Answer()) == []  # already off: not a new opt-out  # type: ignore[arg-type]
    assert opted_out_by(before, None) == []
