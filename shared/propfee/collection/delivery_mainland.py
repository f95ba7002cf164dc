"""Aliyun SmsReport and Tencent status reports -> the delivery events propfee already acts on (collection.delivery).

Both come as JSON arrays (pushed to a callback, or read back through QuerySendDetails / PullSmsSendStatus). The
claim propfee sent as Aliyun's OutId or Tencent's SessionContext ("claim=...|unit_id=...") leads a report to its
evidence; the message id is the one the adapters record ("aliyun:<BizId>", "tencent:<SerialNo>")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from propfee.collection.delivery import DeliveryEvent, UnreadableEvent, _problems
from propfee.domain.models import Channel, ReminderStatus

CHINA = timezone(timedelta(hours=8))  # both providers write local times without an offset


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AliyunReport(_Shape):
    phone_number: str = Field(min_length=5)
    report_time: str
    success: bool
    err_code: str = ""
    err_msg: str = ""
    biz_id: str = Field(min_length=1)
    out_id: str | None = None


class TencentReport(_Shape):
    user_receive_time: str
    nationcode: str = "86"
    mobile: str = Field(min_length=5)
    report_status: str = Field(pattern=r"^(SUCCESS|FAIL)$")
    errmsg: str = ""
    description: str = ""
    sid: str = Field(min_length=1)
    session_context: str | None = None  # *unverified* where Tencent echoes SessionContext in a callback


def claim_of(context: str | None) -> tuple[str | None, str | None]:
    """(unit_id, claim) from "claim=...|unit_id=..." (what the adapters send), (None, None) otherwise."""
    fields = dict(part.split("=", 1) for part in (context or "").split("|") if "=" in part)
    unit_id, claim = fields.get("unit_id"), fields.get("claim")
    return (unit_id, claim) if unit_id and claim else (None, None)


def _local_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError as error:
        raise UnreadableEvent("report time: not yyyy-MM-dd HH:mm:ss") from error


def _items(body: str, shape: type[_Shape], what: str) -> list:  # type: ignore[type-arg]
    try:
        return TypeAdapter(list[shape]).validate_python(json.loads(body))  # type: ignore[valid-type]
    except json.JSONDecodeError as error:
        raise UnreadableEvent(f"{what}: not JSON") from error
    except ValidationError as error:
        raise UnreadableEvent(f"{what}: {_problems(error)}") from error


def _one(item: object, shape: type[_Shape], what: str) -> Any:
    try:
        return shape.model_validate(item)
    except ValidationError as error:
        raise UnreadableEvent(f"{what}: {_problems(error)}") from error


def aliyun_report(item: object) -> DeliveryEvent:
    """One SmsReport item: delivered, or failed with Aliyun's error code as the reason."""
    report = _one(item, AliyunReport, "Aliyun SmsReport")
    unit_id, claim = claim_of(report.out_id)
    return DeliveryEvent(
        channel=Channel.SMS,
        provider_message_id=f"aliyun:{report.biz_id}",
        event_id=f"aliyun:{report.biz_id}:{report.phone_number}:{report.err_code}",
        unit_id=unit_id,
        claim_key=claim,
        status=ReminderStatus.DELIVERED if report.success else ReminderStatus.FAILED,
        reason=report.err_code or ("DELIVERED" if report.success else "failed"),
        at=_local_time(report.report_time),
    )


def aliyun_reports(body: str) -> list[DeliveryEvent]:
    """An SmsReport push (a JSON array), every item readable."""
    _items(body, AliyunReport, "Aliyun SmsReport")
    return [aliyun_report(item) for item in json.loads(body)]


def tencent_report(item: object) -> DeliveryEvent:
    """One status report: SUCCESS delivered, FAIL failed with Tencent's errmsg as the reason."""
    report = _one(item, TencentReport, "Tencent status report")
    unit_id, claim = claim_of(report.session_context)
    delivered = report.report_status == "SUCCESS"
    return DeliveryEvent(
        channel=Channel.SMS,
        provider_message_id=f"tencent:{report.sid}",
        event_id=f"tencent:{report.sid}:{report.report_status}",
        unit_id=unit_id,
        claim_key=claim,
        status=ReminderStatus.DELIVERED if delivered else ReminderStatus.FAILED,
        reason=report.errmsg or report.report_status,
        at=_local_time(report.user_receive_time),
    )


def tencent_reports(body: str) -> list[DeliveryEvent]:
    """A status callback (a JSON array), every item readable."""
    _items(body, TencentReport, "Tencent status report")
    return [tencent_report(item) for item in json.loads(body)]


def reported_phone(provider: str, item: object) -> str:
    """The E.164 number a readable report names (the reminder must have gone to it)."""
    if provider == "aliyun":
        digits = AliyunReport.model_validate(item).phone_number.lstrip("+")
        return f"+{digits}" if digits.startswith("86") and len(digits) == 13 else f"+86{digits}"
    report = TencentReport.model_validate(item)
    return f"+{report.nationcode}{report.mobile}"
