"""Reminder texts rendered from the Jinja2 templates in propfee/templates, in the owner's language."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from propfee.collection.addressing import salutation, unit_address
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Channel, SendJob
from propfee.domain.money import yuan
from propfee.domain.ports import SmsTemplate


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str
    template_version: str
    # what an SMS was rendered from (name, language, values): mainland providers send the approved template's code
    template: SmsTemplate | None = None

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


def identity_context(identity: CompanyIdentity, language: str) -> dict[str, str]:
    """Who speaks, in the owner's language: every text is signed 【sms_signature】 and names the hotline."""
    return {
        "sms_signature": identity.sms_signature,
        "company_name": identity.name if language == "zh-CN" else identity.name_en,
        "company_address": identity.address if language == "zh-CN" else identity.address_en,
        "hotline": identity.hotline,
        "pay_instructions": identity.pay_instructions[language],
    }


def render(job: SendJob, today: date, identity: CompanyIdentity, bill_url: str | None = None) -> RenderedMessage:
    """The message for a job, in the owner's language, in the name of the unit's company (or community), with
    the link to the unit's bill page when payments issued one (the texts fall back to the way to pay)."""
    if job.channel is Channel.LETTER:
        raise ValueError("a demand letter is composed from the unit's records: propfee.collection.letters")
    env = _environment()
    context: dict[str, object] = {
        **identity_context(identity, job.language),
        "unit_label": job.unit_label,
        "unit_address": unit_address(job, job.language),
        "salutation": salutation(job, job.language),
        "amount": yuan(job.balance_fen),
        "overdue_since": job.overdue_since.isoformat(),
        "today": today.isoformat(),
        "periods": job.periods,
        "bill_url": bill_url or "",
    }
    body_name = f"{job.template}.{job.language}.{job.channel.value}.j2"
    body = env.get_template(body_name).render(context).strip()
    subject = None
    versions = [_template_version(body_name)]
    if job.channel is Channel.EMAIL:
        subject_name = f"{job.template}.{job.language}.subject.j2"
        subject = env.get_template(subject_name).render(context).strip()
        versions.append(_template_version(subject_name))
    template = SmsTemplate(job.template, job.language, template_variables(context))
    return RenderedMessage(subject=subject, body=body, template_version="+".join(versions), template=template)


def template_variables(context: Mapping[str, object]) -> dict[str, str]:
    """The values a template is filled with, as text (the signature is the provider's own field, not a variable)."""
    return {k: v for k, v in context.items() if isinstance(v, str) and k != "sms_signature"}


def reply_template(name: str, language: str, context: Mapping[str, str], identity: CompanyIdentity) -> SmsTemplate:
    """What an SMS answer (render_reply) was rendered from, for the providers that send approved templates."""
    return SmsTemplate(name, language, template_variables({**context, **identity_context(identity, language)}))


def render_reply(
    name: str, language: str, context: dict[str, str], identity: CompanyIdentity, channel: str = "sms"
) -> str:
    """An answer to an owner's message (an acknowledgement, help), in their language, on the channel they
    wrote on (an opt-out by email is confirmed as one)."""
    full = {**context, **identity_context(identity, language)}
    if channel == "wechat":  # in the account's own chat: its wechat wording, else the SMS's without 【signature】
        try:
            return _environment().get_template(f"{name}.{language}.wechat.j2").render(full).strip()
        except TemplateNotFound:
            text = _environment().get_template(f"{name}.{language}.sms.j2").render(full).strip()
            return re.sub(r"^【[^】]*】", "", text)
    return _environment().get_template(f"{name}.{language}.{channel}.j2").render(full).strip()


def reply_subject(identity: CompanyIdentity, language: str) -> str:
    """The subject of an emailed answer: the company's name, as the owner knows it."""
    return f"Re: {identity.name if language == 'zh-CN' else identity.name_en}"


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
# an SMS may take two segments at most, with the bill link the payments capability adds
MAX_SMS_SEGMENTS = 2
# a bill link is the public base URL, /b/ and a 22-character token (payments.links); the check renders each
# reminder with one as long as the configured base URL makes it (this short domain when none is configured)
SAMPLE_BILL_BASE_URL = "https://jxwy.cn"
BILL_TOKEN_CHARS = 22


