"""Mainland SMS templates as the providers approved them (templates/approved_sms.yaml): each local template and
language mapped to the provider's template code, approved text and variables, and the check that proves a
local template, filled in, is exactly the approved text (the evidence keeps the text the owner received)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field

from propfee.collection.messages import (
    _SAMPLE,
    _SAMPLE_REPLY,
    BILL_TOKEN_CHARS,
    LANGUAGES,
    _sample_job,
    _with_samples,
    lint,
    render,
    reply_template,
    sample_bill_url,
    template_environment,
    template_source,
)
from propfee.domain.identity import CompanyIdentity
from propfee.domain.ports import ProviderRejected, SmsTemplate

Provider = Literal["aliyun", "tencent"]
PROVIDERS: tuple[Provider, ...] = ("aliyun", "tencent")

_ALIYUN_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TENCENT_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_SIGNED = re.compile(r"【([^】]{2,20})】")
_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|cn|net|org|top|ly|me|io)\b", re.IGNORECASE)
# Tencent lists debt collection (催收) among the contents it refuses: reminders read as bill notices (缴费通知)
_COLLECTION_WORDING = re.compile(r"催收|催缴|追讨|追债|欠款人|老赖|法律责任|起诉|debt collect", re.IGNORECASE)


class ProviderRules(BaseModel):
    """What a provider allows in a template's variables (the figures are as read in 2026-12, see the file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variable_max_chars: int = Field(ge=1)
    links_in_variables: bool
    template_max_chars: int = Field(default=500, ge=1)
    signatures: tuple[str, ...] = ()  # the signatures (签名) approved for this company, without 【】


class ApprovedTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    text: str = Field(min_length=1)  # without the signature: the provider puts 【signature】 in front
    variables: tuple[str, ...] = ()  # Tencent: the local variable behind {1}, {2}...; Aliyun names them in ${}
    kind: Literal["notification"] = "notification"  # bill notices and answers, never promotion


class ApprovedSms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    providers: dict[Provider, ProviderRules]
    # template name -> language -> provider -> the approved template
    templates: dict[str, dict[str, dict[Provider, ApprovedTemplate]]]

    def approved(self, provider: Provider, name: str, language: str) -> ApprovedTemplate | None:
        return self.templates.get(name, {}).get(language, {}).get(provider)


@cache
def load_approved(path: Path | None = None) -> ApprovedSms:
    """The approved templates file (the packaged one when no path is given)."""
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("propfee").joinpath("templates/approved_sms.yaml").read_text(encoding="utf-8")
    )
    return ApprovedSms.model_validate(yaml.safe_load(text))


def placeholders(provider: Provider, approved: ApprovedTemplate) -> list[str]:
    """The local variables the approved text names, in their order in the text."""
    if provider == "aliyun":
        return _ALIYUN_PLACEHOLDER.findall(approved.text)
    return [approved.variables[int(n) - 1] for n in _TENCENT_PLACEHOLDER.findall(approved.text)]


def provider_parameters(
    provider: Provider, approved: ApprovedTemplate, values: Mapping[str, str]
) -> dict[str, str] | list[str]:
    """What the send request carries: Aliyun's TemplateParam object, Tencent's TemplateParamSet list."""
    if provider == "aliyun":
        return {name: values[name] for name in dict.fromkeys(_ALIYUN_PLACEHOLDER.findall(approved.text))}
    return [values[name] for name in approved.variables]


def fill(provider: Provider, approved: ApprovedTemplate, values: Mapping[str, str]) -> str:
    """The approved text with its placeholders filled in, as the provider does."""
    if provider == "aliyun":
        return _ALIYUN_PLACEHOLDER.sub(lambda m: values[m.group(1)], approved.text)
    return _TENCENT_PLACEHOLDER.sub(lambda m: values[approved.variables[int(m.group(1)) - 1]], approved.text)


def value_problems(provider: Provider, rules: ProviderRules, values: Mapping[str, str]) -> list[str]:
    """What the provider would refuse in these variables' values (never the values themselves: they are personal)."""
    problems = []
    for name, value in values.items():
        if len(value) > rules.variable_max_chars:
            problems.append(f"variable {name} has {len(value)} characters, more than {rules.variable_max_chars}")
        if not rules.links_in_variables and _LINK.search(value):
            problems.append(f"variable {name} holds a link, which {provider} refuses in variables")
        if "【" in value or "】" in value:
            problems.append(f"variable {name} holds 【】, which only the signature may use")
        if not value.strip():
            problems.append(f"variable {name} is empty")
    return problems


@dataclass(frozen=True)
class PreparedSms:
    """A send the provider will accept: the template code, its parameters, and the text the owner will read."""

    code: str
    parameters: dict[str, str] | list[str]
    text: str
    sign_name: str


def prepare(provider: Provider, data: ApprovedSms, body: str, template: SmsTemplate | None) -> PreparedSms:
    """The approved template for a rendered text, or ProviderRejected with the reason before anything is sent: no
    template, one not approved for the provider, an unapproved signature (the text's 【】, the community's
    identity), values the provider refuses, or a filled text that is not the evidence's."""
    signed = _SIGNED.match(body)
    if signed is None:
        raise ProviderRejected(f"{provider} needs the text to start with its signature 【...】")
    sign_name = signed.group(1)
    if template is None:
        raise ProviderRejected(f"{provider} sends approved templates only, and this text names none")
    approved = data.approved(provider, template.name, template.language)
    if approved is None:
        raise ProviderRejected(f"no {provider} template is approved for {template.name}.{template.language}")
    rules = data.providers[provider]
    if sign_name not in rules.signatures:
        raise ProviderRejected(f"the signature is not approved for {provider}")
    names = placeholders(provider, approved)
    missing = sorted(set(names) - set(template.variables))
    if missing:
        raise ProviderRejected(f"{template.name}.{template.language} lacks variables {', '.join(missing)}")
    values = {name: str(template.variables[name]) for name in names}
    problems = value_problems(provider, rules, values)
    if problems:
        raise ProviderRejected(f"{template.name}.{template.language} on {provider}: {'; '.join(problems)}")
    text = f"【{sign_name}】{fill(provider, approved, values)}"
    if text != body:
        raise ProviderRejected(
            f"{template.name}.{template.language}: the approved {provider} text differs from the rendered one"
        )
    return PreparedSms(approved.code, provider_parameters(provider, approved, values), text, sign_name)


