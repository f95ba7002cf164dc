"""The reports: a day's files from the reports bucket (`report get`) and the buildings' notices
(`report notice-board`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from propfee.cli.common import SETTING_HINTS, MissingSetting, settings_and_table


def cmd_report_get(args: argparse.Namespace) -> int:
    """A day's report files from the reports bucket: the company set, or one community's set."""
    from propfee.aws.storage import S3Store
    from propfee.domain.config import Settings
    from propfee.reports.delivery import ReportNotFound, download_report

    bucket = args.bucket or Settings(table="-").report_bucket  # type: ignore[call-arg]
    if not bucket:
        raise MissingSetting(SETTING_HINTS["report_bucket"])
    try:
        written = download_report(S3Store(bucket), args.date, args.community, Path(args.out))
    except ReportNotFound as error:
        print(f"{error} in s3://{bucket}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def cmd_report_notice_board(args: argparse.Namespace) -> int:
    """A printable notice per building (宣传栏公告) for a period: counts and amounts, never a name or a room."""
    from propfee.domain import clock
    from propfee.reports.notice_board import notice_board_files
    from propfee.rules import rules_for

    settings, table = settings_and_table(args)
    community = next((c for c in table.communities() if c.community_id == args.community), None)
    if community is None:
        print(f"no community {args.community} in {settings.table}", file=sys.stderr)
        return 1
    units = []
    for unit_id in table.unit_ids(community.community_id):
        unit = table.get_unit(unit_id)
        if unit is not None:
            units.append((unit, table.paid_bills(unit_id)))
    files = notice_board_files(
        args.period or clock.now().astimezone(settings.tz).date(),
        community,
        table.buildings(community.community_id),
        units,
        clock.now(),
        identity=rules_for(settings).identity_for(community.community_id),
        font=settings.letter_font,
    )
    out = Path(args.out)
    for name, body in sorted(files.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        print(target)
    return 0
