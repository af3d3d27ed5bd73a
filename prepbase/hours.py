"""The hours ledger: every change to a package's minutes, and nothing else, lives here.

Invariant: a package's `remaining_minutes` equals the sum of its ledger entries and is
never negative. Each change is one conditional UPDATE (so concurrent requests, processes
or servers cannot overdraw: the database re-checks the condition on the locked row) plus
one appended entry, in the caller's transaction.

Entries are stamped when they are written. The one exception is `at=` on the verbs
below: the date a change really happened, for writing down a past that did not happen
in PrepBase (the demo business's history, `prepbase.demo`; later, imports). The pages,
jobs and webhooks never pass it. A dated entry still goes through the same conditional
UPDATE, and it may not lie in the future nor before the package's latest entry, so a
package's entries stay in time order and each `balance_after` reads as its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from prepbase.errors import DomainError
from prepbase.models import (
    SYNCHRONIZED_BY_CALLER,
    EntryKind,
    EventType,
    LedgerEntry,
    Package,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.numbers import typed_decimal
from prepbase.paging import Page, paginate
from prepbase.tenancy import stamp_rows
from prepbase.webhooks.events import emit_in_scope

MAX_PACKAGE_HOURS = 2000
MAX_SESSION_HOURS = 12


def parse_hours(
    text: str | None, *, field: str, max_hours: int, allow_negative: bool = False
) -> int:
    """Hours typed as a decimal ("3.5" or "3,5") to whole minutes (210), or a clear refusal.

    Only ASCII digits with one separator (`prepbase.numbers`)."""
    hours = typed_decimal(text)
    if hours is None:
        raise DomainError("Enter hours as a number, for example 1.5.", field=field)
    minutes = Fraction(hours) * 60  # exact: no rounding can turn 1.0166… into 61 minutes
    if minutes.denominator != 1:
        raise DomainError(
            "Use whole minutes: for example 1.25 (75 min) or 1.5 (90 min).", field=field
        )
    if minutes == 0:
        raise DomainError("Enter more than zero hours.", field=field)
    if minutes < 0 and not allow_negative:
        raise DomainError("Hours cannot be negative.", field=field)
    if abs(hours) > max_hours:
        raise DomainError(f"That is more than {max_hours} hours.", field=field)
    return int(minutes)


def format_hours(minutes: int | None) -> str:
    """Minutes shown as hours with at most two decimals: 210 → "3.5", 20 → "0.33"."""
    if minutes is None:
        return ""
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{hours:f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def hours_phrase(minutes: int | None) -> str:
    """Hours with the word that goes with them: "1 hour", "1.5 hours", "0 hours"."""
    shown = format_hours(minutes)
    return f"{shown} hour" if shown == "1" else f"{shown} hours"


def out_of_hours_sentence(
    first_name: str, package_name: str, service_label: str, others: list[tuple[str, int]]
) -> str:
    """What a family reads when a package reaches zero (banner and e-mail): the student's
    hours of that service across their other usable packages (name, minutes), not only
    the empty one. "Mia has no Tutoring hours left." or "Mia's SAT Intensive is used up;
    24 Tutoring hours remain on Growth Package." """
    holding = [(name, minutes) for name, minutes in others if minutes > 0]
    left = sum(minutes for _, minutes in holding)
    if not left:
        return f"{first_name} has no {service_label} hours left."
    names = [name for name, _ in holding]
    where = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    shown = format_hours(left)
    amount = (
        f"{shown} {service_label} hour remains"
        if shown == "1"
        else (f"{shown} {service_label} hours remain")
    )
    return f"{first_name}'s {package_name} is used up; {amount} on {where}."


@dataclass(frozen=True)
class Change:
    """What one ledger change did, for callers that react to balances (low-balance e-mails)."""

    package_id: int
    before: int
    after: int
    entry: LedgerEntry