def sample_bill_url(base_url: str | None = None) -> str:
    return f"{(base_url or SAMPLE_BILL_BASE_URL).rstrip('/')}/b/{'Z' * BILL_TOKEN_CHARS}"


_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")
# the longest values a real message carries, so that the check measures the worst case: a registered signature of
# 6 characters, an 8-character community with a compound surname, 99,999.99 yuan (a large unit, years
# unpaid), a landline with its area code. Chinese names make every SMS UCS-2, English ones too.
_SAMPLE_JOB = {"unit_label": "B12-2602", "community_name": "滨江锦绣花园二期", "building_name": "12栋",
               "room": "2602", "owner_surname": "欧阳", "balance_fen": 9_999_999}  # fmt: skip
_SAMPLE = {"amount": yuan(9_999_999), "overdue_since": "2026-12-31", "today": "2026-12-31"}
_SAMPLE_REPLY = {"ticket_id": "T20261231-ABCDEF", "department": "cleaning and landscaping", "due_by": "12-31 23:59"}
SAMPLE_IDENTITY = CompanyIdentity(
    name="杭州锦绣物业服务有限公司",
    name_en="Hangzhou Jinxiu Property Services Co., Ltd.",
    sms_signature="锦绣物业服务",
    hotline="0571-88886666",
    pay_instructions={"zh-CN": "锦绣物业App或物业服务中心", "en": "the Jinxiu app or the estate office"},
)


class TemplateRefused(ValueError):
    pass


def sms_units(text: str) -> tuple[int, bool]:
    """The text's length in SMS units and whether it fits GSM-7 (else UCS-2: Chinese always)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        return sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text), True
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text), False


def sms_segments(text: str, reserved: int = 0) -> int:
    """How many SMS parts a text takes (with `reserved` more characters to come): GSM-7 160 (153 per part),
    otherwise UCS-2 70 (67 per part)."""
    units, gsm7 = sms_units(text)
    units += reserved
    single, part = (160, 153) if gsm7 else (70, 67)
    return 1 if units <= single else -(-units // part)


@dataclass(frozen=True)
class SmsLength:
    """One SMS template's worst case, as the template check measures it."""

    template: str
    characters: int
    encoding: str  # GSM-7 or UCS-2
    segments: int  # as it is
    segments_with_link: int  # rendered with a bill link of the configured length
    carries_link: bool  # a reminder (the payments capability adds its bill link); an answer to a message does not
    link_chars: int = 0  # the bill link's length measured

    @property
    def counted_segments(self) -> int:
        """What the limit applies to: a reminder goes out with its link, or without where no bill page is set."""
        return max(self.segments, self.segments_with_link)

    def __str__(self) -> str:
        link = f", {self.segments_with_link} with a {self.link_chars}-character bill link" if self.carries_link else ""
        return f"{self.template}: {self.characters} characters, {self.encoding}, {self.segments} segment(s){link}"


def measure(file_name: str, text: str, with_link: str | None = None, link_chars: int = 0) -> SmsLength:
    """One SMS's length; `with_link`: the same reminder rendered with a bill link of `link_chars` characters."""
    units, gsm7 = sms_units(text)
    segments = sms_segments(text)
    linked = sms_segments(with_link) if with_link is not None else segments
    encoding = "GSM-7" if gsm7 else "UCS-2"
    return SmsLength(file_name, units, encoding, segments, linked, with_link is not None, link_chars)


def _sample_job(name: str, language: str) -> SendJob:
    return SendJob(
        unit_id="C01-B12-2602", community_id="C01", step="sample", channel=Channel.SMS, destination="+8613800000000",
        language=language, template=name, overdue_since=date(2026, 12, 31), planned_for=date(2026, 12, 31),
        unit_version=0, **_SAMPLE_JOB,  # type: ignore[arg-type]
    )  # fmt: skip


