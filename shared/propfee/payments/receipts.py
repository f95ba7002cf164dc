"""E-receipts (电子收据) for online payments: the facts, a number derived from the provider's transaction, the PDF
with its verification QR, written once to S3, and the verification page's token."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from propfee.collection.addressing import place
from propfee.collection.cjk_pdf import cjk_document
from propfee.collection.letter_qr import QUIET_ZONE, qr_modules
from propfee.collection.letters import long_date, period_name, wrap
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Building, Community, Unit
from propfee.domain.money import yuan
from propfee.payments.bill_page import mask_name
from propfee.payments.links import RECEIPT_PATH, new_token
from propfee.payments.orders import PaymentOrder
from propfee.payments.ports import PaymentNotice, ProviderName

PROVIDER_NAMES = {
    "zh-CN": {ProviderName.WECHAT_PAY: "微信支付", ProviderName.ALIPAY: "支付宝"},
    "en": {ProviderName.WECHAT_PAY: "WeChat Pay", ProviderName.ALIPAY: "Alipay"},
}
TEXTS = {
    "zh-CN": {
        "title": "电子收据",
        "number": "收据编号",
        "payer": "缴费人",
        "unit": "房屋",
        "period": "账期",
        "amount": "金额（元）",
        "total": "合计",
        "method": "支付方式",
        "transaction": "交易单号",
        "paid_at": "缴费时间",
        "qr": "扫码核验本收据",
        "note": "本收据为物业费缴费凭证，不作为发票。",
    },
    "en": {
        "title": "E-receipt",
        "number": "Receipt no.",
        "payer": "Payer",
        "unit": "Unit",
        "period": "Period",
        "amount": "Amount (CNY)",
        "total": "Total",
        "method": "Paid with",
        "transaction": "Transaction",
        "paid_at": "Paid at",
        "qr": "Scan to verify this receipt",
        "note": "A receipt for property fees paid; not a tax invoice (fapiao).",
    },
}


class ReceiptLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: str  # yyyy-mm, or "credit" for money beyond the open bills
    amount_fen: int = Field(gt=0)


class Receipt(BaseModel):
    """What an e-receipt states, kept as it was issued: its PDF and its verification page are made from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    token: str  # the verification page's opaque token (/r/<token>); no name, unit or amount in it
    language: str
    unit_id: str
    community_id: str
    company: str
    address: str  # collection.addressing.place
    owner_masked: str  # as on the bill page
    lines: tuple[ReceiptLine, ...]
    provider: ProviderName
    transaction_id: str
    out_trade_no: str
    paid_at: AwareDatetime  # local time (the company's zone)
    issued_at: AwareDatetime

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def key(self) -> str:
        return receipt_key(self.number, self.paid_at)


def receipt_number(provider: ProviderName, transaction_id: str, paid_local: datetime) -> str:
    """'R20261203-7KQ2M4XD9A': the local paying day and 50 bits of SHA-256 over provider and transaction. Derived,
    not counted: a retried notification (or a crash half-way) gives the same number without a company-wide
    counter item that every payment would contend for and a crash would leave a gap in."""
    digest = hashlib.sha256(f"{provider.value}|{transaction_id}".encode()).digest()
    code = base64.b32encode(digest).decode()[:10]
    return f"R{paid_local:%Y%m%d}-{code}"


def receipt_key(number: str, paid_local: datetime) -> str:
    """receipts/<yyyy-mm>/<number>.pdf: ASCII letters, digits, '-', '/' and '.' only (S3's safe characters), and
    nothing personal."""
    return f"receipts/{paid_local:%Y-%m}/{number}.pdf"


def compose_receipt(
    order: PaymentOrder,
    notice: PaymentNotice,
    unit: Unit,
    community: Community | None,
    building: Building | None,
    identity: CompanyIdentity,
    by_period: dict[str, int],
    now: datetime,
    tz: ZoneInfo,
) -> Receipt:
    """The receipt of an applied payment: the periods and amounts the ledger settled (`by_period`; what went
    beyond the open bills as credit), or the order's total when the split is unknown."""
    language = unit.language if unit.language in TEXTS else "zh-CN"
    paid_local = (notice.paid_at or now).astimezone(tz)
    lines = [ReceiptLine(period=p, amount_fen=a) for p, a in sorted(by_period.items()) if a > 0]
    rest = notice.amount_fen - sum(line.amount_fen for line in lines)
    if rest > 0:
        lines.append(ReceiptLine(period="credit" if lines else ",".join(order.periods), amount_fen=rest))
    owners = [o for o in unit.owners if o.relation in ("owner", "co_owner") and o.name.strip()]
    return Receipt(
        number=receipt_number(notice.provider, notice.transaction_id, paid_local),
        token=new_token(),
        language=language,
        unit_id=unit.unit_id,
        community_id=unit.community_id,
        company=identity.name if language == "zh-CN" else identity.name_en,
        address=place(
            community.name if community else unit.community_id,
            building.name if building else None,
            unit.room,
            unit.unit_id,
            language,
        ),
        owner_masked=mask_name(owners[0].name) if owners else "",
        lines=tuple(lines),
        provider=notice.provider,
        transaction_id=notice.transaction_id,
        out_trade_no=order.out_trade_no,
        paid_at=paid_local,
        issued_at=now.astimezone(tz),
    )


def line_label(line: ReceiptLine, language: str) -> str:
    if line.period == "credit":
        return "预存" if language == "zh-CN" else "Credit"
    if "," in line.period:
        return ", ".join(period_name(p, language) for p in line.period.split(","))
    return period_name(line.period, language)


def paid_at_text(receipt: Receipt) -> str:
    local = receipt.paid_at
    return f"{long_date(local.date(), receipt.language)} {local:%H:%M:%S}"


