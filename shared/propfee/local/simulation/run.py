"""Runs the synthetic company day by day through the real functions in the sandbox."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from propfee.aws.feedback import FeedbackTable
from propfee.aws.storage import S3Store
from propfee.collection.tasks import close_task
from propfee.domain.models import Channel, Payment
from propfee.domain.money import rate
from propfee.feedback.intents import Department
from propfee.feedback.responses import UNKNOWN_COMMUNITY
from propfee.feedback.ticketing import resolve_ticket
from propfee.local.sandbox import Sandbox
from propfee.local.sandbox.runtime import patched_environ
from propfee.local.simulation.browser import BILL_LINK, RECEIPT_SUBJECTS, online_provider, pay_online
from propfee.local.simulation.owners import (
    OwnerModel,
    PaymentIntent,
    ReplyIntent,
    keeps_promise,
    reply_to_reminder,
    task_outcome,
    ticket_handled,
)
from propfee.local.simulation.world import World, build_world, period_of
from propfee.reports.publishing import report_prefix

TIMEZONE = ZoneInfo("Asia/Shanghai")
REPORT_READY = timedelta(minutes=30)  # after the daily_report schedule (00:15) has run
COLLECTORS_REPORT = time(18, 0)


@dataclass
class DemoOptions:
    households: int = 1000
    days: int = 30
    seed: int = 7
    start: date = date(2026, 11, 1)
    out: Path = Path("out/demo")
    template_path: Path | None = None
    sms_provider: str = "aws"  # aws, or a mainland provider the sandbox emulates (aliyun, tencent)


@dataclass
class Totals:
    payments: int = 0
    online_payments: dict[str, int] = field(default_factory=dict)  # provider -> payments made from a bill link
    paid_fen: int = 0
    sms: int = 0
    email: int = 0
    tasks: dict[str, int] = field(default_factory=dict)
    replies: int = 0
    tickets_resolved: int = 0
    daily: list[dict[str, Any]] = field(default_factory=list)


class Demo:
    def __init__(self, options: DemoOptions, sandbox: Sandbox, world: World) -> None:
        self.options = options
        self.sandbox = sandbox
        self.world = world
        self.table = FeedbackTable(sandbox.resources["PropfeeTable"], TIMEZONE)
        self.reports = S3Store(sandbox.resources["ReportBucket"])
        self.owners = OwnerModel(world)
        self.intents: list[PaymentIntent] = []
        self.replies: list[ReplyIntent] = []
        self._sms_read: dict[str, int] = {}
        self.totals = Totals()
        self._sms_seen = 0
        self._email_seen = 0
        self._references: dict[str, int] = {}
        self._links: dict[str, str] = {}  # unit -> the bill link of the latest reminder it received

    # ------------------------------------------------------------------ the world's own actions
    def pay(self, intent: PaymentIntent) -> None:
        unit = self.table.get_unit(intent.unit_id)
        if unit is None or unit.balance_fen <= 0:
            return
        if self._pays_online(intent, unit.balance_fen):
            return
        amount = min(unit.monthly_fee_fen, unit.balance_fen) if intent.partial else unit.balance_fen
        n = self._references[unit.unit_id] = self._references.get(unit.unit_id, 0) + 1
        payment = Payment(
            reference=f"PAY-{unit.unit_id}-{intent.at:%Y%m%d}-{n}",
            unit_id=unit.unit_id,
            community_id=unit.community_id,
            amount_fen=amount,
            paid_at=intent.at,
            method="wechat_pay",
        )
        if self.table.record_payment(payment) is not None:
            self.totals.payments += 1
            self.totals.paid_fen += amount

    def _pays_online(self, intent: PaymentIntent, balance_fen: int) -> bool:
        """Some owners moved by a reminder pay from its link: the bill page, the provider's cashier, and the
        provider's notification (delivered as the clock moves) puts the payment on the ledger."""
        link = self._links.get(intent.unit_id)
        if link is None or intent.partial or intent.why != "after a reminder":
            return False
        provider = online_provider(self.world.seed, intent.unit_id, intent.at)
        if provider is None or not pay_online(link, provider):
            return False
        self.totals.online_payments[provider] = self.totals.online_payments.get(provider, 0) + 1
        self.totals.payments += 1
        self.totals.paid_fen += balance_fen  # the order is for every open bill
        return True

    def notice_reminders(self) -> None:
        """Owners read what the providers delivered since last time; some decide to pay."""
        now = self.sandbox.clock.now()
        sms = self.sandbox.sent_sms()[self._sms_seen :]
        emails = self.sandbox.sent_email()[self._email_seen :]
        self._sms_seen += len(sms)
        self._email_seen += len(emails)
        owners_emails = [
            e
            for e in emails
            if any(address in self.world.by_email for address in e[1]) and not e[2].startswith(RECEIPT_SUBJECTS)
        ]
        self.totals.sms += sum(1 for _, _, text in sms if "元" in text or "CNY" in text)
        self.totals.email += len(owners_emails)
        # a reminder states the amount; an acknowledgement of the owner's own message does not
        reminders = [(mid, phone) for mid, phone, text in sms if "元" in text or "CNY" in text]
        for _, phone, text in sms:
            for found in BILL_LINK.finditer(text):
                self._links.update(dict.fromkeys(self.world.by_phone.get(phone, []), found.group(0)))
        for _, to, _, body in owners_emails:
            for found in BILL_LINK.finditer(body):
                self._links.update({u: found.group(0) for address in to for u in self.world.by_email.get(address, [])})
        reached = [u for _, phone in reminders for u in self.world.by_phone.get(phone, [])]
        reached += [u for _, to, _, _ in owners_emails for address in to for u in self.world.by_email.get(address, [])]
        for unit_id in reached:
            intent = self.owners.react(unit_id, now)
            if intent is not None:
                heapq.heappush(self.intents, intent)
        for message_id, phone in reminders:
            for unit_id in self.world.by_phone.get(phone, [])[:1]:  # one answer per message
                count = self._sms_read[unit_id] = self._sms_read.get(unit_id, 0) + 1
                reply = reply_to_reminder(self.world, unit_id, phone, message_id, now, count)
                if reply is not None:
                    heapq.heappush(self.replies, reply)

    def send_reply(self, reply: ReplyIntent) -> None:
        """The owner's answer, as End User Messaging publishes it to the inbound topic."""
        payload = {
            "originationNumber": reply.phone,
            "destinationNumber": "+8610690000",
            "messageKeyword": "KEYWORD_PROPFEE",
            "messageBody": reply.text,
            "inboundMessageId": reply.reply_id,
            "previousPublishedMessageId": reply.answers,
        }
        self.sandbox.client("sns").publish(
            TopicArn=self.sandbox.resources["InboundSmsTopic"], Message=json.dumps(payload)
        )
        self.totals.replies += 1

    # ------------------------------------------------------------------ the day loop
    def run_day(self, day: date) -> None:
        if day.day == 1 and day != self.options.start:  # the billing function issues the month at 00:05
            self.sandbox.advance(datetime.combine(day, time(0, 10), TIMEZONE))
        if day.day == 1:
            for intent in self.owners.intents_for_month(day):
                heapq.heappush(self.intents, intent)
        end = datetime.combine(day + timedelta(days=1), time(0, 0), TIMEZONE)
        self.pay_until(datetime.combine(day, COLLECTORS_REPORT, TIMEZONE))
        self.work_tasks(day)
        self.pay_until(end)
        self.sandbox.advance(end + REPORT_READY)  # the report on the day fires just after midnight
        self.notice_reminders()
        self.collect_report(day)

    def pay_until(self, moment: datetime) -> None:
        """Run the world to the moment, owners paying and replying as they intended on the way."""
        while True:
            payment = self.intents[0] if self.intents and self.intents[0].at < moment else None
            reply = self.replies[0] if self.replies and self.replies[0].at < moment else None
            if payment is None and reply is None:
                return
            if reply is not None and (payment is None or reply.at < payment.at):
                heapq.heappop(self.replies)
                self.sandbox.advance(max(reply.at, self.sandbox.clock.now()))
                self.send_reply(reply)
                self.notice_reminders()
                continue
            intent = heapq.heappop(self.intents)
            at = max(intent.at, self.sandbox.clock.now())
            self.sandbox.advance(at)
            self.notice_reminders()
            self.pay(PaymentIntent(at, intent.unit_id, intent.why, intent.partial))

    def work_tasks(self, day: date) -> None:
        """In the evening each collector reports on the day's calls and visits, as `propfee task done` does."""
        now = datetime.combine(day, COLLECTORS_REPORT, TIMEZONE)
        self.sandbox.advance(now)
        for collector in self.world.collectors:
            for task in self.table.tasks(collector.collector_id, "open"):
                outcome, promised = task_outcome(self.world, task.unit_id, task.kind.value, day)
                close_task(self.table, task.task_id, outcome, promised, "", now, day)
                self.totals.tasks[outcome.value] = self.totals.tasks.get(outcome.value, 0) + 1
                if promised is not None:
                    intent = keeps_promise(self.world, task.unit_id, promised)
                    if intent is not None:
                        heapq.heappush(self.intents, intent)
        # the departments report too: what they dealt with today is resolved, as `propfee tickets resolve` does
        for department in Department:
            for ticket in self.table.tickets(department.value, "open"):
                if ticket_handled(self.world, ticket.ticket_id, now - ticket.created_at):
                    resolve_ticket(self.table, ticket.ticket_id, "已处理 (simulated department)", now)
                    self.totals.tickets_resolved += 1

    def collect_report(self, day: date) -> None:
        target = self.options.out / "reports" / day.isoformat()
        # the company's set (each community's own set stays in S3, for its manager)
        files = self.reports.download_prefix(report_prefix(day), target, recursive=False)
        if not files:
            raise RuntimeError(f"no daily report in S3 for {day}")
        summary = json.loads((target / "summary.json").read_text(encoding="utf-8"))
        totals = summary["totals"]
        self.totals.daily.append(
            {
                "date": day.isoformat(),
                "payments": totals["collections"]["count"],
                "collected_fen": totals["collections"]["amount_fen"],
                "reminders_sent": totals["reminders"]["sent"],
                "reminders_skipped": totals["reminders"]["skipped"],
                "current_period_rate": totals["current_period"]["collection_rate"],
                "outstanding_fen": totals["outstanding_fen"],
            }
        )

    def write_messages(self, days: list[date], path: Path) -> Counter[str]:
        """One JSON line per outbound message, from the evidence records, in send order; returns every
        action of the run (messages, letters and staff tasks) by channel."""
        lines = []
        actions: Counter[str] = Counter()
        for day in days:
            for community in self.world.snapshot.communities:
                for r in self.table.day_activity(community.community_id, day).reminders:
                    actions[r.channel.value] += 1
                    if r.channel.is_task:  # calls and visits are tasks for staff, not messages
                        continue
                    lines.append(
                        {
                            "sent_at": r.claimed_at.astimezone(TIMEZONE).isoformat(),
                            "unit_id": r.unit_id,
                            "channel": r.channel.value,
                            "step": r.step,
                            "template": r.template,
                            "template_version": r.template_version,
                            "balance_fen": r.balance_fen,
                            "status": r.status.value,
                            # what the owner received, word for word (a letter: its text; the PDF is in letters/)
                            "subject": r.subject,
                            "text": r.text,
                        }
                    )
        lines.sort(key=lambda line: (line["sent_at"], line["unit_id"], line["step"]))
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        return actions

    def replies_received(self, first: date, last: date) -> dict[str, Any]:
        """Owners' messages of the run, by how they were understood (from the table)."""
        by_intent: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        communities = [c.community_id for c in self.world.snapshot.communities] + [UNKNOWN_COMMUNITY]
        day = first
        while day <= last:
            for community_id in communities:
                for message in self.table.day_messages(community_id, day):
                    outcomes[str(message["outcome"])] += 1
                    by_intent[str((message.get("classification") or {}).get("intent", "not_classified"))] += 1
            day += timedelta(days=1)
        return {
            "sent_by_owners": self.totals.replies,
            "received": sum(outcomes.values()),
            "by_outcome": dict(sorted(outcomes.items())),
            "by_intent": dict(sorted(by_intent.items())),
        }

    def tickets_by_department(self) -> dict[str, Any]:
        departments: dict[str, dict[str, int]] = {}
        escalated = 0
        for department in Department:
            counts = {status: len(self.table.tickets(department.value, status)) for status in ("open", "resolved")}
            escalated += sum(
                1
                for status in ("open", "resolved")
                for t in self.table.tickets(department.value, status)
                if t.escalated_at
            )
            if any(counts.values()):
                departments[department.value] = counts
        return {"by_department": departments, "escalated": escalated, "resolved_by_staff": self.totals.tickets_resolved}

    def standing(self, day: date) -> dict[str, Any]:
        """The collection rate of the day's billing period and what is owed, from the maintained totals; with
        everything billed and paid so far, so that start + billed - paid between two standings = end."""
        period = period_of(day)
        billed = paid = all_billed = all_paid = 0
        for community in self.table.communities():
            for total in self.table.period_totals(community.community_id):
                all_billed += total.billed_fen
                all_paid += total.paid_fen
                if total.period == period:
                    billed += total.billed_fen
                    paid += total.paid_fen
        return {
            "period": period,
            "billed_fen": billed,
            "paid_fen": paid,
            "collection_rate": rate(paid, billed),
            "outstanding_fen": all_billed - all_paid,
            "all_billed_fen": all_billed,
            "all_paid_fen": all_paid,
        }


