"""The company's collection rules: the ladder and the contact policy, with overrides per community.

Read from a YAML file (PROPFEE_RULES_FILE, or the packaged rules.yaml) and validated at cold start:
a rule that names a missing template, or a template that fails the compliance lint, stops the function
before any owner is contacted.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from propfee.accounts.billing import BillingRules
from propfee.collection.ladder import DEFAULT_LADDER, Ladder, Step
from propfee.collection.policy import ContactPolicy
from propfee.collection.sms_routing import SmsRouting
from propfee.collection.wechat_messages import WechatAccount
from propfee.domain.config import Settings
from propfee.domain.identity import CommunityIdentity, CompanyIdentity
from propfee.domain.models import Channel
from propfee.feedback.intents import Department
from propfee.feedback.owner_replies import ANSWERED
from propfee.feedback.responses import REPLY_TEMPLATES, DepartmentContact, FeedbackRules
from propfee.reports.access import ReportAccess
from propfee.reports.history import Targets
from propfee.reports.online import ReportRules

if TYPE_CHECKING:
    from propfee.collection.messages import SmsLength


class CommunityRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ladder: Ladder | None = None
    contact_policy: ContactPolicy | None = None
    departments: dict[Department, DepartmentContact] = {}  # names and inboxes of this community's departments
    company: CommunityIdentity | None = None  # what this community says differently (its office, hotline)


class CollectionRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ladder: Ladder = DEFAULT_LADDER
    contact_policy: ContactPolicy = ContactPolicy()
    feedback: FeedbackRules = FeedbackRules()
    billing: BillingRules = BillingRules()
    report_access: ReportAccess = ReportAccess()  # managers: the daily links by email, and who reads what
    targets: Targets = Targets()  # phased targets per community and collector (阶段性催缴指标)
    # who speaks to the owners; the fields set here win over the template's parameters (with_parameters)
    company: CommunityIdentity = CommunityIdentity()
    communities: dict[str, CommunityRules] = {}
    sms: SmsRouting = SmsRouting()  # aws (default), aliyun or tencent, and the providers to fail over to
    wechat: WechatAccount | None = None  # the official account; a ladder step may then name channel wechat
    reports: ReportRules = ReportRules()  # the daily report's cut-offs (an online order left unpaid: abandoned)

    @model_validator(mode="after")
    def _templates_exist_and_pass_the_lint(self) -> CollectionRules:
        from propfee.collection.messages import check_templates

        check_templates(
            self.message_templates(),
            letters=frozenset(s.template for s in self._steps() if s.channel is Channel.LETTER),
            replies=REPLY_TEMPLATES,
        )
        wanted = {s.template for s in self._steps() if Channel.WECHAT in s.channels}
        if wanted and self.wechat is None:
            raise ValueError("a ladder step names channel wechat but the rules have no wechat: account")
        missing = sorted(wanted - set(self.wechat.templates)) if self.wechat else []
        if missing:
            raise ValueError(f"wechat: no approved template for {', '.join(missing)}")
        return self

    def _steps(self) -> list[Step]:
        ladders = [self.ladder, *(c.ladder for c in self.communities.values() if c.ladder)]
        return [step for ladder in ladders for step in ladder.steps if step.template]

    def message_templates(self) -> set[str]:
        """The SMS and email templates the ladders name."""
        return {s.template for s in self._steps() if s.channel.is_message}

    def sms_lengths(self, bill_base_url: str | None = None) -> dict[str, list[SmsLength]]:
        """Each SMS template's worst case with the company's own values (and each community's that has its own),
        refused (TemplateRefused) where one passes two parts with a bill link under `bill_base_url`."""
        from propfee.collection.messages import check_sms_lengths

        where = ["*", *sorted(cid for cid, c in self.communities.items() if c.company)]
        return {
            cid: check_sms_lengths(
                self.message_templates(), REPLY_TEMPLATES, self.identity_for(cid), bill_base_url=bill_base_url
            )
            for cid in where
        }

    def speaking_identities(self) -> dict[str, CompanyIdentity]:
        """The company's identity ('*') and each community's that has its own."""
        where = ["*", *sorted(cid for cid, c in self.communities.items() if c.company)]
        return {cid: self.identity_for(cid) for cid in where}

    def approved_sms_problems(self, provider: str, rules_file: Path | None = None) -> list[str]:
        """What `provider` would refuse, or send differently from the evidence: the ladders' templates and the
        answers approved for it (collection.approved_sms.check_approved). Empty: every send goes through."""
        from propfee.collection.approved_sms import check_approved, load_approved

        data = load_approved(self.approved_sms_file(rules_file))
        # a clerk's answer to a mainland owner goes as ANSWERED (feedback.owner_replies) or not at all
        answers = {n for n in {*REPLY_TEMPLATES, ANSWERED} if data.approved(provider, n, "zh-CN")}  # type: ignore[arg-type]
        identities = self.speaking_identities()
        return check_approved(provider, identities, self.message_templates() | answers, data)  # type: ignore[arg-type]

    def approved_sms_file(self, rules_file: Path | None = None) -> Path | None:
        if self.sms.approved_templates is None:
            return None
        return (rules_file.parent if rules_file else Path.cwd()) / self.sms.approved_templates

    def ladder_for(self, community_id: str) -> Ladder:
        """A community's own ladder replaces the company's whole (steps only make sense together)."""
        override = self.communities.get(community_id)
        return override.ladder if override and override.ladder else self.ladder

    def feedback_for(self, community_id: str) -> FeedbackRules:
        """The company's feedback rules with this community's own department names and inboxes."""
        override = self.communities.get(community_id)
        if override is None or not override.departments:
            return self.feedback
        return self.feedback.with_departments(override.departments)

    def department_names(self) -> dict[str, dict[Department, DepartmentContact]]:
        """Each community's departments as its own rules name them (the daily report's words)."""
        return {community_id: self.feedback_for(community_id).departments for community_id in self.communities}

    def policy_for(self, community_id: str) -> ContactPolicy:
        """The company policy with the settings the community names replaced (the rest is kept)."""
        override = self.communities.get(community_id)
        if override is None or override.contact_policy is None:
            return self.contact_policy
        named = override.contact_policy.model_fields_set
        return self.contact_policy.model_copy(update={k: getattr(override.contact_policy, k) for k in named})

    def identity_for(self, community_id: str) -> CompanyIdentity:
        """The company's identity with this community's own fields (unset fields: the placeholders)."""
        override = self.communities.get(community_id)
        return CompanyIdentity().merged(self.company).merged(override.company if override else None)

    def with_parameters(self, parameters: CommunityIdentity) -> CollectionRules:
        """The one place the identity's sources meet: a field of the rules file's `company:` where set, else the
        template's parameter (the function's environment), else the placeholder; a community's own `company:`
        fields over all of them."""
        file = self.company.model_dump(exclude_none=True)
        merged = {**parameters.model_dump(exclude_none=True), **file}
        if parameters.pay_instructions and self.company.pay_instructions:
            merged["pay_instructions"] = {**parameters.pay_instructions, **self.company.pay_instructions}
        return self.model_copy(update={"company": CommunityIdentity(**merged)})

    def identity_placeholders(self) -> dict[str, list[str]]:
        """The identity fields still at their placeholders: for the company ('*') and each community the file
        names (other communities speak as the company)."""
        found = {"*": self.identity_for("*").placeholders()}
        found |= {cid: self.identity_for(cid).placeholders() for cid in sorted(self.communities)}
        return {where: fields for where, fields in found.items() if fields}


class PlaceholderIdentity(RuntimeError):
    """A deployed stack that would text owners in a placeholder's name: refused before any owner is contacted."""


