"""Packages (design §2, §4): a student's Packages tab, + Add Package, and one package's
ledger (page and CSV) with manual adjustments and its Status toggle."""

from __future__ import annotations

from flask import abort, flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from prepbase import hours, money, package_payments, packages, refunds, scheduling
from prepbase.admin.blueprint import bp
from prepbase.admin.common import PROFILE, refused
from prepbase.admin.forms import (
    CUSTOM,
    AdjustForm,
    PackageEditForm,
    PackageForm,
    PaymentFields,
    RefundForm,
    VoidPaymentForm,
    WaiveForm,
)
from prepbase.admin.words import inactive_reason, package_kind, service_name
from prepbase.csv_export import csv_response, hours_cell
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, SelectChoice, form_status
from prepbase.htmx import hx_redirect, is_htmx, render
from prepbase.inputs import page_number
from prepbase.localtime import business_today, format_when
from prepbase.models import (
    InactiveReason,
    LedgerEntry,
    Offering,
    Package,
    PackagePayment,
    Purchase,
    Student,
    TutoringSession,
    utcnow,
)
from prepbase.money import format_money
from prepbase.reports import balance_chart, package_trends
from prepbase.tenant_url import get_or_404

# --- the Packages tab -----------------------------------------------------------------


@bp.get("/students/<id:student_id>/packages")
def student_packages(student_id: int) -> Response:
    student = get_or_404(Student, student_id, PROFILE)
    rows = db.session.scalars(
        select(Package)
        .where(Package.student_id == student.id)
        .order_by(Package.start_date, Package.id)  # the order hours are used in (§3 rule 5)
    ).all()
    today = business_today(g.tenant)
    active = [p for p in rows if p.active_on(today)]
    now = utcnow()
    trends = package_trends(db.session, [p.id for p in active], now, g.tenant.timezone)
    return render(
        "admin/students/tab_packages.html",
        block="tab",
        student=student,
        tab="packages",
        packages=rows,
        charts=[
            balance_chart(p.id, p.name, trends[p.id].history, g.tenant.timezone, p.start_date, now)
            for p in active
            if trends[p.id].history
        ],
    )


