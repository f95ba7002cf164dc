"""The receive flow with in-memory ports: an owner's message acts once, its department hears of it, and the
owner gets at most one acknowledgement, inside the lawful contact hours."""

import copy
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from propfee.domain.config import Settings
from propfee.domain.models import Hold, HoldKind, InboundMessage, OpenBill, Owner, Ticket, Unit
from propfee.domain.ports import ProviderRejected
from propfee.feedback.intents import Classification, Department, Intent
from propfee.feedback.receiving import (
    Outcome,
    Receiver,
    UnitsKeepChanging,
    keep_sms_whole,
    parse_inbound_sms,
    ticket_email,
)
from propfee.feedback.responses import DepartmentContact
from propfee.rules import CollectionRules, CommunityRules, load_rules, parse_rules
from tests.support import SHANGHAI, at, unit
from tests.support.inboxes import Inboxes

SETTINGS = Settings(table="t")  # type: ignore[call-arg]
RULES = load_rules()
PHONE, STRANGER = "+8613812345678", "+8613700000999"
EMAIL = "wang.fang@example.net"
NOW = at("2026-11-11 09:30")

LEAK = "楼上漏水三个月了没人修，修好再交"
PAID = "我已经交了"


class MemoryFeedback:
    """What FeedbackTable does, in dicts: the message is written once (its provider id is the key) with its
    ticket and the units as the response leaves them, each unit only if its version is still as read."""

    def __init__(self, *units: Unit) -> None:
        self.units = {u.unit_id: u for u in units}
        self.inbound: dict[str, dict] = {}
        self.tickets: dict[str, Ticket] = {}
        self.counts: Counter[tuple[str, str]] = Counter()
        self.acked_at: dict[str, datetime] = {}
        self.reminders: dict[str, tuple[str, str]] = {}  # provider message id -> (unit, claim)
        # a concurrent writer, one per attempt to record: it changes a unit between the read and the write
        self.meddlers: list[Callable[[MemoryFeedback], None]] = []
        self.attempts = 0

    def get_inbound(self, source_id):
        return copy.deepcopy(self.inbound.get(source_id))

    def count_message(self, sender, at):
        counts = []
        for bucket in (f"{at.astimezone(UTC):%Y-%m-%dT%H}", f"{at.astimezone(UTC):%Y-%m-%d}"):
            self.counts[(sender, bucket)] += 1
            counts.append(self.counts[(sender, bucket)])
        return counts[0], counts[1]

    def units_by_contact(self, sender):
        def wrote(o: Owner) -> bool:
            return o.phone == sender or (o.email or "").lower() == sender.lower()

        return [u for u in self.units.values() if any(wrote(o) for o in u.owners)]

    def reminder_answered(self, provider_message_id):
        return self.reminders.get(provider_message_id) if provider_message_id else None

    def record_message(self, message: InboundMessage, units, response, outcome, pending):
        self.attempts += 1
        if self.meddlers:
            self.meddlers.pop(0)(self)
        if message.source_id in self.inbound:
            return "duplicate"
        if response is not None and any(self.units[u.unit_id].version != u.version - 1 for u in response.units_after):
            return "units_changed"
        record = {
            **message.model_dump(mode="json"),
            "kind": "inbound",
            "outcome": outcome,
            "community_id": units[0].community_id if units else "UNKNOWN",
            "unit_ids": [u.unit_id for u in units],
            "pending": list(pending),
        }
        if response is not None:
            record |= {
                "classification": response.classification.model_dump(mode="json"),
                "changes": list(response.changes),
                "ticket_id": response.ticket.ticket_id if response.ticket else None,
            }
            if response.acknowledgement is not None:
                ack = response.acknowledgement
                record["ack"] = {"template": ack.template, "language": ack.language, "context": dict(ack.context)}
            if response.ticket is not None:
                self.tickets[response.ticket.ticket_id] = response.ticket
            for after in response.units_after:
                self.units[after.unit_id] = after
        self.inbound[message.source_id] = record
        return "recorded"

    def get_ticket(self, ticket_id):
        return self.tickets.get(ticket_id)

    def finish_step(self, source_id, step, **fields):
        record = self.inbound[source_id]
        record["pending"] = [p for p in record["pending"] if p != step]
        record.update(fields)
        if step == "ack":
            record.pop("inbox_pk", None)

    def defer_ack(self, source_id, received_at):
        self.inbound[source_id]["inbox_pk"] = "PENDING_ACKS"
        self.inbound[source_id]["inbox_sk"] = f"{received_at.isoformat()}#{source_id}"

    def deferred_acks(self):
        return [copy.deepcopy(r) for r in self.inbound.values() if r.get("inbox_pk")]

    def claim_ack(self, sender, now, every, ticket_id=None):
        if ticket_id is not None:
            if (sender, ticket_id) in self.acked_at:
                return False
            self.acked_at[(sender, ticket_id)] = self.acked_at[sender] = now
            return True
        last = self.acked_at.get(sender)
        if last is not None and not last < now - every:
            return False
        self.acked_at[sender] = now
        return True


