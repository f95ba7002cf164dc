"""The e-receipt's link to the owner: by email, within the lawful hours, once per receipt, kept as evidence and
not counted as a reminder. Mainland SMS carries only approved templates and no receipt template is approved: a
receipt goes by SMS only where free text is allowed, else by email, else it is skipped with that reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.collection.policy import ContactPolicy, time_blocked
from propfee.domain.models import Unit
from propfee.domain.money import yuan
from propfee.domain.ports import EmailSender, ProviderRejected, ProviderUnavailable, SmsSender
from propfee.payments.receipts import Receipt

SUBJECTS = {"zh-CN": "电子收据 {number}", "en": "E-receipt {number}"}
BODIES = {
    "zh-CN": "您好，{company}已收到您的物业费 ¥{amount}（{address}）。电子收据 {number}：{url}",
    "en": "Hello, {company} has received your property fee of CNY {amount} ({address}). E-receipt {number}: {url}",
}
SMS_BODY = {
    "zh-CN": "【{signature}】已收到物业费¥{amount}，电子收据：{url}",
    "en": "[{signature}] Fee of CNY {amount} received. Receipt: {url}",
}
NO_APPROVED_SMS = "skipped: no email on record (no SMS: mainland SMS has no approved receipt template)"
# a receipt the provider could not take is tried at most this often (the send with the payment, then the hourly
# runs), then given up with the reason kept on the message: never an endless retry
MAX_ATTEMPTS = 3
SENDING = "sending"  # marked before the provider is asked: found again, the send's outcome was never recorded
UNCONFIRMED = "unconfirmed: the send's outcome was not recorded (not sent again)"


class ReceiptMessageStore(Protocol):
    def claim_receipt_message(self, number: str, unit_id: str, at: datetime) -> bool:
        """False when this receipt's message was claimed before (a retried notification)."""
        ...

    def finish_receipt_message(self, number: str, **fields: str) -> None:
        """Record what became of it (channel, outcome, provider's id, due time, attempts): the evidence of the
        message. An outcome of "scheduled" keeps it among the messages due (at `due_at`), as do "sending" (marked
        before the provider is asked) and a retry; any other takes it out."""
        ...


@dataclass(frozen=True)
class MessagePlan:
    """What the owner is to be told of a receipt, decided with the payment and kept with it in its transaction:
    the message itself (so sending it later reads nothing else), when, or why not."""

    number: str
    unit_id: str
    outcome: str  # "due" (to send at due_at), or "skipped: <reason>"
    channel: str | None = None
    to: str = ""
    subject: str = ""
    body: str = ""
    due_at: datetime | None = None
    attempts: int = 0  # sends tried before this one
    sending: bool = False  # a send was started and its outcome never recorded (the function died in between)

    @property
    def sendable(self) -> bool:
        return self.channel is not None and self.due_at is not None


class DueMessageStore(ReceiptMessageStore, Protocol):
    def receipt_messages_due(self, now: datetime) -> list[MessagePlan]:
        """The messages planned with the payment and not sent yet, due by now (one query of a sparse index)."""
        ...


class PolicySource(Protocol):
    def policy_for(self, community_id: str) -> ContactPolicy: ...


def window_opening(now: datetime, tz: ZoneInfo, policy: ContactPolicy) -> datetime:
    """The first moment from now, in steps of a quarter hour, that the (relaxed) policy allows."""
    local = now.astimezone(tz).replace(second=0, microsecond=0)
    moment = local + timedelta(minutes=15 - local.minute % 15)
    for _ in range(4 * 24 * 14):
        if time_blocked(moment, tz, policy) is None:
            return moment
        moment += timedelta(minutes=15)
    raise ValueError("no contact window in the next two weeks")


