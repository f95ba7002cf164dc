"""SES event publishing and identity notifications, which moto lacks: the records SES would publish to SNS about a
message the sandbox's SES accepted, in the shapes the SES developer guide documents (events/aws/ses_*.json).

Event publishing: a send that named a configuration set gets, for each event type its destinations match, a record
with `eventType` and the message's tags (SES's own `ses:*` tags and the send's EmailTags). Identity notifications
name the kind `notificationType` and carry no tags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from propfee.local.sandbox.ses_rules import SentEmail

EventKind = Literal["Bounce", "Complaint", "Delivery", "Reject", "Rendering Failure"]
# CloudFormation's MatchingEventTypes for each kind of record
MATCHING_TYPE = {"Bounce": "bounce", "Complaint": "complaint", "Delivery": "delivery", "Reject": "reject",
                 "Rendering Failure": "renderingFailure"}  # fmt: skip


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def ses_record(
    sent: SentEmail,
    kind: EventKind,
    at: datetime,
    account: str,
    region: str,
    *,
    recipients: tuple[str, ...] | None = None,
    bounce_type: str = "Permanent",
    notification: bool = False,
    feedback_id: str | None = None,
) -> dict[str, Any]:
    """One record as SES publishes it. `recipients`: as the receiving side reports them (any case)."""
    reported = list(recipients if recipients is not None else sent.destinations)
    domain = sent.source.rpartition("@")[2].rstrip(">")
    mail: dict[str, Any] = {
        "timestamp": _stamp(sent.sent_at),
        "source": sent.source,
        "sourceArn": f"arn:aws:ses:{region}:{account}:identity/{domain}",
        "sendingAccountId": account,
        "messageId": sent.message_id,
        "destination": list(sent.destinations),
        "headersTruncated": False,
        "commonHeaders": {"from": [sent.source], "to": list(sent.destinations), "subject": sent.subject},
    }
    if not notification:
        mail["tags"] = {
            **({"ses:configuration-set": [sent.configuration_set]} if sent.configuration_set else {}),
            "ses:from-domain": [domain],
            "ses:caller-identity": ["sandbox"],
            **{name: [value] for name, value in sent.tags.items()},
        }
    record: dict[str, Any] = {"notificationType" if notification else "eventType": kind, "mail": mail}
    feedback = feedback_id or f"{sent.message_id}-{kind.lower().replace(' ', '-')}-{_stamp(at)}"
    if kind == "Bounce":
        record["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": r, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 unknown"}
                for r in reported
            ],
            "timestamp": _stamp(at),
            "feedbackId": feedback,
            "reportingMTA": "dsn; sandbox.invalid",
        }
    elif kind == "Complaint":
        record["complaint"] = {
            "complainedRecipients": [{"emailAddress": r} for r in reported],
            "timestamp": _stamp(at),
            "feedbackId": feedback,
            "complaintFeedbackType": "abuse",
        }
    elif kind == "Delivery":
        record["delivery"] = {
            "timestamp": _stamp(at),
            "processingTimeMillis": 500,
            "recipients": reported,
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "sandbox.invalid",
        }
    elif kind == "Reject":
        record["reject"] = {"reason": "Bad content"}
    else:
        record["failure"] = {"errorMessage": "Attribute 'name' is not present in the rendering data.",
                             "templateName": "none"}  # fmt: skip
    return record
