"""Promo codes and hour extensions at Buy Hours (issue 17): the one home of their rules.

- Promo codes are PrepBase's own, not Stripe coupons: the Checkout line item is the
  discounted total, so the fake Stripe and the real one see the same thing and the use
  limits are counted in one place (our purchases).
- A use is a purchase with the code that is pending or paid (cancelled and failed ones
  give the use back). Limits are checked under a lock on the code's row (SELECT … FOR
  UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers), so two families
  buying at once cannot both take the last use.
- Money is in minor units. A percentage is rounded half up to the minor unit; the total
  never goes below 0, and a code that would make the package free is refused (Stripe
  Checkout needs an amount above 0; free hours are assigned by the business by hand).
- Extensions: whole extra hours within the offering's bounds, One-Time offerings only
  (a subscription's renewals grant the offering's hours). The package gets the
  offering's hours plus the extra in its one ledger grant.

Functions flush and never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase.errors import DomainError
from prepbase.models import (
    Offering,
    PackageType,
    PromoCode,
    PromoKind,
    Purchase,
    PurchaseStatus,
    Student,
    Tenant,
)
from prepbase.money import format_money, parse_price
from prepbase.numbers import typed_decimal

MAX_CODE_LENGTH = 40
MAX_EXTENSION_HOURS = 200
MAX_LIMIT = 1_000_000
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
# An offering's extension terms: (allows, fewest hours, most hours, price per hour).
Extension = tuple[bool, int, int, int]
# Uses that count against a limit: the purchase may still be (or was) paid.
COUNTING = (PurchaseStatus.PENDING, PurchaseStatus.PAID)


@dataclass(frozen=True)
class Quote:
    """What a family pays for an offering with extra hours and a code, in minor units."""

    price_minor: int  # the offering's price
    extension_minor: int  # extra hours × the offering's hourly extension price
    discount_minor: int
    total_minor: int
    extra_minutes: int
    currency: str
    promo: PromoCode | None

    @property
    def subtotal_minor(self) -> int:
        return self.price_minor + self.extension_minor


def code_key(text: str | None, *, field: str = "promo_code") -> str:
    """The code as compared: trimmed and upper-cased; a clear refusal for what no code
    can be (too long, spaces, symbols, control characters)."""
    raw = unicodedata.normalize("NFKC", text or "").strip().upper()
    if len(raw) > MAX_CODE_LENGTH:
        raise DomainError(f"A promo code has at most {MAX_CODE_LENGTH} characters.", field=field)
    if raw and not _CODE.fullmatch(raw):
        raise DomainError("A promo code has only letters, digits, - and _.", field=field)
    return raw


def extra_minutes(offering: Offering, text: str | None, *, field: str = "extra_hours") -> int:
    """The extra hours typed at Buy Hours, in minutes; 0 when left empty."""
    raw = (text or "").strip()
    if not raw or raw == "0":
        return 0
    if not allows_extensions(offering):
        raise DomainError(f"{offering.name} cannot be extended with extra hours.", field=field)
    number = typed_decimal(raw, separators=".")
    if number is None or number != number.to_integral_value():
        raise DomainError("Enter the extra hours as a whole number, for example 2.", field=field)
    hours = int(number)
    low, high = offering.extension_min_hours, offering.extension_max_hours
    if hours != 0 and not low <= hours <= high:
        raise DomainError(
            f"Add between {low} and {high} extra hours to {offering.name}.", field=field
        )
    return hours * 60


def allows_extensions(offering: Offering) -> bool:
    """Families may add extra hours: allowed, bounded, priced, and One-Time."""
    return bool(
        offering.allows_extensions
        and offering.package_type == PackageType.ONE_TIME
        and offering.extension_max_hours > 0
        and offering.extension_price_minor > 0
    )


def _uses(session: Session, promo: PromoCode, family_id: int | None = None) -> int:
    query = select(func.count(Purchase.id)).where(
        Purchase.promo_code_id == promo.id, Purchase.status.in_(COUNTING)
    )
    if family_id is not None:
        query = query.join(Student, Student.id == Purchase.student_id).where(
            Student.family_id == family_id
        )
    return session.scalar(query) or 0


def find_code(
    session: Session,
    text: str | None,
    *,
    student: Student,
    offering: Offering,
    day: date,
    lock: bool = False,
    check_limits: bool = True,
) -> PromoCode | None:
    """The business's code `text` if `student`'s family may use it on `offering` on
    `day` (the business's day); None for no code; DomainError saying why not.

    `lock=True` (when buying) locks the code's row first, so the limits counted below
    hold until the purchase is committed. `check_limits=False` only for finding the
    family's own still-open purchase (which is one of the uses).
    """
    key = code_key(text)
    if not key:
        return None
    query = select(PromoCode).where(PromoCode.code_key == key)
    if lock:
        query = query.with_for_update()
    promo = session.scalar(query)
    refuse = _refusal(
        session, promo, key, student=student, offering=offering, day=day, limits=check_limits
    )
    if refuse:
        raise DomainError(refuse, field="promo_code")
    return promo


def _refusal(
    session: Session,
    promo: PromoCode | None,
    key: str,
    *,
    student: Student,
    offering: Offering,
    day: date,
    limits: bool,
) -> str | None:
    if promo is None or not promo.active:
        return f"{key} is not a promo code here. Check the spelling."
    if promo.valid_to is not None and day > promo.valid_to:
        return f"{promo.code} expired on {promo.valid_to.isoformat()}."
    if promo.valid_from is not None and day < promo.valid_from:
        return f"{promo.code} can be used from {promo.valid_from.isoformat()}."
    if not promo.all_offerings and offering.id not in {o.id for o in promo.offerings}:
        return f"{promo.code} cannot be used on {offering.name}."
    if offering.package_type != PackageType.ONE_TIME:
        return f"{promo.code} cannot be used on a recurring package."
    if not limits:
        return None
    if promo.max_uses is not None and _uses(session, promo) >= promo.max_uses:
        return f"{promo.code} has been used up."
    if (
        promo.max_uses_per_family is not None
        and _uses(session, promo, student.family_id) >= promo.max_uses_per_family
    ):
        return f"Your family has already used {promo.code}."
    return None


def discount(promo: PromoCode | None, subtotal_minor: int) -> int:
    """The discount on `subtotal_minor`: a percentage rounded half up to the minor unit,
    or a fixed amount; never more than the subtotal."""
    if promo is None or subtotal_minor <= 0:
        return 0
    if promo.kind == PromoKind.PERCENT:
        off = int(
            (Decimal(subtotal_minor) * Decimal(promo.value) / 100).quantize(
                Decimal(1), ROUND_HALF_UP
            )
        )
    else:
        off = promo.value
    return max(0, min(off, subtotal_minor))


def quote(offering: Offering, extra: int, promo: PromoCode | None) -> Quote:
    """The total for `offering` with `extra` minutes (whole hours) and `promo`."""
    extension = (extra // 60) * offering.extension_price_minor
    subtotal = offering.price_minor + extension
    off = discount(promo, subtotal)
    return Quote(
        price_minor=offering.price_minor,
        extension_minor=extension,
        discount_minor=off,
        total_minor=subtotal - off,
        extra_minutes=extra,
        currency=offering.currency,
        promo=promo,
    )


def price_purchase(
    session: Session,
    tenant: Tenant,
    student: Student,
    offering: Offering,
    *,
    code: str | None,
    extra_hours: str | None,
    day: date,
    lock: bool = False,
    check_limits: bool = True,
) -> Quote:
    """Buy Hours' price: the extra hours and the code checked, the total computed.
    Refuses a total of 0 (Stripe Checkout cannot take it)."""
    extra = extra_minutes(offering, extra_hours)
    promo = find_code(
        session,
        code,
        student=student,
        offering=offering,
        day=day,
        lock=lock,
        check_limits=check_limits,
    )
    result = quote(offering, extra, promo)
    if result.total_minor <= 0:
        raise DomainError(
            f"{promo.code if promo else 'This code'} covers the whole price; online "
            f"payment needs an amount to charge. Ask {tenant.name} to assign the package.",
            field="promo_code",
        )
    return result


def describe(result: Quote, locale: str | None = None) -> str:
    """One line for the page: "Total: $180.00 (10% off with SPRING)"."""
    text = f"Total: {format_money(result.total_minor, result.currency, locale)}"
    if result.promo is not None:
        text += (
            f" ({format_money(result.discount_minor, result.currency, locale)} off "
            f"with {result.promo.code})"
        )
    return text


# --- the admin's codes ------------------------------------------------------------------


def save_code(
    session: Session,
    promo: PromoCode | None,
    *,
    code: str,
    kind: str,
    value: int,
    offerings: list[Offering] | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    max_uses: int | None = None,
    max_uses_per_family: int | None = None,
    active: bool = True,
) -> PromoCode:
    """Create (`promo` None) or edit a promo code. `offerings` None or empty: all of them.
    `value` is whole percent (1-100) or minor units; DomainError names the field."""
    key = code_key(code, field="code")
    if not key:
        raise DomainError("Give the promo code.", field="code")
    if kind not in {k.value for k in PromoKind}:
        raise DomainError("Choose percentage or fixed amount.", field="kind")
    if value <= 0 or (kind == PromoKind.PERCENT and value > 100) or value > 10**11:
        raise DomainError(
            "A percentage is between 1 and 100."
            if kind == PromoKind.PERCENT
            else "A fixed amount is above 0.",
            field="value",
        )
    if valid_from and valid_to and valid_to < valid_from:
        raise DomainError("Valid to is before valid from.", field="valid_to")
    for limit, name in ((max_uses, "max_uses"), (max_uses_per_family, "max_uses_per_family")):
        if limit is not None and limit < 1:
            raise DomainError("A limit is at least 1 (leave it empty for none).", field=name)
    taken = session.scalar(
        select(PromoCode.id).where(
            PromoCode.code_key == key, PromoCode.id != (promo.id if promo else -1)
        )
    )
    if taken is not None:
        raise DomainError(f"{key} is already a promo code here.", field="code")
    if promo is None:
        promo = PromoCode()
        session.add(promo)
    promo.code = code.strip()
    promo.code_key = key
    promo.kind = kind
    promo.value = value
    promo.all_offerings = not offerings
    promo.offerings = list(offerings or [])
    promo.valid_from = valid_from
    promo.valid_to = valid_to
    promo.max_uses = max_uses
    promo.max_uses_per_family = max_uses_per_family
    promo.active = active
    session.flush()
    return promo


def check_extension(
    package_type: str, allows: bool, min_hours: int, max_hours: int, price_minor: int
) -> None:
    """An offering's hour-extension terms (Offerings form): One-Time only, whole hours
    with 0 ≤ min ≤ max ≤ MAX_EXTENSION_HOURS, max ≥ 1, and an hourly price."""
    if not allows:
        return
    if package_type != PackageType.ONE_TIME:
        raise DomainError(
            "Only One-Time packages can be extended with extra hours.", field="allows_extensions"
        )
    if not 1 <= max_hours <= MAX_EXTENSION_HOURS:
        raise DomainError(
            f"The most extra hours is between 1 and {MAX_EXTENSION_HOURS}.",
            field="extension_max_hours",
        )
    if not 0 <= min_hours <= max_hours:
        raise DomainError(
            "The fewest extra hours is between 0 and the most.", field="extension_min_hours"
        )
    if price_minor <= 0:
        raise DomainError("Set the price of an extra hour.", field="extension_price")


def whole_hours(text: str | None, *, field: str) -> int:
    """A bound typed in the Offerings form: whole hours, empty for 0."""
    raw = (text or "").strip()
    if not raw:
        return 0
    number = typed_decimal(raw, separators=".")
    if number is None or number != number.to_integral_value() or number < 0:
        raise DomainError("Enter whole hours, for example 2.", field=field)
    if number > MAX_EXTENSION_HOURS:
        raise DomainError(f"At most {MAX_EXTENSION_HOURS} hours.", field=field)
    return int(number)


def parse_value(kind: str, text: str | None, currency: str) -> int:
    """The promo form's value: whole percent (1-100) or an amount in `currency`."""
    if kind == PromoKind.PERCENT:
        number = typed_decimal((text or "").strip().rstrip("%").strip(), separators=".")
        if number is None or number != number.to_integral_value() or not 1 <= number <= 100:
            raise DomainError("Enter a whole percentage from 1 to 100.", field="value")
        return int(number)
    amount = parse_price(text, currency, field="value")
    if amount <= 0:
        raise DomainError("Enter the amount off, for example 20.00.", field="value")
    return amount


def parse_limit(text: str | None, *, field: str) -> int | None:
    """A use limit typed in the promo form: a whole number from 1, or empty for none."""
    raw = (text or "").strip()
    if not raw:
        return None
    number = typed_decimal(raw, separators=".")
    if number is None or number != number.to_integral_value() or not 1 <= number <= MAX_LIMIT:
        raise DomainError(
            f"Enter a whole number from 1 to {MAX_LIMIT:,}, or leave it empty.", field=field
        )
    return int(number)


def uses_by_code(session: Session) -> dict[int, int]:
    """Each code's uses (pending or paid purchases), for the admin's list: one query."""
    rows = session.execute(
        select(Purchase.promo_code_id, func.count(Purchase.id))
        .where(Purchase.promo_code_id.is_not(None), Purchase.status.in_(COUNTING))
        .group_by(Purchase.promo_code_id)
    )
    return {code_id: count for code_id, count in rows if code_id is not None}


def set_active(session: Session, promo: PromoCode, active: bool) -> None:
    """Deactivate (or reactivate) a code; purchases already made keep it."""
    promo.active = active
    session.flush()