# ------------------------------------------------------------------------------------------------- the check
def _sentinel(name: str) -> str:
    return f"⟪{name}⟫"


def _structure_problems(
    provider: Provider,
    rules: ProviderRules,
    file_name: str,
    approved: ApprovedTemplate,
    source: str,
    bill_base_url: str | None = None,
) -> list[str]:
    """The local template, every variable a marker, against the approved text with the same markers: equal for
    every value, not only for a sample; a bill link's address is `bill_base_url`'s (the sample's when None)."""
    problems = []
    env = template_environment()
    local_names = meta.find_undeclared_variables(env.parse(source))
    if provider == "tencent":
        numbers = [int(n) for n in _TENCENT_PLACEHOLDER.findall(approved.text)]
        if sorted(set(numbers)) != list(range(1, len(approved.variables) + 1)):
            problems.append(f"{file_name}: tencent placeholders must be {{1}}..{{{len(approved.variables)}}}")
            return problems
        if re.search(r"\{\d+\}\{\d+\}", approved.text):
            problems.append(f"{file_name}: tencent placeholders may not be adjacent")
    unknown = set(placeholders(provider, approved)) - local_names
    if unknown:
        return [*problems, f"{file_name}: approved text names {', '.join(sorted(unknown))}, unknown locally"]
    # the approved texts are those without a bill link: a mainland SMS carries none until its linked variant is
    # approved too (the send path leaves the link out when the SMS go through a mainland provider)
    # a clerk's answer names the bill link with its address in the approved text, only the token a variable
    markers = {name: _sentinel(name) for name in local_names - {"bill_url", "bill_link_prefix"}}
    prefix = sample_bill_url(bill_base_url).removesuffix("Z" * BILL_TOKEN_CHARS)
    fixed = {"bill_url": "", "bill_link_prefix": prefix, "sms_signature": "SIGNATURE"}
    local = env.from_string(source).render({**markers, **fixed}).strip()
    expected = "【SIGNATURE】" + fill(provider, approved, markers)
    if local != expected:
        problems.append(f"{file_name}: the local template drifted from the approved {provider} text {approved.code}")
    if len(approved.text) > rules.template_max_chars:
        problems.append(f"{file_name}: the approved text is longer than {provider} allows")
    problems += [f"{file_name}: approved text {p}" for p in lint(approved.text)]
    if _COLLECTION_WORDING.search(approved.text):
        problems.append(f"{file_name}: approved text reads as debt collection; word it as a bill notice (缴费通知)")
    return problems


def _sample_values(name: str, language: str, identity: CompanyIdentity) -> dict[str, str]:
    """The longest values a real send fills the template with (a reminder's sample unit, a reply's sample ticket)."""
    if name.startswith("reply_"):
        sample = {**_SAMPLE, **_SAMPLE_REPLY, "bill_token": "Z" * BILL_TOKEN_CHARS}
        return dict(reply_template(name, language, sample, identity).variables)
    job = _sample_job(name, language)
    message = render(job, job.planned_for, identity)
    assert message.template is not None
    return dict(message.template.variables)


def check_approved(
    provider: Provider,
    identities: Mapping[str, CompanyIdentity],
    templates: Iterable[str],
    data: ApprovedSms | None = None,
    source_of: Callable[[str], str] = template_source,
) -> list[str]:
    """Every problem that would make `provider` refuse a send, or send a text other than the evidence's: each
    template the rules send, in each language, approved and equal to its local text; every value (worst case,
    with each community's company values) within the provider's rules; each community's signature approved.
    Empty: all sends will go through."""
    data = data or load_approved()
    rules = data.providers.get(provider)
    if rules is None:
        return [f"{provider}: no rules in the approved templates file"]
    problems: list[str] = []
    for community, identity in identities.items():
        if identity.sms_signature not in rules.signatures:
            problems.append(f"{community}: signature 【{identity.sms_signature}】 is not approved for {provider}")
    for name in sorted(templates):
        for language in LANGUAGES:
            file_name = f"{name}.{language}.sms.j2"
            approved = data.approved(provider, name, language)
            if approved is None:
                problems.append(f"{file_name}: no approved {provider} template")
                continue
            structure = _structure_problems(provider, rules, file_name, approved, source_of(file_name))
            problems += structure
            if structure:
                continue
            for community, identity in identities.items():
                values = _sample_values(name, language, _with_samples(identity))
                used = {n: values[n] for n in placeholders(provider, approved)}
                problems += [f"{file_name} ({community}): {p}" for p in value_problems(provider, rules, used)]
    return problems


__all__ = [
    "PROVIDERS",
    "ApprovedSms",
    "ApprovedTemplate",
    "PreparedSms",
    "ProviderRules",
    "check_approved",
    "fill",
    "load_approved",
    "prepare",
]
