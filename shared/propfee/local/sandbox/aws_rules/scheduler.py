"""EventBridge Scheduler: schedule and schedule group names."""

from __future__ import annotations

import functools
from typing import Any

from propfee.local.sandbox.aws_rules.common import model_problem


def install() -> None:
    from moto.scheduler.exceptions import ValidationException
    from moto.scheduler.models import EventBridgeSchedulerBackend

    # Scheduler API reference, CreateSchedule Name and CreateScheduleGroup Name: 1 to 64 characters,
    # pattern [0-9a-zA-Z-_.]+ (moto takes any name)
    for method in ("create_schedule", "create_schedule_group"):
        original = getattr(EventBridgeSchedulerBackend, method)

        def checked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            for field in ("name", "group_name"):
                value = kwargs.get(field)
                if value:
                    problem = model_problem(
                        "scheduler", "Name" if field == "name" else "ScheduleGroupName", field, value
                    )
                    if problem:
                        raise ValidationException(problem)
            return _original(self, *args, **kwargs)

        setattr(EventBridgeSchedulerBackend, method, functools.wraps(original)(checked))


def schedule_name_problem(name: str) -> str | None:
    """The Scheduler name rule, for the schedules the sandbox reads from the template (it creates no API object)."""
    return model_problem("scheduler", "Name", "name", name)
