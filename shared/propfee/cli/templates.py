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

    if getattr(args, "provider", None):
        return _approved(args)
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


def _approved(args: argparse.Namespace) -> int:
    """Each SMS the rules send, against the provider's approved template (collection.approved_sms): the problems,
    or the codes it sends; the answers to owners nobody approved are named (they are not sent by SMS there)."""
    from propfee.collection.approved_sms import load_approved
    from propfee.feedback.owner_replies import ANSWERED
    from propfee.feedback.responses import REPLY_TEMPLATES
    from propfee.rules import load_rules

    rules_file = Path(args.rules) if args.rules else None
    try:
        rules = load_rules(rules_file)
        problems = rules.approved_sms_problems(args.provider, rules_file)
        data = load_approved(rules.approved_sms_file(rules_file))
    except ValueError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    if problems:
        return 1
    replies = REPLY_TEMPLATES | {ANSWERED}  # the acknowledgements and a clerk's answer (feedback.owner_replies)
    answers = {name for name in replies if data.approved(args.provider, name, "zh-CN")}
    for name in sorted(rules.message_templates() | answers):
        for language, by_provider in sorted(data.templates[name].items()):
            print(f"  {name}.{language}: {by_provider[args.provider].code}")  # type: ignore[index]
    for name in sorted(replies - answers):
        print(f"  {name}: no approved {args.provider} template: this answer is not sent by SMS through {args.provider}")
    print(
        f"all approved for {args.provider}; signatures: {', '.join(sorted(data.providers[args.provider].signatures))}"
    )
    return 0