def sms_lengths(
    names: set[str],
    replies: frozenset[str] = frozenset(),
    identity: CompanyIdentity = SAMPLE_IDENTITY,
    bill_base_url: str | None = None,
) -> list[SmsLength]:
    """The worst-case length of every SMS template: reminders rendered for the longest sample unit (without and
    with a bill link under `bill_base_url`), replies with the longest ticket context (an opt-out that also names a
    ticket); the company's values are `identity`'s (by default a long signature, hotline and way to pay)."""
    lengths = []
    link = sample_bill_url(bill_base_url)
    for language in LANGUAGES:
        for name in sorted(replies):
            file_name = f"{name}.{language}.sms.j2"
            sample = {**_SAMPLE, **_SAMPLE_REPLY, "opted_out": "email"}
            lengths.append(measure(file_name, render_reply(name, language, sample, identity)))
        for name in sorted(names):
            job = _sample_job(name, language)
            plain_text = render(job, job.planned_for, identity).body
            linked = render(job, job.planned_for, identity, bill_url=link).body
            lengths.append(measure(f"{name}.{language}.sms.j2", plain_text, linked, len(link)))
    return lengths


def lint(text: str) -> list[str]:
    """What is wrong with a message text, in words (empty when it may be sent)."""
    return [problem for problem, pattern in FORBIDDEN.items() if pattern.search(text)]


def check_templates(
    names: set[str],
    max_sms_segments: int = MAX_SMS_SEGMENTS,
    letters: frozenset[str] = frozenset(),
    replies: frozenset[str] = frozenset(),
) -> list[SmsLength]:
    """Every message template exists for every language and channel (SMS and email fall back to each
    other), every letter template for every language, every SMS reply to owners' messages; all pass the
    lint; every SMS at its longest fits max_sms_segments (a reminder with the bill link's characters reserved).
    Returns the SMS lengths measured."""
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
            linted(f"{name}.{language}.sms.j2")
        for name in sorted(names):
            for kind in ("sms", "email", "subject"):
                linted(f"{name}.{language}.{kind}.j2")
    if problems:
        raise TemplateRefused("; ".join(problems))
    return check_sms_lengths(names, replies, SAMPLE_IDENTITY, max_sms_segments)


def _with_samples(identity: CompanyIdentity) -> CompanyIdentity:
    placeholders = set(identity.placeholders())
    if not placeholders:
        return identity
    pay = {
        language: (SAMPLE_IDENTITY if f"pay_instructions.{language}" in placeholders else identity).pay_instructions[
            language
        ]
        for language in LANGUAGES
    }
    update = {field: getattr(SAMPLE_IDENTITY, field) for field in placeholders if "." not in field}
    return identity.model_copy(update={**update, "pay_instructions": pay})


def check_sms_lengths(
    names: set[str],
    replies: frozenset[str],
    identity: CompanyIdentity,
    max_sms_segments: int = MAX_SMS_SEGMENTS,
    bill_base_url: str | None = None,
) -> list[SmsLength]:
    """Every SMS template's worst case with this company's values (the sample's where it still has placeholders:
    those are refused in a deployed stack anyway) and its bill page's base URL; refused past max_sms_segments."""
    lengths = sms_lengths(names, replies, _with_samples(identity), bill_base_url)
    too_long = [length for length in lengths if length.counted_segments > max_sms_segments]
    if too_long:
        raise TemplateRefused("; ".join(f"{length}, more than {max_sms_segments}" for length in too_long))
    return lengths


def render_named(file_name: str, context: dict[str, object]) -> tuple[str, str]:
    """A template of the folder rendered with a context (staff messages: the collectors' digest), and its version."""
    return _environment().get_template(file_name).render(context).strip(), _template_version(file_name)


def template_source(file_name: str) -> str:
    source, _, _ = _environment().loader.get_source(_environment(), file_name)  # type: ignore[union-attr]
    return source
