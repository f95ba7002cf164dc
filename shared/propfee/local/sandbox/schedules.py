"""EventBridge Scheduler expressions (cron(...), rate(...), at(...)) evaluated against a simulated clock."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

_RATE_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


def _standard_cron(aws_fields: str) -> str:
    """AWS cron has six fields (min hour day month weekday year) and '?'; croniter takes five.
    AWS numbers weekdays 1-7 from Sunday, standard cron 0-6."""
    fields = aws_fields.split()
    if len(fields) != 6:
        raise ValueError(f"an AWS cron expression has 6 fields: {aws_fields!r}")
    minute, hour, day, month, weekday, _year = fields
    # day numbers only: the n in "2#n" (the nth Monday) is a count, not a day
    weekday = re.sub(r"(?<!#)[1-7]", lambda m: str(int(m.group(0)) - 1), weekday)
    return " ".join(f.replace("?", "*") for f in (minute, hour, day, month, weekday))


@dataclass(frozen=True)
class Schedule:
    name: str
    expression: str
    timezone: str
    target_logical_id: str
    input: str | None

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after the moment (UTC), or None if it never fires again."""
        tz = ZoneInfo(self.timezone)
        kind, _, rest = self.expression.partition("(")
        body = rest.rstrip(")")
        if kind == "cron":
            local = moment.astimezone(tz)
            following: datetime = croniter(_standard_cron(body), local).get_next(datetime)
            return following.astimezone(UTC)
        if kind == "rate":
            amount, unit = body.split()
            step = timedelta(**{_RATE_UNITS[unit]: int(amount)})
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            return epoch + step * ((moment - epoch) // step + 1)
        if kind == "at":
            fires = datetime.fromisoformat(body).replace(tzinfo=tz).astimezone(UTC)
            return fires if fires > moment else None
        raise ValueError(f"unsupported schedule expression {self.expression!r}")

    def event_for(self, fire_time: datetime) -> dict[str, object]:
        """The payload Scheduler sends: the Input with its context attributes filled in."""
        if not self.input:
            return {}
        text = self.input.replace(
            "<aws.scheduler.scheduled-time>", fire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ).replace("<aws.scheduler.schedule-arn>", self.name)
        loaded = json.loads(text)
        return loaded if isinstance(loaded, dict) else {"input": loaded}