class Phone:
    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failure = failure

    def send_sms(self, phone, body, context=None, template=None):
        if self.failure:
            raise self.failure
        self.sent.append((phone, body))
        return f"sms-{len(self.sent)}"


class AcceptsThenTimesOut(Phone):
    def send_sms(self, phone, body, context=None, template=None):
        super().send_sms(phone, body, context, template)
        raise TimeoutError("read timeout: the provider may have accepted the message")


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, to, subject, body, context=None):
        self.sent.append((to, subject, body))
        return f"email-{len(self.sent)}"


def owner_unit(unit_id: str = "C01-B01-0101", **changes) -> Unit:
    bills = {"2026-10": OpenBill(due=date(2026, 10, 10), outstanding_fen=25000)}
    owner = Owner(name="王芳", phone=PHONE, email=EMAIL)
    return unit(unit_id, **{"owners": (owner,), "open_bills": bills, **changes})


def sms(body: str, source_id: str = "in-1", received_at: datetime = NOW, sender: str = PHONE, answers=None):
    return InboundMessage(
        source_id=source_id,
        channel="sms",
        sender=sender,
        recipient="+8610690000",
        body=body,
        received_at=received_at,
        answers_message_id=answers,
    )


class Flow:
    """A receiver with its in-memory store, inboxes and providers."""

    def __init__(self, *units: Unit, router=None, phone=None, rules=RULES) -> None:
        self.store = MemoryFeedback(*(units or (owner_unit(),)))
        self.router = router or Inboxes()
        self.phone = phone or Phone()
        self.mail = Mailbox()
        self.receiver = Receiver(SETTINGS, self.store, self.phone, self.mail, self.router, rules)

    def receive(self, message: InboundMessage, now: datetime | None = None):
        return self.receiver.receive(message, now or message.received_at)

    def hourly(self, now: datetime) -> list[str]:
        return [self.receiver.acknowledge(record, now) for record in self.store.deferred_acks()]


# ---------------------------------------------------------------------------------------------- parsing


def provider_payload(**changes) -> dict:
    return {
        "originationNumber": PHONE,
        "destinationNumber": "+8610690000",
        "messageKeyword": "KEYWORD_0123",
        "messageBody": "楼上漏水",
        "inboundMessageId": "in-1",
        "previousPublishedMessageId": "prov-7",
        **changes,
    }


def sns_envelope(message: str) -> str:
    return json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sns:ap-northeast-1:1:inbound", "Message": message})


@pytest.mark.parametrize("wrap", [lambda p: p, sns_envelope], ids=["raw delivery", "sns envelope"])
def test_an_inbound_sms_is_read_with_its_sender_and_the_reminder_it_answers(wrap):
    message, reason = parse_inbound_sms(wrap(json.dumps(provider_payload())), NOW)

    assert reason == ""
    assert message == InboundMessage(
        source_id="in-1",
        channel="sms",
        sender=PHONE,
        recipient="+8610690000",
        body="楼上漏水",
        body_chars=4,
        received_at=NOW,
        answers_message_id="prov-7",
    )


def test_a_national_number_is_read_as_e164():
    message, _ = parse_inbound_sms(json.dumps(provider_payload(originationNumber="13812345678")), NOW)

    assert message.sender == PHONE


def test_an_empty_message_is_kept():
    message, reason = parse_inbound_sms(json.dumps(provider_payload(messageBody="")), NOW)

    assert (message.body, reason) == ("", "")


def test_a_very_long_message_is_classified_on_its_first_2000_characters_and_says_how_long_it_was():
    long = "漏" * 1500 + "水" * 1500

    message, _ = parse_inbound_sms(json.dumps(provider_payload(messageBody=long)), NOW)

    assert (message.body, message.body_chars) == (long[:2000], 3000)