# where each identity field is configured: the template's parameter and the rules file's key
IDENTITY_SOURCES = {
    "name": "CompanyName",
    "name_en": "CompanyNameEn",
    "sms_signature": "SmsSignature",
    "hotline": "Hotline",
    "pay_instructions.zh-CN": "PayInstructions",
    "pay_instructions.en": "PayInstructionsEn",
    "address": "CompanyAddress",
    "address_en": "CompanyAddressEn",
}


def refuse_placeholders(rules: CollectionRules) -> None:
    placeholders = rules.identity_placeholders()
    if not placeholders:
        return
    parts = []
    for where, fields in placeholders.items():
        named = ", ".join(f"{f} (parameter {IDENTITY_SOURCES.get(f, '-')})" for f in fields)
        parts.append(f"{'the company' if where == '*' else 'community ' + where}: {named}")
    raise PlaceholderIdentity(
        "the company's identity still has placeholders, and a deployed stack does not text owners in a "
        "placeholder's name; set them as the template's parameters or in the rules file's company: section "
        "(communities.<id>.company: for one community) - " + "; ".join(parts)
    )


def rules_for(settings: Settings) -> CollectionRules:
    """The rules a function runs with: the rules file, the template's identity parameters under it, and, in a
    deployed stack, refused while the identity has placeholders; refused too where the company's values make
    an SMS too long."""
    rules = load_rules(settings.rules_file).with_parameters(settings.identity_parameters)
    if settings.deployed:
        refuse_placeholders(rules)
    # the company's own signature, hotline, way to pay and bill link fit the texts
    rules.sms_lengths(settings.public_base_url)
    for provider in rules.sms.mainland():  # every text it sends is approved, and the values fit
        problems = rules.approved_sms_problems(provider, settings.rules_file)
        if problems:
            raise ValueError(f"the SMS templates are not all approved for {provider}: {'; '.join(problems)}")
    return rules


def parse_rules(text: str) -> CollectionRules:
    loaded = yaml.safe_load(text) or {}
    if not isinstance(loaded, dict):
        raise ValueError("the rules file must be a mapping")
    return CollectionRules.model_validate(loaded)


@cache
def load_rules(path: Path | None = None) -> CollectionRules:
    if path is None:
        return parse_rules(resources.files("propfee").joinpath("rules.yaml").read_text(encoding="utf-8"))
    return parse_rules(path.read_text(encoding="utf-8"))
