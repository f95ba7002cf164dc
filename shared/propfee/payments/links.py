"""Bill links: an opaque random token per unit that opens its bill page, reused while valid, revocable."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.domain.models import SendJob, UnitBillLink

# base62: URL-safe without escaping, no characters an SMS client might break a link on
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
# 62**22 > 2**130: at least 128 bits of randomness, as unguessable as a random UUID and then some
TOKEN_LENGTH = 22
LINK_PATH = "/b/"
RECEIPT_PATH = "/r/"
DEFAULT_LIFETIME = timedelta(days=45)  # covers a billing period and the ladder's next steps
# a link about to expire is not put into a new reminder: the owner gets one that lasts
RENEW_BEFORE = timedelta(days=14)


class LinkScope(StrEnum):
    """What a link may do: view the bill, tell us it is wrong, pay it."""

    BILL = "bill"


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def looks_like_token(text: str) -> bool:
    """A cheap shape check before any read: anything else is unknown without asking the table."""
    return len(text) == TOKEN_LENGTH and all(ch in ALPHABET for ch in text)


@dataclass(frozen=True)
class BillLink:
    """What the token stands for: a unit and a scope, for a while. Never a name, phone, unit number or amount."""

    token: str
    unit_id: str
    community_id: str
    scope: LinkScope
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False
    opened_on: date | None = None  # the last local day its page was opened (the report's link openings)

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValueError("a bill link's times must be timezone-aware")

    def usable(self, now: datetime) -> bool:
        return not self.revoked and self.issued_at <= now < self.expires_at

    @classmethod
    def of_unit(cls, unit_id: str, community_id: str, link: UnitBillLink) -> BillLink:
        return cls(link.token, unit_id, community_id, LinkScope.BILL, link.issued_at, link.valid_until)


class BillLinkStore(Protocol):
    def link(self, token: str) -> BillLink | None:
        """By token, one read by key."""
        ...

    def current_link(self, unit_id: str) -> BillLink | None:
        """The link last issued for the unit (to reuse while valid)."""
        ...

    def save_link(self, link: BillLink) -> None:
        """Store a new link and make it the unit's current one."""
        ...

    def revoke_link(self, token: str) -> bool:
        """False when no such link exists."""
        ...

    def note_opening(self, link: BillLink, day: date, at: datetime) -> bool:
        """Keep that the link was opened on `day` (first at `at`): once per link and day, False when it was kept
        already. Nothing of who opened it."""
        ...


class BillLinks:
    """Issues, resolves and revokes bill links; builds their URLs under the public base URL."""

    def __init__(self, store: BillLinkStore, base_url: str, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        if not base_url.startswith("https://") and not base_url.startswith("http://127.0.0.1"):
            raise ValueError("the bill page's base URL must be https (or the sandbox's 127.0.0.1)")
        self._store = store
        self._base_url = base_url.rstrip("/")
        self._lifetime = lifetime

    def url(self, link: BillLink | UnitBillLink) -> str:
        return f"{self._base_url}{LINK_PATH}{link.token}"

    def receipt_url(self, receipt_token: str) -> str:
        """An e-receipt's verification page, under the same base URL (payments.receipts)."""
        return f"{self._base_url}{RECEIPT_PATH}{receipt_token}"

    def issue(self, unit_id: str, community_id: str, now: datetime) -> BillLink:
        """The unit's current link while it stays valid long enough, else a new one."""
        current = self._store.current_link(unit_id)
        if current is not None and current.usable(now) and current.expires_at - now > RENEW_BEFORE:
            return current
        link = BillLink(new_token(), unit_id, community_id, LinkScope.BILL, now, now + self._lifetime)
        self._store.save_link(link)
        return link

    def bill_url(self, unit_id: str, community_id: str, now: datetime) -> str:
        """The URL of the unit's current link (one read), or of a new one (one more write)."""
        return self.url(self.issue(unit_id, community_id, now))

    def for_reminder(self, job: SendJob, now: datetime) -> tuple[str, UnitBillLink | None]:
        """The port the send flow uses (domain.ports.BillLinkIssuer), without a call of its own: the job's link
        (the unit's, as planned) while it lasts, else a new token that the reminder's claim writes with itself,
        so that a link exists exactly when a reminder naming it was claimed."""
        current = job.bill_link
        if current is not None and current.issued_at <= now and current.valid_until - now > RENEW_BEFORE:
            return self.url(current), None
        new = UnitBillLink(token=new_token(), issued_at=now, valid_until=now + self._lifetime)
        return self.url(new), new

    def resolve(self, token: str, now: datetime) -> BillLink | None:
        """The link when it may be used now; None alike for an unknown, expired or revoked token."""
        if not looks_like_token(token):
            return None
        link = self._store.link(token)
        return link if link is not None and link.usable(now) else None

    def revoke(self, token: str) -> bool:
        return looks_like_token(token) and self._store.revoke_link(token)

    def note_opening(self, link: BillLink, now: datetime, tz: ZoneInfo) -> bool:
        """The owner opened the link's page: kept once per link and local day. The link as just read says whether
        today's opening is kept already, so a second opening that day costs no call at all."""
        day = now.astimezone(tz).date()
        if link.opened_on is not None and link.opened_on >= day:
            return False
        return self._store.note_opening(link, day, now)


class InMemoryBillLinks:
    """A BillLinkStore in memory (tests, the simulation)."""

    def __init__(self) -> None:
        self.links: dict[str, BillLink] = {}
        self.current: dict[str, str] = {}
        self.openings: dict[tuple[str, date], datetime] = {}  # (token, day) -> first opened at

    def link(self, token: str) -> BillLink | None:
        return self.links.get(token)

    def current_link(self, unit_id: str) -> BillLink | None:
        token = self.current.get(unit_id)
        return self.links.get(token) if token else None

    def save_link(self, link: BillLink) -> None:
        self.links[link.token] = link
        self.current[link.unit_id] = link.token

    def revoke_link(self, token: str) -> bool:
        link = self.links.get(token)
        if link is None:
            return False
        self.links[token] = replace(link, revoked=True)
        return True

    def note_opening(self, link: BillLink, day: date, at: datetime) -> bool:
        if (link.token, day) in self.openings:
            return False
        self.openings[(link.token, day)] = at
        if link.token in self.links:
            self.links[link.token] = replace(self.links[link.token], opened_on=day)
        return True