def test_an_sms_is_kept_whole_under_its_day_and_id_before_it_is_acted_on():
    kept = {}

    class Originals:
        def keep(self, key, body, content_type):
            kept[key] = (body, content_type)
            return f"s3://inbound/{key}"

    payload = json.dumps(provider_payload(messageBody="漏" * 80_000, inboundMessageId="in/1 2"))
    message, _ = parse_inbound_sms(payload, NOW)

    whole = keep_sms_whole(message, payload, datetime(2026, 11, 10, 23, 59, tzinfo=UTC), Originals())

    # the provider's id is made safe for a key; SNS's publish time (the same on a redelivery) names the day
    assert kept == {"incoming/sms/2026-11-10/in%2F1%202.json": (payload.encode("utf-8"), "application/json")}
    assert whole.original == "s3://inbound/incoming/sms/2026-11-10/in%2F1%202.json"
    assert (len(whole.body), whole.body_chars) == (2000, 80_000)


SECRET_BODY = "我的身份证号是110101199003071234"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("not json {" + PHONE, ["not JSON"]),
        (sns_envelope("not json " + PHONE), ["not JSON"]),
        (json.dumps({"messageBody": SECRET_BODY}), ["originationNumber", "inboundMessageId"]),
        (json.dumps(provider_payload(originationNumber="+8613812", messageBody=SECRET_BODY)), ["originationNumber"]),
        (json.dumps(provider_payload(originationNumber="anonymous")), ["originationNumber"]),
        (json.dumps(provider_payload(messageBody={"text": SECRET_BODY})), ["messageBody"]),
        (json.dumps(provider_payload(inboundMessageId="")), ["inboundMessageId"]),
        (json.dumps([PHONE, SECRET_BODY]), ["malformed"]),
    ],
    ids=[
        "not json",
        "envelope of not json",
        "missing fields",
        "short number",
        "not a number",
        "body not text",
        "empty id",
        "not an object",
    ],
)
def test_a_malformed_payload_is_refused_with_a_reason_that_names_fields_not_values(body, fields):
    message, reason = parse_inbound_sms(body, NOW)

    assert message is None
    assert reason.startswith("malformed inbound SMS")
    assert all(field in reason for field in fields)
    for secret in ("13812345678", "3812", "110101199003071234", "身份证"):
        assert secret not in reason


# ---------------------------------------------------------------------------------------------- acting once


def test_a_complaint_is_held_routed_to_its_department_and_acknowledged_with_the_ticket():
    flow = Flow()

    result = flow.receive(sms(LEAK))

    assert (result.outcome, result.intent, result.acknowledged) == (Outcome.ACTED, "complaint", "sent")
    ticket = flow.store.tickets[result.ticket_id]
    assert (ticket.department, ticket.category, ticket.unit_ids) == ("engineering", "leak", ("C01-B01-0101",))
    [routed] = flow.router.routed
    assert (routed.ticket_id, routed.department) == (ticket.ticket_id, "engineering")
    assert routed.contact.email == "engineering@example.com"
    assert ticket.ticket_id in routed.subject and LEAK in routed.body
    held = flow.store.units["C01-B01-0101"]
    assert [(h.kind, h.ticket) for h in held.holds] == [(HoldKind.COMPLAINT, ticket.ticket_id)]
    [(to, text)] = flow.phone.sent
    assert to == PHONE and ticket.ticket_id in text and "工程维修部" in text
    record = flow.store.inbound["in-1"]
    assert record["pending"] == [] and record["ack_outcome"] == "sent" and record["ack_message_id"] == "sms-1"


