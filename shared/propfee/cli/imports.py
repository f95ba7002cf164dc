"""The billing system's ledger and payments files (`import`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from propfee.cli.common import settings_and_table


def cmd_import(args: argparse.Namespace) -> int:
    """Apply (or with --check only validate) a ledger or payments file; prints a JSON summary, writes the
    rejected rows with their line and reason next to the file."""
    from propfee.domain import clock
    from propfee.domain.config import Settings

    source = Path(args.file)
    rejects_path = Path(args.rejects) if args.rejects else source.with_name(source.name + ".rejects.csv")
    with source.open("rb") as data, rejects_path.open("w", encoding="utf-8-sig", newline="") as rejects:
        if args.check:
            from propfee.accounts.imports.report import check

            tz = Settings(table="-").tz  # type: ignore[call-arg]
            summary = check(data, source.name, args.kind, tz, rejects).as_dict()
        else:
            from propfee.accounts.imports.apply import apply_file

            settings, table = settings_and_table(args)
            result = apply_file(data, source.name, args.kind, settings.tz, table, clock.now(), rejects, args.community)
            summary = result.as_dict()
    print(json.dumps({**summary, "rejects_file": str(rejects_path)}, ensure_ascii=False, indent=2))
    return 0 if summary["ok"] else 1