def _draw_qr(pdf: object, url: str, caption: str, size: float = 30) -> None:
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    modules = qr_modules(url)
    step = size / (len(modules) + 2 * QUIET_ZONE)
    left, top = pdf.w - pdf.r_margin - size, pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(modules):
        for column, dark in enumerate(cells):
            if dark:
                pdf.rect(left + (column + QUIET_ZONE) * step, top + (row + QUIET_ZONE) * step, step, step, style="F")
    pdf.set_font("letter", size=8)
    pdf.set_xy(left - 20, top + size)
    pdf.cell(size + 20, 5, caption, align="R", new_x="LMARGIN", new_y="NEXT")


def receipt_pdf(receipt: Receipt, font: Path, verify_url: str) -> bytes:
    """The receipt on A4: company, number, payer and unit, the periods and amounts, provider, transaction, paid-at,
    and the QR of its verification page. Dated when issued: the same receipt gives the same bytes."""
    texts = TEXTS[receipt.language]
    method = PROVIDER_NAMES[receipt.language][receipt.provider]
    lines = [line_label(line, receipt.language) for line in receipt.lines]
    every = [*texts.values(), receipt.company, receipt.address, receipt.owner_masked, method, *lines]
    body = "\n".join([*every, paid_at_text(receipt), "：（）"])
    title = f"{texts['title']} {receipt.number}"
    pdf = cjk_document(title, font, receipt.issued_at, body, margin=14, only_text=True)
    pdf.add_page()
    pdf.set_font("letter", size=13)
    pdf.cell(0, 8, receipt.company, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("letter", size=16)
    pdf.cell(0, 9, texts["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("letter", size=9)
    pdf.cell(0, 6, f"{texts['number']}: {receipt.number}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("letter", size=10)
    rows = [(texts["payer"], receipt.owner_masked or "-"), (texts["unit"], receipt.address)]
    for label, value in rows:
        for number, text in enumerate(wrap(f"{label}: {value}", pdf.epw, pdf.get_string_width)):
            pdf.cell(0, 6, text if number == 0 else f"  {text}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = (pdf.epw * 0.6, pdf.epw * 0.4)
    pdf.set_fill_color(235, 235, 235)
    pdf.cell(widths[0], 7, texts["period"], border=1, align="C", fill=True)
    pdf.cell(widths[1], 7, texts["amount"], border=1, align="C", fill=True)
    pdf.ln(7)
    for line in receipt.lines:
        pdf.cell(widths[0], 6.5, line_label(line, receipt.language), border=1, align="C")
        pdf.cell(widths[1], 6.5, yuan(line.amount_fen), border=1, align="R")
        pdf.ln(6.5)
    pdf.cell(widths[0], 7, texts["total"], border=1, align="C")
    pdf.cell(widths[1], 7, yuan(receipt.total_fen), border=1, align="R")
    pdf.ln(10)
    for label, value in (
        (texts["method"], method),
        (texts["transaction"], receipt.transaction_id),
        (texts["paid_at"], paid_at_text(receipt)),
    ):
        pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _draw_qr(pdf, verify_url, texts["qr"])
    pdf.set_font("letter", size=8)
    pdf.cell(0, 5, texts["note"], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class ReceiptStore(Protocol):
    def claim_receipt(self, receipt: Receipt) -> Receipt:
        """Keep the receipt, keyed by its provider's transaction, unless one is kept: returns the kept one (a
        retried notification gets the first receipt, its number and token). Also marks the payment's ledger item
        with its token, so the bill page's history links it."""
        ...

    def receipt_by_token(self, token: str) -> Receipt | None: ...


class ReceiptFiles(Protocol):
    def put_once(self, key: str, body: bytes, content_type: str) -> bool:
        """Write unless the key exists (False then: written before, left as it is)."""
        ...


def verify_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{RECEIPT_PATH}{token}"


def write_receipt(
    store: ReceiptStore, files: ReceiptFiles, font: Path, base_url: str, receipt: Receipt
) -> tuple[Receipt, bool]:
    """The receipt kept (the first one of its transaction) and its PDF written once; True when written now."""
    kept = store.claim_receipt(receipt)
    body = receipt_pdf(kept, font, verify_url(base_url, kept.token))
    return kept, files.put_once(kept.key, body, "application/pdf")


class PdfFiles(ReceiptFiles, Protocol):
    def exists(self, key: str) -> bool: ...


def pdf_on_first_download(files: PdfFiles, receipt: Receipt, font: Path | None, verify_url: str) -> bool:
    """The receipt's PDF in S3, made on its first download from the facts kept with the payment (the same facts
    give the same bytes, dated when issued) and written once (If-None-Match); True when written now."""
    from propfee.collection.cjk_pdf import find_font

    if files.exists(receipt.key):
        return False
    return files.put_once(receipt.key, receipt_pdf(receipt, find_font(font), verify_url), "application/pdf")


class InMemoryReceipts:
    """ReceiptStore and ReceiptFiles in memory (tests, the simulation)."""

    def __init__(self) -> None:
        self.by_transaction: dict[str, Receipt] = {}
        self.files: dict[str, bytes] = {}
        self.writes = 0

    def claim_receipt(self, receipt: Receipt) -> Receipt:
        return self.by_transaction.setdefault(f"{receipt.provider.value}#{receipt.transaction_id}", receipt)

    def receipt_by_token(self, token: str) -> Receipt | None:
        return next((r for r in self.by_transaction.values() if r.token == token), None)

    def exists(self, key: str) -> bool:
        return key in self.files

    def put_once(self, key: str, body: bytes, content_type: str) -> bool:
        if key in self.files:
            return False
        self.writes += 1
        self.files[key] = body
        return True
