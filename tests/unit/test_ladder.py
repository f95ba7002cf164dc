"""The escalation ladder: which reminder (if any) a unit gets today, on which channel, to whom."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propfee.ladder import DEFAULT_LADDER, Ladder, SkipReason, Step, decide, within_contact_window
from propfee.models import Channel, OpenBill, Owner
from tests.unit.conftest import EMAIL, EMAIL_2, PHONE, PHONE_2, PROPERTY, SHANGHAI, TODAY, make_unit, overdue_by, owner

# ---------------------------------------------------------------- the step for the unit's age


@pytest.mark.parametrize(
    ("days", "step_id", "channel"),
    [
        (1, "sms_d1", Channel.SMS),
        (6, "sms_d1", Channel.SMS),
        (7, "email_d7", Channel.EMAIL),
        (14, "email_d7", Channel.EMAIL),
        (15, "sms_d15", Channel.SMS),
        (29, "sms_d15", Channel.SMS),
        (30, "sms_d30", Channel.SMS),
        (400, "sms_d30", Channel.SMS),
    ],
)
def test_the_step_follows_the_age_of_the_oldest_unpaid_bill(days, step_id, channel):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action is not None
    assert decision.action.step.step_id == step_id
    assert decision.action.channel is channel
    assert decision.action.destination == (PHONE if channel is Channel.SMS else EMAIL)


def test_age_counts_from_the_oldest_unpaid_bill_not_the_newest():
    bills = {
        "2025-01": OpenBill(due=TODAY - timedelta(days=40), outstanding_fen=100),
        "2025-02": OpenBill(due=TODAY - timedelta(days=2), outstanding_fen=21044),
    }
    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d30"


def test_a_fully_paid_old_bill_does_not_age_the_unit():
    bills = {
        "2025-01": OpenBill(due=TODAY - timedelta(days=40), outstanding_fen=0),
        "2025-03": OpenBill(due=TODAY - timedelta(days=3), outstanding_fen=21044),
    }
    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d1"


def test_a_missed_step_is_not_sent_late():
    # 20 days overdue and nothing sent yet: the unit gets the day-15 step, not the day-1 SMS or the day-7 email
    decision = decide(make_unit(open_bills=overdue_by(20)), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d15"


@pytest.mark.parametrize("done", [{"sms_d15"}, {"sms_d1", "email_d7", "sms_d15"}])
def test_a_step_already_sent_is_never_sent_again(done):
    unit = make_unit(open_bills=overdue_by(20), steps_done=frozenset(done))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.STEP_ALREADY_SENT


def test_earlier_steps_already_sent_do_not_block_the_current_one():
    unit = make_unit(open_bills=overdue_by(31), steps_done=frozenset({"sms_d1", "email_d7", "sms_d15"}))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d30"


# ---------------------------------------------------------------- nothing to do


@pytest.mark.parametrize(
    "open_bills",
    [
        {},
        overdue_by(0),  # due today: not overdue yet
        overdue_by(-5),  # due in five days
        {"2025-02": OpenBill(due=TODAY - timedelta(days=10), outstanding_fen=0)},
    ],
    ids=["no bills", "due today", "due later", "nothing outstanding"],
)
def test_nothing_is_sent_when_nothing_is_overdue(open_bills):
    decision = decide(make_unit(open_bills=open_bills), TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.NOT_OVERDUE


def test_nothing_is_sent_before_the_first_step_is_due():
    ladder = Ladder(steps=(Step(step_id="sms_d5", days_overdue=5, channel=Channel.SMS, template="reminder_friendly"),))

    decision = decide(make_unit(open_bills=overdue_by(4)), TODAY, SHANGHAI, ladder)

    assert decision.action is None
    assert decision.reason is SkipReason.NOT_OVERDUE


MIN_1000 = Ladder(
    steps=(
        Step(step_id="sms_d1", days_overdue=1, channel=Channel.SMS, template="reminder_friendly", min_amount_fen=1000),
    )
)


def test_a_small_overdue_amount_is_below_the_minimum():
    decision = decide(make_unit(open_bills=overdue_by(3, outstanding_fen=999)), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is None
    assert decision.reason is SkipReason.BELOW_MINIMUM


def test_the_minimum_amount_itself_is_enough():
    decision = decide(make_unit(open_bills=overdue_by(3, outstanding_fen=1000)), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is not None


def test_only_the_overdue_amount_counts_towards_the_minimum():
    bills = {
        "2025-03": OpenBill(due=TODAY - timedelta(days=3), outstanding_fen=999),
        "2025-04": OpenBill(due=TODAY + timedelta(days=10), outstanding_fen=50_000),
    }

    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is None
    assert decision.reason is SkipReason.BELOW_MINIMUM


def test_key_customers_get_no_automated_message():
    decision = decide(make_unit(open_bills=overdue_by(30), key_customer=True), TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.KEY_CUSTOMER


# ---------------------------------------------------------------- frequency cap


def _contacted(local_text: str) -> datetime:
    return datetime.fromisoformat(local_text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("last_contact", "capped"),
    [
        ("2025-03-20 08:00", True),  # today
        ("2025-03-18 23:59", True),  # two local days ago
        ("2025-03-17 00:00", False),  # three local days ago: the default cap is 3 days
        ("2025-01-01 09:00", False),
    ],
)
def test_frequency_cap_by_local_date_of_last_contact(last_contact, capped):
    unit = make_unit(open_bills=overdue_by(30), last_contact_at=_contacted(last_contact))

    decision = decide(unit, TODAY, SHANGHAI)

    if capped:
        assert decision.action is None
        assert decision.reason is SkipReason.FREQUENCY_CAP
    else:
        assert decision.action is not None


def test_frequency_cap_uses_the_company_local_date_not_the_utc_date():
    # 2025-03-17 16:30 UTC is 2025-03-18 00:30 in Shanghai: three UTC days before today, but only two local days
    unit = make_unit(open_bills=overdue_by(30), last_contact_at=datetime(2025, 3, 17, 16, 30, tzinfo=UTC))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.FREQUENCY_CAP
    assert decide(unit, TODAY, ZoneInfo("UTC")).action is not None


def test_a_zero_day_cap_never_holds_a_message_back():
    ladder = DEFAULT_LADDER.model_copy(update={"min_days_between_messages": 0})
    unit = make_unit(open_bills=overdue_by(30), last_contact_at=_contacted("2025-03-20 08:00"))

    assert decide(unit, TODAY, SHANGHAI, ladder).action is not None


def test_a_longer_cap_holds_messages_back_longer():
    ladder = DEFAULT_LADDER.model_copy(update={"min_days_between_messages": 7})
    unit = make_unit(open_bills=overdue_by(30), last_contact_at=_contacted("2025-03-14 09:00"))

    assert decide(unit, TODAY, SHANGHAI, ladder).reason is SkipReason.FREQUENCY_CAP
    assert decide(unit, TODAY + timedelta(days=1), SHANGHAI, ladder).action is not None


# ---------------------------------------------------------------- channels and opt-outs


def test_sms_step_falls_back_to_email_when_there_is_no_phone():
    unit = make_unit(open_bills=overdue_by(1), owners=(owner(phone=None),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert action.step.step_id == "sms_d1"
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL)


def test_sms_step_falls_back_to_email_when_the_owner_opted_out_of_sms():
    unit = make_unit(open_bills=overdue_by(1), owners=(owner(sms_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL)


def test_email_step_falls_back_to_sms_when_there_is_no_email():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(email=None),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert action.step.step_id == "email_d7"
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_email_step_falls_back_to_sms_when_the_owner_opted_out_of_email():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(email_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_the_steps_own_channel_is_preferred_over_the_fallback():
    unit = make_unit(
        open_bills=overdue_by(7), owners=(owner(phone=PHONE, email=None), owner(phone=None, email=EMAIL_2))
    )

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL_2)


def test_another_household_member_is_reached_when_the_first_owner_opted_out():
    owners = (owner(sms_opt_out=True, email=None), owner(name="李雷", phone=PHONE_2, email=None, relation="co_owner"))
    unit = make_unit(open_bills=overdue_by(1), owners=owners)

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.SMS, PHONE_2)


@pytest.mark.parametrize(
    "owners",
    [
        (),
        (owner(phone=None, email=None),),
        (owner(sms_opt_out=True, email_opt_out=True),),
        (owner(sms_opt_out=True, email=None), owner(phone=None, email_opt_out=True)),
    ],
    ids=["no owners", "no contact details", "opted out of both", "each opted out of what they have"],
)
def test_no_reachable_channel(owners):
    unit = make_unit(open_bills=overdue_by(15), owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL


# ---------------------------------------------------------------- the ladder itself


def test_ladder_steps_must_be_ordered_by_days_overdue():
    with pytest.raises(ValueError, match="ordered"):
        Ladder(
            steps=(
                Step(step_id="b", days_overdue=7, channel=Channel.SMS, template="reminder_notice"),
                Step(step_id="a", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
            )
        )


def test_ladder_step_ids_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        Ladder(
            steps=(
                Step(step_id="a", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
                Step(step_id="a", days_overdue=7, channel=Channel.SMS, template="reminder_notice"),
            )
        )


# ---------------------------------------------------------------- contact window

WINDOW = (time(8, 0), time(21, 0))


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (datetime(2025, 3, 19, 23, 59, 59, tzinfo=UTC), False),  # 07:59:59 in Shanghai
        (datetime(2025, 3, 20, 0, 0, tzinfo=UTC), True),  # 08:00 sharp
        (datetime(2025, 3, 20, 6, 0, tzinfo=UTC), True),  # 14:00
        (datetime(2025, 3, 20, 12, 59, 59, tzinfo=UTC), True),  # 20:59:59
        (datetime(2025, 3, 20, 13, 0, tzinfo=UTC), False),  # 21:00: the end is exclusive
        (datetime(2025, 3, 20, 18, 0, tzinfo=UTC), False),  # 02:00 the next night
    ],
)
def test_within_contact_window_uses_local_time(now, inside):
    assert within_contact_window(now, SHANGHAI, *WINDOW) is inside


def test_within_contact_window_converts_from_any_timezone():
    # 21:30 in New York (EDT) is 09:30 the next morning in Shanghai
    new_york_evening = datetime(2025, 3, 19, 21, 30, tzinfo=ZoneInfo("America/New_York"))

    assert within_contact_window(new_york_evening, SHANGHAI, *WINDOW)
    assert not within_contact_window(new_york_evening, ZoneInfo("America/New_York"), *WINDOW)


# ---------------------------------------------------------------- properties over random units

_OWNER_POOL = [
    Owner(name=f"业主{i}", phone=phone, email=email, sms_opt_out=sms_out, email_opt_out=email_out)
    for i, (phone, email, sms_out, email_out) in enumerate(
        (p, e, s, o)
        for p in (None, PHONE, PHONE_2)
        for e in (None, EMAIL, EMAIL_2)
        for s in (False, True)
        for o in (False, True)
    )
]
_LADDERS = [
    DEFAULT_LADDER,
    DEFAULT_LADDER.model_copy(update={"min_days_between_messages": 0}),
    Ladder(
        steps=(
            Step(step_id="email_d0", days_overdue=0, channel=Channel.EMAIL, template="reminder_friendly"),
            Step(
                step_id="sms_d3", days_overdue=3, channel=Channel.SMS, template="reminder_notice", min_amount_fen=5000
            ),
            Step(step_id="sms_d60", days_overdue=60, channel=Channel.SMS, template="reminder_firm", min_amount_fen=1),
        ),
        min_days_between_messages=7,
    ),
]
_ZONES = [ZoneInfo(name) for name in ("UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+11")]


@st.composite
def units(draw):
    today = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
    periods = draw(
        st.lists(st.sampled_from([f"2024-{m:02d}" for m in range(1, 13)]), min_size=1, max_size=4, unique=True)
    )
    open_bills = {
        period: OpenBill(
            due=today + timedelta(days=draw(st.integers(min_value=-70, max_value=5))),
            # now and then a bill with nothing left on it
            outstanding_fen=0 if draw(st.integers(min_value=0, max_value=9)) == 0 else draw(st.integers(1, 300_000)),
        )
        for period in periods
    }
    tz = draw(st.sampled_from(_ZONES))
    last_contact = None
    if draw(st.booleans()):
        # around a local midnight some days back, where the local and the UTC date disagree; stored in any zone
        days_back = draw(st.integers(min_value=-1, max_value=9))
        minutes = draw(st.integers(min_value=-15 * 60, max_value=15 * 60))
        midnight = datetime.combine(today - timedelta(days=days_back), time(0), tzinfo=tz)
        last_contact = (midnight + timedelta(minutes=minutes)).astimezone(draw(st.sampled_from(_ZONES)))
    ladder = draw(st.sampled_from(_LADDERS))
    step_ids = [step.step_id for step in ladder.steps] + ["legacy_step"]
    unit = make_unit(
        open_bills=open_bills,
        owners=tuple(draw(st.lists(st.sampled_from(_OWNER_POOL), max_size=3))),
        steps_done=frozenset(draw(st.lists(st.sampled_from(step_ids), max_size=2))),
        key_customer=draw(st.integers(min_value=0, max_value=9)) == 0,
        last_contact_at=last_contact,
    )
    return unit, today, tz, ladder


@PROPERTY
@given(units())
def test_any_action_respects_opt_outs_steps_done_arrears_and_the_frequency_cap(case):
    unit, today, tz, ladder = case

    decision = decide(unit, today, tz, ladder)

    assert (decision.action is None) != (decision.reason is None)
    action = decision.action
    if action is None:
        return
    # (a) the destination belongs to an owner who may be reached on that channel
    if action.channel is Channel.SMS:
        assert any(o.phone == action.destination and not o.sms_opt_out for o in unit.owners)
    else:
        assert any(o.email == action.destination and not o.email_opt_out for o in unit.owners)
    # (b) never a step already sent in this episode
    assert action.step.step_id not in unit.steps_done
    # (c) only for money actually overdue, and at least the step's minimum
    assert unit.overdue_fen(today) > 0
    assert unit.overdue_fen(today) >= action.step.min_amount_fen
    # (d) the frequency cap, counted in local days
    if unit.last_contact_at is not None:
        local_day = unit.last_contact_at.astimezone(tz).date()
        assert (today - local_day).days >= ladder.min_days_between_messages
    # and: automated messages never go to key customers; the step is the one the age calls for
    assert not unit.key_customer
    age = unit.days_overdue(today)
    assert action.step == [step for step in ladder.steps if step.days_overdue <= age][-1]


def _usable(owners):
    """Addresses that may be used per channel: an opt-out belongs to the address, whoever else lists it."""
    no_sms = {o.phone for o in owners if o.phone and o.sms_opt_out}
    no_email = {o.email for o in owners if o.email and o.email_opt_out}
    return {
        Channel.SMS: [o.phone for o in owners if o.phone and o.phone not in no_sms],
        Channel.EMAIL: [o.email for o in owners if o.email and o.email not in no_email],
    }


def _expected_action(unit, today, tz, ladder):
    """The rules as the collections team states them, written out independently: (step, channel, destination)."""
    overdue = unit.overdue_fen(today)
    due = [step for step in ladder.steps if step.days_overdue <= unit.days_overdue(today)]
    if overdue <= 0 or not due or unit.key_customer:
        return None
    step = due[-1]
    if overdue < step.min_amount_fen or step.step_id in unit.steps_done:
        return None
    if unit.last_contact_at is not None and (
        (today - unit.last_contact_at.astimezone(tz).date()).days < ladder.min_days_between_messages
    ):
        return None
    usable = _usable(unit.owners)
    other = Channel.EMAIL if step.channel is Channel.SMS else Channel.SMS
    for channel in (step.channel, other):
        if usable[channel]:
            return step, channel, usable[channel][0]
    return None


@PROPERTY
@given(units())
def test_decide_follows_the_stated_rules(case):
    unit, today, tz, ladder = case

    decision = decide(unit, today, tz, ladder)

    action = decision.action
    got = None if action is None else (action.step, action.channel, action.destination)
    assert got == _expected_action(unit, today, tz, ladder)
    if unit.overdue_fen(today) <= 0:
        assert decision.reason is SkipReason.NOT_OVERDUE
    if decision.reason is SkipReason.NO_REACHABLE_CHANNEL:
        assert not any(_usable(unit.owners).values())


# each rule on its own, on units that would otherwise certainly get a reminder today


@st.composite
def actionable_units(draw):
    today = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
    ages = draw(st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=3, unique=True))
    open_bills = {
        f"2023-{i + 1:02d}": OpenBill(
            due=today - timedelta(days=age), outstanding_fen=draw(st.integers(5_000, 300_000))
        )
        for i, age in enumerate(ages)
    }
    unit = make_unit(open_bills=open_bills, owners=(owner(),))
    return unit, today, draw(st.sampled_from(_ZONES)), draw(st.sampled_from(_LADDERS))


def _step_for_age(unit, today, ladder):
    return [step for step in ladder.steps if step.days_overdue <= unit.days_overdue(today)][-1]


@PROPERTY
@given(actionable_units(), st.data())
def test_only_the_current_step_being_done_holds_a_unit_back(case, data):
    unit, today, tz, ladder = case
    done = data.draw(st.sets(st.sampled_from([step.step_id for step in ladder.steps])))
    unit = unit.model_copy(update={"steps_done": frozenset(done)})

    decision = decide(unit, today, tz, ladder)

    current = _step_for_age(unit, today, ladder)
    if current.step_id in done:
        assert decision.reason is SkipReason.STEP_ALREADY_SENT
    else:
        assert decision.action is not None
        assert decision.action.step == current


@pytest.mark.parametrize("tz", _ZONES, ids=str)
@settings(PROPERTY, max_examples=100)
@given(
    case=actionable_units(),
    from_cap=st.integers(min_value=-2, max_value=2),
    minutes=st.integers(min_value=-15 * 60, max_value=15 * 60),
    stored_in=st.sampled_from(_ZONES),
)
def test_the_frequency_cap_counts_local_days(tz, case, from_cap, minutes, stored_in):
    unit, today, _, ladder = case
    # around a local midnight near the cap, where the local date and the UTC date of the contact disagree
    days_back = ladder.min_days_between_messages + from_cap
    last = datetime.combine(today - timedelta(days=days_back), time(0), tzinfo=tz) + timedelta(minutes=minutes)
    unit = unit.model_copy(update={"last_contact_at": last.astimezone(stored_in)})

    decision = decide(unit, today, tz, ladder)

    local_days = (today - last.astimezone(tz).date()).days
    if local_days >= ladder.min_days_between_messages:
        assert decision.action is not None
    else:
        assert decision.reason is SkipReason.FREQUENCY_CAP


@PROPERTY
@given(case=actionable_units(), owners=st.lists(st.sampled_from(_OWNER_POOL), max_size=4))
def test_the_destination_is_always_one_the_owners_allow(case, owners):
    unit, today, tz, ladder = case
    unit = unit.model_copy(update={"owners": tuple(owners)})

    decision = decide(unit, today, tz, ladder)

    usable = _usable(owners)
    if not any(usable.values()):
        assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL
        return
    action = decision.action
    assert action is not None
    # the step's own channel whenever anyone can be reached on it, else the other one; the first such owner
    expected_channel = action.step.channel if usable[action.step.channel] else action.channel
    assert action.channel is expected_channel
    assert usable[action.channel] and action.destination == usable[action.channel][0]
