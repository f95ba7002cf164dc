"""Who speaks to the owners: the company's registered name, SMS signature, hotline, how to pay, its address and
seal, as the company (and, where they differ, a community) configures them. Texts, letters and notices read it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# what a stack says before the company has configured itself: fine in the sandbox and the demo, refused in a
# deployed stack (carriers require the registered signature, and owners must be able to call back)
PLACEHOLDER_NAME = "物业服务中心"
PLACEHOLDER_NAME_EN = "Property Service Centre"
PLACEHOLDER_HOTLINE = "400-000-0000"
PLACEHOLDER_PAY = {"zh-CN": "物业服务中心或物业App", "en": "the property service office or the property app"}
PLACEHOLDERS: dict[str, object] = {
    "name": PLACEHOLDER_NAME,
    "name_en": PLACEHOLDER_NAME_EN,
    "sms_signature": PLACEHOLDER_NAME,
    "hotline": PLACEHOLDER_HOTLINE,
    "pay_instructions": PLACEHOLDER_PAY,
    "address": "",
    "address_en": "",
}


class CompanyIdentity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default=PLACEHOLDER_NAME, min_length=2, max_length=60)  # registered name (letterhead)
    name_en: str = Field(default=PLACEHOLDER_NAME_EN, min_length=2, max_length=120)
    # the carrier-registered signature (签名) without its brackets: texts start 【signature】
    sms_signature: str = Field(default=PLACEHOLDER_NAME, min_length=2, max_length=20)
    hotline: str = Field(default=PLACEHOLDER_HOTLINE, min_length=3, max_length=30)
    pay_instructions: dict[str, str] = Field(default_factory=lambda: dict(PLACEHOLDER_PAY))
    address: str = Field(default="", max_length=200)  # the company's (or the community's office) postal address
    address_en: str = Field(default="", max_length=300)
    seal_image: str | None = None  # a PNG of the company seal (公章) for letters, relative to the rules file

    @field_validator("pay_instructions")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        # a text in one language only keeps the placeholder in the other (and placeholders() names it)
        return {**PLACEHOLDER_PAY, **value}

    def placeholders(self) -> list[str]:
        """The fields still at the values a stack has before the company configures it (pay_instructions per
        language: 'pay_instructions.en')."""
        found = [
            name for name, value in PLACEHOLDERS.items() if name != "pay_instructions" and getattr(self, name) == value
        ]
        found += [
            f"pay_instructions.{lang}" for lang, text in PLACEHOLDER_PAY.items() if self.pay_instructions[lang] == text
        ]
        return found

    def merged(self, override: CommunityIdentity | None) -> CompanyIdentity:
        """This identity with a community's own fields where it sets them (pay_instructions per language)."""
        if override is None:
            return self
        update = override.model_dump(exclude_none=True)
        if "pay_instructions" in update:
            update["pay_instructions"] = {**self.pay_instructions, **update["pay_instructions"]}
        return self.model_copy(update=update)


class CommunityIdentity(BaseModel):
    """What a community says differently from its company (a local office, hotline or address); unset: the
    company's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=60)
    name_en: str | None = Field(default=None, min_length=2, max_length=120)
    sms_signature: str | None = Field(default=None, min_length=2, max_length=20)
    hotline: str | None = Field(default=None, min_length=3, max_length=30)
    pay_instructions: dict[str, str] | None = None
    address: str | None = Field(default=None, max_length=200)
    address_en: str | None = Field(default=None, max_length=300)
    seal_image: str | None = None