@bp.route("/students/<id:student_id>/packages/new", methods=["GET", "POST"])
def package_new(student_id: int) -> Response:
    student = get_or_404(Student, student_id)
    # Choosing an offering re-renders the form (htmx GET) with its terms filled in.
    choosing = request.method == "GET" and "offering" in request.args
    form = PackageForm(request.args) if choosing else PackageForm()
    offerings = db.session.scalars(
        select(Offering).where(Offering.archived.is_(False)).order_by(Offering.name, Offering.id)
    ).all()
    form.offering.choices = [SelectChoice(CUSTOM, "Custom package")] + [
        SelectChoice(
            str(o.id),
            f"{o.name} · {service_name(o)} · {package_kind(o)} · {hours.hours_phrase(o.minutes)}",
        )
        for o in offerings
    ]
    form.set_currency(g.tenant.currency)
    if request.method == "GET" and form.start_date.data is None:
        form.start_date.data = business_today(g.tenant)
    if request.method == "GET" and form.paid_on.data is None:
        form.paid_on.data = business_today(g.tenant)
    offering = next((o for o in offerings if str(o.id) == form.offering.data), None)
    if choosing and offering is not None and offering.price_minor:
        form.price.data = money.amount_text(offering.price_minor, offering.currency)
    if form.validate_on_submit():
        assert form.start_date.data is not None  # required
        try:
            package = packages.assign_package(
                db.session,
                current_user,
                student,
                **form.terms(offering),
                start_date=form.start_date.data,
                expires_on=form.expires_on.data,
                offering=offering,
            )
            filled = _hours_arrived(package)
            paid = package_payments.price_new_package(
                db.session,
                g.tenant,
                package,
                current_user,
                price=form.price.data,
                payment=form.payment() if form.has_payment() else None,
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            message = (
                f"{package.name} is assigned to {student.full_name}: "
                f"{hours.hours_phrase(package.total_minutes)}."
            )
            if paid is not None:
                message += f" Payment recorded: receipt {paid.receipt_number}."
            if inactive_reason(package) is InactiveReason.EXPIRED:
                message += " Its expiry date has passed, so it is Inactive · Expired."
            flash(" ".join(filter(None, [message, filled])), "success")
            return hx_redirect(url_for(".student_packages", student_id=student.id))
    if offering is not None:
        form.fill_from(offering)  # the offering's terms, shown in the disabled fields
    return render(
        "admin/packages/new.html",
        block="form",
        status=form_status(),
        form=form,
        student=student,
        offering=offering,
        has_offerings=bool(offerings),
    )


def _hours_arrived(package: Package, *, locks_held: bool = False) -> str:
    """Hours were added to the package: the student's sessions waiting for hours of its
    service are paid now where they can be (design §10); what happened, in a sentence.
    `locks_held`: `scheduling.lock_for_hours` ran before the package changed."""
    report = scheduling.fill_waiting(
        db.session,
        g.tenant,
        package.student_id,
        package.service,
        current_user,
        locks_held=locks_held,
    )
    return report.summary


# --- one package: its ledger, adjustments, status ---------------------------------------


def _waive_form(session_id: int, **kwargs: object) -> WaiveForm:
    return WaiveForm(prefix=f"waive-{session_id}", **kwargs)


def _package_page(
    package: Package,
    form: AdjustForm,
    *,
    block: str = "content",
    status: int = 200,
    waive: tuple[int, WaiveForm] | None = None,
    edit_form: PackageEditForm | None = None,
    payment_form: PaymentFields | None = None,
    void_form: tuple[int, VoidPaymentForm] | None = None,
    refund_form: RefundForm | None = None,
) -> Response:
    # One page of the history, newest first: the page costs the same however long it is.
    entries = hours.ledger_page(db.session, package, page_number())
    now = utcnow()
    # The chart reads the same window as the Packages tab's.
    history = package_trends(db.session, [package.id], now, g.tenant.timezone)[package.id].history
    charges = hours.late_charges(db.session, package)
    waive_forms = {ts.id: _waive_form(ts.id, formdata=None) for ts, _ in charges}
    if waive is not None:  # the form that was posted, with its messages
        waive_forms[waive[0]] = waive[1]
    payments = package_payments.payments_of(db.session, package)
    if payment_form is None:
        payment_form = PaymentFields(prefix="pay", formdata=None)
        payment_form.paid_on.data = business_today(g.tenant)
    payment_form.amount.description = (
        f"In {package_payments.package_currency(g.tenant, package).upper()}."
    )
    purchase = db.session.scalar(select(Purchase).where(Purchase.package_id == package.id))
    refunded = refunds.refunds_of(db.session, [purchase.id]) if purchase else []
    if refund_form is None:
        refund_form = RefundForm(prefix="refund", formdata=None)
    if purchase is not None:
        left = purchase.amount_minor - sum(r.amount_minor for r in refunded)
        refund_form.amount.description = (
            f"In {purchase.currency.upper()}; at most "
            f"{format_money(left, purchase.currency, g.tenant.locale)}. "
            "The package's unused hours go down by the refunded share of the price."
        )
    return render(
        "admin/packages/detail.html",
        block=block,
        purchase=purchase,
        refunds=refunded,
        refundable=purchase is not None and refunds.is_refundable(purchase),
        refund_form=refund_form,
        status=status,
        package=package,
        entries=entries,
        adjust_form=form,
        edit_form=edit_form or _edit_form(package),
        edits=packages.package_edits(db.session, package),
        late_charges=[(ts, minutes, waive_forms[ts.id]) for ts, minutes in charges],
        payments=payments,
        standing=package_payments.money_of(g.tenant, package, payments),
        payment_form=payment_form,
        void_forms={
            p.id: VoidPaymentForm(prefix=f"void-{p.id}", formdata=None)
            for p in payments
            if not p.voided
        }
        | dict([void_form] if void_form else []),
        chart=balance_chart(
            package.id, package.name, history, g.tenant.timezone, package.start_date, now
        )
        if history
        else None,
    )


@bp.get("/packages/<id:package_id>")
def package_detail(package_id: int) -> Response:
    # The page names the student (header, title): loaded with the package, not lazily.
    package = get_or_404(Package, package_id, joinedload(Package.student))
    # A pager link (htmx) swaps only the history table.
    return _package_page(package, AdjustForm(), block="ledger")


@bp.post("/packages/<id:package_id>/adjust")
def package_adjust(package_id: int) -> Response:
    package = get_or_404(Package, package_id)
    form = AdjustForm()
    if form.validate_on_submit():
        adding = (form.minutes or 0) > 0
        try:
            if adding:  # the locks hours arriving need, before the package's (lock order)
                scheduling.lock_for_hours(db.session, package.student_id)
            change = hours.adjust(
                db.session, package, form.minutes or 0, current_user, form.note.data or ""
            )
            filled = _hours_arrived(package, locks_held=True) if adding else ""
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            sign = "+" if change.after > change.before else ""
            flash(
                f"{package.name}: {sign}{hours.hours_phrase(change.after - change.before)}; "
                f"{hours.format_hours(change.after)} remaining. {filled}".rstrip(),
                "success",
            )
            return hx_redirect(url_for(".package_detail", package_id=package.id))
    return _package_page(package, form, block="adjust_form", status=422)


def _edit_form(package: Package) -> PackageEditForm:
    return PackageEditForm(
        prefix="edit",
        formdata=None,
        data={
            "name": package.name,
            "start_date": package.start_date,
            "expires_on": package.expires_on,
        },
    )


@bp.post("/packages/<id:package_id>/edit")
def package_edit(package_id: int) -> Response:
    """Correct a package's name and dates; every change is kept on its page."""
    package = get_or_404(Package, package_id)
    form = PackageEditForm(prefix="edit")
    if form.validate_on_submit():
        try:
            # Moved dates may make its hours usable for sessions waiting for them (§10):
            # their locks first, before the package's (lock order).
            scheduling.lock_for_hours(db.session, package.student_id)
            assert form.start_date.data is not None  # required
            edits = packages.edit_package(
                db.session,
                current_user,
                package,
                name=form.name.data or "",
                start_date=form.start_date.data,
                expires_on=form.expires_on.data,
                today=business_today(g.tenant),
            )
            filled = _hours_arrived(package, locks_held=True) if edits else ""
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            changed = ", ".join(e.field_label for e in edits) or "nothing changed"
            flash(f"{package.name}: {changed}. {filled}".rstrip(), "success")
            return hx_redirect(url_for(".package_detail", package_id=package.id))
    return _package_page(package, AdjustForm(formdata=None), status=422, edit_form=form)


@bp.post("/packages/<id:package_id>/sessions/<id:session_id>/waive")
def package_waive(package_id: int, session_id: int) -> Response:
    """Design §12: give back what a late cancellation kept, with a note."""
    package = get_or_404(Package, package_id)
    ts = get_or_404(TutoringSession, session_id)
    if ts.package_id != package.id:
        abort(404)
    form = _waive_form(ts.id)
    if form.validate_on_submit():  # the note is checked by the domain (required)
        try:
            given = scheduling.waive_late_cancellation(
                db.session, g.tenant, current_user, ts, form.note.data or ""
            )
        except DomainError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash(
                f"Late-cancellation charge waived: {hours.hours_phrase(given)} back to "
                f"{package.name}.",
                "success",
            )
            return hx_redirect(url_for(".package_detail", package_id=package.id))
    return _package_page(package, AdjustForm(formdata=None), status=422, waive=(ts.id, form))


@bp.post("/packages/<id:package_id>/payments")
def package_record_payment(package_id: int) -> Response:
    """Record payment: money received for the package, with the next receipt number."""
    package = get_or_404(Package, package_id)
    form = PaymentFields(prefix="pay")
    if form.validate_on_submit():
        try:
            paid = package_payments.record_payment(
                db.session, g.tenant, package, current_user, **form.payment()
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(
                f"Payment of {format_money(paid.amount_minor, paid.currency, g.tenant.locale)} "
                f"recorded: receipt {paid.receipt_number}.",
                "success",
            )
            return hx_redirect(url_for(".package_detail", package_id=package.id))
    return _package_page(
        package, AdjustForm(formdata=None), block="payment_form", status=422, payment_form=form
    )


@bp.post("/packages/<id:package_id>/refund")
def package_refund(package_id: int) -> Response:
    """Refund the package's online purchase (all or part): Stripe, then the hours."""
    package = get_or_404(Package, package_id)
    purchase = db.session.scalar(select(Purchase).where(Purchase.package_id == package.id))
    if purchase is None:
        abort(404)
    form = RefundForm(prefix="refund")
    if form.validate_on_submit():
        try:
            amount = money.parse_price(form.amount.data, purchase.currency, field="amount")
            applied = refunds.refund_purchase(db.session, g.tenant, purchase, current_user, amount)
        except DomainError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            row = applied.refund
            said = (
                f"Refunded {format_money(row.amount_minor, row.currency, g.tenant.locale)}: "
                f"{hours.hours_phrase(row.minutes_removed)} taken back from {package.name}."
            )
            if applied.kept_minutes:
                said += (
                    f" {hours.hours_phrase(applied.kept_minutes)} of the refunded share were "
                    "used already by sessions and stay used."
                )
            flash(said if applied.new else "This refund was made already.", "success")
            return hx_redirect(url_for(".package_detail", package_id=package.id))
    return _package_page(
        package, AdjustForm(formdata=None), block="refund_form", status=422, refund_form=form
    )


@bp.post("/payments/<id:payment_id>/void")
def payment_void(payment_id: int) -> Response:
    """Void a payment with a note; a second click finds it voided and changes nothing."""
    payment = get_or_404(PackagePayment, payment_id)
    form = VoidPaymentForm(prefix=f"void-{payment.id}")
    if form.validate_on_submit():
        try:
            voided = package_payments.void_payment(
                db.session, payment, current_user, form.note.data
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(
                f"Receipt {payment.receipt_number} is void."
                if voided
                else f"Receipt {payment.receipt_number} was voided already.",
                "success" if voided else "info",
            )
            return hx_redirect(url_for(".package_detail", package_id=payment.package_id))
    if is_htmx():
        return render(
            "admin/packages/_void.html", block="void_form", status=422, payment=payment, form=form
        )
    return _package_page(
        payment.package, AdjustForm(formdata=None), status=422, void_form=(payment.id, form)
    )


@bp.post("/packages/<id:package_id>/status")
def package_toggle(package_id: int) -> Response:
    """The Status toggle: the button says which status it asks for, so a double
    submission cannot flip the package back."""
    package = get_or_404(Package, package_id)
    back = "package" if request.form.get("back") == "package" else "tab"
    error = None
    today = business_today(g.tenant)
    wanted = {"1": True, "0": False}.get(request.form.get("active", ""))
    if not ActionForm().validate_on_submit():
        error = "Your form expired. Reload the page and try again."
    elif wanted is None:
        error = "Choose Active or Inactive."
    elif wanted != package.active_on(today):  # the status the page shows
        try:
            if wanted:  # its hours count again: sessions waiting for hours may use them
                scheduling.lock_for_hours(db.session, package.student_id)
            packages.set_package_active(db.session, current_user, package, wanted, today=today)
            if wanted:
                _hours_arrived(package, locks_held=True)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
    if is_htmx():
        return render(
            "admin/packages/_status.html",
            block="status",
            status=422 if error else 200,
            package=package,
            back=back,
            error=error,
            swapped=True,
        )
    if error:
        flash(error, "error")
    else:
        flash(
            f"{package.name} is {'Active' if package.active_on(today) else 'Inactive'}.", "success"
        )
    if back == "package":
        return hx_redirect(url_for(".package_detail", package_id=package.id))
    return hx_redirect(url_for(".student_packages", student_id=package.student_id))


@bp.get("/packages/<id:package_id>/ledger.csv")
def package_ledger_csv(package_id: int) -> Response:
    """Every ledger entry of a package, oldest first, as a CSV download."""
    package = get_or_404(Package, package_id)
    zone = g.tenant.timezone

    def session_words(entry: LedgerEntry) -> str:
        ts = entry.session
        return f"{format_when(zone, ts.starts_at)} with {ts.staff.name}" if ts else ""

    return csv_response(
        f"{g.tenant.slug}-package-{package.id}-ledger.csv",
        ["When", "Change", "Hours", "Balance after", "Session", "By", "Note"],
        (
            [
                format_when(zone, e.created_at),
                e.kind_label,
                hours_cell(e.minutes),
                hours_cell(e.balance_after),
                session_words(e),
                e.actor.name if e.actor else "Automatic",
                e.note,
            ]
            for e in hours.package_ledger(db.session, package)
        ),
    )