@dataclass
class ReceiptMessages:
    """ReceiptMessenger: tells the owner where the receipt is, once."""

    store: ReceiptMessageStore
    policies: PolicySource
    tz: ZoneInfo
    email: EmailSender | None
    sms: SmsSender | None = None  # only where free text may be sent (not mainland China): None there
    signature: str = ""

    def plan(self, receipt: Receipt, unit: Unit, url: str, now: datetime) -> MessagePlan:
        """Pure: the channel, the text and when it may go (now, or when the contact window opens), or the reason
        it cannot go."""
        owners = [o for o in unit.owners if o.relation in ("owner", "co_owner")] or list(unit.owners)
        address = next((o.email for o in owners if o.email and not o.email_opt_out and not o.email_disabled), None)
        phone = next((o.phone for o in owners if o.phone and not o.sms_opt_out and not o.sms_disabled), None)
        channel = "email" if address and self.email else "sms" if phone and self.sms else None
        if channel is None:
            reason = NO_APPROVED_SMS if self.sms is None else "skipped: no reachable email or phone"
            return MessagePlan(receipt.number, unit.unit_id, reason)
        # an answer to the owner's own payment, not a collection contact: lawful hours, holidays allowed
        policy = self.policies.policy_for(unit.community_id).model_copy(
            update={"contact_on_statutory_holidays": True, "contact_on_weekends": True, "extra_holidays": ()}
        )
        due = window_opening(now, self.tz, policy) if time_blocked(now, self.tz, policy) is not None else now
        subject, body = self._text(receipt, channel, url)
        to = address if channel == "email" else phone
        return MessagePlan(receipt.number, unit.unit_id, "due", channel, to or "", subject, body, due)

    def send_receipt(self, receipt: Receipt, unit: Unit, url: str, now: datetime) -> str:
        if not self.store.claim_receipt_message(receipt.number, unit.unit_id, now):
            return "duplicate"
        planned = self.plan(receipt, unit, url, now)
        if not planned.sendable:
            self.store.finish_receipt_message(receipt.number, outcome=planned.outcome)
            return planned.outcome
        assert planned.due_at is not None and planned.channel is not None
        if planned.due_at > now:
            self.store.finish_receipt_message(
                receipt.number, channel=planned.channel, outcome="scheduled", due_at=planned.due_at.isoformat()
            )
            return f"scheduled {planned.due_at.isoformat()}"
        return self.send_planned(planned)

    def send_planned(self, planned: MessagePlan) -> str:
        """Send a planned message and record the outcome (the provider's id). One the provider could not take is
        recorded as failed and stays due (the hourly run tries it again) until MAX_ATTEMPTS, then given up; one it
        refused is recorded as failed. The message is marked "sending" before the provider is asked: a message
        found so (the function died between the send and its record) is not sent again but recorded unconfirmed."""
        assert planned.channel is not None
        if planned.sending:
            self.store.finish_receipt_message(planned.number, channel=planned.channel, outcome=UNCONFIRMED)
            return "unconfirmed"
        attempt = planned.attempts + 1
        self.store.finish_receipt_message(planned.number, outcome=SENDING, attempts=str(attempt))
        try:
            if planned.channel == "email":
                assert self.email is not None
                sent = self.email.send_email(planned.to, planned.subject, planned.body, {"receipt": planned.number})
            else:
                assert self.sms is not None
                sent = self.sms.send_sms(planned.to, planned.body, {"receipt": planned.number})
        except (ProviderRejected, ProviderUnavailable) as error:
            outcome = f"failed: {type(error).__name__}"
            if isinstance(error, ProviderUnavailable) and attempt >= MAX_ATTEMPTS:
                outcome = f"gave up after {attempt} attempts: {type(error).__name__}"
            self.store.finish_receipt_message(planned.number, channel=planned.channel, outcome=outcome)
            return "gave up" if outcome.startswith("gave up") else "failed"
        self.store.finish_receipt_message(planned.number, channel=planned.channel, outcome="sent", message_id=sent)
        return "sent"

    def send_due(self, store: DueMessageStore, now: datetime) -> dict[str, int]:
        """The hourly run: every planned message whose time has come (the window opened, or a retry is due)."""
        done: dict[str, int] = {}
        for planned in store.receipt_messages_due(now):
            outcome = self.send_planned(planned)
            done[outcome] = done.get(outcome, 0) + 1
        return done

    def _text(self, receipt: Receipt, channel: str, url: str) -> tuple[str, str]:
        fields = {
            "company": receipt.company, "amount": yuan(receipt.total_fen), "address": receipt.address,
            "number": receipt.number, "url": url, "signature": self.signature,
        }  # fmt: skip
        language = receipt.language if receipt.language in BODIES else "zh-CN"
        if channel == "email":
            return SUBJECTS[language].format(**fields), BODIES[language].format(**fields)
        return "", SMS_BODY[language].format(**fields)
