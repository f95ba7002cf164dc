"""The company's collection rules: the ladder and the contact policy, with overrides per community.

Read from a YAML file (PROPFEE_RULES_FILE, or the packaged rules.yaml) and validated at cold start:
a rule that names a missing template, or a template that fails the compliance lint, stops the function
before any owner is contacted.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from propfee.accounts.billing import BillingRules
from propfee.collection.ladder import DEFAULT_LADDER, Ladder
from propfee.collection.policy import ContactPolicy
from propfee.domain.models import Channel
from propfee.feedback.intents import Department
from propfee.feedback.responses import REPLY_TEMPLATES, DepartmentContact, FeedbackRules
from propfee.reports.access import ReportAccess
from propfee.reports.history import Targets


class CommunityRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ladder: Ladder | None = None
    contact_policy: ContactPolicy | None = None
    departments: dict[Department, DepartmentContact] = {}  # names and inboxes of this community's departments


class CollectionRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ladder: Ladder = DEFAULT_LADDER
    contact_policy: ContactPolicy = ContactPolicy()
    feedback: FeedbackRules = FeedbackRules()
    billing: BillingRules = BillingRules()
    report_access: ReportAccess = ReportAccess()  # managers: the daily links by email, and who reads what
    targets: Targets = Targets()  # phased targets per community and collector (阶段性催缴指标)
    communities: dict[str, CommunityRules] = {}

    @model_validator(mode="after")
    def _templates_exist_and_pass_the_lint(self) -> CollectionRules:
        from propfee.collection.messages import check_templates

        ladders = [self.ladder, *(c.ladder for c in self.communities.values() if c.ladder)]
        steps = [step for ladder in ladders for step in ladder.steps if step.template]
        check_templates(
            {s.template for s in steps if s.channel.is_message},
            letters=frozenset(s.template for s in steps if s.channel is Channel.LETTER),
            replies=REPLY_TEMPLATES,
        )
        return self

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

    def policy_for(self, community_id: str) -> ContactPolicy:
        """The company policy with the settings the community names replaced (the rest is kept)."""
        override = self.communities.get(community_id)
        if override is None or override.contact_policy is None:
            return self.contact_policy
        named = override.contact_policy.model_fields_set
        return self.contact_policy.model_copy(update={k: getattr(override.contact_policy, k) for k in named})


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
