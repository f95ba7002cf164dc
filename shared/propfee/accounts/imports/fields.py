"""Pure converters for one cell of an imported ledger or payment file.

Cells arrive as text (CSV) or as typed values (XLSX: int, float, datetime). Each converter raises FieldError with a
short reason that never repeats the cell: a shifted column can put a phone number or a name anywhere. Money goes
from text to integer fen by integer arithmetic on the digits, never through float.

Dates are read year first only (Chinese exports write Y-M-D); "11/03/2026" is refused because day and month
cannot be told apart. Serial numbers are Excel's 1900 date system.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from propfee.domain.models import E164

MIN_YEAR, MAX_YEAR = 1990, 2099  # outside this a "date" is a mistyped or misread cell, not a billing date
MAX_INTEGER_DIGITS = 13  # < 10 trillion yuan: more digits means a wrong column (an ID number, a phone number)
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 61 = 1900-03-01; Excel's fictitious 1900-02-29 is out of range anyway
_D = TypeVar("_D", bound=date)
BLANKS = frozenset({"", "-", "--", "/", "无", "暂无", "空", "n/a", "na", "null", "none"})


class FieldError(ValueError):
    """A cell that cannot be converted; the message says why without repeating the value."""


def clean(value: object) -> str:
    """A cell as text: full-width forms folded (１２３４．５ -> 1234.5, ￥ -> ¥), surrounding spaces removed."""
    if value is None:
        return ""
    if isinstance(value, float):
        # an XLSX number cell as the decimal the user saw: spreadsheets keep 15 significant digits
        return format(Decimal(format(value, ".15g")), "f") if math.isfinite(value) else str(value)
    text = unicodedata.normalize("NFKC", str(value)).replace("\u2212", "-")  # NFKC keeps the math minus sign
    return text.strip()


def is_blank(value: object) -> bool:
    """Empty, or a placeholder that billing systems write for "nothing" (无, -, N/A)."""
    return clean(value).casefold() in BLANKS


# ---------------------------------------------------------------------------------------------------------- money

_NUMBER = r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
_AMOUNT = re.compile(
    rf"(?P<open>\()?(?P<s1>[-+])?(?:¥|rmb|cny)?(?P<s2>[-+])?{_NUMBER}(?:元|rmb|cny)?(?P<close>\))?", re.IGNORECASE
)
_COMMA_DECIMAL = re.compile(r"\d+,\d{1,2}")


def parse_amount_fen(value: object) -> int:
    """'1,234.50元', '¥1234.5', '１２３４．５０', '-50.00' (refund), '(50.00)' -> integer fen, exactly."""
    if isinstance(value, bool):
        raise FieldError("not an amount")
    text = re.sub(r"\s+", "", clean(value))
    if not text:
        raise FieldError("missing")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        if _COMMA_DECIMAL.fullmatch(text):
            raise FieldError("not an amount (a comma as the decimal point?)")
        raise FieldError("not an amount")
    if bool(match["open"]) != bool(match["close"]) or (match["s1"] and match["s2"]):
        raise FieldError("not an amount")
    if match["open"] and (match["s1"] or match["s2"]):
        raise FieldError("not an amount (a sign inside brackets)")
    negative = bool(match["open"]) or "-" in (match["s1"] or "", match["s2"] or "")
    fen = _fen(match["int"].replace(",", ""), match["frac"] or "")
    return -fen if negative else fen


def _fen(whole: str, frac: str) -> int:
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise FieldError("amount too large")
    if frac[2:].strip("0"):
        raise FieldError("more than 2 decimal places")
    return int(whole) * 100 + int((frac + "00")[:2])


def _decimal(text: str, what: str, max_places: int) -> Decimal:
    """A plain non-negative decimal ('89.5', '1,089.50') with at most `max_places` decimals."""
    match = re.fullmatch(_NUMBER, text)
    if match is None:
        raise FieldError(f"not {what}")
    whole, frac = match["int"].replace(",", ""), (match["frac"] or "").rstrip("0")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise FieldError(f"{what} too large")
    if len(frac) > max_places:
        raise FieldError(f"more than {max_places} decimal places")
    return Decimal(f"{whole}.{frac}" if frac else whole)


_AREA_UNIT = re.compile(r"(?:m2|平方米|平米|平方|平)$", re.IGNORECASE)  # NFKC has turned ㎡ and m² into m2


def parse_area(value: object) -> Decimal:
    """'89.5', '89.5㎡', '89.5平米' -> Decimal('89.5') square metres, positive, at most 4 decimals."""
    text = _AREA_UNIT.sub("", re.sub(r"\s+", "", clean(value)))
    if not text:
        raise FieldError("missing")
    area = _decimal(text, "an area", 4)
    if area <= 0:
        raise FieldError("area must be positive")
    return area


_RATE = re.compile(r"¥?(?P<number>[\d,.]+)(?:元)?(?:(?:/|每)(?:m2|平方米|平米|平方))?(?:(?:/|·|每)?月)?", re.IGNORECASE)


def parse_rate_fen(value: object) -> Decimal:
    """A monthly rate in yuan per m² ('2.5', '2.50元/㎡', '1.85元/平米/月') -> fen per m², fractional fen kept."""
    text = re.sub(r"\s+", "", clean(value))
    if not text:
        raise FieldError("missing")
    match = _RATE.fullmatch(text)
    if match is None:
        raise FieldError("not a rate")
    return (_decimal(match["number"], "a rate", 4) * 100).quantize(Decimal("0.01"))


# ----------------------------------------------------------------------------------------------- dates and times

_YMD = re.compile(
    r"(?P<y>\d{4})(?:年|(?P<sep>[-/.]))(?P<m>\d{1,2})(?:月|(?P=sep))(?P<d>\d{1,2})[日号]?"
    r"|(?P<y8>\d{4})(?P<m8>\d{2})(?P<d8>\d{2})"
)
_TIME = re.compile(
    r"T?(?P<h>\d{1,2})[:时点](?P<min>\d{1,2})(?:[:分](?P<s>\d{1,2})(?:\.(?P<us>\d{1,6})\d*)?秒?|分)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_YEAR_LAST = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
_SERIAL = re.compile(r"\d{1,5}(?:\.\d+)?")


def parse_date(value: object, tz: ZoneInfo) -> date:
    """A calendar date: '2026年11月3日', '2026-11-03', '2026/11/3', '2026.11.03', '20261103', Excel serial 46329,
    a datetime from the spreadsheet (an aware one is taken in `tz`). A time after the date is allowed and dropped."""
    if isinstance(value, datetime):
        return _in_range(value.astimezone(tz) if value.tzinfo else value).date()
    if isinstance(value, date):
        return _in_range(value)
    return parse_datetime(value, tz).date()


def parse_datetime(value: object, tz: ZoneInfo) -> datetime:
    """Like parse_date with an optional time ('2026-11-03 14:05:09', '2026年11月3日 14时05分', ISO with an offset,
    serial 46329.5). The result is aware: naive values are wall-clock time in `tz`, a date alone is local midnight."""
    if isinstance(value, bool):
        raise FieldError("not a date")
    if isinstance(value, datetime):
        return _in_range(value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz))
    if isinstance(value, date):
        return _in_range(datetime.combine(value, time(), tz))
    if isinstance(value, time):
        raise FieldError("a time without a date")
    text = re.sub(r"\s+", " ", clean(value))
    if not text:
        raise FieldError("missing")
    if _SERIAL.fullmatch(text):  # 46329 or "46329.5"; eight digits are YYYYMMDD below
        return _in_range(_from_serial(Decimal(text)).replace(tzinfo=tz))
    match = _YMD.match(text)
    if match is None:
        if _YEAR_LAST.match(text):
            raise FieldError("year last: day and month order is ambiguous, write YYYY-MM-DD")
        raise FieldError("not a date")
    day = _date(int(match["y"] or match["y8"]), int(match["m"] or match["m8"]), int(match["d"] or match["d8"]))
    rest = text[match.end() :].strip()
    if not rest:
        return _in_range(datetime.combine(day, time(), tz))
    clock = _TIME.fullmatch(rest)
    if clock is None:
        raise FieldError("not a date and time")
    try:
        moment = datetime.combine(
            day, time(int(clock["h"]), int(clock["min"]), int(clock["s"] or 0), int((clock["us"] or "0").ljust(6, "0")))
        )
    except ValueError as error:
        raise FieldError("no such time") from error
    zone = _offset(clock["tz"]) if clock["tz"] else tz
    return _in_range(moment.replace(tzinfo=zone).astimezone(tz))


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as error:
        raise FieldError("no such date") from error


def _offset(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-delta if text[0] == "-" else delta)


def _from_serial(serial: Decimal) -> datetime:
    if serial < 0:
        raise FieldError("not a date")
    days = int(serial)
    # Excel stores times as fractions of a day; round to the second to undo binary noise
    seconds = int(((serial - days) * 86400).to_integral_value())
    return EXCEL_EPOCH + timedelta(days=days, seconds=seconds)


def _in_range(moment: _D) -> _D:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise FieldError(f"date outside {MIN_YEAR}-{MAX_YEAR}")
    return moment


_PERIOD = re.compile(r"(?P<y>\d{4})(?:年|[-/.])?(?P<m>\d{1,2})(?:月份?)?")


def parse_period(value: object) -> str:
    """A billing month: '2026年11月', '2026-11', '202611', '2026.11', a date in that month -> '2026-11'."""
    if isinstance(value, datetime | date):
        return f"{_in_range(value).year:04d}-{value.month:02d}"
    if isinstance(value, float) and not value.is_integer():
        # Excel turned '2026.10' into the number 2026.1: October or January can no longer be told
        raise FieldError("a month stored as a number (2026.1 or 2026.10?), format the column as text")
    text = re.sub(r"\s+", "", clean(value))
    if not text:
        raise FieldError("missing")
    match = _PERIOD.fullmatch(text)
    if match is None:
        try:
            day = parse_date(text, ZoneInfo("UTC"))  # a full date: its month; text carries no zone to convert
        except FieldError:
            raise FieldError("not a billing month (YYYY-MM)") from None
        return f"{day.year:04d}-{day.month:02d}"
    year, month = int(match["y"]), int(match["m"])
    if not 1 <= month <= 12:
        raise FieldError("no such month")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FieldError(f"year outside {MIN_YEAR}-{MAX_YEAR}")
    return f"{year:04d}-{month:02d}"


# ----------------------------------------------------------------------------------------------- people and places

_E164 = TypeAdapter(E164)
_PHONE_SEPARATORS = re.compile(r"[/,;、|]")


def parse_phone(value: object) -> str:
    """One phone number -> E.164 ('138 1234 5678', '+86 138-1234-5678', '021-62345678'), as the models check it."""
    text = _integral(value)
    if not text:
        raise FieldError("missing")
    try:
        return _E164.validate_python(text)
    except ValidationError:
        raise FieldError("not a valid phone number") from None  # never the number itself


def parse_phones(value: object) -> tuple[str, ...]:
    """A contact cell often holds several numbers ('13812345678/13912345678'); blank -> ()."""
    if is_blank(value):
        return ()
    numbers = [parse_phone(part) for part in _PHONE_SEPARATORS.split(_integral(value)) if not is_blank(part)]
    return tuple(dict.fromkeys(numbers))


def parse_label(value: object) -> str:
    """A building, unit or room as written ('3栋', '1单元', 1502 from a number cell); inner spaces removed."""
    text = re.sub(r"\s+", "", _integral(value))
    if not text or text.casefold() in BLANKS:
        raise FieldError("missing")
    return text


def parse_room(value: object) -> str:
    """'1502', '1502室' -> '1502'."""
    return parse_label(value).removesuffix("室")


_ROOM_PARTS = re.compile(
    r"(?P<b>\w+?(?:号楼|栋|幢|座))(?P<u>\w+?单元)?(?P<r>\w+?)室?"  # 3栋1单元1502, 3号楼1502室
    r"|(?P<hb>\w+)-(?:(?P<hu>\w+)-)?(?P<hr>\w+)"  # 3-1-1502, 3-1502
)


def split_room(value: object) -> tuple[str, str | None, str] | None:
    """A room cell that also names the building (and unit): '3栋1单元1502' -> ('3栋', '1单元', '1502'); else None."""
    match = _ROOM_PARTS.fullmatch(parse_label(value))
    if match is None:
        return None
    if match["b"]:
        return match["b"], match["u"], match["r"]
    return match["hb"], match["hu"], match["hr"]


_EXCEL_LOST_DIGITS = re.compile(r"\d(?:\.\d+)?E\+\d+", re.IGNORECASE)


def parse_reference(value: object) -> str:
    """A payment's serial number as text. Long numbers that Excel stored as numbers have lost digits: refused."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 1e15:
        raise FieldError("a long number stored as a number: digits are lost, format the column as text")
    text = _integral(value)
    if not text or text.casefold() in BLANKS:
        raise FieldError("missing")
    if _EXCEL_LOST_DIGITS.fullmatch(text):
        raise FieldError("in scientific notation (1.23E+15): digits are lost, format the column as text")
    if len(text) > 128:
        raise FieldError("longer than 128 characters")
    return text


def parse_text(value: object) -> str | None:
    """A free-text cell (a name, a payment method): inner whitespace collapsed; blank -> None."""
    text = re.sub(r"\s+", " ", _integral(value))
    return None if text.casefold() in BLANKS else text


METHODS = {
    "微信": "wechat",
    "微信支付": "wechat",
    "wechat": "wechat",
    "支付宝": "alipay",
    "alipay": "alipay",
    "现金": "cash",
    "cash": "cash",
    "银行转账": "bank_transfer",
    "转账": "bank_transfer",
    "对公转账": "bank_transfer",
    "bank transfer": "bank_transfer",
    "刷卡": "card",
    "pos": "card",
    "银行卡": "card",
    "card": "card",
}


def parse_method(value: object) -> str | None:
    """'微信' -> 'wechat'; an unknown method is kept as written; blank -> None."""
    text = parse_text(value)
    return None if text is None else METHODS.get(text.casefold(), text)


def _integral(value: object) -> str:
    """Text for identifiers: a number cell 1502.0 reads '1502', not '1502.0'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return clean(value)
