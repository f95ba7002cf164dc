"""Department tickets after they are opened: resolving one gives the owner's reminders back, and a ticket
nobody acted on in time reaches the site manager, once."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from propfee.domain.config import Settings
from propfee.domain.models import Hold, HoldKind, Ticket, TicketStatus, Unit
from propfee.feedback.intents import Department
from propfee.feedback.responses import DepartmentContact
from propfee.feedback.ticketing import TicketError, escalate_overdue, resolve_ticket
from propfee.rules import CollectionRules, CommunityRules, load_rules
from tests.support import at, unit
from tests.support.inboxes import Inboxes

SETTINGS = Settings(table="t")  # type: ignore[call-arg]
RULES = load_rules()
NOW = at("2026-11-13 10:00")
LEAK, PAID, OTHER = "T20261111-AAAAAAAA", "T20261111-BBBBBBBB", "T20261112-CCCCCCCC"
PHASE2_MANAGER = DepartmentContact(name="二期项目经理", email="pm-phase2@example.com")


class MemoryTickets:
    """What FeedbackTable does with tickets, in dicts: a ticket is saved only if its status and escalation
    are still as read, and each unit only if its version is."""

    def __init__(self, *units: Unit, tickets: tuple[Ticket, ...] = ()) -> None:
        self.units = {u.unit_id: u for u in units}
        self.by_id = {t.ticket_id: t for t in tickets}
        # a concurrent writer, one per save: it changes a ticket or a unit between the read and the write
        self.meddlers: list[Callable[[MemoryTickets], None]] = []
        self.saves = 0

    def get_ticket(self, ticket_id):
        return self.by_id.get(ticket_id)

    def get_unit(self, unit_id):
        return self.units.get(unit_id)

    def tickets(self, department, status="open", due_before=None):
        found = [
            t
            for t in self.by_id.values()
            if t.department == department and t.status.value == status and (due_before is None or t.due_by < due_before)
        ]
        return sorted(found, key=lambda t: t.due_by)

    def save_ticket(self, before, after, units_after):
        self.saves += 1
        if self.meddlers:
            self.meddlers.pop(0)(self)
        current = self.by_id[before.ticket_id]
        if (current.status, current.escalated_at) != (before.status, before.escalated_at):
            return False
        if any(self.units[u.unit_id].version != u.version - 1 for u in units_after):
            return False
        self.by_id[after.ticket_id] = after
        for u in units_after:
            self.units[u.unit_id] = u
        return True


def ticket(ticket_id: str = LEAK, **changes) -> Ticket:
    fields = {
        "ticket_id": ticket_id,
        "community_id": "C01",
        "unit_ids": ("C01-B01-0101",),
        "department": "engineering",
        "intent": "complaint",
        "category": "leak",
        "channel": "sms",
        "contact": "+8613812345678",
        "message": "楼上漏水三个月了没人修",
        "created_at": at("2026-11-11 10:00"),
        "due_by": at("2026-11-12 10:00"),
        "hold": HoldKind.COMPLAINT,
        "source_id": f"in-{ticket_id}",
    }
    return Ticket(**{**fields, **changes})


def placed_by(ticket_id: str, kind: HoldKind = HoldKind.COMPLAINT, until: date | None = None) -> Hold:
    return Hold(kind=kind, until=until, reason=f"{kind.value}, ticket {ticket_id}", ticket=ticket_id)


MANUAL = Hold(kind=HoldKind.MANUAL, reason="经理批准缓交")
OTHERS = placed_by(PAID, HoldKind.PAID_CLAIM, date(2026, 11, 18))


def with_holds(unit_id: str, *holds: Hold, version: int = 3) -> Unit:
    return unit(unit_id, holds=holds, version=version)


# ---------------------------------------------------------------------------------------------- resolving


def test_resolving_releases_exactly_that_tickets_holds_on_every_unit_it_names():
    store = MemoryTickets(
        with_holds("C01-B01-0101", OTHERS, placed_by(LEAK), MANUAL),
        with_holds("C01-B02-0502", placed_by(LEAK), version=8),
        with_holds("C01-B03-0303", MANUAL),  # staff released this one already
        tickets=(ticket(unit_ids=("C01-B01-0101", "C01-B02-0502", "C01-B03-0303")),),
    )

    done, resumed = resolve_ticket(store, LEAK, "修好了，业主确认", NOW)

    assert resumed == ["C01-B01-0101", "C01-B02-0502"]
    assert (done.status, done.resolved_at, done.resolution) == (TicketStatus.RESOLVED, NOW, "修好了，业主确认")
    assert store.by_id[LEAK] == done
    first, second, third = (store.units[u] for u in ("C01-B01-0101", "C01-B02-0502", "C01-B03-0303"))
    assert (first.holds, first.version) == ((OTHERS, MANUAL), 4)  # the paid claim and the manual hold stay
    assert (second.holds, second.version) == ((), 9)
    assert (third.holds, third.version) == ((MANUAL,), 3)


@pytest.mark.parametrize("note", ["", "   \n"])
def test_resolving_needs_a_note_of_what_was_done(note):
    store = MemoryTickets(with_holds("C01-B01-0101", placed_by(LEAK)), tickets=(ticket(),))

    with pytest.raises(TicketError, match="note"):
        resolve_ticket(store, LEAK, note, NOW)

    assert store.saves == 0 and store.by_id[LEAK].status is TicketStatus.OPEN
    assert store.units["C01-B01-0101"].holds == (placed_by(LEAK),)


def test_resolving_an_unknown_ticket_is_refused():
    store = MemoryTickets(with_holds("C01-B01-0101", placed_by(LEAK)), tickets=(ticket(),))

    with pytest.raises(TicketError, match="T20261111-DDDDDDDD"):
        resolve_ticket(store, "T20261111-DDDDDDDD", "done", NOW)

    assert store.saves == 0


def test_a_resolved_ticket_cannot_be_resolved_again():
    first = ticket(status=TicketStatus.RESOLVED, resolved_at=at("2026-11-12 16:00"), resolution="修好了")
    store = MemoryTickets(with_holds("C01-B01-0101", MANUAL), tickets=(first,))

    with pytest.raises(TicketError, match="2026-11-12 16:00"):
        resolve_ticket(store, LEAK, "又修了一次", NOW)

    assert store.by_id[LEAK] == first and store.saves == 0


def test_resolving_reads_again_when_a_unit_changed_meanwhile_and_keeps_that_change():
    def staff_add_a_hold(store: MemoryTickets) -> None:
        current = store.units["C01-B01-0101"]
        store.units[current.unit_id] = current.model_copy(
            update={"holds": (*current.holds, MANUAL), "version": current.version + 1}
        )

    store = MemoryTickets(with_holds("C01-B01-0101", placed_by(LEAK)), tickets=(ticket(),))
    store.meddlers = [staff_add_a_hold]

    _, resumed = resolve_ticket(store, LEAK, "修好了", NOW)

    assert store.saves == 2 and resumed == ["C01-B01-0101"]
    assert store.units["C01-B01-0101"].holds == (MANUAL,)
    assert store.units["C01-B01-0101"].version == 5
    assert store.by_id[LEAK].status is TicketStatus.RESOLVED


def test_a_ticket_resolved_by_someone_else_meanwhile_is_not_resolved_twice():
    def colleague_resolves(store: MemoryTickets) -> None:
        store.by_id[LEAK] = store.by_id[LEAK].model_copy(
            update={"status": TicketStatus.RESOLVED, "resolved_at": at("2026-11-13 09:59"), "resolution": "已处理"}
        )
        store.units["C01-B01-0101"] = store.units["C01-B01-0101"].model_copy(update={"holds": (), "version": 4})

    store = MemoryTickets(with_holds("C01-B01-0101", placed_by(LEAK)), tickets=(ticket(),))
    store.meddlers = [colleague_resolves]

    with pytest.raises(TicketError, match="resolved"):
        resolve_ticket(store, LEAK, "修好了", NOW)

    assert store.by_id[LEAK].resolution == "已处理"
    assert store.units["C01-B01-0101"].version == 4


def test_resolving_gives_up_when_the_units_keep_changing_and_changes_nothing():
    def payment_arrives(store: MemoryTickets) -> None:
        current = store.units["C01-B01-0101"]
        store.units[current.unit_id] = current.model_copy(update={"version": current.version + 1})

    store = MemoryTickets(with_holds("C01-B01-0101", placed_by(LEAK)), tickets=(ticket(),))
    store.meddlers = [payment_arrives] * 3

    with pytest.raises(TicketError, match="kept changing"):
        resolve_ticket(store, LEAK, "修好了", NOW)

    assert store.saves == 3
    assert store.by_id[LEAK].status is TicketStatus.OPEN
    assert store.units["C01-B01-0101"].holds == (placed_by(LEAK),)


# ---------------------------------------------------------------------------------------------- escalating


RULES_WITH_PHASE2 = CollectionRules(
    feedback=RULES.feedback,
    communities={"C02": CommunityRules(departments={Department.SITE_MANAGER: PHASE2_MANAGER})},
)


def overdue_tickets() -> MemoryTickets:
    return MemoryTickets(
        tickets=(
            ticket(LEAK),  # engineering, due yesterday
            ticket(
                PAID,
                community_id="C02",
                unit_ids=("C02-B01-0101",),
                department="finance",
                intent="paid_claim",
                category=None,
                due_by=NOW - timedelta(minutes=1),
                hold=HoldKind.PAID_CLAIM,
            ),
            ticket(OTHER, due_by=NOW + timedelta(hours=1)),  # not yet due
            ticket(
                "T20261110-DDDDDDDD",
                department="security",
                due_by=at("2026-11-11 10:00"),
                status=TicketStatus.RESOLVED,
                resolved_at=at("2026-11-11 09:00"),
                resolution="已处理",
            ),
            ticket("T20261110-EEEEEEEE", department="environment", escalated_at=at("2026-11-12 10:00")),
        )
    )


def test_each_overdue_open_ticket_reaches_its_communitys_site_manager_once():
    store, inboxes = overdue_tickets(), Inboxes()

    escalated = escalate_overdue(store, inboxes, RULES_WITH_PHASE2, SETTINGS, NOW)

    assert sorted(escalated) == [LEAK, PAID]
    routed = {r.ticket_id: r for r in inboxes.routed}
    assert set(routed) == {LEAK, PAID}
    assert routed[LEAK].contact.email == "manager@example.com"
    assert routed[PAID].contact == PHASE2_MANAGER
    for ticket_id, sent in routed.items():
        assert sent.department == "site_manager"
        assert "overdue" in sent.subject and ticket_id in sent.subject
        assert store.by_id[ticket_id].escalated_at == NOW
    assert "楼上漏水三个月了没人修" in routed[LEAK].body
    assert store.by_id[OTHER].escalated_at is None

    assert escalate_overdue(store, inboxes, RULES_WITH_PHASE2, SETTINGS, NOW + timedelta(minutes=59)) == []
    assert len(inboxes.routed) == 2

    # the one that was not yet due is escalated once its deadline passes, and only it
    assert escalate_overdue(store, inboxes, RULES_WITH_PHASE2, SETTINGS, NOW + timedelta(hours=2)) == [OTHER]
    assert [r.ticket_id for r in inboxes.routed[2:]] == [OTHER]


def test_a_ticket_resolved_while_escalating_is_not_escalated():
    def resolved_meanwhile(store: MemoryTickets) -> None:
        store.by_id[LEAK] = store.by_id[LEAK].model_copy(
            update={"status": TicketStatus.RESOLVED, "resolved_at": NOW, "resolution": "修好了"}
        )

    store, inboxes = MemoryTickets(tickets=(ticket(LEAK),)), Inboxes()
    store.meddlers = [resolved_meanwhile]

    assert escalate_overdue(store, inboxes, RULES, SETTINGS, NOW) == []
    assert inboxes.routed == [] and store.by_id[LEAK].escalated_at is None


def test_the_escalation_says_which_department_let_the_ticket_lapse():
    store, inboxes = MemoryTickets(tickets=(ticket(LEAK),)), Inboxes()

    escalate_overdue(store, inboxes, RULES, SETTINGS, NOW)

    [sent] = inboxes.routed
    text = sent.subject + sent.body
    assert "工程维修部" in text or "engineering" in text


def test_an_escalation_that_could_not_be_sent_is_sent_by_the_next_run():
    store, inboxes = MemoryTickets(tickets=(ticket(LEAK),)), Inboxes(failures=1)

    with pytest.raises(ConnectionError):
        escalate_overdue(store, inboxes, RULES, SETTINGS, NOW)
    escalate_overdue(store, inboxes, RULES, SETTINGS, NOW + timedelta(hours=1))

    assert [r.ticket_id for r in inboxes.routed] == [LEAK]
