"""The owners' bill page behind a bill link: what it shows (a view model), paying, and the "wrong bill" form."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Building, Community, InboundMessage, Unit
from propfee.feedback.receiving import ReceiveResult
from propfee.payments.links import BillLink, BillLinks, looks_like_token
from propfee.payments.orders import NothingToPay, OrderStore, start_checkout
from propfee.payments.ports import Checkout, CheckoutKind, PaymentProvider, ProviderName

if TYPE_CHECKING:
    from propfee.payments.receipts import Receipt

MAX_FEEDBACK_CHARS = 2000  # what an SMS reply is classified on, too
PAYMENTS_SHOWN = 24
ANSWERS_SHOWN = 10


@dataclass(frozen=True)
class BillLine:
    period: str  # yyyy-mm
    due: date
    outstanding_fen: int


@dataclass(frozen=True)
class PaymentLine:
    paid_at: datetime
    amount_fen: int
    method: str
    receipt_url: str | None = None


@dataclass(frozen=True)
class AnswerLine:
    """A department's answer to what the unit's owner told us (a clerk's reply on one of its tickets)."""

    answered_at: datetime
    department: str
    ticket_id: str
    text: str


def answer_lines(replies: list[dict[str, Any]], language: str) -> tuple[AnswerLine, ...]:
    """The clerks' replies in the unit's audit (ticket.reply) that went or wait for the contact window, newest
    first; the department as the owner knows it."""
    lines = []
    for reply in replies:
        after = reply.get("after") or {}
        if after.get("reply") not in ("sent", "queued") or not str(reply.get("note") or "").strip():
            continue
        name = after.get("department_name_en" if language == "en" else "department_name") or after.get("department")
        at = datetime.fromisoformat(str(reply["at"]))
        lines.append(AnswerLine(at, str(name or ""), str(reply.get("target_id") or ""), str(reply["note"])))
    return tuple(sorted(lines, key=lambda line: line.answered_at, reverse=True))


@dataclass(frozen=True)
class BillView:
    """Everything the page shows, and nothing else of the unit: the owner's name masked, no phone or email."""

    community_name: str
    building_name: str
    room: str
    owner_masked: str
    bills: tuple[BillLine, ...]
    total_due_fen: int
    payments: tuple[PaymentLine, ...]
    hotline: str
    company_name: str
    providers: tuple[ProviderName, ...] = field(default=())
    pay_instructions: str = ""  # how to pay offline, shown when no provider is offered
    answers: tuple[AnswerLine, ...] = ()  # the departments' answers to the owner, newest first

    @property
    def can_pay(self) -> bool:
        return self.total_due_fen > 0 and bool(self.providers)


class BillPageReader(Protocol):
    def get_unit(self, unit_id: str) -> Unit | None: ...

    def communities(self) -> list[Community]: ...

    def buildings(self, community_id: str) -> list[Building]: ...

    def unit_payments(self, unit_id: str, limit: int) -> list[dict[str, Any]]: ...

    def ticket_replies(self, unit_id: str, limit: int) -> list[dict[str, Any]]:
        """The clerks' replies on the unit's tickets (its audit's ticket.reply records), newest first."""
        ...


class FeedbackReceiver(Protocol):
    """feedback.receiving.Receiver: the same classification and actions as an SMS reply."""

    def receive(self, message: InboundMessage, now: datetime) -> ReceiveResult: ...


def mask_name(name: str) -> str:
    """王小明 -> 王**, Smith -> S****: enough for the owner to recognise the bill, too little for anyone else."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 2 if not name.isascii() else 1)


def bill_view(
    unit: Unit,
    community: Community | None,
    building: Building | None,
    payments: list[dict[str, Any]],
    identity: CompanyIdentity,
    language: str,
    providers: tuple[ProviderName, ...],
) -> BillView:
    owners = [o for o in unit.owners if o.relation in ("owner", "co_owner") and o.name.strip()]
    bills = tuple(
        BillLine(period, bill.due, bill.outstanding_fen)
        for period, bill in sorted(unit.open_bills.items())
        if bill.outstanding_fen > 0
    )
    lines = tuple(
        PaymentLine(
            paid_at=datetime.fromisoformat(str(p["paid_at"])),
            amount_fen=int(p["amount_fen"]),
            method=str(p.get("method", "unknown")),
            receipt_url=p.get("receipt_url"),
        )
        for p in payments
    )
    return BillView(
        community_name=community.name if community else unit.community_id,
        building_name=building.name if building else unit.building_id.split("-")[-1],
        room=unit.room,
        owner_masked=mask_name(owners[0].name) if owners else "",
        bills=bills,
        total_due_fen=sum(b.outstanding_fen for b in bills),
        payments=tuple(sorted(lines, key=lambda p: p.paid_at, reverse=True)),
        hotline=identity.hotline,
        company_name=identity.name if language == "zh-CN" else identity.name_en,
        providers=providers,
        pay_instructions=identity.pay_instructions.get(language, ""),
    )


def checkout_kind(provider: ProviderName, user_agent: str) -> CheckoutKind:
    """WeChat Pay as JSAPI inside WeChat's own browser (its user agent says MicroMessenger), H5 elsewhere."""
    if provider is ProviderName.ALIPAY:
        return CheckoutKind.ALIPAY_WAP
    return CheckoutKind.WECHAT_JSAPI if "MicroMessenger" in user_agent else CheckoutKind.WECHAT_H5


class IdentitySource(Protocol):
    def identity_for(self, community_id: str) -> CompanyIdentity: ...


class ReceiptReader(Protocol):
    def receipt_by_token(self, token: str) -> Receipt | None: ...


class ReceiptDownloads(Protocol):
    def presigned_get(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str: ...

    def exists(self, key: str) -> bool: ...

    def put_once(self, key: str, body: bytes, content_type: str) -> bool: ...


RECEIPT_DOWNLOAD_SECONDS = 300  # the PDF's link, made when the owner asks for it


class BillPage:
    """What the bill page's routes do, each from a token: unknown, expired and revoked tokens get None alike."""

    def __init__(
        self,
        links: BillLinks,
        reader: BillPageReader,
        providers: Mapping[ProviderName, PaymentProvider],
        receiver: FeedbackReceiver,
        identities: IdentitySource,
        orders: OrderStore,
        receipts: ReceiptReader | None = None,
        receipt_files: ReceiptDownloads | None = None,
        font: Path | None = None,
    ) -> None:
        """`providers`: those configured (the view offers their names; an adapter is built only to pay)."""
        self._links = links
        self._orders = orders
        self._reader = reader
        self._providers = providers
        self._receiver = receiver
        self._identities = identities
        self._receipts = receipts
        self._receipt_files = receipt_files
        self._font = font  # the receipts' CJK font (find_font resolves None to the installed one)

    def _unit(self, token: str, now: datetime) -> tuple[BillLink, Unit] | None:
        link = self._links.resolve(token, now)
        if link is None:
            return None
        unit = self._reader.get_unit(link.unit_id)
        return (link, unit) if unit is not None else None

    def unit_of(self, token: str, now: datetime) -> Unit | None:
        """The unit behind a valid link (binding an owner's WeChat to it)."""
        found = self._unit(token, now)
        return found[1] if found is not None else None

    def identity(self, community_id: str) -> CompanyIdentity:
        return self._identities.identity_for(community_id)

    def view(self, token: str, language: str, now: datetime, opened_in: ZoneInfo | None = None) -> BillView | None:
        """The page of the token's unit. `opened_in`: the owner opened it (not a page shown again after a form),
        kept once per link and day in that time zone's days (the report's share of reminders whose link was
        opened)."""
        found = self._unit(token, now)
        if found is None:
            return None
        link, unit = found
        if opened_in is not None:
            self._links.note_opening(link, now, opened_in)
        community = next((c for c in self._reader.communities() if c.community_id == unit.community_id), None)
        buildings = self._reader.buildings(unit.community_id)
        building = next((b for b in buildings if b.building_id == unit.building_id), None)
        payments = [
            {**p, "receipt_url": self._links.receipt_url(str(p["receipt_token"]))} if p.get("receipt_token") else p
            for p in self._reader.unit_payments(unit.unit_id, PAYMENTS_SHOWN)
        ]
        identity = self.identity(unit.community_id)
        view = bill_view(unit, community, building, payments, identity, language, tuple(self._providers))
        answers = answer_lines(self._reader.ticket_replies(unit.unit_id, ANSWERS_SHOWN), language)
        return replace(view, answers=answers)

    def receipt(self, token: str) -> Receipt | None:
        """The receipt its verification token names (the QR on the PDF, the link in the owner's message and the
        bill page's history); None alike for an unknown token."""
        if self._receipts is None or not looks_like_token(token):
            return None
        return self._receipts.receipt_by_token(token)

    def receipt_download(self, token: str) -> str | None:
        """A short-lived link to the receipt's PDF."""
        receipt = self.receipt(token)
        if receipt is None or self._receipt_files is None:
            return None
        self.ensure_receipt_pdf(receipt)
        return self._receipt_files.presigned_get(receipt.key, RECEIPT_DOWNLOAD_SECONDS, f"{receipt.number}.pdf")

    def ensure_receipt_pdf(self, receipt: Receipt) -> bool:
        from propfee.payments.receipts import pdf_on_first_download

        assert self._receipt_files is not None
        return pdf_on_first_download(self._receipt_files, receipt, self._font, self._links.receipt_url(receipt.token))

    def offers(self, provider: ProviderName) -> bool:
        return provider in self._providers

    def pay(
        self, token: str, provider: str, user_agent: str, client_ip: str, now: datetime, openid: str | None = None
    ) -> Checkout | None:
        """An order for every open bill of the unit with the provider; None for an unusable token, an unknown
        provider or nothing due. The provider sends the browser back to the bill link itself (the stack's base URL,
        whatever host the request came through). With the payer's `openid` (WeChat's OAuth inside WeChat): WeChat
        Pay's JSAPI order, the openid passed to WeChat Pay and kept nowhere."""
        found = self._unit(token, now)
        chosen = next((p for p in ProviderName if p.value == provider), None)
        if found is None or chosen is None or chosen not in self._providers:
            return None
        link, unit = found
        periods = tuple(sorted(p for p, b in unit.open_bills.items() if b.outstanding_fen > 0))
        if not periods:
            return None
        identity = self.identity(unit.community_id)
        jsapi = openid is not None and chosen is ProviderName.WECHAT_PAY
        kind = CheckoutKind.WECHAT_JSAPI if jsapi else checkout_kind(chosen, user_agent)
        description = f"{identity.name} 物业费 {periods[0]}" + (f"~{periods[-1]}" if len(periods) > 1 else "")
        try:
            _, checkout = start_checkout(
                self._orders,
                self._providers[chosen],
                unit,
                kind,
                description,
                now,
                client_ip=client_ip,
                openid=openid,
                return_url=self._links.url(link),
            )
        except NothingToPay:
            return None
        return checkout

    def report_problem(self, token: str, text: str, form_id: str, now: datetime) -> ReceiveResult | None:
        """The owner's words about the bill, understood and acted on exactly as an SMS reply from the unit's
        owner would be (a dispute opens a ticket and holds the reminders); None for an unusable token or a unit
        with no owner's number or address on record. `form_id` (the form's CSRF token) makes a resubmitted form
        act once."""
        found = self._unit(token, now)
        if found is None:
            return None
        _, unit = found
        owners = [o for o in unit.owners if o.relation in ("owner", "co_owner")] or list(unit.owners)
        phone = next((o.phone for o in owners if o.phone), None)
        email = next((o.email for o in owners if o.email), None)
        if phone is None and email is None:
            return None
        body = text.strip()
        source = hashlib.sha256(f"{token}|{form_id}|{body}".encode()).hexdigest()[:40]
        message = InboundMessage(
            source_id=f"web-{source}",
            channel="sms" if phone else "email",
            sender=phone or email or "",
            recipient="bill-page",
            body=body[:MAX_FEEDBACK_CHARS],
            received_at=now,
            body_chars=len(body),
        )
        return self._receiver.receive(message, now)
