"""SMS through the company's providers in order: the next is tried only when the one before refused the message or
was never reached, never when the outcome is unknown, so that no owner gets two copies."""

from __future__ import annotations

from collections.abc import Sequence

from propfee.domain.ports import ProviderRejected, ProviderUnavailable, SmsSender, SmsTemplate


class FailoverSms:
    def __init__(self, senders: Sequence[tuple[str, SmsSender]]) -> None:
        if not senders:
            raise ValueError("at least one SMS provider")
        self._senders = list(senders)

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str:
        """The first provider's message id that accepts it. ProviderOutcomeUnknown (or any other error) from one
        stops here: it may have the message. When all fail, ProviderUnavailable if one may accept it later (the
        claim is given back and retried), else ProviderRejected with every provider's reason."""
        reasons: list[str] = []
        retryable = False
        for name, sender in self._senders:
            try:
                return sender.send_sms(phone, body, context, template)
            except ProviderRejected as refused:
                reasons.append(f"{name}: {refused}")
            except ProviderUnavailable as down:
                reasons.append(f"{name}: {down}")
                retryable = True
        raise (ProviderUnavailable if retryable else ProviderRejected)("; ".join(reasons))