def _apply(
    session: Session,
    package_id: int,
    minutes: int,
    kind: EntryKind,
    actor: User | None,
    *,
    tutoring_session: TutoringSession | None = None,
    note: str = "",
    renewal_period: object = None,
    require_active: bool = False,
    at: datetime | None = None,
) -> Change | None:
    """Move `minutes` (signed) on a package if the balance allows; None when it does not."""
    if at is not None:
        _check_dated(session, package_id, at)
    adds_to_total = kind in (EntryKind.GRANT, EntryKind.RENEWAL, EntryKind.OPENING_BALANCE) or (
        kind == EntryKind.ADJUSTMENT and minutes > 0
    )
    stmt = update(Package).where(Package.id == package_id)
    if minutes < 0:
        stmt = stmt.where(Package.remaining_minutes >= -minutes)
    if require_active:
        stmt = stmt.where(Package.active.is_(True))
    values = {Package.remaining_minutes: Package.remaining_minutes + minutes}
    if adds_to_total:
        values[Package.total_minutes] = Package.total_minutes + minutes
    # The loaded package (if any) is brought up to date below, from what the UPDATE returns.
    row = session.execute(
        stmt.values(values)
        .returning(Package.remaining_minutes, Package.total_minutes)
        .execution_options(synchronize_session=False, **SYNCHRONIZED_BY_CALLER)
    ).one_or_none()
    if row is None:
        return None
    after, total = row
    entry = LedgerEntry(
        package_id=package_id,
        minutes=minutes,
        kind=kind,
        session_id=tutoring_session.id if tutoring_session is not None else None,
        actor_id=actor.id if actor is not None else None,
        balance_after=after,
        renewal_period=renewal_period,
        note=note,
    )
    if at is not None:
        entry.created_at = at
    session.add(entry)
    session.flush()
    # An object already loaded must not show the balance from before the UPDATE.
    loaded = session.identity_map.get(identity_key(Package, package_id))
    if loaded is not None:
        set_committed_value(loaded, "remaining_minutes", after)
        set_committed_value(loaded, "total_minutes", total)
    return Change(package_id, after - minutes, after, entry)


def _check_dated(session: Session, package_id: int, at: datetime) -> None:
    # A programming error, not a person's: only the seeder and imports date entries.
    if at > utcnow():
        raise ValueError(f"a ledger entry cannot be dated in the future ({at})")
    latest = session.scalar(
        select(func.max(LedgerEntry.created_at)).where(LedgerEntry.package_id == package_id)
    )
    if latest is not None and at < latest:
        raise ValueError(f"package {package_id} has an entry of {latest}, after {at}")


def grant(
    session: Session,
    package: Package,
    minutes: int,
    actor: User | None,
    note: str = "",
    *,
    at: datetime | None = None,
) -> Change:
    """Add hours to a package (its initial grant)."""
    change = _apply(session, package.id, minutes, EntryKind.GRANT, actor, note=note, at=at)
    assert change is not None  # a positive change always applies
    return change


@dataclass(frozen=True)
class Opening:
    """A package brought from another system: its columns (`packages`), its Total and
    the minutes used before the move."""

    terms: dict[str, object]
    total_minutes: int
    used_minutes: int


def open_balances(
    session: Session, openings: Sequence[Opening], actor: User, note: str
) -> list[int]:
    """Balances brought from another system (an import): each package's Total Hrs as an
    Opening balance entry, then, when some were used there already, a Used before import
    entry, so Total and Remaining read as they did before the move and the ledger sums
    to the balance (all the audit compares).

    The packages are new, not in the database yet: nobody else can change them, so
    instead of a conditional UPDATE each, every package is inserted with its balance and
    its entries in two statements (an import brings up to 10,000 at once). Their ids,
    in order."""
    if not openings:
        return []
    rows = []
    for opening in openings:
        total, used = opening.total_minutes, opening.used_minutes
        if total <= 0 or not 0 <= used <= total:
            raise ValueError(f"an opening balance of {total} with {used} used")
        rows.append({**opening.terms, "total_minutes": total, "remaining_minutes": total - used})
    ids = list(
        session.scalars(
            insert(Package).returning(Package.id, sort_by_parameter_order=True),
            stamp_rows(rows),
        )
    )
    entries: list[dict[str, object]] = []
    for package_id, opening in zip(ids, openings, strict=True):
        total, used = opening.total_minutes, opening.used_minutes
        entries.append(_entry(package_id, total, EntryKind.OPENING_BALANCE, actor, total, note))
        if used:
            entries.append(
                _entry(package_id, -used, EntryKind.USED_BEFORE_IMPORT, actor, total - used, note)
            )
    session.execute(insert(LedgerEntry), stamp_rows(entries))
    return ids


