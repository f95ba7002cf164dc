"""Generates a deterministic company: communities, buildings, units, owners, behaviours and billing history."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from faker import Faker

from propfee.accounts import ledger
from propfee.domain.models import Bill, Building, Collector, Community, Owner, Payment, PeriodTotal, Unit
from propfee.domain.money import fen_from_area

COMMUNITY_NAMES = [
    "锦绣花园",
    "阳光小区",
    "翠湖苑",
    "金色家园",
    "春江花月",
    "御景湾",
    "枫林晚",
    "星河湾",
    "紫荆苑",
    "滨江一号",
    "绿地新城",
    "海棠园",
]
MOBILE_PREFIXES = ["138", "139", "135", "136", "150", "158", "186", "188", "177", "189", "133", "199"]
HOUSEHOLDS_PER_COMMUNITY = 400
DUE_DAY = 10  # bills are issued on the 1st and due on the 10th


class Behaviour(StrEnum):
    ON_TIME = "on_time"  # pays before the due date
    LATE = "late"  # pays some weeks late, reminders or not
    RESPONSIVE = "responsive"  # pays soon after a reminder
    CHRONIC = "chronic"  # long arrears; a reminder sometimes brings a partial payment
    UNREACHABLE = "unreachable"  # no usable contact; rarely walks in to pay


BEHAVIOUR_WEIGHTS = {
    Behaviour.ON_TIME: 45,
    Behaviour.LATE: 18,
    Behaviour.RESPONSIVE: 22,
    Behaviour.CHRONIC: 10,
    Behaviour.UNREACHABLE: 5,
}


def stable_rng(*parts: object) -> random.Random:
    """A random stream that depends only on its parts (Python's str hash is salted per process)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    # the simulation's randomness, never a secret
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311  # nosec B311


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class World:
    seed: int
    start: date
    tz: ZoneInfo
    snapshot: ledger.LedgerSnapshot
    behaviours: dict[str, Behaviour]
    collectors: list[Collector] = field(default_factory=list)
    by_phone: dict[str, list[str]] = field(default_factory=dict)
    by_email: dict[str, list[str]] = field(default_factory=dict)

    @property
    def units(self) -> dict[str, Unit]:
        return {u.unit_id: u for u in self.snapshot.units}


def _owners(fake: Faker, rng: random.Random, behaviour: Behaviour, unit_id: str) -> tuple[Owner, ...]:
    if behaviour is Behaviour.UNREACHABLE:
        return (Owner(name=fake.name()),)
    count = 2 if rng.random() < 0.2 else 1
    owners = []
    for i in range(count):
        phone = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        email = f"owner.{unit_id.lower()}.{i}@example.net" if rng.random() < 0.4 else None
        owners.append(Owner(name=fake.name(), phone=phone, email=email, relation="owner" if i == 0 else "co_owner"))
    return tuple(owners)


def build_world(households: int, seed: int, start: date, tz: ZoneInfo) -> World:
    """A company of about `households` units, its ledger up to and including the start month."""
    rng = stable_rng("world", seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    community_count = max(1, -(-households // HOUSEHOLDS_PER_COMMUNITY))
    communities, buildings, units = [], [], []
    behaviours: dict[str, Behaviour] = {}
    per_community = [
        households // community_count + (1 if i < households % community_count else 0) for i in range(community_count)
    ]
    for c_index, size in enumerate(per_community):
        community_id = f"C{c_index + 1:02d}"
        name = COMMUNITY_NAMES[c_index % len(COMMUNITY_NAMES)] + (
            "" if c_index < len(COMMUNITY_NAMES) else f"{c_index}"
        )
        communities.append(Community(community_id=community_id, name=name, timezone=str(tz)))
        rate = Decimal(rng.randrange(18, 33)) / 10  # 1.8 - 3.2 yuan per m² per month
        made = 0
        b_index = 0
        while made < size:
            b_index += 1
            floors = rng.choice([6, 11, 18, 26])
            per_floor = rng.choice([2, 3, 4])
            building_id = f"{community_id}-B{b_index:02d}"
            buildings.append(
                Building(community_id=community_id, building_id=building_id, name=f"{b_index}栋", floors=floors)
            )
            for floor in range(1, floors + 1):
                for door in range(1, per_floor + 1):
                    if made >= size:
                        break
                    unit_id = f"{building_id}-{floor:02d}{door:02d}"
                    unit_rng = stable_rng("unit", seed, unit_id)
                    behaviour = unit_rng.choices(list(BEHAVIOUR_WEIGHTS), weights=list(BEHAVIOUR_WEIGHTS.values()))[0]
                    area = Decimal(str(round(min(max(unit_rng.gauss(96, 25), 45), 220), 2)))
                    units.append(
                        Unit(
                            unit_id=unit_id,
                            community_id=community_id,
                            building_id=building_id,
                            room=f"{floor}{door:02d}",
                            area_m2=area,
                            monthly_fee_fen=fen_from_area(area, rate),
                            language="en" if unit_rng.random() < 0.05 else "zh-CN",
                            owners=_owners(fake, unit_rng, behaviour, unit_id),
                            key_customer=unit_rng.random() < 0.01,
                        )
                    )
                    behaviours[unit_id] = behaviour
                    made += 1
    return _with_history(seed, start, tz, communities, buildings, units, behaviours)


def _staff(communities: list[Community], buildings: list[Building]) -> list[Collector]:
    """Two collectors per community sharing its buildings (odd and even), and a site manager."""
    staff = []
    fake = Faker("zh_CN")
    fake.seed_instance(len(buildings))
    for community in communities:
        ids = [b.building_id for b in buildings if b.community_id == community.community_id]
        for n in (1, 2):
            staff.append(
                Collector(
                    collector_id=f"{community.community_id}-K{n}",
                    name=fake.name(),
                    communities=(community.community_id,),
                    buildings=tuple(ids[n - 1 :: 2]),
                    email=f"{community.community_id.lower()}-k{n}@staff.example.com",  # the morning digest
                )
            )
        staff.append(
            Collector(
                collector_id=f"{community.community_id}-PM",
                name=fake.name(),
                role="site_manager",
                communities=(community.community_id,),
                email=f"{community.community_id.lower()}-pm@staff.example.com",
            )
        )
    return staff


def _with_history(
    seed: int,
    start: date,
    tz: ZoneInfo,
    communities: list[Community],
    buildings: list[Building],
    units: list[Unit],
    behaviours: dict[str, Behaviour],
) -> World:
    """Bills for the months before the start (paid or not, by behaviour) and the start month's bill."""
    bills: list[tuple[Bill, int]] = []
    payments: list[tuple[Payment, ledger.Allocation]] = []
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"billed_fen": 0, "paid_fen": 0, "bills": 0})
    finished: list[Unit] = []
    for unit in units:
        behaviour = behaviours[unit.unit_id]
        rng = stable_rng("history", seed, unit.unit_id)
        # how many of the months just before the start are still unpaid
        unpaid_months = {
            Behaviour.CHRONIC: rng.randint(3, 12),
            Behaviour.LATE: rng.randint(0, 1),
            Behaviour.UNREACHABLE: rng.randint(1, 6),
        }.get(behaviour, 0)
        paid_by_period: dict[str, int] = defaultdict(int)
        unit_bills: list[Bill] = []
        for months_back in range(max(unpaid_months, 1), -1, -1):
            first = month_start(start, months_back)
            period = period_of(first)
            bill = Bill(
                unit_id=unit.unit_id,
                community_id=unit.community_id,
                period=period,
                amount_fen=unit.monthly_fee_fen,
                due=first.replace(day=DUE_DAY),
                issued_at=datetime.combine(first, time(0, 0), tz),
            )
            unit = ledger.with_bill(unit, bill)
            unit_bills.append(bill)
            totals[(unit.community_id, period)]["billed_fen"] += bill.amount_fen
            totals[(unit.community_id, period)]["bills"] += 1
            if months_back > unpaid_months:
                # an older month this owner paid, a few days before it was due
                paid_at = datetime.combine(first + timedelta(days=rng.randint(2, 8)), time(rng.randint(9, 20)), tz)
                payment = Payment(
                    reference=f"HIST-{unit.unit_id}-{period}",
                    unit_id=unit.unit_id,
                    community_id=unit.community_id,
                    amount_fen=bill.amount_fen,
                    paid_at=paid_at,
                    method="bank_transfer",
                )
                allocation = ledger.allocate(unit, payment)
                unit = allocation.unit_after
                payments.append((payment, allocation))
                for paid_period, amount in allocation.by_period.items():
                    paid_by_period[paid_period] += amount
                    totals[(unit.community_id, paid_period)]["paid_fen"] += amount
        bills.extend((bill, paid_by_period[bill.period]) for bill in unit_bills)
        finished.append(unit)
    period_totals = [PeriodTotal(community_id=c, period=p, **v) for (c, p), v in sorted(totals.items())]
    snapshot = ledger.LedgerSnapshot(communities, buildings, finished, bills, payments, period_totals)
    world = World(
        seed=seed,
        start=start,
        tz=tz,
        snapshot=snapshot,
        behaviours=behaviours,
        collectors=_staff(communities, buildings),
    )
    for unit in finished:
        for owner in unit.owners:
            if owner.phone:
                world.by_phone.setdefault(owner.phone, []).append(unit.unit_id)
            if owner.email:
                world.by_email.setdefault(owner.email, []).append(unit.unit_id)
    return world
