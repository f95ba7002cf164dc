"""How the texts address an owner: their unit by community, building and room ("锦绣花园1栋2304室"), the
person by surname where it is known (尊敬的王先生/女士, Dear Mr/Ms Smith), and, on a demand letter, every owner
by name."""

from __future__ import annotations

import re

from propfee.domain.models import SendJob, Unit

# the compound surnames (复姓) still in use; any other Chinese name's surname is its first character
COMPOUND_SURNAMES = frozenset(
    (
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
        "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "申屠", "钟离", "闻人", "赫连", "澹台",
        "公冶", "太史", "仲孙", "濮阳", "单于", "呼延", "万俟", "百里", "东郭", "拓跋",
    )
)  # fmt: skip
_CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z' .-]*[A-Za-z]$")


def surname(full_name: str) -> str:
    """The family name of a name as owners write it ('王伟' -> '王', '欧阳娜娜' -> '欧阳', 'John Smith' ->
    'Smith'); empty when it cannot be told (one character, mixed scripts, a company's name)."""
    name = full_name.strip()
    if _CHINESE_NAME.match(name):
        return name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[0]
    if _LATIN_NAME.match(name) and " " in name:
        return name.split()[-1]
    return ""


def surname_of_recipient(unit: Unit, destination: str) -> str:
    """The surname of the owner (or household member) whose number or address the message goes to."""
    for owner in unit.owners:
        if destination in (owner.phone, owner.email):
            return surname(owner.name)
    return ""


def unit_address(job: SendJob, language: str) -> str:
    """The unit as its owner names it; the codes (unit_label) when the building's name is not known."""
    return place(job.community_name, job.building_name, job.room, job.unit_label, language)


def place(community: str, building: str | None, room: str | None, unit_label: str, language: str) -> str:
    """'锦绣花园1栋2304室' / 'Rm 2304, 1栋, Jinxiu Garden' (the names as the company entered them); the unit's
    codes when the building or room is not known. Texts, letters, task digests and the CLI all say it so."""
    if not (building and room):
        return unit_label
    room_zh = f"{room}室" if room.isdigit() else room
    if language == "zh-CN":
        return f"{community}{building}{room_zh}"
    room_en = f"Rm {room}" if room.isdigit() else room
    return ", ".join(part for part in (room_en, building, community) if part)


def owner_names(unit: Unit, language: str) -> str:
    """All the owners (not household members or tenants) by their full names, as a demand letter addresses
    them (张伟、李娜 / Wei Zhang and Na Li); the unit itself when none is recorded."""
    names = [o.name.strip() for o in unit.owners if o.relation in ("owner", "co_owner") and o.name.strip()]
    if not names:
        return unit.label
    return "、".join(names) if language == "zh-CN" else " and ".join(names)


def salutation(job: SendJob, language: str) -> str:
    """尊敬的王先生/女士 (the gender is not on record), Dear Mr/Ms Smith; without a surname the owner of the unit
    (尊敬的业主, Dear owner). A Chinese surname is not romanised: English texts then say Dear owner."""
    if language == "zh-CN":
        return f"尊敬的{job.owner_surname}先生/女士" if job.owner_surname else "尊敬的业主"
    if job.owner_surname and job.owner_surname.isascii():
        return f"Dear Mr/Ms {job.owner_surname}"
    return "Dear owner"