def _entry(
    package_id: int, minutes: int, kind: EntryKind, actor: User, after: int, note: str
) -> dict[str, object]:
    return {
        "package_id": package_id,
        "minutes": minutes,
        "kind": kind,
        "actor_id": actor.id,
        "balance_after": after,
        "note": note,
    }


def renew(
    session: Session,
    package: Package,
    minutes: int,
    period_start: object,
    note: str = "",
    *,
    at: datetime | None = None,
) -> Change:
    """Grant a recurring package's hours for one period (unique per package and period)."""
    change = _apply(
        session,
        package.id,
        minutes,
        EntryKind.RENEWAL,
        None,
        note=note,
        renewal_period=period_start,
        at=at,
    )
    assert change is not None
    return change


def debit_for_session(
    session: Session,
    package_id: int,
    ts: TutoringSession,
    minutes: int,
    actor: User | None,
    note: str = "",
    *,
    at: datetime | None = None,
) -> Change | None:
    """Take a session's minutes from an active package; None if they are not all there."""
    return _apply(
        session,
        package_id,
        -minutes,
        EntryKind.DEBIT,
        actor,
        tutoring_session=ts,
        note=note,
        require_active=True,
        at=at,
    )


def refund_for_session(
    session: Session,
    package_id: int,
    ts: TutoringSession,
    minutes: int,
    actor: User | None,
    note: str = "",
    *,
    at: datetime | None = None,
) -> Change:
    """Give a session's minutes back to the package that paid (active or not)."""
    change = _apply(
        session,
        package_id,
        minutes,
        EntryKind.REFUND,
        actor,
        tutoring_session=ts,
        note=note,
        at=at,
    )
    assert change is not None
    emit_in_scope(session, EventType.HOURS_REFUNDED, change.entry, ts)
    return change


def keep_for_late_cancellation(
    session: Session,
    package_id: int,
    ts: TutoringSession,
    minutes: int,
    actor: User | None,
    note: str = "",
) -> Change:
    """Take back the share of a refunded session's minutes that a late cancellation keeps
    (design §12). Written right after the cancellation's refund of all of them, in the
    same transaction, so the minutes are there."""
    change = _apply(
        session,
        package_id,
        -minutes,
        EntryKind.LATE_CANCELLATION,
        actor,
        tutoring_session=ts,
        note=note,
    )
    assert change is not None  # the refund just before covers it
    return change


def late_cancellation_kept(session: Session, ts: TutoringSession) -> int:
    """Minutes a late cancellation of `ts` still keeps: what its Late cancellation entries
    took, less what Waiver entries gave back."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.session_id == ts.id,
            LedgerEntry.kind.in_((EntryKind.LATE_CANCELLATION, EntryKind.WAIVER)),
        )
    )
    return -int(total or 0)


def waive_for_session(
    session: Session,
    package_id: int,
    ts: TutoringSession,
    minutes: int,
    actor: User,
    note: str,
) -> Change:
    """Give back what a late cancellation kept (an admin's waiver, its note says why)."""
    change = _apply(
        session, package_id, minutes, EntryKind.WAIVER, actor, tutoring_session=ts, note=note
    )
    assert change is not None
    emit_in_scope(session, EventType.HOURS_REFUNDED, change.entry, ts)
    return change


def adjust(
    session: Session,
    package: Package,
    minutes: int,
    actor: User,
    note: str,
    *,
    at: datetime | None = None,
) -> Change:
    """An admin's manual correction; the note says why and is required."""
    note = (note or "").strip()
    if not note:
        raise DomainError("Say why the hours change: the note is required.", field="note")
    change = _apply(session, package.id, minutes, EntryKind.ADJUSTMENT, actor, note=note, at=at)
    if change is None:
        session.refresh(package)
        raise DomainError(
            f"Only {hours_phrase(package.remaining_minutes)} are left; "
            "a package cannot go below zero.",
            field="hours",
        )
    return change


def remove_for_refund(
    session: Session, package: Package, minutes: int, actor: User | None, note: str
) -> Change | None:
    """Take back up to `minutes` unused hours for a refunded purchase: fewer when fewer
    are left (hours booked sessions hold were debited already and stay theirs); None when
    nothing is left to take."""
    for _attempt in range(3):  # a debit between reading and taking: read again
        session.refresh(package, ["remaining_minutes"])
        take = min(minutes, package.remaining_minutes)
        if take <= 0:
            return None
        change = _apply(session, package.id, -take, EntryKind.REFUND_REMOVAL, actor, note=note)
        if change is not None:
            return change
    return None


def expire_leftover(
    session: Session, package: Package, note: str, *, at: datetime | None = None
) -> Change | None:
    """Remove a recurring package's unused minutes when they do not roll over."""
    session.refresh(package, ["remaining_minutes"])
    if package.remaining_minutes <= 0:
        return None
    return _apply(
        session,
        package.id,
        -package.remaining_minutes,
        EntryKind.ADJUSTMENT,
        None,
        note=note,
        at=at,
    )


# --- reading the ledger ------------------------------------------------------------------


def package_ledger(session: Session, package: Package) -> list[LedgerEntry]:
    """Every ledger entry of a package, oldest first, with who made it and the session
    (and its staff member) it was for: the package's CSV download (the pages read one
    `ledger_page` at a time)."""
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.package_id == package.id)
            .options(
                joinedload(LedgerEntry.actor),
                joinedload(LedgerEntry.session).joinedload(TutoringSession.staff),
            )
            .order_by(LedgerEntry.id)
        )
    )


