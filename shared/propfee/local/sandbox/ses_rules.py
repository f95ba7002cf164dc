"""SESv2 SendEmail in the sandbox refuses what SES refuses (moto checks none of it), and keeps what SES keeps of a
send for its event publishing (which moto lacks: see sandbox.ses_events).

The rules, from the SESv2 API reference (and its service model, for the error codes and HTTP statuses):
- MessageTag (EmailTags): Name and Value contain only ASCII letters, digits, `_` and `-`, at most 256 characters
  (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MessageTag.html) -> BadRequestException, 400.
- ConfigurationSetName must name a configuration set that exists -> NotFoundException, 404 ("The resource you
  attempted to access doesn't exist", SendEmail's errors).
- FromEmailAddress must be a verified identity (the address or its domain) -> MessageRejected, 400.
- Destination: at most 50 recipients across To, Cc and Bcc (SES quotas, "maximum number of recipients per
  message"); the local part of each address 7-bit ASCII (API_Destination) -> MessageRejected / BadRequestException.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from propfee.domain import clock

TAG_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class SentEmail:
    """What SES keeps of an accepted send, for the events it publishes about it later."""

    message_id: str
    source: str
    destinations: tuple[str, ...]
    subject: str
    configuration_set: str | None
    tags: dict[str, str] = field(default_factory=dict)
    sent_at: datetime = field(default_factory=clock.now)


sent_emails: dict[str, SentEmail] = {}  # message id -> the send, in this process (the sandbox's moto server)


class SesRefusal(Exception):
    """An SESv2 error as SES returns it: the error code and its HTTP status."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def check_send_email(params: dict[str, Any], backend: Any) -> None:
    """Raise SesRefusal for what SES would refuse in a SendEmail request; `backend` is moto's SES backend."""
    for tag in params.get("EmailTags") or []:
        for part in ("Name", "Value"):
            value = str(tag.get(part, ""))
            if not TAG_PATTERN.fullmatch(value):
                raise SesRefusal(
                    "BadRequestException",
                    400,
                    f"Invalid tag {part.lower()} <{value[:300]}>: only alphanumeric ASCII characters, '_', and '-' "
                    "are allowed, at most 256 characters.",
                )
    name = params.get("ConfigurationSetName")
    if name is not None and name not in backend.config_sets:
        raise SesRefusal("NotFoundException", 404, f"Configuration set <{name}> does not exist.")
    source = str(params.get("FromEmailAddress") or "")
    if not backend._is_verified_address(source):
        raise SesRefusal(
            "MessageRejected",
            400,
            "Email address is not verified. The following identities failed the check in region "
            f"{backend.region_name.upper()}: {parseaddr(source)[1] or source}",
        )
    destination = params.get("Destination") or {}
    recipients = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key) or []]
    if len(recipients) > MAX_RECIPIENTS:
        raise SesRefusal("MessageRejected", 400, f"Recipient count exceeds {MAX_RECIPIENTS}.")
    for address in recipients:
        local = parseaddr(address)[1].rpartition("@")[0]
        if not local or not local.isascii():
            raise SesRefusal("BadRequestException", 400, f"Local address contains non-ASCII characters: {address}")


def _record(params: dict[str, Any], message_id: str) -> None:
    destination = params.get("Destination") or {}
    simple = (params.get("Content") or {}).get("Simple") or {}
    sent_emails[message_id] = SentEmail(
        message_id=message_id,
        source=str(params.get("FromEmailAddress") or ""),
        destinations=tuple(a for k in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(k) or []),
        subject=str((simple.get("Subject") or {}).get("Data", "")),
        configuration_set=params.get("ConfigurationSetName"),
        tags={str(t["Name"]): str(t["Value"]) for t in params.get("EmailTags") or []},
    )


def install() -> None:
    """Idempotent; affects this process's moto (the sandbox's server runs in-process)."""
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.send_email
    if getattr(original, "_propfee_ses_rules", False):
        return

    @functools.wraps(original)
    def send_email(self: Any) -> str:
        params = json.loads(self.body)
        try:
            check_send_email(params, self.sesv2_backend.core_backend)
        except SesRefusal as refusal:
            error = JsonRESTError(refusal.code, refusal.message)
            error.code = refusal.status
            raise error from refusal
        answer = original(self)
        _record(params, str(json.loads(answer)["MessageId"]))
        return answer

    send_email._propfee_ses_rules = True  # type: ignore[attr-defined]
    SESV2Response.send_email = send_email  # type: ignore[method-assign]
