"""GET /packages (Total / Remaining hours), one package, its ledger; POST /packages
(Add Package) and POST /packages/{id}/adjustments (hours with a note). The writes call
the verbs the admin pages call, in the same order (prepbase/admin/packages.py)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import abort
from sqlalchemy import not_, select

from prepbase import hours, packages, scheduling
from prepbase.api.auth import actor, api_blueprint, errors_documented, rate_limited
from prepbase.api.idempotency import write
from prepbase.api.pagination import CursorPage, PageArgs, paginate
from prepbase.api.schemas import (
    AdjustmentInput,
    AdjustmentResult,
    LedgerEntrySchema,
    NewPackageInput,
    PackageFilter,
    PackageSchema,
    page_of,
)
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.localtime import business_today
from prepbase.models import LedgerEntry, Offering, Package, Student
from prepbase.problems import API_PREFIX
from prepbase.tenancy import get_scoped
from prepbase.tenant_url import get_or_404

bp = api_blueprint("packages", f"{API_PREFIX}/packages", "Packages of hours and their ledgers.")


@bp.route("", methods=["GET"])
@errors_documented(bp, 422)
@rate_limited
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.arguments(PackageFilter, location="query", as_kwargs=True)
@bp.response(200, page_of(PackageSchema, "PackagePage"))
def list_packages(
    student: int | None, service: str | None, status: str | None, **page: Any
) -> CursorPage[Package]:
    """Packages, newest first (by creation time and id). `status`: active or inactive on
    the business's today, as the pages show it."""
    stmt = select(Package)
    if student is not None:
        stmt = stmt.where(Package.student_id == student)
    if service is not None:
        stmt = stmt.where(Package.service == service)
    if status is not None:
        active = Package.active_on(business_today(g.tenant))
        stmt = stmt.where(active if status == "active" else not_(active))
    return paginate(db.session, stmt, [Package.created_at, Package.id], page, descending=True)


@bp.route("/<id:package_id>", methods=["GET"])
@errors_documented(bp, 404)
@rate_limited
@bp.response(200, PackageSchema)
def get_package(package_id: int) -> Package:
    """One package."""
    return get_or_404(Package, package_id)


@bp.route("/<id:package_id>/ledger", methods=["GET"])
@errors_documented(bp, 404, 422)
@rate_limited
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(LedgerEntrySchema, "LedgerPage"))
def package_ledger(package_id: int, **page: Any) -> CursorPage[LedgerEntry]:
    """The package's ledger, oldest first: every change to its hours, with the balance
    after it. The sum of `minutes` is the package's remaining minutes."""
    package = get_or_404(Package, package_id)
    stmt = select(LedgerEntry).where(LedgerEntry.package_id == package.id)
    return paginate(db.session, stmt, [LedgerEntry.id], page)


def _terms(data: dict[str, Any], offering: Offering | None) -> packages.Terms:
    if offering is not None:
        return packages.package_terms(offering)
    missing = {
        name: ["Required without an offering."]
        for name in ("name", "service", "hours")
        if not data.get(name)
    }
    if missing:
        _invalid(missing)
    minutes = hours.parse_hours(data["hours"], field="hours", max_hours=hours.MAX_PACKAGE_HOURS)
    return {
        "name": data["name"],
        "service": data["service"],
        "package_type": data["package_type"],
        "period": data["period"],
        "minutes": minutes,
        "rollover": data["rollover"],
    }


def _invalid(errors: dict[str, list[str]]) -> None:
    abort(422, message="Some of the input could not be accepted.", errors=errors)


@bp.route("", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415, 422)
@rate_limited
@write
@bp.arguments(NewPackageInput)
@bp.response(201, PackageSchema)
def add_package(data: dict[str, Any]) -> Package:
    """+ Add Package: give a student hours, from an offering or with terms of its own.
    Sessions of the student waiting for hours of its service are paid from it at once,
    as on the page."""
    student = get_or_404(Student, data["student_id"])
    offering = None
    if data["offering_id"] is not None:
        offering = get_scoped(db.session, Offering, data["offering_id"])
        if offering is None:
            raise DomainError("Choose an offering of this business.", field="offering_id")
    package = packages.assign_package(
        db.session,
        actor(),
        student,
        **_terms(data, offering),
        start_date=data["start_date"] or business_today(g.tenant),
        expires_on=data["expires_on"],
        offering=offering,
    )
    scheduling.fill_waiting(db.session, g.tenant, package.student_id, package.service, actor())
    db.session.refresh(package)
    return package


@bp.route("/<id:package_id>/adjustments", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415, 422)
@rate_limited
@write
@bp.arguments(AdjustmentInput)
@bp.response(201, AdjustmentResult)
def adjust_package(data: dict[str, Any], package_id: int) -> dict[str, Any]:
    """Add or remove hours by hand, with the note the package's history keeps."""
    package = get_or_404(Package, package_id)
    minutes = hours.parse_hours(
        data["hours"], field="hours", max_hours=hours.MAX_PACKAGE_HOURS, allow_negative=True
    )
    adding = minutes > 0
    if adding:  # the locks hours arriving need, before the package's (lock order)
        scheduling.lock_for_hours(db.session, package.student_id)
    change = hours.adjust(db.session, package, minutes, actor(), data["note"])
    if adding:
        scheduling.fill_waiting(
            db.session, g.tenant, package.student_id, package.service, actor(), locks_held=True
        )
    db.session.refresh(package)
    return {"package": package, "entry": change.entry}
