"""Bill links: unguessable tokens that name no person, reused while valid, refused alike when unusable."""

import math
from collections import Counter
from datetime import timedelta

import pytest

from propfee.collection.sending import Outcome, Sender
from propfee.payments.links import ALPHABET, TOKEN_LENGTH, BillLinks, InMemoryBillLinks, LinkScope, new_token
from tests.support import at, unit
from tests.unit.collection.test_sending import RULES, SETTINGS, MemoryStore, Provider, overdue_unit, planned_job

NOW = at("2026-11-11 09:30")
BASE = "https://jxwy.cn"


def test_a_token_is_22_base62_characters_carrying_at_least_128_bits():
    tokens = [new_token() for _ in range(2000)]
    assert all(len(t) == TOKEN_LENGTH and set(t) <= set(ALPHABET) for t in tokens)
    assert TOKEN_LENGTH * math.log2(len(ALPHABET)) >= 128
    assert len(set(tokens)) == len(tokens)
    # every character of the alphabet turns up, in roughly even shares (a biased generator would not)
    counts = Counter("".join(tokens))
    assert set(counts) == set(ALPHABET)
    expected = len(tokens) * TOKEN_LENGTH / len(ALPHABET)
    assert all(0.7 * expected < n < 1.3 * expected for n in counts.values())


def test_a_link_and_its_url_carry_no_name_phone_unit_number_or_amount():
    owner = unit("C01-B01-0101")
    links = BillLinks(InMemoryBillLinks(), BASE)
    url = links.bill_url(owner.unit_id, owner.community_id, NOW)
    token = url.removeprefix(f"{BASE}/b/")
    assert len(token) == TOKEN_LENGTH
    for personal in (owner.unit_id, "0101", "B01", owner.owners[0].phone, owner.owners[0].name, "250"):
        assert personal not in url


def test_a_reminder_reuses_the_units_link_while_it_lasts_then_gets_a_new_one():
    store = InMemoryBillLinks()
    links = BillLinks(store, BASE, lifetime=timedelta(days=45))
    first = links.issue("C01-B01-0101", "C01", NOW)
    assert links.issue("C01-B01-0101", "C01", NOW + timedelta(days=30)) == first
    # two weeks before it expires a reminder gets a fresh link; the old one still opens the page until then
    renewed = links.issue("C01-B01-0101", "C01", NOW + timedelta(days=32))
    assert renewed.token != first.token and renewed.scope is LinkScope.BILL
    assert links.resolve(first.token, NOW + timedelta(days=32)) == first
    assert links.issue("C01-B01-0102", "C01", NOW).token not in (first.token, renewed.token)


def test_unknown_expired_and_revoked_tokens_resolve_alike_to_nothing():
    links = BillLinks(InMemoryBillLinks(), BASE, lifetime=timedelta(days=10))
    link = links.issue("C01-B01-0101", "C01", NOW)
    assert links.resolve(link.token, NOW) == link
    assert links.resolve(link.token, NOW + timedelta(days=10)) is None  # expired
    assert links.resolve(new_token(), NOW) is None  # unknown
    assert links.resolve("../../etc/passwd", NOW) is None  # not a token's shape: never read
    assert links.revoke(link.token) and links.resolve(link.token, NOW) is None
    assert not links.revoke(new_token())
    # a revoked link is not reused: the next reminder carries a new one
    assert links.issue("C01-B01-0101", "C01", NOW).token != link.token


def test_times_must_be_aware_and_the_base_url_https():
    with pytest.raises(ValueError, match="https"):
        BillLinks(InMemoryBillLinks(), "http://jxwy.cn")
    links = BillLinks(InMemoryBillLinks(), BASE)
    with pytest.raises(ValueError, match="aware"):
        links.issue("C01-B01-0101", "C01", NOW.replace(tzinfo=None))


def test_every_sms_and_email_reminder_carries_the_units_bill_link():
    store, sms, email = MemoryStore(overdue_unit()), Provider(), Provider()
    links = BillLinks(InMemoryBillLinks(), BASE)
    sender = Sender(SETTINGS, store, sms, email, RULES, bill_links=links)
    job = planned_job(store)
    assert sender.send(job, NOW).outcome is Outcome.SENT
    [(_, body)] = sms.sent
    # the new link became the unit's with the claim; the next reminder reuses it as the plan hands it on
    link = store.units[job.unit_id].bill_link
    assert link is not None and f"{BASE}/b/{link.token}" in body and "250.00" in body
    assert body.endswith("回TD退订")
    assert link.valid_until == NOW + timedelta(days=45)


def test_a_reminder_reuses_the_link_its_job_carries_and_renews_it_two_weeks_before_it_ends():
    links = BillLinks(InMemoryBillLinks(), BASE, lifetime=timedelta(days=45))
    job = planned_job(MemoryStore(overdue_unit()))
    url, new = links.for_reminder(job, NOW)
    assert new is not None and url == f"{BASE}/b/{new.token}"
    carried = job.model_copy(update={"bill_link": new})
    assert links.for_reminder(carried, NOW + timedelta(days=30)) == (url, None)  # no new link, nothing to write
    renewed_url, renewed = links.for_reminder(carried, NOW + timedelta(days=32))
    assert renewed is not None and renewed.token != new.token and renewed_url.endswith(renewed.token)


def test_an_sms_through_a_mainland_provider_carries_no_link_until_a_linked_template_is_approved():
    store, sms = MemoryStore(overdue_unit()), Provider()
    links = BillLinks(InMemoryBillLinks(), BASE)
    sender = Sender(SETTINGS, store, sms, Provider(), RULES, bill_links=links, sms_links=False)
    assert sender.send(planned_job(store), NOW).outcome is Outcome.SENT
    [(_, body)] = sms.sent
    assert BASE not in body and "缴纳" in body  # the approved wording: how to pay, without a link
    assert body.endswith("回TD退订")


def test_a_demand_letter_carries_the_units_bill_link_as_a_qr_code():
    import re
    from datetime import date

    from propfee.accounts.ledger import with_bill
    from tests.support import bill
    from tests.support.pdf import pdf_text
    from tests.unit.collection.test_sending import Bucket

    letter_unit = with_bill(unit(), bill("C01-B01-0101", "2026-09", due=date(2026, 9, 20)))
    store, bucket = MemoryStore(letter_unit), Bucket()
    links = BillLinks(InMemoryBillLinks(), BASE)
    job = planned_job(store)
    Sender(SETTINGS, store, Provider(), Provider(), RULES, bucket, bill_links=links).send(job, NOW)
    [(body, _)] = bucket.objects.values()
    assert "扫码查看账单、在线缴费" in re.sub(r"\s+", "", pdf_text(body))
    assert links.issue(job.unit_id, job.community_id, NOW).token  # the letter's link is the unit's current one
