"""Demand letters (`letters get`): a unit's letter as it was printed and delivered, from the reports bucket, or
a preview of the letter its records would give today."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from propfee.cli.common import settings_and_table

if TYPE_CHECKING:
    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.config import Settings


def _target(out: str, name: str) -> Path:
    """--out names the file (….pdf), or a folder to put it in."""
    path = Path(out)
    if path.suffix.lower() != ".pdf" or path.is_dir():
        path = path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cmd_letters_get(args: argparse.Namespace) -> int:
    """The unit's latest letter (or the one of --date) as the evidence records name it; --preview composes one
    from the records now (not sent, not recorded)."""
    from propfee.collection.evidence import letter_keys

    settings, table = settings_and_table(args)
    if args.preview:
        return _preview(args, settings, table)
    keys = [k for k in letter_keys(table.unit_history(args.unit)) if not args.date or f"/{args.date}/" in k]
    if not keys:
        when = f" on {args.date}" if args.date else ""
        print(f"no letter was sent to {args.unit}{when}; --preview composes one from its records", file=sys.stderr)
        return 1
    bucket = args.bucket or settings.report_bucket
    if not bucket:
        print("which bucket? --bucket or PROPFEE_REPORT_BUCKET (`propfee sandbox up` prints it)", file=sys.stderr)
        return 2
    from propfee.aws.storage import S3Store

    key = keys[-1]  # letters/<day>/...: the latest day last
    target = _target(args.out, key.rsplit("/", 1)[-1])
    target.write_bytes(S3Store(bucket).get(key))
    print(target)
    return 0


def _preview(args: argparse.Namespace, settings: Settings, table: FeedbackTable) -> int:
    from propfee.collection.cjk_pdf import find_font
    from propfee.collection.ladder import Action
    from propfee.collection.letters import compose_letter, letter_pdf, seal_file
    from propfee.collection.planning import job_for
    from propfee.domain import clock
    from propfee.domain.models import Channel
    from propfee.rules import rules_for

    unit = table.get_unit(args.unit)
    if unit is None:
        print(f"no unit {args.unit} in {settings.table}", file=sys.stderr)
        return 1
    day = args.date or clock.now().astimezone(settings.tz).date()
    rules = rules_for(settings)  # the rules file with the template's identity parameters, as the functions run
    ladder = rules.ladder_for(unit.community_id)
    step = next((s for s in ladder.steps if s.channel is Channel.LETTER), None)
    if step is None:
        print(f"the ladder of {unit.community_id} sends no letter", file=sys.stderr)
        return 1
    if unit.owed_fen(step.cutoff(day)) <= 0:
        print(f"{args.unit} owes nothing overdue on {day}: no letter to compose", file=sys.stderr)
        return 1
    community = next((c.name for c in table.communities() if c.community_id == unit.community_id), "")
    building = next((b.name for b in table.buildings(unit.community_id) if b.building_id == unit.building_id), "")
    job = job_for(unit, Action(step, Channel.LETTER, unit.label), day, community, building)
    identity = rules.identity_for(unit.community_id)
    letter = compose_letter(job, unit, identity)
    pdf = letter_pdf(
        letter,
        find_font(settings.letter_font),
        datetime.combine(day, time(9, 0), settings.tz),
        seal_file(identity, settings.rules_file),
    )
    target = _target(args.out, f"{unit.unit_id}.{step.step_id}.preview-{day}.pdf")
    target.write_bytes(pdf)
    print("a preview: not sent and not recorded", file=sys.stderr)
    print(target)
    return 0
