"""The message templates: how long each SMS is at its longest (`templates`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_templates(args: argparse.Namespace) -> int:
    """Each SMS template's worst case (characters, encoding, segments, and with the bill link reserved) with the
    rules file's company (the sample's values where it sets none), per community that has its own."""
    from propfee.collection.messages import TemplateRefused
    from propfee.rules import load_rules

    try:
        rules = load_rules(Path(args.rules) if args.rules else None)
        lengths = rules.sms_lengths()
    except (TemplateRefused, ValueError) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    for community, measured in lengths.items():
        print("the company" if community == "*" else f"community {community}")
        for length in measured:
            print(f"  {length}")
    return 0
