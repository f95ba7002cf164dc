"""Money is integer fen (分) everywhere; these helpers convert at the edges only."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def yuan(fen: int, grouping: bool = True) -> str:
    """123456 -> '1,234.56' (or '1234.56' without grouping, for spreadsheets); no currency sign."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}" if grouping else f"{sign}{whole}.{cents:02d}"


def fen_from_yuan(text: str) -> int:
    """'1234.56' (as payment providers write amounts) -> 123456; refused when it is not an amount."""
    try:
        return int((Decimal(text.strip()) * 100).to_integral_value())
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {text!r}") from error


def fen_from_area(area_m2: Decimal, rate_yuan_per_m2: Decimal) -> int:
    """Monthly fee = area x rate, rounded half-up to the fen (the common billing-system rule)."""
    amount = (area_m2 * rate_yuan_per_m2 * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(amount)


def rate(paid_fen: int, billed_fen: int) -> float | None:
    """Collection rate as a fraction rounded to 4 places, or None when nothing was billed."""
    if billed_fen <= 0:
        return None
    return round(paid_fen / billed_fen, 4)