def ledger_page(session: Session, package: Package, number: int) -> Page[LedgerEntry]:
    """Page `number` of a package's ledger, newest first, with who made each entry and
    the session it was for: the package pages (admin and family). One statement of at
    most PER_PAGE rows, so a page costs the same however long the history; each row's
    stored `balance_after` stays right on every page. Counted apart, so the database
    reads only the page's rows along ix_ledger_entry_package_time."""
    return paginate(
        session,
        select(LedgerEntry)
        .where(LedgerEntry.package_id == package.id)
        .options(
            joinedload(LedgerEntry.actor),
            joinedload(LedgerEntry.session).joinedload(TutoringSession.staff),
        )
        # Dated entries never go before a package's latest (`_check_dated`), so this is
        # the ledger's order, read backwards along ix_ledger_entry_package_time.
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()),
        number,
        counted_apart=True,
    )


def late_charges(session: Session, package: Package) -> list[tuple[TutoringSession, int]]:
    """The package's sessions whose late-cancellation charge still stands (not waived),
    with the minutes kept: what an admin may waive. Summed in SQL, so it reads only
    those entries, not the package's whole history."""
    charges = (
        select(LedgerEntry.session_id, (-func.sum(LedgerEntry.minutes)).label("kept"))
        .where(
            LedgerEntry.package_id == package.id,
            LedgerEntry.session_id.is_not(None),
            LedgerEntry.kind.in_((EntryKind.LATE_CANCELLATION, EntryKind.WAIVER)),
        )
        .group_by(LedgerEntry.session_id)
        .having(func.sum(LedgerEntry.minutes) < 0)
        .subquery()
    )
    rows = session.execute(
        select(TutoringSession, charges.c.kept)
        .join(charges, charges.c.session_id == TutoringSession.id)
        .options(joinedload(TutoringSession.staff))
        .order_by(TutoringSession.starts_at, TutoringSession.id)
    ).all()
    return [(ts, int(kept)) for ts, kept in rows]


@dataclass(frozen=True)
class Mismatch:
    package_id: int
    tenant_id: int
    remaining: int
    ledger_sum: int


def audit(session: Session) -> list[Mismatch]:
    """Packages whose stored balance differs from their ledger, or is negative.

    Runs across every business (a maintenance job), so it opts out of tenant scoping
    explicitly.
    """
    sums = (
        select(LedgerEntry.package_id, func.coalesce(func.sum(LedgerEntry.minutes), 0).label("s"))
        .group_by(LedgerEntry.package_id)
        .subquery()
    )
    rows = session.execute(
        select(Package.id, Package.tenant_id, Package.remaining_minutes, func.coalesce(sums.c.s, 0))
        .outerjoin(sums, sums.c.package_id == Package.id)
        .where(
            (Package.remaining_minutes != func.coalesce(sums.c.s, 0))
            | (Package.remaining_minutes < 0)
        )
        .order_by(Package.id)
        .execution_options(prepbase_unscoped=True)
    ).all()
    return [Mismatch(*row) for row in rows]
