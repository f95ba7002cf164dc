"""Reminder texts rendered from the Jinja2 templates in propfee/templates, in the owner's language."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from propfee.models import Channel, SendJob
from propfee.money import yuan


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
        autoescape=False,  # noqa: S701 - SMS and plain-text email, never HTML
    )


@cache
def _template_version(name: str) -> str:
    source, _, _ = _environment().loader.get_source(_environment(), name)  # type: ignore[union-attr]
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def render(job: SendJob, today: date, hotline: str, pay_instructions: str) -> RenderedMessage:
    env = _environment()
    context = {
        "unit_label": job.unit_label,
        "amount": yuan(job.balance_fen),
        "overdue_since": job.overdue_since.isoformat(),
        "today": today.isoformat(),
        "hotline": hotline,
        "pay_instructions": pay_instructions,
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