def test_a_redelivered_message_acts_once_and_is_acknowledged_once():
    flow = Flow()

    results = [flow.receive(sms(LEAK), NOW + timedelta(minutes=n)) for n in (0, 1, 90)]

    assert [r.outcome for r in results] == [Outcome.ACTED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(flow.store.tickets) == 1 and len(flow.router.routed) == 1
    assert len(flow.phone.sent) == 1
    held = flow.store.units["C01-B01-0101"]
    assert (len(held.holds), held.version) == (1, 1)


def test_a_crash_while_routing_is_finished_by_the_redelivery_which_routes_then_acknowledges():
    flow = Flow(router=Inboxes(failures=1))

    with pytest.raises(ConnectionError):
        flow.receive(sms(LEAK))

    record = flow.store.inbound["in-1"]
    assert record["pending"] == ["notify", "ack"]  # acted on, not yet routed nor acknowledged
    assert flow.phone.sent == [] and flow.router.routed == []
    [ticket_id] = flow.store.tickets

    again = flow.receive(sms(LEAK), NOW + timedelta(minutes=2))

    assert (again.outcome, again.ticket_id, again.acknowledged) == (Outcome.ACTED, ticket_id, "sent")
    assert [r.ticket_id for r in flow.router.routed] == [ticket_id]
    assert len(flow.phone.sent) == 1 and ticket_id in flow.phone.sent[0][1]
    assert flow.store.inbound["in-1"]["pending"] == []
    # the transaction was not repeated: one ticket, one hold
    assert len(flow.store.tickets) == 1 and len(flow.store.units["C01-B01-0101"].holds) == 1
    assert flow.receive(sms(LEAK), NOW + timedelta(minutes=4)).outcome is Outcome.DUPLICATE
    assert len(flow.phone.sent) == 1 and len(flow.router.routed) == 1


def test_the_acknowledgement_is_ticked_off_before_it_is_sent_so_a_crash_never_sends_a_second():
    flow = Flow(phone=AcceptsThenTimesOut())

    with pytest.raises(TimeoutError):
        flow.receive(sms(LEAK))

    record = flow.store.inbound["in-1"]
    assert record["pending"] == [] and record["ack_outcome"] == "sending"
    assert flow.receive(sms(LEAK), NOW + timedelta(minutes=2)).outcome is Outcome.DUPLICATE
    assert len(flow.phone.sent) == 1


def test_a_refused_acknowledgement_is_recorded_and_not_tried_again():
    flow = Flow(phone=Phone(ProviderRejected("InvalidParameter")))

    result = flow.receive(sms(LEAK))

    assert result.acknowledged == "failed"
    assert flow.store.inbound["in-1"]["ack_outcome"] == "failed: ProviderRejected"
    assert flow.receive(sms(LEAK), NOW + timedelta(minutes=2)).outcome is Outcome.DUPLICATE
    assert len(flow.router.routed) == 1  # the department heard of it all the same


# ---------------------------------------------------------------------------------------------- when to answer


def test_at_night_the_department_hears_at_once_and_the_owner_when_the_contact_window_opens():
    night = at("2026-11-11 22:30")
    flow = Flow()

    result = flow.receive(sms("电梯又坏了，困了人！", received_at=night))

    assert result.acknowledged == "deferred"
    [routed] = flow.router.routed
    assert routed.department == "engineering" and routed.subject.startswith("【紧急】")
    assert flow.phone.sent == []
    # SQS delivers the message again during the night: still nothing sent
    assert (
        flow.receive(sms("电梯又坏了，困了人！", received_at=night), at("2026-11-11 23:00")).acknowledged == "deferred"
    )
    assert flow.hourly(at("2026-11-12 07:10")) == ["deferred"]
    assert flow.phone.sent == []

    assert flow.hourly(at("2026-11-12 08:10")) == ["sent"]

    [(to, text)] = flow.phone.sent
    assert to == PHONE and result.ticket_id in text
    assert flow.hourly(at("2026-11-12 09:10")) == []
    assert flow.receive(sms("电梯又坏了，困了人！", received_at=night), at("2026-11-12 09:15")).outcome is (
        Outcome.DUPLICATE
    )
    assert len(flow.phone.sent) == 1 and len(flow.router.routed) == 1


def test_an_acknowledgement_never_promises_an_answer_by_a_time_already_past():
    night = at("2026-11-11 22:30")
    flow = Flow()
    sent_at: dict[str, datetime] = {}

    flow.receive(sms("电梯又坏了，困了人！", received_at=night))
    sent_at |= {text: night for _, text in flow.phone.sent}
    for hours in range(1, 12):
        now = at("2026-11-11 22:10") + timedelta(hours=hours)
        flow.hourly(now)
        sent_at |= {text: now for _, text in flow.phone.sent if text not in sent_at}

    [(text, when)] = sent_at.items()
    promised = re.search(r"预计(\d\d-\d\d \d\d:\d\d)前", text)
    if promised:
        deadline = datetime.strptime(f"{when.year}-{promised.group(1)}", "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
        assert deadline > when


def test_each_new_ticket_is_answered_and_the_rest_share_one_answer_an_hour():
    flow = Flow()

    leak = flow.receive(sms(LEAK, "in-1"))
    # 35 minutes later a different complaint: a ticket of its own, answered too (the hour does not swallow it)
    lift = flow.receive(sms("电梯坏了，困了人！", "in-2", received_at=NOW + timedelta(minutes=35)))
    # a question opens no ticket: within the hour of the last answer it waits for none
    question = flow.receive(sms("怎么交物业费？", "in-3", received_at=NOW + timedelta(minutes=50)))
    later = flow.receive(sms("在哪里交费？", "in-4", received_at=NOW + timedelta(minutes=35 + 61)))

    assert [r.acknowledged for r in (leak, lift, question, later)] == ["sent", "sent", "cooldown", "sent"]
    assert leak.ticket_id != lift.ticket_id
    assert [to for to, _ in flow.phone.sent] == [PHONE, PHONE, PHONE]
    assert flow.store.inbound["in-3"]["ack_outcome"] == "cooldown" and flow.store.inbound["in-3"]["pending"] == []
    assert [r.department for r in flow.router.routed] == ["engineering", "engineering"]


def test_thanks_is_not_answered_and_does_not_use_up_the_hours_acknowledgement():
    flow = Flow()

    thanks = flow.receive(sms("谢谢", "in-1"))
    leak = flow.receive(sms(LEAK, "in-2", received_at=NOW + timedelta(minutes=5)))

    assert (thanks.outcome, thanks.ticket_id, thanks.acknowledged) == (Outcome.ACTED, None, "none")
    assert leak.acknowledged == "sent" and len(flow.phone.sent) == 1


# ---------------------------------------------------------------------------------------------- floods and races


def test_messages_beyond_the_hourly_limit_are_kept_but_not_acted_on():
    flow = Flow()
    limit = RULES.feedback.messages_per_hour
    start = at("2026-11-11 10:00")

    acted = [flow.receive(sms("谢谢", f"in-{n}", received_at=start + timedelta(minutes=n))) for n in range(limit)]
    flooded = [flow.receive(sms(LEAK, f"in-x{n}", received_at=start + timedelta(minutes=30 + n))) for n in range(2)]

    assert [r.outcome for r in acted] == [Outcome.ACTED] * limit
    assert [r.outcome for r in flooded] == [Outcome.FLOOD] * 2
    for n in range(2):
        record = flow.store.inbound[f"in-x{n}"]
        assert record["outcome"] == "flood" and record["body"] == LEAK  # kept as evidence
        assert "classification" not in record and record["pending"] == []
    assert flow.store.tickets == {} and flow.router.routed == [] and flow.phone.sent == []
    assert flow.store.units["C01-B01-0101"].holds == ()
    # the next hour the owner is heard again
    assert flow.receive(sms(LEAK, "in-next", received_at=at("2026-11-11 11:00"))).outcome is Outcome.ACTED


def test_messages_beyond_the_daily_limit_are_kept_but_not_acted_on():
    flow = Flow()
    flow.store.counts[(PHONE, "2026-11-11")] = RULES.feedback.messages_per_day

    result = flow.receive(sms(LEAK))

    assert result.outcome is Outcome.FLOOD
    assert flow.store.tickets == {} and flow.phone.sent == []


def test_an_opt_out_is_honoured_even_beyond_the_limits():
    # PIPL: an owner who asks to stop is stopped at once, however much they wrote before
    flow = Flow()
    flow.store.counts[(PHONE, "2026-11-11")] = RULES.feedback.messages_per_day

    result = flow.receive(sms("退订"))

    assert result.outcome is Outcome.ACTED and result.intent == "opt_out"
    assert flow.store.units["C01-B01-0101"].owners[0].sms_opt_out


def add_manual_hold(store: MemoryFeedback) -> None:
    """Staff put the unit on hold while the message was being decided."""
    current = store.units["C01-B01-0101"]
    manual = Hold(kind=HoldKind.MANUAL, reason="经理批准缓交")
    store.units[current.unit_id] = current.model_copy(
        update={"holds": (*current.holds, manual), "version": current.version + 1}
    )


def test_units_that_change_between_read_and_write_are_decided_again_and_nothing_is_lost():
    flow = Flow()
    flow.store.meddlers = [add_manual_hold]

    result = flow.receive(sms(PAID))

    assert result.outcome is Outcome.ACTED and flow.store.attempts == 2
    held = flow.store.units["C01-B01-0101"]
    assert [h.kind for h in held.holds] == [HoldKind.MANUAL, HoldKind.PAID_CLAIM]  # staff's hold is kept
    assert held.version == 2
    assert len(flow.store.tickets) == 1 and len(flow.phone.sent) == 1


def test_units_that_keep_changing_give_up_leaving_nothing_done_for_the_redelivery():
    flow = Flow()
    flow.store.meddlers = [add_manual_hold] * 4

    with pytest.raises(UnitsKeepChanging):
        flow.receive(sms(PAID))

    assert flow.store.attempts == 4
    assert flow.store.inbound == {} and flow.store.tickets == {}
    assert flow.router.routed == [] and flow.phone.sent == []
    assert flow.receive(sms(PAID), NOW + timedelta(minutes=1)).outcome is Outcome.ACTED
    assert [h.kind for h in flow.store.units["C01-B01-0101"].holds] == [HoldKind.MANUAL] * 4 + [HoldKind.PAID_CLAIM]


# ---------------------------------------------------------------------------------------------- who and where


def test_a_reply_to_a_reminder_concerns_the_unit_that_reminder_was_about():
    flow = Flow(owner_unit("C01-B01-0101"), owner_unit("C01-B02-0502"))
    flow.store.reminders["prov-7"] = ("C01-B02-0502", "REMINDER.sms_d1.1")

    result = flow.receive(sms(PAID, answers="prov-7"))

    assert flow.store.tickets[result.ticket_id].unit_ids == ("C01-B02-0502",)
    assert flow.store.units["C01-B01-0101"].holds == ()
    assert [h.kind for h in flow.store.units["C01-B02-0502"].holds] == [HoldKind.PAID_CLAIM]


def test_a_stranger_reaches_customer_service_and_learns_nothing_about_any_account():
    flow = Flow()

    result = flow.receive(sms("我家水管爆了", sender=STRANGER))

    ticket = flow.store.tickets[result.ticket_id]
    assert (ticket.department, ticket.community_id, ticket.unit_ids) == ("customer_service", "UNKNOWN", ())
    [routed] = flow.router.routed
    assert routed.contact.email == "service@example.com"
    [(to, text)] = flow.phone.sent
    assert to == STRANGER and result.ticket_id in text
    for revealing in ("C01", "0101", "王芳", "250", "元"):
        assert revealing not in text
    assert flow.store.units["C01-B01-0101"].version == 0


def test_an_owners_email_is_answered_by_email():
    flow = Flow()
    message = InboundMessage(source_id="mail-1", channel="email", sender=EMAIL, body=PAID, received_at=NOW)

    result = flow.receive(message)

    assert result.acknowledged == "sent" and flow.phone.sent == []
    [(to, _, text)] = flow.mail.sent
    assert to == EMAIL and result.ticket_id in text
    assert [h.kind for h in flow.store.units["C01-B01-0101"].holds] == [HoldKind.PAID_CLAIM]


def test_a_ticket_goes_to_its_communitys_own_department_inbox():
    phase2 = DepartmentContact(name="工程部(二期)", email="eng-phase2@example.com")
    rules = CollectionRules(
        feedback=RULES.feedback, communities={"C02": CommunityRules(departments={Department.ENGINEERING: phase2})}
    )
    flow = Flow(owner_unit("C02-B01-0101"), rules=rules)

    flow.receive(sms(LEAK))

    [routed] = flow.router.routed
    assert routed.contact == phase2 and "工程部(二期)" in routed.subject
    assert "工程部(二期)" in flow.phone.sent[0][1]


def test_the_acknowledgement_speaks_for_the_owners_community_and_an_email_names_the_company():
    rules = parse_rules(
        "company: {name: 锦绣物业服务有限公司, sms_signature: 锦绣物业, hotline: 0571-8888 6666}\n"
        "communities: {C02: {company: {hotline: 0571-8888 7777}}}\n"
    )
    flow = Flow(owner_unit("C02-B01-0101"), rules=rules)
    flow.receive(sms(LEAK))
    [(_, text)] = flow.phone.sent
    assert text.startswith("【锦绣物业】") and text.endswith("0571-8888 7777")

    flow = Flow(rules=rules)
    flow.receive(InboundMessage(source_id="mail-1", channel="email", sender=EMAIL, body=PAID, received_at=NOW))
    [(_, subject, body)] = flow.mail.sent
    assert subject == "Re: 锦绣物业服务有限公司" and body.endswith("锦绣物业服务有限公司")
    assert "0571-8888 6666" in body


# ---------------------------------------------------------------------------------------------- the department's email


def test_the_ticket_email_tells_the_department_what_who_and_by_when_in_local_time():
    ticket = Ticket(
        ticket_id="T20261111-0A1B2C3D",
        community_id="C01",
        unit_ids=("C01-B01-0101", "C01-B02-0502"),
        department="engineering",
        intent="complaint",
        category="lift",
        priority="urgent",
        channel="sms",
        contact=PHONE,
        message="电梯又坏了，困了人！",
        created_at=datetime(2026, 11, 11, 14, 30, tzinfo=UTC),  # 22:30 in Shanghai
        due_by=datetime(2026, 11, 11, 18, 30, tzinfo=UTC),  # 02:30 the next day in Shanghai
        hold=HoldKind.COMPLAINT,
        source_id="in-1",
    )
    contact = RULES.feedback.departments[Department.ENGINEERING]

    subject, body = ticket_email(ticket, contact, SETTINGS)

    assert subject.startswith("【紧急】") and "T20261111-0A1B2C3D" in subject and "工程维修部" in subject
    for expected in (
        "T20261111-0A1B2C3D",
        "工程维修部",
        "2026-11-12 02:30",
        "2026-11-11 22:30",
        "C01-B01-0101, C01-B02-0502",
        PHONE,
        "电梯又坏了，困了人！",
        "complaint/lift",
        "propfee tickets resolve T20261111-0A1B2C3D --note",
    ):
        assert expected in body
    assert "2026-11-11 18:30" not in body  # never the UTC time


def test_the_ticket_email_of_a_stranger_says_the_sender_is_unknown_and_gives_a_promised_date():
    ticket = Ticket(
        ticket_id="T20261111-0A1B2C3D",
        community_id="UNKNOWN",
        department="finance",
        intent="payment_plan",
        channel="sms",
        contact=STRANGER,
        message="下个月15号交",
        created_at=NOW,
        due_by=NOW + timedelta(hours=72),
        promise_date=date(2026, 12, 15),
        source_id="in-1",
    )

    subject, body = ticket_email(ticket, RULES.feedback.departments[Department.FINANCE], SETTINGS)

    assert not subject.startswith("【紧急】")
    assert "unknown sender" in body and STRANGER in body and "2026-12-15" in body
    assert "2026-11-14 09:30" in body


# ---------------------------------------------------------------------------------------------- doubt stops SMS

UNSURE = Classification(
    intent=Intent.UNKNOWN,
    department=Department.CUSTOMER_SERVICE,
    possible_opt_out=True,
    decided_by="person",
    confidence=31,
    guesses=(Intent.OPT_OUT, Intent.COMPLAINT),
)


def test_a_low_confidence_possible_opt_out_stops_sms_to_the_number_and_asks_the_owner_once(monkeypatch):
    monkeypatch.setattr("propfee.feedback.receiving.classify", lambda text, today: UNSURE)
    flow = Flow()

    first = flow.receive(sms("停咗佢啦", source_id="in-1"))

    owner = flow.store.units["C01-B01-0101"].owners[0]
    assert owner.sms_opt_out is True  # doubt resolves to stopping: no reminder goes to this number any more
    [(to, asked)] = flow.phone.sent
    assert to == PHONE and '回复"恢复"' in asked and first.ticket_id in asked
    ticket = flow.store.tickets[first.ticket_id]
    assert (ticket.department, ticket.guesses) == ("customer_service", ("opt_out", "complaint"))  # a person decides
    [routed] = flow.router.routed
    assert "opt_out, complaint" in routed.body

    # a second such message, past the acknowledgement cooldown: still stopped, and not asked again
    flow.receive(sms("停咗佢啦唔该", source_id="in-2", received_at=NOW + timedelta(hours=3)))

    assert flow.store.units["C01-B01-0101"].owners[0].sms_opt_out is True
    assert sum('回复"恢复"' in text for _, text in flow.phone.sent) == 1


def test_an_opt_out_found_by_the_rules_is_never_overruled_by_the_model():
    flow = Flow()

    result = flow.receive(sms("唔好再send嘢俾我"))

    assert result.intent == "opt_out"
    assert flow.store.units["C01-B01-0101"].owners[0].sms_opt_out is True
