"""A staff action as recorded (console.audit records them): the shared vocabulary, so that the daily report
counts them without knowing the console."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class StaffAction(BaseModel):
    """One staff action on one unit (or on the company). `before` and `after` hold only the fields it changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    at: AwareDatetime
    unit_id: str  # COMPANY for an action on no unit
    actor_sub: str = Field(min_length=1)  # a Cognito sub, or "cli:<user>" for the workstation's commands
    actor_roles: tuple[str, ...]
    action: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")  # "task.outcome", "ticket.resolve", "staff.assign"
    target_kind: str
    target_id: str
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    note: str = Field(default="", max_length=2000)


CLI_ACTOR = "cli:"  # the prefix of an actor who acted through the `propfee` commands, not the console
