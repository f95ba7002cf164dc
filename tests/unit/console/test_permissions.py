"""The console's permission matrix, route kind by route kind and role by role: what each person may see and do,
and that anything outside their role or scope is refused (403)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from propfee.console.permissions import (
    Decision,
    Forbidden,
    Role,
    StaffMember,
    department_inbox_policy,
    evidence_pack_policy,
    legal_review_policy,
    opt_outs_policy,
    payments_policy,
    plan_preview_policy,
    report_policy,
    require,
    staff_admin_policy,
    task_policy,
    ticket_policy,
    unit_policy,
)
from propfee.domain.models import Channel, Task, Ticket

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def member(role: Role, **scope: object) -> StaffMember:
    return StaffMember(sub=f"sub-{role}", email=f"{role}@example.com", roles=frozenset({role}), **scope)  # type: ignore[arg-type]


PEOPLE = {
    "admin": member(Role.COMPANY_ADMIN),
    "manager_c01": member(Role.COMMUNITY_MANAGER, communities=frozenset({"C01"})),
    "collector_k1": member(Role.COLLECTOR, communities=frozenset({"C01"}), collector_id="K1"),
    "clerk_repairs": member(Role.DEPARTMENT_CLERK, departments=frozenset({"repairs"})),
    "finance_c01": member(Role.FINANCE, communities=frozenset({"C01"})),
    "nobody": StaffMember(sub="sub-x", email="x@example.com", roles=frozenset()),
}


def task(collector_id: str, community_id: str = "C01") -> Task:
    return Task(
        task_id=f"{community_id}-B01-0101.call.1",
        unit_id=f"{community_id}-B01-0101",
        community_id=community_id,
        kind=Channel.CALL,
        step="call",
        collector_id=collector_id,
        created_at=AT,
        due_by=AT + timedelta(days=2),
        unit_label="1-0101",
        balance_fen=21044,
    )


def ticket(department: str, community_id: str = "C01") -> Ticket:
    return Ticket(
        ticket_id="T20260302-0000ABCD",
        community_id=community_id,
        unit_ids=(f"{community_id}-B01-0101",),
        department=department,
        intent="repair_issue",
        channel="sms",
        contact="+8613812345678",
        message="楼上漏水，修好再交",
        created_at=AT,
        due_by=AT + timedelta(days=1),
        source_id="sms-1",
    )


K1_TASK_C01, K2_TASK_C01 = task("K1"), task("K2")
# route kind -> (what is asked, the people allowed; everyone else gets 403)
MATRIX: dict[str, tuple[Callable[[StaffMember], Decision], set[str]]] = {
    "unit C01 view": (lambda m: unit_policy(m, "C01", "view"), {"admin", "manager_c01", "finance_c01"}),
    "unit C02 view": (lambda m: unit_policy(m, "C02", "view"), {"admin"}),
    "unit C01 view via own task": (
        lambda m: unit_policy(m, "C01", "view", tasks=[K1_TASK_C01]),
        {"admin", "manager_c01", "finance_c01", "collector_k1"},
    ),
    "unit C01 view via another's task": (
        lambda m: unit_policy(m, "C01", "view", tasks=[K2_TASK_C01]),
        {"admin", "manager_c01", "finance_c01"},
    ),
    "unit C01 act": (lambda m: unit_policy(m, "C01", "act", tasks=[K1_TASK_C01]), {"admin", "manager_c01"}),
    "own task act": (lambda m: task_policy(m, K1_TASK_C01, "act"), {"admin", "manager_c01", "collector_k1"}),
    "another collector's task": (lambda m: task_policy(m, K2_TASK_C01, "view"), {"admin", "manager_c01"}),
    # the collector K1 works C01 only: a task of theirs left in C02 is not theirs to open any more
    "task in C02": (lambda m: task_policy(m, task("K1", "C02"), "view"), {"admin"}),
    "repairs ticket C01 view": (
        lambda m: ticket_policy(m, ticket("repairs"), "view"),
        {"admin", "manager_c01", "clerk_repairs"},
    ),
    "billing ticket C01 act": (lambda m: ticket_policy(m, ticket("billing"), "act"), {"admin", "manager_c01"}),
    "repairs ticket C02 view": (
        lambda m: ticket_policy(m, ticket("repairs", "C02"), "view"),
        {"admin", "clerk_repairs"},  # a department serves every community
    ),
    "billing ticket C02 view": (lambda m: ticket_policy(m, ticket("billing", "C02"), "view"), {"admin"}),
    "repairs inbox": (lambda m: department_inbox_policy(m, "repairs"), {"admin", "clerk_repairs"}),
    "billing inbox": (lambda m: department_inbox_policy(m, "billing"), {"admin"}),
    "report C01": (lambda m: report_policy(m, "C01"), {"admin", "manager_c01", "finance_c01"}),
    "report C02": (lambda m: report_policy(m, "C02"), {"admin"}),
    "company report": (lambda m: report_policy(m, None), {"admin"}),
    "payments C01 view": (lambda m: payments_policy(m, "C01", "view"), {"admin", "manager_c01", "finance_c01"}),
    "payments C01 settle": (lambda m: payments_policy(m, "C01", "act"), {"admin", "finance_c01"}),
    "payments C02 view": (lambda m: payments_policy(m, "C02", "view"), {"admin"}),
    "evidence pack C01": (lambda m: evidence_pack_policy(m, "C01"), {"admin", "manager_c01"}),
    "evidence pack C02": (lambda m: evidence_pack_policy(m, "C02"), {"admin"}),
    "plan preview C01": (lambda m: plan_preview_policy(m, "C01"), {"admin", "manager_c01"}),
    "plan preview C02": (lambda m: plan_preview_policy(m, "C02"), {"admin"}),
    "legal review C01 view": (
        lambda m: legal_review_policy(m, "C01", "view"),
        {"admin", "manager_c01", "finance_c01"},
    ),
    "legal review C01 decide": (lambda m: legal_review_policy(m, "C01", "act"), {"admin", "manager_c01"}),
    "legal review C02 decide": (lambda m: legal_review_policy(m, "C02", "act"), {"admin"}),
    "opt-outs C01 view": (lambda m: opt_outs_policy(m, "C01", "view"), {"admin", "manager_c01"}),
    "opt-outs C01 change": (lambda m: opt_outs_policy(m, "C01", "act"), {"admin"}),
    "staff admin": (staff_admin_policy, {"admin"}),
}
CASES = [(route, who) for route in MATRIX for who in PEOPLE]


@pytest.mark.parametrize(("route", "who"), CASES, ids=[f"{r} / {w}" for r, w in CASES])
def test_each_route_kind_allows_exactly_its_roles(route: str, who: str) -> None:
    ask, allowed = MATRIX[route]
    decision = ask(PEOPLE[who])
    assert decision.allowed is (who in allowed), decision.reason
    if who in allowed:
        require(decision)
    else:
        with pytest.raises(Forbidden) as refused:
            require(decision)
        assert refused.value.status == 403


def test_a_community_manager_of_one_community_is_refused_another_communitys_unit_ticket_and_report() -> None:
    manager = PEOPLE["manager_c01"]
    for decision in (
        unit_policy(manager, "C02", "view"),
        ticket_policy(manager, ticket("billing", "C02"), "view"),
        report_policy(manager, "C02"),
    ):
        with pytest.raises(Forbidden):
            require(decision)


def test_a_person_with_two_roles_gets_what_either_allows() -> None:
    both = StaffMember(
        sub="s",
        email="s@example.com",
        roles=frozenset({Role.COLLECTOR, Role.FINANCE}),
        communities=frozenset({"C02"}),
        collector_id="K9",
    )
    assert task_policy(both, task("K9", "C02"), "act").allowed
    assert report_policy(both, "C02").allowed
    assert not report_policy(both, "C01").allowed
    assert not ticket_policy(both, ticket("repairs", "C02"), "view").allowed


def test_a_collector_without_a_collector_id_has_no_tasks() -> None:
    unassigned = member(Role.COLLECTOR, communities=frozenset({"C01"}))
    assert not task_policy(unassigned, K1_TASK_C01, "view").allowed
