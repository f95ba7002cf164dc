"""The collectors' morning digest, end to end: the plan gives out call tasks at 09:30, the template's schedule
runs task_digest at 10:30, and each collector is told once, by email or SMS, where to call and whom to ask for."""

from datetime import date

import pytest

from propfee.domain.models import Building, Collector, Owner
from tests.support import at, bill, unit

pytestmark = pytest.mark.e2e

K1_EMAIL = "zhangwei@staff.example.com"
K2_PHONE = "+8613900002222"


@pytest.fixture()
def staffed(sandbox):
    table = sandbox.table
    table.put_collectors(
        [
            Collector(collector_id="K1", name="张伟", communities=("C01",), buildings=("C01-B05",), email=K1_EMAIL),
            Collector(collector_id="K2", name="李娜", communities=("C01",), phone=K2_PHONE),
        ]
    )
    # 17 days overdue on 11-11: the call step
    owners = (Owner(name="陈静", phone="+8613812345678"),)
    units = [unit("C01-B05-0501", owners=owners), unit("C01-B06-0601", owners=owners)]
    buildings = [Building(community_id="C01", building_id=f"C01-B0{n}", name=f"{n}栋", floors=20) for n in (5, 6)]
    table.put_buildings_and_units(buildings, units)
    for u in units:
        table.issue_bill(bill(u.unit_id, "2026-10", due=date(2026, 10, 25)))
    return sandbox


def _digests(sandbox):
    emails = [e for e in sandbox.sent_email() if K1_EMAIL in e[1]]
    texts = [text for _, phone, text in sandbox.sent_sms() if phone == K2_PHONE]
    return emails, texts


def test_each_collector_is_told_once_of_the_mornings_call_tasks(staffed):
    sandbox = staffed
    sandbox.advance(at("2026-11-11 10:00"))  # the plan ran at 09:30, its tasks are given out
    assert _digests(sandbox) == ([], [])
    sandbox.advance(at("2026-11-11 10:45"))
    assert [lid for lid, _, _ in sandbox.scheduled_results].count("TaskDigestFunction") == 1

    [(_, _, subject, body)], [text] = _digests(sandbox)
    assert subject.endswith("新增催缴任务1项")
    assert "电话催缴｜锦绣花园5栋0501室｜业主陈静｜欠费250.00元｜期限11-13 09:" in body
    # signed with the company's registered signature, as every SMS the stack sends
    assert text.startswith("【") and "】李娜您好，新增催缴任务1项：电话催缴锦绣花园6栋0601室(陈静)欠250.00元。" in text
    assert "13812345678" not in body + text  # the owner's number stays in the collector's task list

    # a retry of the morning's run (Lambda's, or by hand) finds both digests claimed and sends nothing again
    [(_, fired, _)] = [r for r in sandbox.scheduled_results if r[0] == "TaskDigestFunction"]
    retry = sandbox.invoke("TaskDigestFunction", {"scheduled_time": fired.isoformat()})
    assert (retry["sent"], retry["duplicates"]) == (0, 2)
    # the next morning nothing is new: nobody is told again about the same tasks
    sandbox.advance(at("2026-11-12 10:45"))
    assert [len(found) for found in _digests(sandbox)] == [1, 1]
