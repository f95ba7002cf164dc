"""Reminder texts rendered from the Jinja2 templates in propfee/templates, in the owner's language."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from propfee.domain.models import Channel, SendJob
from propfee.domain.money import yuan


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str
    template_version: str

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(f"{self.subject or ''}\n{self.body}".encode()).hexdigest()


@cache
def _environment() -> Environment:
    # plain text, never HTML: autoescape would put entities into SMS
    return Environment(
        loader=PackageLoader("propfee", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        # SMS and plain-text email, never HTML (the report's HTML template has its own escaping environment)
        autoescape=False,  # noqa: S701  # nosec B701
    )


@cache
def _template_version(name: str) -> str:
    source, _, _ = _environment().loader.get_source(_environment(), name)  # type: ignore[union-attr]
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def template_environment() -> Environment:
    """The templates' environment (plain text), for the letters that render their templates block by block."""
    return _environment()


def template_version(name: str) -> str:
    """The first 12 hex digits of the SHA-256 of a template's source: which wording a message was sent in."""
    return _template_version(name)


def render(job: SendJob, today: date, hotline: str, pay_instructions: dict[str, str]) -> RenderedMessage:
    """The message for a job, in the owner's language; pay_instructions has one text per language."""
    if job.channel is Channel.LETTER:
        raise ValueError("a demand letter is composed from the unit's records: propfee.collection.letters")
    env = _environment()
    context: dict[str, object] = {
        "unit_label": job.unit_label,
        "amount": yuan(job.balance_fen),
        "overdue_since": job.overdue_since.isoformat(),
        "today": today.isoformat(),
        "hotline": hotline,
        "pay_instructions": pay_instructions[job.language],
        "periods": job.periods,
    }
    body_name = f"{job.template}.{job.language}.{job.channel.value}.j2"
    body = env.get_template(body_name).render(context).strip()
    subject = None
    versions = [_template_version(body_name)]
    if job.channel is Channel.EMAIL:
        subject_name = f"{job.template}.{job.language}.subject.j2"
        subject = env.get_template(subject_name).render(context).strip()
        versions.append(_template_version(subject_name))
    return RenderedMessage(subject=subject, body=body, template_version="+".join(versions))


def render_reply(
    name: str, language: str, context: dict[str, str], hotline: str, pay_instructions: str, channel: str = "sms"
) -> str:
    """An answer to an owner's message (an acknowledgement, help), in their language, on the channel they
    wrote on (an opt-out by email is confirmed as one)."""
    full = {**context, "hotline": hotline, "pay_instructions": pay_instructions}
    return _environment().get_template(f"{name}.{language}.{channel}.j2").render(full).strip()


# -------------------------------------------------------------------------------------------- compliance
# Civil Code Art. 944: no threat to stop water, power, heating or gas; no public shaming (PIPL); no third
# parties told of an owner's debt. Checked on every template when the rules load, and in the tests.
FORBIDDEN = {
    "threatens a utility cut-off": re.compile(
        r"停水|停电|断水|断电|停暖|停气|断气|断暖|停止供[水电暖气]|限[水电]"
        r"|\b(cut|shut|switch|turn)\w*[\s-]*(off|down|out)\b.{0,40}\b(water|power|electricity|heating|gas)\b"
        r"|\b(water|power|electricity|heating|gas)\b.{0,40}\b(cut|shut|switch|turn)\w*[\s-]*(off|down|out)\b"
        r"|\b(stop|suspend|terminate|interrupt)\w*\s+(the\s+|your\s+)?(water|power|electricity|heating|gas)\b"
        r"|\bdisconnect",
        re.IGNORECASE | re.DOTALL,
    ),
    "shames the owner publicly": re.compile(
        r"曝光|张榜|公示.{0,6}(欠费|业主|名单)|黑名单|name and shame|publicly", re.I
    ),
    "names a third party": re.compile(
        r"(您的|贵|工作)单位|亲友|家人|邻居|同事|雇主|\b(employer|family|neighbou?rs?|colleagues|relatives)\b", re.I
    ),
}
LANGUAGES = ("zh-CN", "en")
MAX_SMS_SEGMENTS = 3
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")
# long values, so that the longest real message is what gets measured
_SAMPLE = {"unit_label": "B12-2602", "amount": yuan(99_999_999), "overdue_since": "2026-12-31",
           "today": "2026-12-31", "hotline": "400-000-0000"}  # fmt: skip
_SAMPLE_REPLY = {"ticket_id": "T20261231-ABCDEF", "department": "cleaning and landscaping", "due_by": "12-31 23:59"}
_SAMPLE_PAY = {"zh-CN": "物业服务中心或物业App缴费", "en": "the property office or the property app"}


class TemplateRefused(ValueError):
    pass


def sms_segments(text: str) -> int:
    """How many SMS parts a text takes: GSM-7 160 (153 per part), otherwise UCS-2 70 (67 per part)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units, single, part = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text), 160, 153
    else:
        units, single, part = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text), 70, 67
    return 1 if units <= single else -(-units // part)


def lint(text: str) -> list[str]:
    """What is wrong with a message text, in words (empty when it may be sent)."""
    return [problem for problem, pattern in FORBIDDEN.items() if pattern.search(text)]


def check_templates(
    names: set[str],
    max_sms_segments: int = MAX_SMS_SEGMENTS,
    letters: frozenset[str] = frozenset(),
    replies: frozenset[str] = frozenset(),
) -> None:
    """Every message template exists for every language and channel (SMS and email fall back to each
    other), every letter template for every language, every SMS reply to owners' messages; all pass the
    lint; SMS fit the segment limit."""
    env = _environment()
    problems: list[str] = []

    def linted(file_name: str) -> bool:
        """Lint one file; False when it is missing."""
        try:
            source, _, _ = env.loader.get_source(env, file_name)  # type: ignore[union-attr]
        except TemplateNotFound:
            problems.append(f"{file_name}: missing")
            return False
        problems.extend(f"{file_name}: {p}" for p in lint(source))
        return True

    for language in LANGUAGES:
        for name in sorted(letters):
            linted(f"{name}.{language}.letter.j2")
        for name in sorted(replies):
            linted(f"{name}.{language}.email.j2")
            file_name = f"{name}.{language}.sms.j2"
            if linted(file_name):
                sample = {**_SAMPLE, **_SAMPLE_REPLY, "pay_instructions": _SAMPLE_PAY[language]}
                parts = sms_segments(env.get_template(file_name).render(sample).strip())
                if parts > max_sms_segments:
                    problems.append(f"{file_name}: {parts} SMS segments, more than {max_sms_segments}")
        for name in sorted(names):
            for kind in ("sms", "email", "subject"):
                file_name = f"{name}.{language}.{kind}.j2"
                if linted(file_name) and kind == "sms":
                    sample = {**_SAMPLE, "pay_instructions": _SAMPLE_PAY[language]}
                    parts = sms_segments(env.get_template(file_name).render(sample).strip())
                    if parts > max_sms_segments:
                        problems.append(f"{file_name}: {parts} SMS segments, more than {max_sms_segments}")
    if problems:
        raise TemplateRefused("; ".join(problems))
