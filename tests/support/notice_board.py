"""A small community for the notice board's tests: two buildings, households that paid, owe and were refunded."""

from datetime import date, datetime

from propfee.accounts import ledger
from propfee.accounts.ledger import PaidBill
from propfee.domain.models import Building, Community, Owner, Payment, Unit
from tests import support
from tests.support.builders import SHANGHAI

DAY = date(2025, 3, 20)
PERIOD = "2025-03"
GENERATED_AT = datetime(2025, 3, 21, 0, 15, tzinfo=SHANGHAI)
HOTLINE = "400-123-4567"
PAY = {"zh-CN": "物业App或物业服务中心", "en": "the property app or the service office"}
IDENTITY = support.COMPANY.model_copy(update={"hotline": HOTLINE, "pay_instructions": PAY})
SCRIPT = "<script>alert(1)</script>"
LINK = '=HYPERLINK("http://x","y")'
NAMES = ("欧阳娜娜", "Zhang Wei")
PHONE = "+8613812345678"


class Ledger:
    """Bills and payments applied with the ledger's own rules, the paid amount kept on each bill as the table
    keeps it (issue_bill: what credit paid; record_payment: each allocation, a refund's negative)."""

    def __init__(self, units: list[Unit]):
        self.units = {u.unit_id: u for u in units}
        self.bills: dict[str, dict[str, PaidBill]] = {u.unit_id: {} for u in units}
        self.received = 0  # every payment, less every refund

    def bill(self, unit_id: str, period: str, amount_fen: int = 25_000) -> None:
        unit = self.units[unit_id]
        bill = support.bill(unit_id, period, amount_fen)
        after = ledger.with_bill(unit, bill)
        self.bills[unit_id][period] = PaidBill(period, bill.due, amount_fen, unit.credit_fen - after.credit_fen)
        self.units[unit_id] = after

    def pay(self, unit_id: str, amount_fen: int, for_period: str | None = None) -> None:
        unit = self.units[unit_id]
        payment = Payment(
            reference=f"PAY-{unit_id}-{len(self.bills[unit_id])}-{amount_fen}",
            unit_id=unit_id,
            community_id=unit.community_id,
            amount_fen=amount_fen,
            paid_at=GENERATED_AT,
            for_period=for_period,
        )
        if payment.is_refund:
            allocation = ledger.refund(unit, list(self.bills[unit_id].values()), payment)
        else:
            allocation = ledger.allocate(unit, payment, "named_period_first" if for_period else "oldest_first")
        for period, amount in allocation.by_period.items():
            bill = self.bills[unit_id][period]
            self.bills[unit_id][period] = PaidBill(bill.period, bill.due, bill.amount_fen, bill.paid_fen + amount)
        self.units[unit_id] = allocation.unit_after
        self.received += amount_fen

    def entries(self) -> list[tuple[Unit, list[PaidBill]]]:
        return [(unit, list(self.bills[unit_id].values())) for unit_id, unit in self.units.items()]


def household(unit_id: str, room: str, name: str = NAMES[0]) -> Unit:
    return support.unit(unit_id, room=room, owners=(Owner(name=name, phone=PHONE, email="owner@example.net"),))


def community(name: str = "锦绣花园") -> Community:
    return Community(community_id="C01", name=name)


def buildings(b01: str = "1栋", b02: str = "2栋") -> list[Building]:
    return [
        Building(community_id="C01", building_id="C01-B01", name=b01, floors=18),
        Building(community_id="C01", building_id="C01-B02", name=b02, floors=6),
    ]


ROOMS = ("1502", "1603", "1704", "1805", "1906", "0703", "0804", "0905")


def scenario() -> Ledger:
    """B01: three of four billed households owe for March (a partial payment, a refund, a back bill paid first);
    one household has no bill. B02: one of three owes for March, one owes for February."""
    b01 = [household(f"C01-B01-{room}", room, NAMES[i % 2]) for i, room in enumerate(ROOMS[:5])]
    b02 = [household(f"C01-B02-{room}", room) for room in ROOMS[5:]]
    book = Ledger([*b01, *b02])
    u1, u2, u3, u4, _vacant = (u.unit_id for u in b01)
    book.bill(u1, "2025-02")
    book.bill(u1, PERIOD)
    book.pay(u1, 50_000)  # both months
    book.bill(u2, PERIOD)
    book.pay(u2, 10_000)  # partial
    book.bill(u3, PERIOD)
    book.pay(u3, 25_000)
    book.pay(u3, -5_000)  # refunded: March is open again for 50 yuan
    book.bill(u4, "2025-02")
    book.bill(u4, PERIOD)
    book.pay(u4, 30_000)  # oldest first: February in full, 50 yuan of March
    v1, v2, v3 = (u.unit_id for u in b02)
    book.bill(v1, "2025-02")
    book.bill(v1, PERIOD)
    book.pay(v1, 25_000)  # February
    book.bill(v2, PERIOD)
    book.pay(v2, 30_000)  # March, and 50 yuan of credit
    book.bill(v3, "2025-02")
    book.bill(v3, PERIOD)
    book.pay(v3, 25_000, for_period=PERIOD)  # the month the payer named: February stays open
    return book
