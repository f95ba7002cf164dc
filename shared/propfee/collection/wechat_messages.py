"""Reminders as WeChat official-account template messages: the approved template, its fields filled from the
reminder's variables, and the text the owner reads (the evidence). Pure: no I/O, no SDK.

Template messages (not subscription messages): a verified service account may send them to its followers without
a consent per message, the kind a bill notice (缴费通知) is; subscription messages need the owner's consent per
template and send (prc-messaging.md). Since 2023 the `first` and `remark` fields are gone: the template's own
fields carry everything, each of a type with its limits (character_string: at most 32, no Chinese - verified;
the others as the new template library states them - unverified)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from propfee.collection.messages import RenderedMessage

_FIELD = re.compile(r"\{\{\s*(\w+)\.DATA\s*\}\}")
_KEY = re.compile(r"^([a-z_]+?)\d+$")
_CHINESE = re.compile(r"[\u3400-\u9fff]")

# a field's type (its key without the number) -> (most characters, what else it must be)
FIELD_LIMITS: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "thing": (20, None),
    "character_string": (32, re.compile(r"^[\x20-\x7e]*$")),  # no Chinese
    "number": (32, re.compile(r"^\d+(\.\d+)?$")),
    "amount": (32, re.compile(r"^[¥￥]?\d{1,3}(,?\d{3})*(\.\d{1,2})?元?$")),
    "time": (32, re.compile(r"^[\d\s:.\-年月日/]+$")),
    "date": (32, re.compile(r"^[\d\s:.\-年月日/]+$")),
    "phrase": (5, re.compile(r"^[\u3400-\u9fff]*$")),  # Chinese only
    "phone_number": (17, re.compile(r"^[\d+\-() ]+$")),
    "name": (10, None),
}


class WechatTemplate(BaseModel):
    """One approved template as the account's console shows it: its id, title and content ("房屋：{{thing1.DATA}}"),
    and how each field is filled from the reminder's variables (format strings: "{amount}元")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template_id: str = Field(min_length=8, max_length=128)
    title: str = Field(min_length=1)
    content: str = Field(min_length=1)
    fields: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_match_the_content(self) -> WechatTemplate:
        named = set(_FIELD.findall(self.content))
        if named != set(self.fields):
            raise ValueError(f"template {self.template_id}: fields {sorted(self.fields)} != content's {sorted(named)}")
        for key in self.fields:
            if field_type(key) not in FIELD_LIMITS:
                raise ValueError(f"template {self.template_id}: field {key} is of no known type")
        return self


def field_type(key: str) -> str:
    match = _KEY.match(key)
    return match.group(1) if match else key


@dataclass(frozen=True)
class WechatMessage:
    """What goes to /cgi-bin/message/template/send, and the text the owner reads (kept as the evidence)."""

    template_id: str
    data: dict[str, str]  # field key -> value
    url: str | None
    text: str
    client_msg_id: str = ""  # WeChat drops a repeat of the same (openid, id) for 10 minutes


def compose(template: WechatTemplate, variables: Mapping[str, str], url: str | None, claim: str = "") -> WechatMessage:
    """The template filled in. The owner sees the title, the fields and a 详情 link to `url`."""
    data = {key: fmt.format_map(dict(variables)) for key, fmt in template.fields.items()}
    body = _FIELD.sub(lambda m: data[m.group(1)], template.content)
    text = "\n".join(part for part in (template.title, body, url or "") if part)
    msg_id = hashlib.sha256(claim.encode()).hexdigest()[:32] if claim else ""
    return WechatMessage(template.template_id, data, url, text, msg_id)


def field_problems(data: Mapping[str, str]) -> list[str]:
    """What WeChat would refuse in the fields' values (names the field and the rule, never the value)."""
    problems = []
    for key, value in data.items():
        most, shape = FIELD_LIMITS.get(field_type(key), (20, None))
        if len(value) > most:
            problems.append(f"{key}: {len(value)} characters, at most {most}")
        elif shape is not None and not shape.match(value):
            problems.append(f"{key}: not a {field_type(key)} value")
        elif field_type(key) == "character_string" and _CHINESE.search(value):
            problems.append(f"{key}: Chinese in a character_string")
    return problems


class WechatAccount(BaseModel):
    """The rules file's `wechat:` section: the official account (its AppID is not a secret; the Secrets Manager
    secret holds {"app_secret", "token", "encoding_aes_key"}) and the approved template for each local reminder
    template a `wechat` step names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = Field(pattern=r"^wx[0-9a-f]{16}$")
    secret: str = Field(min_length=1)
    templates: dict[str, WechatTemplate] = Field(default_factory=dict)


class WechatSender(Protocol):
    """Sends one template message to an openid (providers.wechat_official implements it); the answer is the
    message id the send-finish event names. ProviderRejected / ProviderUnavailable / ProviderOutcomeUnknown as the
    SMS senders raise them."""

    def send_template(self, openid: str, message: WechatMessage, context: dict[str, str] | None = None) -> str: ...


@dataclass(frozen=True)
class WechatRendered(RenderedMessage):
    """A reminder rendered for WeChat: the text (the evidence) and what the template send carries."""

    wechat: WechatMessage | None = None


def render_wechat(
    rendered: RenderedMessage, templates: Mapping[str, WechatTemplate], url: str | None, claim: str
) -> WechatRendered:
    """The reminder's variables (as rendered for its SMS) in the approved WeChat template of its local template."""
    assert rendered.template is not None, "a reminder is rendered from a template"
    template = templates[rendered.template.name]
    message = compose(template, rendered.template.variables, url, claim)
    return WechatRendered(
        subject=None,
        body=message.text,
        template_version=f"wechat:{template.template_id}",
        template=rendered.template,
        wechat=message,
    )