def run_demo(
    options: DemoOptions,
    on_day: Callable[[date], None] | None = None,
    on_finish: Callable[[Demo], None] | None = None,
) -> dict[str, Any]:
    """Simulate, write OUT/reports/<date>/* and OUT/summary.json, and return the summary.
    on_finish sees the finished demo while its sandbox is still up (tests recount from the table)."""
    start = options.start.replace(day=1)
    options.out.mkdir(parents=True, exist_ok=True)
    world = build_world(options.households, options.seed, start, TIMEZONE)
    last = start + timedelta(days=options.days - 1)
    rules_file = write_demo_rules(world, start, last, options.out / "rules.yaml", options.sms_provider)
    with (
        patched_environ({"PROPFEE_RULES_FILE": str(rules_file)}),
        Sandbox(
            start=datetime.combine(start, time(0, 0), TIMEZONE), template_path=options.template_path, bill_links=True
        ) as sandbox,
    ):
        demo = Demo(options, sandbox, world)
        demo.table.load_snapshot(world.snapshot)
        demo.table.put_collectors(world.collectors)
        at_start = demo.standing(start)
        last_day = start + timedelta(days=options.days - 1)
        for offset in range(options.days):
            day = start + timedelta(days=offset)
            demo.run_day(day)
            if on_day is not None:
                on_day(day)
        summary = {
            "seed": options.seed,
            "households": len(world.snapshot.units),
            "communities": len(world.snapshot.communities),
            "days": options.days,
            "start": start.isoformat(),
            "end": last_day.isoformat(),
            "standing_at_start": at_start,
            "standing_at_end": demo.standing(last_day),
            "reminders": {"sms": demo.totals.sms, "email": demo.totals.email},
            "task_outcomes": dict(sorted(demo.totals.tasks.items())),
            "replies": demo.replies_received(start, last_day),
            "tickets": demo.tickets_by_department(),
            "payments": {
                "count": demo.totals.payments,
                "amount_fen": demo.totals.paid_fen,
                "online": dict(sorted(demo.totals.online_payments.items())),
            },
            "dead_letters": _dead_letter_count(sandbox),
            "daily": demo.totals.daily,
        }
        days = [start + timedelta(days=offset) for offset in range(options.days)]
        actions = demo.write_messages(days, options.out / "messages.jsonl")
        summary["actions"] = dict(sorted(actions.items()))
        summary["messages"] = sum(n for channel, n in actions.items() if not Channel(channel).is_task)
        if on_finish is not None:
            on_finish(demo)
    (options.out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return summary


# the accounts the demo's rules name for a mainland provider (the sandbox puts its emulators' keys under them)
# the sandbox stack's own secrets (<stack>-aliyun-sms, <stack>-tencent-sms: the names the functions' roles may read)
DEMO_SMS_ACCOUNTS = {
    "aliyun": {"secret": "propfee-aliyun-sms"},  # nosec B105 - a secret's name, not its value
    "tencent": {"secret": "propfee-tencent-sms", "sms_sdk_app_id": "1400000001"},  # nosec B105
}


def write_demo_rules(world: World, start: date, end: date, path: Path, sms_provider: str = "aws") -> Path:
    """The packaged rules plus a phase of targets per community over the simulated days (阶段性催缴指标):
    a 95% collection rate, a third of the back arrears owed at the start, and work for each collector."""
    rules = yaml.safe_load(resources.files("propfee").joinpath("rules.yaml").read_text(encoding="utf-8"))
    first_period = f"{start.year:04d}-{start.month:02d}"
    owed_fen: Counter[str] = Counter()
    for bill, paid in world.snapshot.bills:
        if bill.period < first_period:
            owed_fen[bill.community_id] += bill.amount_fen - paid
    collectors: dict[str, list[str]] = {}
    for collector in world.collectors:
        if collector.role == "collector":
            for community_id in collector.communities:
                collectors.setdefault(community_id, []).append(collector.collector_id)
    rules["targets"] = {
        "communities": {
            community.community_id: [
                {
                    "name": f"{start:%Y-%m} push",
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "collection_rate": 0.95,
                    "back_arrears_fen": owed_fen[community.community_id] // 3,
                    "collectors": {
                        cid: {"tasks_done": 20, "promises": 8} for cid in collectors.get(community.community_id, [])
                    },
                }
            ]
            for community in world.snapshot.communities
        }
    }
    if sms_provider != "aws":
        rules["sms"] = {"provider": sms_provider, sms_provider: DEMO_SMS_ACCOUNTS[sms_provider]}
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _dead_letter_count(sandbox: Sandbox) -> int:
    sqs = sandbox.client("sqs")
    total = 0
    for logical_id, physical in sorted(sandbox.resources.items()):
        if logical_id.endswith("DeadLetterQueue"):
            attributes = sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["ApproximateNumberOfMessages"])
            total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return total
